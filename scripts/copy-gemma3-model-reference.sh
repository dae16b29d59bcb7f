#!/bin/sh
# Copies llama.cpp's Gemma 3 270M reference outputs used by the model tests into the fixtures.
# Made with llama.cpp (ggml-org/llama.cpp 0c1e57098, vendored in llama-cpp-python==0.3.36, CPU build)
# on gemma-3-270m-q4_k_m.gguf (sha256 a5fd3b62…6818):
#   greedy.jsonl          `llama-simple -m MODEL -n N PROMPT`
#   perplexity_text.txt   `llama-perplexity -m MODEL -f perplexity_text.txt -c 256 -t 2` → PPL = 22.9931
# The fp64 logits fixture is made by scripts/make_gemma3_fp64_logits.py.
set -eu
src="${1:-/work/shared/reference/gemma3}"
dst="$(dirname "$0")/../Tests/EngineTests/Fixtures"
cp "$src/greedy.jsonl" "$dst/gemma3-greedy.jsonl"
cp "$src/perplexity_text.txt" "$dst/gemma3-perplexity.txt"
