#!/bin/bash
# t_truncate.sh - truncate shrinks and extends; bytes past the old end read
# as zeroes after extending again; ftruncate on an open file; O_TRUNC.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mount

head -c 3000000 /dev/urandom > "$T/f"
cp "$T/f" "$MNT/f"
truncate -s 5000 "$MNT/f" || fail "truncate down"
expect_eq "$(stat -c %s "$MNT/f")" 5000 "size after shrink"
cmp <(head -c 5000 "$T/f") "$MNT/f" || fail "kept bytes changed"
truncate -s 3000000 "$MNT/f" || fail "truncate up"
expect_eq "$(tail -c +5001 "$MNT/f" | tr -d '\0' | wc -c)" 0 "extension reads zeroes"
cmp <(head -c 5000 "$T/f") <(head -c 5000 "$MNT/f") || fail "head changed by extend"
truncate -s 0 "$MNT/f"
expect_eq "$(stat -c %s "$MNT/f")" 0 "size 0"
py '
p = os.environ["MNT"] + "/g"
fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b"x" * 9000)
os.ftruncate(fd, 100)
assert os.fstat(fd).st_size == 100
os.ftruncate(fd, 8192)
assert os.pread(fd, 9000, 0) == b"x" * 100 + b"\0" * 8092
os.close(fd)
fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
assert os.fstat(fd).st_size == 0
os.close(fd)
'
mkdir "$MNT/d"
expect_errno EISDIR 'os.truncate(os.environ["MNT"] + "/d", 0)' 
dx_umount
dx_fsck
