#!/usr/bin/env bash
# Every `@unchecked Sendable` in Sources carries its reason on the line above
# ("// @unchecked Sendable: why it is safe"). Run by scripts/lint.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
missing=$(find Sources -name '*.swift' -print0 | xargs -0 awk '
    FNR == 1 { prev = "" }
    /@unchecked Sendable/ && !/\/\/ @unchecked Sendable:/ && prev !~ /\/\/ @unchecked Sendable:/ { print FILENAME ":" FNR ": " $0 }
    { prev = $0 }')
total=$(grep -rn "@unchecked Sendable" Sources | grep -vc "// @unchecked Sendable:")
if [ -n "$missing" ]; then
    echo "$missing"
    echo "unchecked-sendable: $(echo "$missing" | wc -l) of $total without a reason on the line above" >&2
    exit 1
fi
echo "unchecked-sendable: all $total have their reason"
