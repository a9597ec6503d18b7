# SPDX-License-Identifier: MIT
# privns.sh - sourced first by a mount test that runs mount(8): re-runs the
# script in a private mount namespace (DX_IN_NS set), where lib.sh's
# dx_daxfs_in_path can put the build's daxfs in the default system PATH
# that mount(8) gives its helpers, changing nothing outside.
#
#   . "$(dirname "$0")/privns.sh"      (before lib.sh; "$@" are passed on)
if [ -z "${DX_IN_NS:-}" ]; then
	if ! command -v unshare >/dev/null; then
		[ "${CI:-}" = true ] && { echo "FAIL (CI): unshare is not installed" >&2; exit 1; }
		echo "SKIP: unshare is not installed" >&2
		exit 77
	fi
	DX_IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
