#!/bin/bash
# t_unlink_free.sh - an unlinked file nothing has open is freed by the
# unlink itself, not at the kernel's FORGET later: an empty file costs one
# journal transaction (before: two, the second at FORGET walking the orphan
# list), the inode and block counts of statfs are back as soon as unlink(2)
# returns. What the kernel can still reach keeps working as on ext4: fstat
# of an O_PATH descriptor says link count 0, a shared mapping made before
# the unlink (its descriptor closed) still reads and writes the file, whose
# space comes back at munmap.
. "$(dirname "$0")/../lib.sh" "$@"
dx_mkfs 64M
dx_mount

# close(2) returns before the daemon has served the RELEASE (the kernel
# sends it in the background); a file still open there when the unlink
# comes is freed by that RELEASE instead. wait_released N: until N RELEASEs
# have been served in all.
releases() { dx_stat 'd["ops"].get("release", {}).get("count", 0)'; }
wait_released() {
	local k
	for k in $(seq 200); do
		[ "$(releases)" -ge "$1" ] && return 0
		sleep 0.05
	done
	fail "the daemon served $(releases) RELEASEs, want $1"
}

mkdir "$MNT/d" || fail "mkdir"
r0=$(releases)
for i in $(seq 50); do
	: > "$MNT/d/e$i" || fail "create e$i"
done
wait_released $((r0 + 50))
before=$(dx_stat 'd["core"]["tx_commits"]')
for i in $(seq 50); do
	rm "$MNT/d/e$i" || fail "rm e$i"
done
sleep 0.5 # FORGETs, if any, are served by now
expect_eq "$(dx_stat 'd["core"]["tx_commits"]')" "$((before + 50))" "journal commits for 50 unlinks of empty files"

DAXFS=$DAXFS py '
import json, mmap, subprocess, time
def st():
    s = os.statvfs(m); return s.f_bfree, s.f_ffree
def releases():
    out = subprocess.run([os.environ["DAXFS"], "stat", m, "--json"], capture_output=True,
                         check=True, text=True).stdout
    return json.loads(out)["ops"].get("release", {}).get("count", 0)
def closed(r0):  # the RELEASE of the file just closed is served (see above)
    for _ in range(200):
        if releases() > r0: return
        time.sleep(0.05)
    raise SystemExit("RELEASE not served")
free0 = st()
# a file with data, unlinked while nothing has it open: freed at once
r0 = releases()
with open(m + "/big", "wb") as f:
    f.write(os.urandom(3 << 20))
    f.flush(); os.fsync(f.fileno())
closed(r0)
assert st()[0] < free0[0] and st()[1] == free0[1] - 1, (st(), free0)
os.unlink(m + "/big")
assert st() == free0, ("not freed by the unlink", st(), free0)

# fstat of an O_PATH descriptor of an unlinked file
r0 = releases()
with open(m + "/p", "wb") as f:
    f.write(b"12345")
closed(r0)
fd = os.open(m + "/p", os.O_PATH)
os.unlink(m + "/p")
s = os.fstat(fd)
assert s.st_nlink == 0 and s.st_size == 5, (s.st_nlink, s.st_size)
os.close(fd)
assert st() == free0, (st(), free0)

# a shared mapping outlives its descriptor and the name
fd = os.open(m + "/mapped", os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 1 << 20)
os.pwrite(fd, b"head", 0)
mm = mmap.mmap(fd, 1 << 20)
os.close(fd)
os.unlink(m + "/mapped")
assert mm[:4] == b"head"
mm[4:8] = b"more"
assert mm[:8] == b"headmore"
assert st()[1] == free0[1] - 1, "freed while mapped"
mm.close()
for i in range(100):
    if st() == free0: break
    time.sleep(0.05)
assert st() == free0, ("not freed after munmap", st(), free0)
'
dx_umount
dx_fsck
