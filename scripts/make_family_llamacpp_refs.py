#!/usr/bin/env python3
"""llama.cpp's outputs on the tiny family GGUFs (scripts/make_family_ggufs.py), for issue #15.

The reference is the llama.cpp vendored in llama-cpp-python==0.3.36, built from its sdist (see
Tests/EngineTests/Fixtures/families/README.md for the exact commands). Writes, into the fixtures
folder:

  tokenize.jsonl    llama-tokenize --stdin --ids --no-escape on every string of STRINGS, for every
                    vocabulary (each model's F32 file and every vocab-*.gguf), in four modes: with /
                    without --no-bos, with / without --no-parse-special. `add_special` is what
                    llama-tokenize passed to llama_tokenize (the file's add_bos_token and not
                    --no-bos); it adds BOS, and EOS when the file's add_eos_token says so.
  greedy.jsonl      per model file and prompt: the prompt's ids (llama_tokenize with add_special =
                    the file's add_bos_token, special tokens parsed), then STEPS greedy steps
                    (argmax; it does not stop at end-of-generation tokens), each with the chosen
                    token, the top-5 logits, the log-probabilities of the top two and their gap, and
                    the generated ids' text (llama_token_to_piece of each, concatenated; invalid
                    UTF-8 replaced by U+FFFD)
  logits.jsonl      per model file: the full last-token logit vector of LOGITS_PROMPT
  perplexity.json   llama-perplexity -c 64 -b 64 on perplexity.txt: the final estimate and the
                    per-chunk values it prints

Every evaluation uses an F32 KV cache and flash attention off (llama.cpp's default KV cache is F16,
which rounds K and V); 2 threads.

    LLAMA_CPP_LIB_PATH=/work/llamacpp/build/bin PYTHONPATH=/work/llamacpp/llama_cpp_python-0.3.36 \\
        python3 scripts/make_family_llamacpp_refs.py --bin /work/llamacpp/build/bin
"""
import argparse, json, math, os, re, subprocess, sys, tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests/EngineTests/Fixtures/families"

STRINGS = [
    "Hello world",
    " Hello  world ",
    "The quick brown fox jumps over the lazy dog.",
    "机器学习是人工智能的一个分支。你好，世界！",
    "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n\ta, b = b, a + b\n    return a\n",
    "3.14159 + 2024 = 12345678, 1,000,000 and 007",
    "emoji 🙂👍🏽 👨‍👩‍👧 🇫🇷 ok",
    "It's DON'T we'll I'M they'Re",
    "naïve café résumé — “quotes” «ñ» Ω≈ç√",
    "\n\nline one\r\nline two\n\n\n",
    "   leading spaces and trailing spaces   ",
    "a    b\t\tc  \n  d",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n<think>\nhmm\n</think> ok<|im_end|>",
    "<s>[INST] What is 2+2? [/INST] 4</s>",
    "<|user|>\nWhat is 2+2?<|end|>\n<|assistant|> <|placeholder1|>x",
    "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n",
    "<|endoftext|>Mixed 中文 and code: x = [1, 2, 3]  # comment",
    "",
    " ",
    "Ünïcödé ｆｕｌｌｗｉｄｔｈ！？ 「引用」 ‘single’ “double”",
    "한국어 텍스트 日本語のテキスト カタカナ",
    "Arabic digits ٣٤٥, fractions ½ ⅓, powers x² and H₂O",
    "nbsp\u00a0here ideographic\u3000space nel\u0085x",
    "e\u0301 combining a\u0308 and precomposed é",
    "tabs\tand\u000bvertical\u000cfeed",
    "x'S 's 'll 'LL '' 'd've",
    "<|im_start|><|im_start|>   <|im_end|>  trailing",
    "    indented\n        more\n\t\ttabs\n",
    "1234567890123 and 12,345.678",
    "a\n\n\nb\r\n\r\nc   \n   d",
    "```python\nprint('hi')\n```",
    "<|begin_of_text|>",
    "<think></think><|placeholder1|><end_of_turn>",
    "😀😀😀 🇯🇵🇺🇸",
    "$100 + 50% = ^~|<>= `backtick` @user #tag",
    "ALL CAPS SHOUTING, MiXeD cAsE, and snake_case_names",
    # Long pre-tokenized words (one Llama 3 word of 560 CJK characters, runs of spaces and letters).
    "机器学习是人工智能的一个分支" * 40,
    " " * 300 + "x" + "a" * 500,
]

PROMPTS = ["The quick brown fox", "def fibonacci(n):\n    a, b = 0, 1\n", "机器学习是"]
STEPS = 20
LOGITS_PROMPT = "Whetstone loads a model and tokenizes text. 你好"
PPL_CONTEXT = 64


def model_files():
    files = sorted(p for p in FIXTURES.glob("*.gguf") if not p.name.startswith("vocab-"))
    return files


def tokenize(binary, model, text, no_bos, no_parse_special):
    cmd = [str(binary), "-m", str(model), "--stdin", "--ids", "--no-escape", "--log-disable"]
    if no_bos:
        cmd.append("--no-bos")
    if no_parse_special:
        cmd.append("--no-parse-special")
    out = subprocess.run(cmd, input=text.encode(), capture_output=True, check=True).stdout.decode()
    line = [l for l in out.splitlines() if l.startswith("[")][-1]
    return json.loads(line)


def run_tokenize(binary, out):
    import gguf
    vocabs = sorted(FIXTURES.glob("*-f32.gguf")) + sorted(FIXTURES.glob("vocab-*.gguf"))
    with open(out, "w") as f:
        for model in vocabs:
            r = gguf.GGUFReader(str(model))
            field = r.fields.get("tokenizer.ggml.add_bos_token")
            add_bos = bool(field.parts[field.data[0]][0]) if field else True
            for text in STRINGS:
                for no_bos in (False, True):
                    for no_parse in (False, True):
                        ids = tokenize(binary, model, text, no_bos, no_parse)
                        f.write(json.dumps({"model": model.name, "text": text, "add_special": add_bos and not no_bos,
                                            "parse_special": not no_parse, "ids": ids}, ensure_ascii=False) + "\n")


def load(path):
    import llama_cpp
    return llama_cpp.Llama(model_path=str(path), n_ctx=256, n_batch=256, n_ubatch=256, n_threads=2,
                           n_threads_batch=2, logits_all=True, verbose=False, flash_attn=False,
                           type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32)


def detokenize(llm, tokens):
    """llama_token_to_piece per token, concatenated (llama-cpp-python's own detokenize uses a 32-byte
    buffer and silently drops longer pieces)."""
    import ctypes
    import llama_cpp
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    out = b""
    for t in tokens:
        size = 256
        while True:
            buf = (ctypes.c_char * size)()
            n = llama_cpp.llama_token_to_piece(vocab, llama_cpp.llama_token(t), buf, size, 0, False)
            if n >= 0:
                out += bytes(buf[:n])
                break
            size = -n
    return out


def log_softmax(x):
    m = x.max()
    return x - m - math.log(np.exp(x - m).sum())


def run_greedy_and_logits(greedy_out, logits_out):
    import llama_cpp
    with open(greedy_out, "w") as g, open(logits_out, "w") as lo:
        for path in model_files():
            llm = load(path)
            add_bos = llama_cpp.llama_vocab_get_add_bos(llama_cpp.llama_model_get_vocab(llm.model))
            for prompt in PROMPTS:
                ids = llm.tokenize(prompt.encode(), add_bos=add_bos, special=True)
                llm.reset()
                llm.eval(ids)
                steps, generated = [], []
                for step in range(STEPS):
                    logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
                    top = np.argsort(-logits, kind="stable")[:5]
                    lp = log_softmax(logits)
                    token = int(top[0])
                    steps.append({"token": token, "gap": round(float(logits[top[0]] - logits[top[1]]), 6),
                                  "logprobs": [round(float(lp[top[0]]), 6), round(float(lp[top[1]]), 6)],
                                  "top": [[int(t), round(float(logits[t]), 6)] for t in top]})
                    generated.append(token)
                    llm.eval([token])
                text = detokenize(llm, generated).decode("utf-8", errors="replace")
                g.write(json.dumps({"model": path.name, "prompt": prompt, "prompt_ids": ids, "generated_ids": generated,
                                    "text": text, "steps": steps}, ensure_ascii=False) + "\n")
            ids = llm.tokenize(LOGITS_PROMPT.encode(), add_bos=add_bos, special=True)
            llm.reset()
            llm.eval(ids)
            logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
            lo.write(json.dumps({"model": path.name, "prompt": LOGITS_PROMPT, "prompt_ids": ids,
                                 "logits": [round(float(v), 6) for v in logits]}, ensure_ascii=False) + "\n")
            del llm


def run_perplexity(binary, text_path, out):
    results = {}
    for path in model_files():
        # Through a log file: llama.cpp's log thread loses the last lines when writing to a pipe.
        # (it sometimes loses them in the file too, so the run is repeated until the line is there).
        log_path = Path(tempfile.gettempdir()) / "whetstone-family-perplexity.log"
        cmd = [str(binary), "-m", str(path), "-f", str(text_path), "-c", str(PPL_CONTEXT), "-b", str(PPL_CONTEXT),
               "-t", "2", "-fa", "off", "-ctk", "f32", "-ctv", "f32", "--log-file", str(log_path)]
        for attempt in range(20):
            log_path.unlink(missing_ok=True)
            p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            m = None
            for log in (log_path.read_text() if log_path.exists() else "", p.stdout + p.stderr):
                m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", log)
                if m:
                    break
            if m or p.returncode != 0:
                break
        if p.returncode != 0 or not m:
            sys.exit(f"llama-perplexity failed on {path.name}:\n{log[-2000:]}")
        chunks = [float(x) for x in re.findall(r"\[\d+\]([0-9.]+)", log.split("Final estimate")[0])]
        results[path.name] = {"perplexity": float(m.group(1)), "plus_minus": float(m.group(2)),
                              "context": PPL_CONTEXT, "chunk_running_ppl": chunks}
    out.write_text(json.dumps(results, indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="folder with llama-tokenize and llama-perplexity")
    ap.add_argument("--only", choices=["tokenize", "greedy", "perplexity"])
    args = ap.parse_args()
    binary = Path(args.bin)
    if args.only in (None, "tokenize"):
        run_tokenize(binary / "llama-tokenize", FIXTURES / "tokenize.jsonl")
    if args.only in (None, "greedy"):
        run_greedy_and_logits(FIXTURES / "greedy.jsonl", FIXTURES / "logits.jsonl")
    if args.only in (None, "perplexity"):
        run_perplexity(binary / "llama-perplexity", FIXTURES / "perplexity.txt", FIXTURES / "perplexity.json")


if __name__ == "__main__":
    main()
