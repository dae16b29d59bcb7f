#!/usr/bin/env python3
"""Tiny random-weight GGUFs of each decoder family, for issue #15 (model families).

Writes into OUT (default Tests/EngineTests/Fixtures/families):

  <model>-f32.gguf, <model>-f16.gguf     written here with the `gguf` package (gguf-py)
  vocab-<pre>.gguf                       vocabulary-only files (no tensors) for the BPE
                                         pre-tokenizers no model file uses
  tokenizer-bpe.json, tokenizer-spm.model  the trained tokenizers themselves

and, when --llama-quantize points at llama.cpp's llama-quantize, <model>-q8_0.gguf and
<model>-q4_k_m.gguf made from the F32 file (gguf-py cannot write Q4_K). With d_model 64 the rows
are not a multiple of 256, so llama-quantize falls back for Q4_K as it does for real models with
such rows (q5_0 / q8_0 and friends); `llama-d256` has d_model 256 so its Q4_K_M file really holds
Q4_K / Q6_K blocks (only that file of it is kept; its F32 source is deleted after quantizing).

Models (tensor names, shapes and metadata keys as llama.cpp's src/models/<arch>.cpp and
gguf-py's constants define them):

  llama-bpe   llama, byte-level BPE vocabulary, pre-tokenizer llama-bpe, tied output, rope_freqs
              (Llama 3.2 / SmolLM layout), Llama 3.2 chat template
  llama-spm   llama, SentencePiece `llama` vocabulary (Llama 2 / Mistral / TinyLlama), separate
              output.weight, Mistral chat template
  qwen2       qwen2, BPE (pre qwen2), Q/K/V biases, tied output, Qwen2.5 template
  qwen3       qwen3, BPE (pre qwen2), per-head attn_q_norm / attn_k_norm, head_dim 32 with 4
              heads (q width 128 != d_model 64, as in real Qwen3), tied output, Qwen3 template
  phi3        phi3, SentencePiece vocabulary with Phi-3's specials, fused attn_qkv, fused
              gate/up in ffn_up ([d, 2*ff]), separate output, sliding_window 2047, Phi-3.5 template
  gemma2      gemma2, SentencePiece (no space prefix), post-attention / post-ffw norms, logit
              soft-capping, sliding window 8 (layer 0 local, layer 1 global), Gemma 2 template
  gemma3      gemma3, SentencePiece (no space prefix), Q/K norms, 6 layers (layers 0-4 local
              with window 8, layer 5 global), rope bases 1e6 global / 1e4 local, Gemma 3 template
  llama-d256  llama-bpe's tokenizer and layout with d_model 256 (Q4_K_M only)

Everything is seeded: the same gguf / tokenizers / sentencepiece versions give the same bytes.

    pip install gguf tokenizers sentencepiece numpy
    python3 scripts/make_family_ggufs.py --llama-quantize /work/llamacpp/build/bin/llama-quantize
"""
import argparse, json, os, subprocess, sys, tempfile
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "scripts" / "family_templates"

# ---------------------------------------------------------------- training text (English, Chinese, code)

ENGLISH = """\
The quick brown fox jumps over the lazy dog. A small model learns the shape of language from text.
Whetstone is a workbench for language models: it loads a model, tokenizes text, generates answers,
trains adapters and compares configurations side by side. Tokenizers split text into pieces; a
byte-level BPE vocabulary starts from the 256 bytes and merges the most frequent pairs.
It's a test, isn't it? They're here, we've seen it, I'm sure you'll like it and he'd agree.
Numbers such as 3.14159, 2024, 1,000,000 and 42 appear in prose; so do dates like 2026-12-03.
Llamas, falcons and phoenixes are animals; Qwen, Gemma, Phi and Mistral are model families.
When the weather is fine we walk along the river, read a book, and talk about the future.
Please write a short poem about the sea. Summarize the following paragraph in one sentence.
"""

CHINESE = """\
机器学习是人工智能的一个分支。我们今天去公园散步，天气很好。
自然语言处理让计算机理解人类的语言。这个模型很小，但是可以用来测试。
北京是中国的首都，上海是一个国际化的大城市。我喜欢喝茶，也喜欢看书。
你好，世界！请把这句话翻译成英文。今天是星期四，明天是星期五。
分词器把文本切成词元，模型根据词元预测下一个词元。学习需要时间和耐心。
"""

CODE = '''\
def fibonacci(n):
    """Return the n-th Fibonacci number."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


class Tokenizer:
    def __init__(self, vocab):
        self.vocab = vocab

    def encode(self, text):
        return [self.vocab[c] for c in text if c in self.vocab]


func greet(name: String) -> String {
    let message = "Hello, \\(name)!"
    return message
}

for (int i = 0; i < 10; i++) {
    printf("%d\\n", i * i);
}

if x == 1 and y != 2:
    print({"key": [1, 2, 3], "value": None})
'''

CORPUS = [ENGLISH, CHINESE, CODE]

# ---------------------------------------------------------------- special tokens

# Byte-level BPE vocabulary (one for every BPE model; each model names its own BOS/EOS).
BPE_CONTROL = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
               "<|eot_id|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
BPE_USER_DEFINED = ["<think>", "</think>"]          # Qwen3's: not special, parsed in both modes
BPE_VOCAB_SIZE = 1200

# SentencePiece vocabulary (Llama 2 / Mistral / Phi-3 / Gemma specials).
SPM_CONTROL = ["<|endoftext|>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>",
               "<start_of_turn>", "<end_of_turn>"]
SPM_USER_DEFINED = ["<|placeholder1|>", "    "]   # a user-defined run of spaces, as Gemma has
SPM_VOCAB_SIZE = 1000


def train_bpe(out_dir):
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=BPE_VOCAB_SIZE, min_frequency=1, show_progress=False,
                                  special_tokens=BPE_CONTROL + BPE_USER_DEFINED,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    # Repeating the text gives the trainer enough pair counts; the order is fixed, so merges are too.
    tok.train_from_iterator([t for t in CORPUS for _ in range(3)], trainer=trainer)
    path = out_dir / "tokenizer-bpe.json"
    tok.save(str(path))
    data = json.loads(path.read_text())
    vocab = data["model"]["vocab"]
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    assert all(t is not None for t in tokens)
    merges = [m if isinstance(m, str) else " ".join(m) for m in data["model"]["merges"]]
    types = []
    for t in tokens:
        if t in BPE_CONTROL:
            types.append(gguf.TokenType.CONTROL)
        elif t in BPE_USER_DEFINED:
            types.append(gguf.TokenType.USER_DEFINED)
        else:
            types.append(gguf.TokenType.NORMAL)
    return {"tokens": tokens, "merges": merges, "types": types}


def train_spm(out_dir):
    import sentencepiece as spm
    # A fixed scratch path: the model file records its input and prefix paths.
    tmp = Path(tempfile.gettempdir()) / "whetstone-family-spm"
    tmp.mkdir(exist_ok=True)
    if True:
        text = Path(tmp) / "corpus.txt"
        text.write_text("\n".join(line for t in CORPUS for line in t.splitlines() if line.strip()) + "\n")
        prefix = str(Path(tmp) / "spm")
        spm.SentencePieceTrainer.train(
            input=str(text), model_prefix=prefix, model_type="bpe", vocab_size=SPM_VOCAB_SIZE,
            character_coverage=1.0, byte_fallback=True, split_digits=True, allow_whitespace_only_pieces=True,
            normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=True,
            control_symbols=SPM_CONTROL, user_defined_symbols=SPM_USER_DEFINED,
            unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1, minloglevel=2,
            max_sentence_length=100000, seed_sentencepiece_size=100000, shuffle_input_sentence=False)
        model = Path(prefix + ".model").read_bytes()
    (out_dir / "tokenizer-spm.model").write_bytes(model)
    sp = spm.SentencePieceProcessor(model_proto=model)
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        # As convert_hf_to_gguf.py maps SentencePiece's piece types.
        if sp.is_unknown(i):
            types.append(gguf.TokenType.UNKNOWN)
        elif sp.is_control(i):
            types.append(gguf.TokenType.CONTROL)
        elif sp.is_unused(i):
            types.append(gguf.TokenType.UNUSED)
        elif sp.is_byte(i):
            types.append(gguf.TokenType.BYTE)
        elif tokens[-1] in SPM_USER_DEFINED:
            types.append(gguf.TokenType.USER_DEFINED)
        else:
            types.append(gguf.TokenType.NORMAL)
    return {"tokens": tokens, "scores": scores, "types": types}

# ---------------------------------------------------------------- models

def template(name):
    return (TEMPLATES / name).read_text()


def llama3_rope_freqs(head_dim, base, factor=32.0, low=1.0, high=4.0, original=8192):
    """The `rope_freqs` tensor convert_hf_to_gguf.py writes for Llama 3.x (rope_type llama3)."""
    freqs = 1.0 / (base ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    low_wl, high_wl = original / low, original / high
    out = []
    for f in freqs:
        wl = 2 * np.pi / f
        if wl < high_wl:
            out.append(1.0)
        elif wl > low_wl:
            out.append(factor)
        else:
            smooth = (original / wl - low) / (high - low)
            out.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


MODELS = {
    "llama-bpe": dict(arch="llama", vocab="bpe", pre="llama-bpe", bos="<|begin_of_text|>", eos="<|eot_id|>",
                      add_bos=True, d=64, layers=2, heads=4, kv_heads=2, ff=128, rope_base=500000.0,
                      tied=True, rope_freqs=True, template="meta-llama-Llama-3.2-3B-Instruct.jinja",
                      name="Tiny Llama 3 BPE (random weights)"),
    "llama-spm": dict(arch="llama", vocab="spm", bos="<s>", eos="</s>", d=64, layers=2, heads=4, kv_heads=2,
                      ff=128, rope_base=10000.0, tied=False, template="mistralai-Mistral-Nemo-Instruct-2407.jinja",
                      name="Tiny Llama 2 SentencePiece (random weights)"),
    "qwen2": dict(arch="qwen2", vocab="bpe", pre="qwen2", bos="<|endoftext|>", eos="<|im_end|>", pad="<|endoftext|>",
                  add_bos=False, d=64, layers=2, heads=4, kv_heads=2, ff=128, rope_base=1000000.0, tied=True,
                  qkv_bias=True, template="Qwen-Qwen2.5-7B-Instruct.jinja", name="Tiny Qwen2 (random weights)"),
    "qwen3": dict(arch="qwen3", vocab="bpe", pre="qwen2", bos="<|endoftext|>", eos="<|im_end|>", pad="<|endoftext|>",
                  add_bos=False, d=64, layers=2, heads=4, kv_heads=2, head_dim=32, ff=128, rope_base=1000000.0,
                  tied=True, qk_norm=True, template="Qwen-Qwen3-0.6B.jinja", name="Tiny Qwen3 (random weights)"),
    "phi3": dict(arch="phi3", vocab="spm", bos="<s>", eos="<|endoftext|>", pad="<|endoftext|>", add_bos=False,
                 d=64, layers=2, heads=4, kv_heads=4, ff=128, rope_base=10000.0, tied=False, fused=True,
                 sliding_window=2047, context=4096, template="microsoft-Phi-3.5-mini-instruct.jinja",
                 name="Tiny Phi-3 (random weights)"),
    "gemma2": dict(arch="gemma2", vocab="spm", bos="<s>", eos="</s>", add_bos=True, add_space_prefix=False,
                   d=64, layers=2, heads=4, kv_heads=2, head_dim=16, ff=128, rope_base=10000.0, tied=True,
                   post_norms=True, sliding_window=8, attn_softcap=50.0, final_softcap=30.0,
                   template="google-gemma-2-2b-it.jinja", name="Tiny Gemma 2 (random weights)"),
    "gemma3": dict(arch="gemma3", vocab="spm", bos="<s>", eos="</s>", add_bos=True, add_space_prefix=False,
                   d=64, layers=6, heads=4, kv_heads=1, head_dim=32, ff=128, rope_base=1000000.0,
                   rope_base_swa=10000.0, tied=True, post_norms=True, qk_norm=True, sliding_window=8,
                   template="google-gemma-3-it.jinja", name="Tiny Gemma 3 (random weights)"),
    "llama-d256": dict(arch="llama", vocab="bpe", pre="llama-bpe", bos="<|begin_of_text|>", eos="<|eot_id|>",
                       add_bos=True, d=256, layers=2, heads=4, kv_heads=2, ff=512, rope_base=500000.0,
                       tied=False, template="meta-llama-Llama-3.2-3B-Instruct.jinja", only_q4k=True,
                       name="Tiny Llama 3 d256 (random weights)"),
}

# BPE vocabularies with the other pre-tokenizers llama.cpp names (tokenization tests only).
VOCAB_ONLY = {
    "smollm": dict(bos="<|endoftext|>", eos="<|endoftext|>", add_bos=False),
    "gpt-2": dict(bos="<|endoftext|>", eos="<|endoftext|>", add_bos=False),
    "phi-2": dict(bos="<|endoftext|>", eos="<|endoftext|>", add_bos=False),
    "deepseek-llm": dict(bos="<|begin_of_text|>", eos="<|end_of_text|>", add_bos=True),
    "default": dict(bos="<|begin_of_text|>", eos="<|end_of_text|>", add_bos=True, add_eos=True),
}


def add_vocab(w, cfg, vocabs):
    v = vocabs[cfg["vocab"]]
    ids = {t: i for i, t in enumerate(v["tokens"])}
    if cfg["vocab"] == "bpe":
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(cfg["pre"])
        w.add_token_list(v["tokens"])
        w.add_token_types(v["types"])
        w.add_token_merges(v["merges"])
    else:
        w.add_tokenizer_model("llama")
        w.add_tokenizer_pre("default")
        w.add_token_list(v["tokens"])
        w.add_token_scores(v["scores"])
        w.add_token_types(v["types"])
        w.add_unk_token_id(0)
    w.add_bos_token_id(ids[cfg["bos"]])
    w.add_eos_token_id(ids[cfg["eos"]])
    if "pad" in cfg:
        w.add_pad_token_id(ids[cfg["pad"]])
    if "add_bos" in cfg:
        w.add_add_bos_token(cfg["add_bos"])
    if "add_eos" in cfg:
        w.add_add_eos_token(cfg["add_eos"])
    if "add_space_prefix" in cfg:
        w.add_add_space_prefix(cfg["add_space_prefix"])
    if "template" in cfg:
        w.add_chat_template(template(cfg["template"]))
    return len(v["tokens"])


def add_hparams(w, cfg, n_vocab, file_type):
    w.add_name(cfg["name"])
    w.add_context_length(cfg.get("context", 2048))
    w.add_embedding_length(cfg["d"])
    w.add_block_count(cfg["layers"])
    w.add_feed_forward_length(cfg["ff"])
    w.add_head_count(cfg["heads"])
    w.add_head_count_kv(cfg["kv_heads"])
    head_dim = cfg.get("head_dim", cfg["d"] // cfg["heads"])
    if "head_dim" in cfg:
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(cfg["rope_base"])
    w.add_layer_norm_rms_eps(1e-6 if cfg["arch"].startswith("gemma") else 1e-5)
    w.add_vocab_size(n_vocab)
    w.add_file_type(file_type)
    if "sliding_window" in cfg:
        w.add_sliding_window(cfg["sliding_window"])
    if "rope_base_swa" in cfg:
        w.add_rope_freq_base_swa(cfg["rope_base_swa"])
    if "attn_softcap" in cfg:
        w.add_attn_logit_softcapping(cfg["attn_softcap"])
    if "final_softcap" in cfg:
        w.add_final_logit_softcapping(cfg["final_softcap"])
    return head_dim


def make_tensors(cfg, n_vocab, seed):
    """PyTorch-order ([out, in]) arrays, in the order llama.cpp's converter writes them."""
    rng = np.random.default_rng(seed)
    d, ff, hd = cfg["d"], cfg["ff"], cfg.get("head_dim", cfg["d"] // cfg["heads"])
    q_dim, kv_dim = cfg["heads"] * hd, cfg["kv_heads"] * hd

    def mat(rows, cols):
        return (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(np.float32)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    def vec(n):
        return (0.1 * rng.standard_normal(n)).astype(np.float32)

    t = {"token_embd.weight": (0.3 * rng.standard_normal((n_vocab, d))).astype(np.float32)}
    if cfg.get("rope_freqs"):
        t["rope_freqs.weight"] = llama3_rope_freqs(hd, cfg["rope_base"])
    for i in range(cfg["layers"]):
        p = f"blk.{i}."
        t[p + "attn_norm.weight"] = norm(d)
        if cfg.get("fused"):
            t[p + "attn_qkv.weight"] = mat(q_dim + 2 * kv_dim, d)
        else:
            t[p + "attn_q.weight"] = mat(q_dim, d)
            t[p + "attn_k.weight"] = mat(kv_dim, d)
            t[p + "attn_v.weight"] = mat(kv_dim, d)
            if cfg.get("qkv_bias"):
                t[p + "attn_q.bias"] = vec(q_dim)
                t[p + "attn_k.bias"] = vec(kv_dim)
                t[p + "attn_v.bias"] = vec(kv_dim)
        if cfg.get("qk_norm"):
            t[p + "attn_q_norm.weight"] = norm(hd)
            t[p + "attn_k_norm.weight"] = norm(hd)
        t[p + "attn_output.weight"] = mat(d, q_dim)
        if cfg.get("post_norms"):
            t[p + "post_attention_norm.weight"] = norm(d)
        t[p + "ffn_norm.weight"] = norm(d)
        if cfg.get("fused"):
            t[p + "ffn_up.weight"] = mat(2 * ff, d)       # gate rows first, then up (Phi-3's gate_up_proj)
        else:
            t[p + "ffn_gate.weight"] = mat(ff, d)
            t[p + "ffn_up.weight"] = mat(ff, d)
        t[p + "ffn_down.weight"] = mat(d, ff)
        if cfg.get("post_norms"):
            t[p + "post_ffw_norm.weight"] = norm(d)
    t["output_norm.weight"] = norm(d)
    if not cfg["tied"]:
        t["output.weight"] = mat(n_vocab, d) * 4.0
    return t


def write_model(path, cfg, vocabs, seed, f16):
    w = gguf.GGUFWriter(str(path), cfg["arch"])
    n_vocab = len(vocabs[cfg["vocab"]]["tokens"])
    add_hparams(w, cfg, n_vocab, gguf.LlamaFileType.MOSTLY_F16 if f16 else gguf.LlamaFileType.ALL_F32)
    add_vocab(w, cfg, vocabs)
    for name, arr in make_tensors(cfg, n_vocab, seed).items():
        if f16 and arr.ndim == 2:
            w.add_tensor(name, arr.astype(np.float16))
        else:
            w.add_tensor(name, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_vocab_only(path, pre, extra, vocabs):
    cfg = dict(MODELS["llama-bpe"], pre=pre, name=f"Tiny vocabulary, pre-tokenizer {pre}", **extra)
    cfg.pop("template")
    for key in ("add_eos",):
        if key not in extra:
            cfg.pop(key, None)
    w = gguf.GGUFWriter(str(path), "llama")
    add_hparams(w, cfg, len(vocabs["bpe"]["tokens"]), gguf.LlamaFileType.ALL_F32)
    add_vocab(w, cfg, vocabs)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "Tests/EngineTests/Fixtures/families"))
    ap.add_argument("--llama-quantize", default=None, help="path of llama.cpp's llama-quantize")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    vocabs = {"bpe": train_bpe(out), "spm": train_spm(out)}
    print(f"bpe vocabulary {len(vocabs['bpe']['tokens'])} tokens, {len(vocabs['bpe']['merges'])} merges; "
          f"spm vocabulary {len(vocabs['spm']['tokens'])} tokens", file=sys.stderr)
    for seed, (name, cfg) in enumerate(MODELS.items()):
        f32 = out / f"{name}-f32.gguf"
        write_model(f32, cfg, vocabs, seed=1000 + seed, f16=False)
        if not cfg.get("only_q4k"):
            write_model(out / f"{name}-f16.gguf", cfg, vocabs, seed=1000 + seed, f16=True)
        if args.llama_quantize:
            kinds = [("q4_k_m", "Q4_K_M")] if cfg.get("only_q4k") else [("q8_0", "Q8_0"), ("q4_k_m", "Q4_K_M")]
            for suffix, kind in kinds:
                subprocess.run([args.llama_quantize, str(f32), str(out / f"{name}-{suffix}.gguf"), kind, "1"],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if cfg.get("only_q4k"):
            f32.unlink()
    for pre, extra in VOCAB_ONLY.items():
        write_vocab_only(out / f"vocab-{pre}.gguf", pre, extra, vocabs)


if __name__ == "__main__":
    main()
