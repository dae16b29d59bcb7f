#!/usr/bin/env bash
# Key-to-screen latency of the workbench while the engine is busy, measured by the workbench itself
# (`whet --latency-log`: from the moment the UI loop read a key to the flush of the frame that
# answers it; the terminal's own delays are not included).
#
#   scripts/workbench-latency.sh [train|generate] [KEYS]
#
# Opens `whet` in a detached tmux session (120×40) and starts, inside the workbench, either a LoRA
# run in the Train pane (default; the active model, data/samples/sft.jsonl) or a long generation in
# the Prompt pane (max tokens 4096). Once it is running, sends KEYS (default 200) focus-moving keys
# (Ctrl-N) 50 ms apart, quits (confirming), and prints the log's summary lines.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-train}
keys=${2:-200}
whet=${WHET:-.build/release/whet}
log=$(mktemp /tmp/whet-latency-XXXXXX.log)
workspace=$(mktemp -d)
session=whet-latency-$$
tmux new-session -d -s "$session" -x 120 -y 40 "$whet --latency-log $log --workspace $workspace; sleep 5"
trap 'tmux kill-session -t $session 2>/dev/null || true' EXIT
until tmux capture-pane -p -t "$session" | grep -q "ctx "; do sleep 0.2; done
if [ "$mode" = train ]; then
    tmux send-keys -t "$session" F4; sleep 0.3
    tmux send-keys -t "$session" C-r
    # Wait for the first finished step (the model and data load first).
    until tmux capture-pane -p -t "$session" | grep -q "running step [1-9]"; do sleep 0.5; done
else
    tmux send-keys -t "$session" F3; sleep 0.3
    tmux send-keys -t "$session" Down Down Down; sleep 0.2   # the max tokens slider
    tmux send-keys -t "$session" End; sleep 0.2
    tmux send-keys -t "$session" C-r
    until tmux capture-pane -p -t "$session" | grep -q "streaming"; do sleep 0.2; done
fi
for _ in $(seq "$keys"); do
    tmux send-keys -t "$session" C-n
    sleep 0.05
done
tmux send-keys -t "$session" C-q; sleep 1
tmux send-keys -t "$session" Enter; sleep 3
grep '^#' "$log"
echo "log: $log  (one line per answered key: ms, job kinds running)"
