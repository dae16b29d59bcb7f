#!/usr/bin/env python3
"""Per-step top logits of llama.cpp's greedy runs on Gemma 3 270M, for the greedy test of issue #3.

The reference fixtures (greedy.jsonl) give llama.cpp's greedy text but only step 0's logits, so a
divergence could not be checked against llama.cpp's own top-two gap. This script uses the same
llama.cpp as the reference (the copy vendored in llama-cpp-python==0.3.36, ggml-org/llama.cpp at
0c1e57098), runs llama-simple's loop (whole prompt in one batch with BOS, then one token per step,
argmax) and records at every step the token llama.cpp picks, its top-5 logits and its top-two gap.

It runs twice: with flash attention (llama-simple's default; the run must reproduce the reference —
step-0 top-10 logits to 1e-3, every greedy text and id — or the script stops without writing), and
with flash attention off, recording where llama.cpp's own two attention paths part ways.

    python3 -m venv venv && venv/bin/pip install llama-cpp-python==0.3.36 numpy
    venv/bin/python scripts/make_gemma3_llamacpp_steps.py models/gemma-3-270m-q4_k_m.gguf \
        Tests/EngineTests/Fixtures/gemma3-greedy.jsonl > Tests/EngineTests/Fixtures/gemma3-greedy-steps.jsonl
"""
import json, sys
import numpy as np
import llama_cpp

def greedy(llm, prompt_ids, max_tokens):
    llm.reset()
    llm.eval(prompt_ids)
    steps, generated = [], []
    for step in range(max_tokens):
        logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
        top = np.argsort(-logits)[:10]
        token = int(top[0])
        steps.append({"step": step, "token": token, "gap": round(float(logits[top[0]] - logits[top[1]]), 4),
                      "top": [[int(t), round(float(logits[t]), 4)] for t in top]})
        if token == llm.token_eos():
            break
        generated.append(token)
        llm.eval([token])
    return generated, steps

def main():
    model_path, greedy_path = sys.argv[1], sys.argv[2]
    refs = [json.loads(line) for line in open(greedy_path) if line.strip()]
    runs = {}
    for flash in (True, False):
        llm = llama_cpp.Llama(model_path=model_path, n_ctx=256, n_batch=256, n_threads=4, n_threads_batch=4,
                              logits_all=True, verbose=False, flash_attn=flash)
        runs[flash] = []
        for ref in refs:
            prompt_ids = llm.tokenize(ref["prompt"].encode(), add_bos=True, special=True)
            generated, steps = greedy(llm, prompt_ids, ref["max_tokens"])
            text = llm.detokenize(generated).decode("utf-8", errors="replace")
            if flash:
                if ref.get("prompt_ids", prompt_ids) != prompt_ids:
                    sys.exit(f"prompt ids differ from the reference for {ref['prompt']!r}")
                for (tid, value, _), (t, v) in zip(ref.get("step0_top_logits", []), steps[0]["top"]):
                    if tid != t or abs(value - v) > 1e-3:
                        sys.exit(f"step-0 logits differ from the reference: {tid} {value} vs {t} {v}")
                if text != ref["greedy_output"] or ref.get("generated_ids", generated) != generated:
                    sys.exit(f"greedy output differs from the reference for {ref['prompt']!r}: {text!r}")
            runs[flash].append((prompt_ids, generated, steps))
        del llm
    for ref, (prompt_ids, generated, steps), (_, other, _) in zip(refs, runs[True], runs[False]):
        split = next((i for i, (a, b) in enumerate(zip(generated, other)) if a != b), None)
        for s in steps:
            s["top"] = s["top"][:5]
        print(json.dumps({"prompt": ref["prompt"], "prompt_ids": prompt_ids, "generated_ids": generated, "steps": steps,
                          "no_flash_attention": {"generated_ids": other, "first_divergence": split}}))

if __name__ == "__main__":
    main()
