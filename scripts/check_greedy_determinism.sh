#!/bin/bash
# whet generate --temperature 0 on the four greedy prompts (issue #23): the token ids must be the
# same with --threads 1, --threads 2 and with OPENBLAS_CORETYPE unset.
# Usage (from the checkout, with models/ installed): scripts/check_greedy_determinism.sh [WHET]
W=${1:-.build/release/whet}
python3 - "$W" <<'PY'
import json, subprocess, sys, os
w = sys.argv[1]
prompts = [json.loads(l) for l in open('Tests/EngineTests/Fixtures/gemma3-greedy.jsonl') if l.strip()]
settings = [("threads 1", ["--threads", "1"], {}), ("threads 2", ["--threads", "2"], {}),
            ("threads 2, OPENBLAS_CORETYPE unset", ["--threads", "2"], {"unset": True})]
results = {}
for name, extra, opt in settings:
    env = dict(os.environ)
    if opt.get("unset"):
        env.pop("OPENBLAS_CORETYPE", None); env.pop("OPENBLAS_L2_SIZE", None)
    ids = []
    for p in prompts:
        out = subprocess.run([w, "generate", "--model", "models/gemma-3-270m-q4_k_m.gguf", "--prompt", p["prompt"],
                              "--temperature", "0", "--max-tokens", str(p["max_tokens"]), "--json"] + extra,
                             capture_output=True, text=True, env=env)
        ids.append(json.loads(out.stdout)["token_ids"])
    results[name] = ids
base = results["threads 1"]
for name, ids in results.items():
    print(f"{name}: {'same' if ids == base else 'DIFFERENT'} ids; lengths {[len(x) for x in ids]}")
PY
