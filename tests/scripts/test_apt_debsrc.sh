#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_apt_debsrc - scripts/apt-debsrc derives deb-src entries from an apt
# configuration in both formats (one-line with options, deb822 with
# continuation lines, Enabled: no, an entry that already has deb-src), and
# for --suite takes only the release's own archive, once per URI.
# Runs on a private apt configuration (APT_CONFIG), never the machine's.
# Usage: test_apt_debsrc.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

src=$2
tool=$src/scripts/apt-debsrc
command -v apt-config >/dev/null 2>&1 || { echo "SKIP: apt-config not found (not Debian?)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/d"
cat >"$work/apt.conf" <<CONF
Dir::Etc::sourcelist "$work/sources.list";
Dir::Etc::sourceparts "$work/d";
CONF
export APT_CONFIG=$work/apt.conf

fail()
{
	echo "FAIL: $*" >&2
	exit 1
}

# expect_stanza OUTPUT URI SUITES [FIELD...]: OUTPUT has a stanza with these
# URIs and Suites lines and every FIELD line (exact lines).
expect_stanza()
{
	local out=$1 uri=$2 suites=$3 stanza
	shift 3
	stanza=$(awk -v u="URIs: $uri" -v s="Suites: $suites" '
		BEGIN { RS = ""; FS = "\n" }
		{ hu = hs = 0; for (i = 1; i <= NF; i++) { if ($i == u) hu = 1; if ($i == s) hs = 1 } }
		hu && hs { print; exit }' <<<"$out")
	[ -n "$stanza" ] || fail "no stanza for $uri $suites in:"$'\n'"$out"
	grep -qx "Types: deb-src" <<<"$stanza" || fail "stanza for $uri is not deb-src"
	for line in "$@"; do
		grep -qxF -- "$line" <<<"$stanza" || fail "stanza for $uri $suites lacks '$line':"$'\n'"$stanza"
	done
}

cat >"$work/sources.list" <<'SL'
# a comment line
deb [arch=amd64 signed-by=/k/a.gpg] http://m.invalid/debian bookworm main contrib # trailing
deb http://m.invalid/debian-security bookworm-security main
deb-src http://m.invalid/srconly bookworm main
deb [ trusted=yes ] file:/srv/repo ./
SL
cat >"$work/d/a.sources" <<'S'
# comment
Types: deb deb-src
URIs: http://x.invalid/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://y.invalid/debian
Suites: bookworm
  bookworm-updates
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 abc
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
Enabled: no
URIs: http://z.invalid/debian
Suites: bookworm
Components: main
S
echo 'deb http://w.invalid/debian trixie main' >"$work/d/b.list"
echo 'deb http://v.invalid/debian bookworm main' >"$work/d/c.list.disabled"

out=$("$tool")
expect_stanza "$out" http://m.invalid/debian bookworm "Components: main contrib" "Signed-By: /k/a.gpg"
expect_stanza "$out" http://m.invalid/debian-security bookworm-security "Components: main"
expect_stanza "$out" file:/srv/repo ./ "Trusted: yes"
expect_stanza "$out" http://w.invalid/debian trixie
expect_stanza "$out" http://y.invalid/debian "bookworm bookworm-updates" \
	"Signed-By:" " -----BEGIN PGP PUBLIC KEY BLOCK-----" " abc"
for absent in x.invalid z.invalid v.invalid srconly "Architectures" "arch="; do
	! grep -q "$absent" <<<"$out" || fail "'$absent' should not be in the output:"$'\n'"$out"
done
[ "$(grep -c '^Types:' <<<"$out")" -eq 5 ] || fail "expected 5 stanzas:"$'\n'"$out"

out=$("$tool" --suite unstable --base bookworm)
expect_stanza "$out" http://m.invalid/debian unstable "Components: main" "Signed-By: /k/a.gpg"
expect_stanza "$out" http://x.invalid/debian unstable
expect_stanza "$out" http://y.invalid/debian unstable " abc"
for absent in security w.invalid z.invalid bookworm contrib; do
	! grep -q "$absent" <<<"$out" || fail "--suite: '$absent' should not be in the output:"$'\n'"$out"
done
# The same archive listed twice with other components gives one stanza.
echo 'deb http://m.invalid/debian bookworm non-free' >>"$work/sources.list"
out=$("$tool" --suite unstable --base bookworm)
[ "$(grep -c '^URIs: http://m.invalid/debian$' <<<"$out")" -eq 1 ] ||
	fail "--suite: one archive twice:"$'\n'"$out"

# Nothing to derive: exit 1, no output.
: >"$work/sources.list"
rm -f "$work/d"/*
rc=0
out=$("$tool") || rc=$?
[ $rc -eq 1 ] && [ -z "$out" ] || fail "empty configuration: rc $rc, output '$out'"
rc=0
"$tool" --bogus 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "bad usage gave $rc, not 2"
echo "PASS"
