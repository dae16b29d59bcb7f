#!/usr/bin/env bash
# Runs the whole suite (Swift Testing, release build) and ends with one plain summary line,
# "tests: N passed, M failed", so the result is readable at a glance and by CI.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .build
log=.build/test-output.log
swift test -c "${CONFIG:-release}" --disable-xctest "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
total=$(grep -E "Test run with [0-9]+ tests?" "$log" | tail -1 | sed -E 's/.*Test run with ([0-9]+) tests?.*/\1/')
failed=$(grep -E "^✘ Test .*\(.*\) failed" "$log" | grep -vc "Test run with" || true)
if [ -z "$total" ]; then
    echo "tests: the test run did not report a summary (build failure?)" >&2
    exit $(( status == 0 ? 1 : status ))
fi
passed=$(( total - failed ))
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
