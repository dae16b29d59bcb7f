#!/usr/bin/env bash
# Key-to-screen latency of the workbench under load, measured by the workbench itself
# (`whet --latency-log`: input read → frame flushed, per answered key).
#
#   scripts/workbench-latency.sh [KEYS] [LOAD_COMMAND]
#
# Opens `whet` in a detached tmux session (120×40), starts a long generation in the Prompt pane
# (max tokens 4096) so the engine keeps the cores busy, optionally runs LOAD_COMMAND alongside
# (e.g. a `whet train lora …` run), sends KEYS (default 200) focus-moving keys 50 ms apart, quits,
# and prints the log's summary lines.
set -euo pipefail
cd "$(dirname "$0")/.."
keys=${1:-200}
load=${2:-}
whet=${WHET:-.build/release/whet}
log=$(mktemp /tmp/whet-latency-XXXXXX.log)
session=whet-latency-$$
if [ -n "$load" ]; then
    bash -c "$load" >/tmp/whet-latency-load.log 2>&1 &
    load_pid=$!
    sleep 5
fi
tmux new-session -d -s "$session" -x 120 -y 40 "$whet --latency-log $log --workspace $(mktemp -d); sleep 5"
trap 'tmux kill-session -t $session 2>/dev/null || true; [ -n "${load_pid:-}" ] && kill $load_pid 2>/dev/null || true' EXIT
until tmux capture-pane -p -t "$session" | grep -q "ctx "; do sleep 0.2; done
tmux send-keys -t "$session" F3; sleep 0.3
tmux send-keys -t "$session" Down Down Down; sleep 0.2   # max tokens slider
tmux send-keys -t "$session" End; sleep 0.2
tmux send-keys -t "$session" C-r; sleep 2
for _ in $(seq "$keys"); do
    tmux send-keys -t "$session" C-n
    sleep 0.05
done
tmux send-keys -t "$session" C-q; sleep 0.5
tmux send-keys -t "$session" Enter; sleep 2
grep '^#' "$log"
echo "log: $log"
