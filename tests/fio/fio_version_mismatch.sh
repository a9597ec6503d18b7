#!/bin/bash
# SPDX-License-Identifier: MIT
#
# fio_version_mismatch.sh - an engine built for another fio version refuses
# to run: fio exits nonzero and the message names both versions, and the
# region is not written. (The build makes libfio_pmemdev_badver.so from the
# same source with FIO_VERSION="fio-0.0-mismatch".)
. "$(dirname "$0")/fio_lib.sh"

[ -f "${PMD_FIO_BADVER_SO:-}" ] || fail "PMD_FIO_BADVER_SO not built"
ENGINE="external:$PMD_FIO_BADVER_SO"
region=$(make_region r 8M)
sum=$(md5sum <"$region")

run_fio --name=badver --region="$region" --rw=write --bs=4k --size=4M
expect_fail "built against fio-0.0-mismatch but running in $("$FIO" --version)" \
	"engine built for another fio version"
[ "$(md5sum <"$region")" = "$sum" ] || fail "the refused job wrote to the region"
echo "ok: version mismatch refused"
