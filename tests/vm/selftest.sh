#!/usr/bin/env bash
# Self-test of the VM harness: boots the VM twice and fails (non-zero) if anything is off.
#   1. selftest.guest.sh: ipvsadm, /proc/net/ip_vs, every scheduler module, bridge/veth/netns plumbing
#      with busybox httpd + wget, IPVS NAT and tunnel data paths, and the harness options
#      (--bin with its libraries, --file, --env, --output).
#   2. a script that exits 7: run.sh must exit 7.
# Usage: tests/vm/selftest.sh [--keep-logs DIR]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOGS=""
if [[ ${1:-} == --keep-logs ]]; then
    LOGS=${2:?--keep-logs needs a directory}
    mkdir -p "$LOGS"
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/director-vm-selftest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
[[ -n $LOGS ]] || LOGS=$TMP

fail() {
    echo "selftest: FAIL: $*" >&2
    exit 1
}

echo "payload from the host" >"$TMP/data.txt"
start=$SECONDS
rc=0
"$HERE/run.sh" --timeout 300 \
    --script "$HERE/selftest.guest.sh" \
    --bin "$(command -v seq):/usr/local/bin/gnu-seq" \
    --file "$TMP/data.txt:/etc/selftest/data.txt" \
    --env "SELFTEST_VAR=a value with spaces" \
    --output "$TMP/out.bin" \
    --log "$LOGS/selftest.log" || rc=$?
((rc == 0)) || fail "guest self-test exited $rc (log: $LOGS/selftest.log)"
grep -q '^SELFTEST-OK' <(tr -d '\r' <"$LOGS/selftest.log") || fail "no SELFTEST-OK in the log"
[[ $(cat "$TMP/out.bin") == $'raw output\nsecond line' ]] || fail "--output file: $(od -c "$TMP/out.bin" | head)"
echo "selftest: guest checks passed in $((SECONDS - start))s"

start=$SECONDS
printf 'echo about to exit 7\nexit 7\n' >"$TMP/exit7.sh"
rc=0
"$HERE/run.sh" -q --timeout 120 --script "$TMP/exit7.sh" --log "$LOGS/exit7.log" || rc=$?
((rc == 7)) || fail "run.sh returned $rc for a script exiting 7 (log: $LOGS/exit7.log)"
echo "selftest: exit code propagation passed in $((SECONDS - start))s"
echo "selftest: OK"
