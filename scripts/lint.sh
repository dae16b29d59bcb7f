#!/usr/bin/env bash
# House rules, checked by `make test` (lint only; nothing is reformatted): swift-format's rules as
# .swift-format configures them (Tests/.swift-format allows force unwraps and force tries in tests).
#
# swift-format always adds its pretty printer's layout findings and offers no switch to turn them
# off (swiftlang/swift-format#764). Whetstone's layout (aligned continuation lines, one-line
# `case … : stmt; return` arms) is not the printer's, so those findings are dropped here and only
# the rule findings count. Then every `@unchecked Sendable` must say why it is safe
# (scripts/check_unchecked_sendable.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
layout='\[(Indentation|AddLines|RemoveLine|Spacing|LineLength|TrailingComma|TrailingWhitespace)\]'
findings=$(swift format lint --recursive --parallel Package.swift Sources Tests 2>&1 | grep -E 'warning: \[|error: ' | grep -Ev "$layout")
if [ -n "$findings" ]; then
    echo "$findings"
    echo "lint: $(echo "$findings" | wc -l) finding(s); fix them (or, where a rule must give way, add '// swift-format-ignore: Rule' with the reason above it)" >&2
    exit 1
fi
echo "lint: swift-format rules pass"
bash scripts/check_unchecked_sendable.sh
