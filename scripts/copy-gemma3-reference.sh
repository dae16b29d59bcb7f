#!/bin/sh
# Copies llama.cpp's reference outputs for Gemma 3 270M into the test fixtures.
# The reference was made with llama.cpp (ggml-org/llama.cpp 0c1e57098, vendored in the PyPI sdist
# llama-cpp-python==0.3.36, CPU build) on gemma-3-270m-q4_k_m.gguf:
#   greedy.jsonl    `llama-simple -m MODEL -n N PROMPT`
#   tokenize.jsonl  `llama-tokenize -m MODEL -f FILE --ids --no-escape` (BOS, special tokens parsed)
#                   and again with `--no-bos --no-parse-special`
set -eu
src="${1:-/work/shared/reference/gemma3}"
dst="$(dirname "$0")/../Tests/EngineTests/Fixtures"
cp "$src/greedy.jsonl" "$dst/gemma3-greedy.jsonl"
cp "$src/tokenize.jsonl" "$dst/gemma3-tokenize.jsonl"
