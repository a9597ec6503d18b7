#!/bin/bash
# t_rw.sh - create, write, read back, overwrite in place, append, sparse
# writes, and a 1 MiB-aligned large file: contents must match byte for byte
# and another process must see each write at once.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mount

echo hello > "$MNT/a" || fail "create"
expect_eq "$(cat "$MNT/a")" hello "read back"
echo world >> "$MNT/a"
expect_eq "$(cat "$MNT/a")" "$(printf 'hello\nworld')" "append"
expect_eq "$(stat -c %s "$MNT/a")" 12 "size after append"

head -c 5000000 /dev/urandom > "$T/big"
cp "$T/big" "$MNT/big" || fail "copy 5 MB"
cmp "$T/big" "$MNT/big" || fail "5 MB file differs"
dd if="$T/big" of="$MNT/big2" bs=1M iflag=fullblock oflag=direct status=none 2>/dev/null ||
	dd if="$T/big" of="$MNT/big2" bs=1M status=none || fail "dd 1 MiB blocks"
cmp "$T/big" "$MNT/big2" || fail "1 MiB-block copy differs"

# unaligned overwrite in the middle, seen by a separate reader process
printf 'XYZ' | dd of="$MNT/big" bs=1 seek=4097 conv=notrunc status=none
printf 'XYZ' | dd of="$T/big" bs=1 seek=4097 conv=notrunc status=none
cmp "$T/big" "$MNT/big" || fail "unaligned overwrite"
expect_eq "$(dd if="$MNT/big" bs=1 skip=4097 count=3 status=none)" XYZ "reader sees write"

# sparse: write far past the end; the gap reads as zeroes
printf 'end' | dd of="$MNT/sparse" bs=1 seek=3000000 status=none
expect_eq "$(stat -c %s "$MNT/sparse")" 3000003 "sparse size"
expect_eq "$(head -c 3000000 "$MNT/sparse" | tr -d '\0' | wc -c)" 0 "hole reads zeroes"
expect_eq "$(tail -c 3 "$MNT/sparse")" end "data after hole"

# read and write through one descriptor, and O_APPEND from two writers
py '
p = os.environ["MNT"] + "/rw"
fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b"a" * 10000, 0)
os.pwrite(fd, b"b" * 10, 4090)
assert os.pread(fd, 20, 4085) == b"a" * 5 + b"b" * 10 + b"a" * 5
os.close(fd)
for i in range(2):
    fd = os.open(p + "log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(fd, b"%d" % i * 100)
    os.close(fd)
assert open(p + "log", "rb").read() == b"0" * 100 + b"1" * 100
'
dx_umount
dx_fsck
