# SPDX-License-Identifier: MIT
# lib.sh - shared set-up for the daxfs mount tests: test_mount_*.sh here,
# posix/ and mmap/ (sourced, not run; mmap/mmlib.sh builds on it).
#
# Usage in a test:   . "$(dirname "$0")/lib.sh" "$@"   (args: BUILD_DIR SOURCE_DIR;
#                    ../lib.sh from posix/)
# Then: dx_mkfs [SIZE]; dx_mount [-o opts...]; ... checks ...; dx_umount.
# The data path comes from $DAXFS_DATAPATH (dax|bio|page; default dax).
# Every mount is undone on exit, whatever happens. Skips (77) when /dev/fuse
# or a tool is missing, except under CI=true, where that is a failure.

set -u

BUILD=${1:?build dir}
SRC=${2:?source dir}
DAXFS=$BUILD/daxfs/daxfs
MKFS=$BUILD/daxfs/mkfs.daxfs
FSCK=${DAXFS_FSCK:-$BUILD/daxfs/fsck.daxfs}
DP=${DAXFS_DATAPATH:-dax}
DX_PIDS=()

dx_skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL (CI): $*" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

[ -c /dev/fuse ] || dx_skip "/dev/fuse is missing"
[ -w /dev/fuse ] || dx_skip "/dev/fuse is not writable"
command -v fusermount3 >/dev/null || dx_skip "fusermount3 is not installed"
for _b in "$DAXFS" "$MKFS" "$FSCK"; do
	[ -x "$_b" ] || fail "$_b is not built"
done

# One interpreter path for all python snippets (a pyenv shim costs seconds
# per start).
command -v python3 >/dev/null || dx_skip "python3 is not installed"
PY=$(python3 -c 'import sys; print(sys.executable)') || fail "python3 does not run"

T=$(mktemp -d "${PMD_TEST_DIR:-/dev/shm}/daxfs-test.XXXXXX") || fail "mktemp"
REGION=$T/region
MNT=$T/mnt
mkdir "$MNT"

dx_cleanup() {
	local m p
	for m in "$T"/mnt*; do
		# A dead daemon's mount fails mountpoint(1) ("not connected"): ask /proc.
		if mountpoint -q "$m" 2>/dev/null || grep -qs " $m fuse" /proc/self/mounts; then
			fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
		fi
	done
	for p in "${DX_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	# wait for daemons to let go of their regions before removing them
	for m in "$T"/region*; do
		[ -e "$m" ] && flock -w 20 "$m" true 2>/dev/null
	done
	for p in "${DX_USERS[@]}"; do
		userdel "$p" 2>/dev/null
	done
	# a library built on this one undoes what it set up (dx_cleanup_more)
	if declare -F dx_cleanup_more >/dev/null; then
		dx_cleanup_more
	fi
	rm -rf "$T"
}
trap dx_cleanup EXIT

# dx_user [VAR] - create an unprivileged user for this test (removed on
# exit); its name goes to $VAR (default DX_USER). Needs useradd/userdel
# (Debian package passwd) and setpriv.
DX_USER=
DX_USERS=()
dx_user() {
	local var=${1:-DX_USER} name
	command -v useradd >/dev/null || dx_skip "useradd is not installed"
	command -v setpriv >/dev/null || dx_skip "setpriv is not installed"
	name=dxt$$${#DX_USERS[@]}
	useradd --system --no-create-home --shell /usr/sbin/nologin "$name" ||
		fail "useradd $name"
	DX_USERS+=("$name")
	printf -v "$var" %s "$name"
}

# as_user CMD... - run CMD as $DX_USER (no supplementary groups); as_user_in
# USER CMD... as another. UPY is a python3 any user can run (the caller's may
# live in root's home).
UPY=/usr/bin/python3
as_user_in() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups -- "$@"
}
as_user() {
	as_user_in "$DX_USER" "$@"
}

# dx_daxfs_in_path - in a private mount namespace (privns.sh), bind a
# directory holding the build's daxfs over /usr/local/bin, so mount(8) and
# mount.fuse3, which run with the default system PATH, find it.
dx_daxfs_in_path() {
	[ -n "${DX_IN_NS:-}" ] || fail "dx_daxfs_in_path outside a private namespace (privns.sh)"
	mkdir "$T/bin" || fail "mkdir $T/bin"
	ln -s "$(readlink -f "$DAXFS")" "$T/bin/daxfs"
	mount --bind "$T/bin" /usr/local/bin || fail "bind mount in the private namespace"
}

# dx_mkfs [SIZE [REGION]] - a fresh filesystem (default 64M).
dx_mkfs() {
	local size=${1:-64M} region=${2:-$REGION}
	"$MKFS" "$region" --size "$size" >/dev/null || fail "mkfs.daxfs $region"
}

# dx_mount [daxfs options...] - mount $REGION on $MNT with the data path
# and $DAXFS_EXTRA_OPTS (e.g. "-o io_uring" for the io_uring label).
# The page path runs with a small cache (DAXFS_CACHE_PAGES, default 64) so
# that eviction and writeback under memory pressure are exercised; the
# descriptor mode comes from DAXFS_MODE (default pfn for bio, page for page).
dx_dp_opts() {
	case $DP in
	bio) echo "-o datapath=bio,mode=${DAXFS_MODE:-pfn}" ;;
	page) echo "-o datapath=page,mode=${DAXFS_MODE:-page},cache_pages=${DAXFS_CACHE_PAGES:-64}" ;;
	*) echo "-o datapath=$DP" ;;
	esac
}
# dx_stat PYEXPR: PYEXPR evaluated on the daemon's statistics (`daxfs stat
# --json` of $MNT) as d, e.g. dx_stat 'd["core"]["tx_commits"]'
dx_stat() {
	"$DAXFS" stat "$MNT" --json |
		"$PY" -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" ||
		fail "daxfs stat --json: $1"
}

# dx_daemon_pid [REGION] - the pid of the daemon serving REGION: the holder
# of the region's flock (/proc/locks).
dx_daemon_pid() {
	local maj min ino
	read -r maj min ino < <(stat -c '%Hd %Ld %i' "${1:-$REGION}")
	awk -v id="$(printf '%02x:%02x:%s' "$maj" "$min" "$ino")" \
		'$2 == "FLOCK" && $6 == id { print $5; exit }' /proc/locks
}

# dx_pin_daemon CPU PID - every thread of daemon PID onto CPU. libfuse
# starts and ends worker threads as requests come, and taskset -a fails
# when a thread it listed has gone before it got to it: try again.
dx_pin_daemon() {
	local _
	for _ in 1 2 3 4 5; do
		taskset -a -p -c "$1" "$2" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "taskset -a -p -c $1 $2: $(taskset -a -p -c "$1" "$2" 2>&1)"
}

# dx_writeback: is this run under -o writeback (the kernel keeps written
# data, and the mtime and ctime of the files it caches)?
dx_writeback() {
	[[ " ${DAXFS_EXTRA_OPTS:-} " == *writeback* ]]
}
dx_mount_at() {
	local region=$1 mnt=$2
	shift 2
	# shellcheck disable=SC2046
	"$DAXFS" $(dx_dp_opts) ${DAXFS_EXTRA_OPTS:-} "$@" "$region" "$mnt" ||
		fail "daxfs ${DAXFS_EXTRA_OPTS:-} $* $region $mnt"
	mountpoint -q "$mnt" || fail "$mnt is not mounted"
}
dx_mount() {
	dx_mount_at "$REGION" "$MNT" "$@"
}

# dx_wait_released REGION - until the daemon on REGION has exited. An
# ASan daemon on a loaded machine can take many seconds to exit (the leak
# check); if it still holds the region after 60 s, say what it is doing.
dx_wait_released() {
	local p t f
	flock -w 60 "$1" true && return 0
	for f in $(find /proc/[0-9]*/fd -lname "$(readlink -f "$1")" 2>/dev/null); do
		p=${f#/proc/}
		p=${p%%/*}
		echo "holder $p: $(tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null)" >&2
		for t in /proc/"$p"/task/*; do
			echo "  thread ${t##*/}: $(awk '/^State/ {print $2, $3}' "$t"/status 2>/dev/null)" \
				"wchan $(cat "$t"/wchan 2>/dev/null) $(cat "$t"/comm 2>/dev/null)" >&2
		done
	done
	fail "daemon on $1 did not exit within 60 s of the unmount"
}

# dx_umount [MNT [REGION]] - unmount and wait until the daemon has finished.
dx_umount() {
	local mnt=${1:-$MNT} region=${2:-$REGION}
	fusermount3 -u "$mnt" || fail "fusermount3 -u $mnt"
	dx_wait_released "$region"
}

# dx_fsck [REGION] - fsck.daxfs -n must report a clean filesystem.
dx_fsck() {
	local region=${1:-$REGION} out
	out=$("$FSCK" -n "$region" 2>&1) || fail "fsck.daxfs -n $region: exit $? $out"
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# expect_fail_errno ERRNAME PYTHON-EXPR - the expression must raise OSError ERRNAME.
expect_errno() {
	local want=$1 code=$2
	MNT=$MNT "$PY" - "$want" <<PYEOF || fail "expected $want from: $code"
import errno, os, sys
want = getattr(errno, sys.argv[1])
try:
    $code
except OSError as e:
    if e.errno == want:
        sys.exit(0)
    print("got", errno.errorcode.get(e.errno, e.errno), file=sys.stderr)
    sys.exit(1)
print("no error", file=sys.stderr)
sys.exit(1)
PYEOF
}

# py CODE - run python3 with MNT in the environment. CODE starts with errno,
# os and sys imported, m set to the mount point, and raises(ERRNO, FN): FN()
# must fail with OSError ERRNO.
DX_PY_PRELUDE='import errno, os, sys
m = os.environ["MNT"]
def raises(code, fn):
    try:
        fn()
    except OSError as e:
        assert e.errno == code, (e, errno.errorcode[code])
        return
    raise SystemExit("no " + errno.errorcode[code])
'
py() {
	MNT=$MNT "$PY" -c "$DX_PY_PRELUDE$1" || fail "python: $1"
}
