#!/usr/bin/env python3
"""Tiny random-weight Hugging Face model folders with numpy reference outputs, for the engine tests.

For each of GPT-2, Llama (GQA, llama3 rope_scaling, tied embeddings, BF16 weights), Qwen2 (q/k/v
bias, GQA with one KV head, linear rope_scaling, F16 weights, separate lm_head) and BERT, writes
Tests/EngineTests/Fixtures/tiny-<name>/ with config.json, model.safetensors (written by hand here,
not by the safetensors package) and reference.json (input ids and the float64 numpy forward pass:
logits for decoders, last hidden states for BERT).

The decoders also get a byte-level BPE tokenizer.json trained with the Hugging Face `tokenizers`
library on a small corpus written for this script, using the GPT-2, Llama 3 and Qwen2
pre-tokenizer regexes; reference.json records the ids `tokenizers` gives for a set of test texts.

    pip install numpy tokenizers
    python3 scripts/make_tiny_models.py Tests/EngineTests/Fixtures
"""
import json
import math
import os
import struct
import sys

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

GPT2_REGEX = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN2_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

CORPUS = [
    "The whetstone sharpens the blade; the blade cuts the bread.",
    "A small model learns the shape of its data, one token at a time.",
    "Numbers like 12345, 3.14159 and 2026 appear in reports and tables.",
    "They're sure it's fine, but we'll see what THEY'VE done and what I'd do.",
    "Tabs\tand  double  spaces,\nnew lines\n\nand blank lines\r\nmatter to tokenizers.",
    "Café, naïve, résumé: accents are bytes too. Ελληνικά, русский, 中文, 日本語.",
    "Emoji 😀 and symbols © ™ → ≤ ≥ are split into bytes by byte-level BPE.",
    "def add(a, b):\n    return a + b  # code has indentation\n",
    "print(\"hello, world!\")  // comments; {braces} [brackets] <angles>",
]

TEST_TEXTS = [
    "Hello world",
    "The whetstone sharpens the blade.",
    "They'RE here, it's 12345 and 3.14159!",
    "  leading spaces and trailing   ",
    "line one\nline two\r\n\n  indented\ttab",
    "Café naïve 中文 😀 ™",
    "def f(x):\n    return x * 2\n",
    "unseen-words: zygote quixotic",
]


PRETOKENIZE_TEXTS = [
    "1234567 numbers 12 345 6789x",
    "I'M sure you'Ve seen it's THEY'LL",
    "a  b   c    \n\n   d\t\t e \r\n",
    "!!!x ...y ?z\n\n!",
    "héllo wörld ÀÉÎ 中文字 日本 ١٢٣ ²³",
    "end with spaces   ",
    "'quoted' and 'Sx",
]


def to_bf16_bits(a):
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounding = ((bits >> 16) & 1) + 0x7FFF
    return ((bits + rounding) >> 16).astype(np.uint16)


def from_bf16_bits(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


def write_safetensors(path, tensors, dtype):
    """tensors: name -> float32 array. Returns the values as stored (after F16/BF16 rounding)."""
    header, blobs, stored, offset = {}, [], {}, 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype=np.float32)
        if dtype == "F32":
            raw, back = a.astype("<f4").tobytes(), a
        elif dtype == "F16":
            h = a.astype("<f2")
            raw, back = h.tobytes(), h.astype(np.float32)
        else:
            b = to_bf16_bits(a)
            raw, back = b.astype("<u2").tobytes(), from_bf16_bits(b)
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        stored[name] = back.astype(np.float64)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt", "source": "scripts/make_tiny_models.py"}
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * ((8 - (8 + len(js)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for raw in blobs:
            f.write(raw)
    return stored


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def rms_norm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def attention(q, k, v, heads, kv_heads, causal):
    t, d = q.shape[0], q.shape[1] // heads
    q = q.reshape(t, heads, d).transpose(1, 0, 2)
    k = k.reshape(t, kv_heads, d).transpose(1, 0, 2)
    v = v.reshape(t, kv_heads, d).transpose(1, 0, 2)
    group = heads // kv_heads
    k = np.repeat(k, group, axis=0)
    v = np.repeat(v, group, axis=0)
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)
    if causal:
        scores = scores + np.triu(np.full((t, t), -np.inf), 1)
    return (softmax(scores) @ v).transpose(1, 0, 2).reshape(t, heads * d)


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def gelu_erf(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def rope_inv_freq(head_dim, theta, scaling):
    inv = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    if scaling is None:
        return inv
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind == "linear":
        return inv / scaling["factor"]
    assert kind == "llama3"
    factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    old = scaling["original_max_position_embeddings"]
    out = []
    for f in inv:
        wavelength = 2 * math.pi / f
        if wavelength < old / high:
            out.append(f)
        elif wavelength > old / low:
            out.append(f / factor)
        else:
            s = (old / wavelength - low) / (high - low)
            out.append((1 - s) * f / factor + s * f)
    return np.array(out)


def apply_rope(x, heads, inv_freq):
    t = x.shape[0]
    d = x.shape[1] // heads
    x = x.reshape(t, heads, d)
    angles = np.arange(t)[:, None] * inv_freq[None, :]
    cos, sin = np.cos(angles)[:, None, :], np.sin(angles)[:, None, :]
    a, b = x[..., : d // 2], x[..., d // 2:]
    return np.concatenate([a * cos - b * sin, b * cos + a * sin], -1).reshape(t, heads * d)


def gpt2_forward(w, c, ids):
    t = len(ids)
    x = w["wte.weight"][ids] + w["wpe.weight"][:t]
    h = c["n_embd"]
    for i in range(c["n_layer"]):
        p = f"h.{i}."
        n = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], c["layer_norm_epsilon"])
        qkv = n @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        a = attention(qkv[:, :h], qkv[:, h:2 * h], qkv[:, 2 * h:], c["n_head"], c["n_head"], True)
        x = x + a @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        n = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], c["layer_norm_epsilon"])
        m = gelu_tanh(n @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], c["layer_norm_epsilon"])
    return x @ w["wte.weight"].T


def llama_forward(w, c, ids):
    heads, kv = c["num_attention_heads"], c["num_key_value_heads"]
    d = c["hidden_size"] // heads
    inv = rope_inv_freq(d, c["rope_theta"], c.get("rope_scaling"))
    eps = c["rms_norm_eps"]
    x = w["model.embed_tokens.weight"][ids]

    def lin(name, v):
        out = v @ w[name + ".weight"].T
        return out + w[name + ".bias"] if name + ".bias" in w else out

    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        n = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = apply_rope(lin(p + "self_attn.q_proj", n), heads, inv)
        k = apply_rope(lin(p + "self_attn.k_proj", n), kv, inv)
        v = lin(p + "self_attn.v_proj", n)
        x = x + lin(p + "self_attn.o_proj", attention(q, k, v, heads, kv, True))
        n = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = lin(p + "mlp.gate_proj", n)
        x = x + lin(p + "mlp.down_proj", g / (1 + np.exp(-g)) * lin(p + "mlp.up_proj", n))
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
    return x @ head.T


def bert_forward(w, c, ids):
    t = len(ids)
    eps = c["layer_norm_eps"]
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t] \
        + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    for i in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def lin(name, v):
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        heads = c["num_attention_heads"]
        a = attention(lin("attention.self.query", x), lin("attention.self.key", x), lin("attention.self.value", x),
                      heads, heads, False)
        x = layer_norm(lin("attention.output.dense", a) + x, w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"], eps)
        m = gelu_erf(lin("intermediate.dense", x))
        x = layer_norm(lin("output.dense", m) + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    return x


def train_tokenizer(regex, byte_level_regex, vocab_size, specials, bos):
    tok = Tokenizer(models.BPE(ignore_merges=regex is LLAMA3_REGEX))
    if byte_level_regex:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(regex), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS * 3, trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", special_tokens=[(bos, tok.token_to_id(bos))])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def random_weights(rng, shapes):
    out = {}
    for name, shape in shapes.items():
        if name.endswith("norm.weight") or name.endswith("LayerNorm.weight") or ".ln_" in name and name.endswith("weight") \
                or name.startswith("ln_f.weight"):
            out[name] = (1 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        else:
            out[name] = (0.2 * rng.standard_normal(shape)).astype(np.float32)
    return out


def save(folder, config, shapes, dtype, forward, tokenizer, seed, ids):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    stored = write_safetensors(os.path.join(folder, "model.safetensors"), random_weights(rng, shapes), dtype)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
        f.write("\n")
    out = forward(stored, config, ids)
    reference = {"provenance": "scripts/make_tiny_models.py (float64 numpy forward pass over the stored weights)",
                 "input_ids": ids, "output": [[float("%.9g" % v) for v in row] for row in out]}
    if tokenizer is not None:
        tokenizer.save(os.path.join(folder, "tokenizer.json"))
        reference["tokenizer_cases"] = [{"text": t, "ids": tokenizer.encode(t).ids} for t in TEST_TEXTS]
        reference["tokenizer_cases_without_special"] = [
            {"text": t, "ids": tokenizer.encode(t, add_special_tokens=False).ids} for t in TEST_TEXTS]
        # The pre-tokenizer's pieces (byte-level mapped), to check the hand-written regex splitting directly.
        reference["pretokenize_cases"] = [
            {"text": t, "pieces": [piece for piece, _ in tokenizer.pre_tokenizer.pre_tokenize_str(t)]}
            for t in TEST_TEXTS + PRETOKENIZE_TEXTS]
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(reference, f, ensure_ascii=False)
        f.write("\n")


def main():
    root = sys.argv[1]
    hidden, layers, inner, positions = 32, 2, 64, 64
    ids = [3, 17, 42, 5, 99, 0, 64, 7, 23, 150, 11, 2]

    tok = train_tokenizer(GPT2_REGEX, True, 320, ["<|endoftext|>"], None)
    vocab = tok.get_vocab_size()
    c = {"model_type": "gpt2", "n_embd": hidden, "n_layer": layers, "n_head": 4, "n_positions": positions,
         "n_inner": inner, "vocab_size": vocab, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
         "bos_token_id": 0, "eos_token_id": 0}
    shapes = {"wte.weight": (vocab, hidden), "wpe.weight": (positions, hidden), "ln_f.weight": (hidden,), "ln_f.bias": (hidden,)}
    for i in range(layers):
        p = f"h.{i}."
        shapes.update({p + "ln_1.weight": (hidden,), p + "ln_1.bias": (hidden,), p + "ln_2.weight": (hidden,),
                       p + "ln_2.bias": (hidden,), p + "attn.c_attn.weight": (hidden, 3 * hidden),
                       p + "attn.c_attn.bias": (3 * hidden,), p + "attn.c_proj.weight": (hidden, hidden),
                       p + "attn.c_proj.bias": (hidden,), p + "mlp.c_fc.weight": (hidden, inner), p + "mlp.c_fc.bias": (inner,),
                       p + "mlp.c_proj.weight": (inner, hidden), p + "mlp.c_proj.bias": (hidden,)})
    save(os.path.join(root, "tiny-gpt2"), c, shapes, "F32", gpt2_forward, tok, 1, ids)

    def llama_shapes(vocab, heads, kv, bias, lm_head):
        d = hidden // heads
        s = {"model.embed_tokens.weight": (vocab, hidden), "model.norm.weight": (hidden,)}
        if lm_head:
            s["lm_head.weight"] = (vocab, hidden)
        for i in range(layers):
            p = f"model.layers.{i}."
            s.update({p + "input_layernorm.weight": (hidden,), p + "post_attention_layernorm.weight": (hidden,),
                      p + "self_attn.q_proj.weight": (heads * d, hidden), p + "self_attn.k_proj.weight": (kv * d, hidden),
                      p + "self_attn.v_proj.weight": (kv * d, hidden), p + "self_attn.o_proj.weight": (hidden, heads * d),
                      p + "mlp.gate_proj.weight": (inner, hidden), p + "mlp.up_proj.weight": (inner, hidden),
                      p + "mlp.down_proj.weight": (hidden, inner)})
            if bias:
                s.update({p + "self_attn.q_proj.bias": (heads * d,), p + "self_attn.k_proj.bias": (kv * d,),
                          p + "self_attn.v_proj.bias": (kv * d,)})
        return s

    tok = train_tokenizer(LLAMA3_REGEX, False, 330, ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"], "<|begin_of_text|>")
    vocab = tok.get_vocab_size()
    c = {"model_type": "llama", "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": 4,
         "num_key_value_heads": 2, "intermediate_size": inner, "vocab_size": vocab, "max_position_embeddings": positions,
         "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": True,
         "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                          "original_max_position_embeddings": 16},
         "attention_bias": False, "mlp_bias": False, "bos_token_id": 0, "eos_token_id": [1, 2],
         "architectures": ["LlamaForCausalLM"], "torch_dtype": "bfloat16"}
    save(os.path.join(root, "tiny-llama"), c, llama_shapes(vocab, 4, 2, False, False), "BF16", llama_forward, tok, 2, ids)

    tok = train_tokenizer(QWEN2_REGEX, False, 310, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], None)
    vocab = tok.get_vocab_size()
    c = {"model_type": "qwen2", "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": 4,
         "num_key_value_heads": 1, "intermediate_size": inner, "vocab_size": vocab, "max_position_embeddings": positions,
         "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "hidden_act": "silu", "tie_word_embeddings": False,
         "rope_scaling": {"type": "linear", "factor": 2.0}, "use_sliding_window": False, "sliding_window": 32,
         "max_window_layers": 2, "bos_token_id": 0, "eos_token_id": 0, "torch_dtype": "float16"}
    save(os.path.join(root, "tiny-qwen2"), c, llama_shapes(vocab, 4, 1, True, True), "F16", llama_forward, tok, 3, ids)

    vocab, types = 200, 2
    c = {"model_type": "bert", "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": 4,
         "intermediate_size": inner, "vocab_size": vocab, "max_position_embeddings": positions, "type_vocab_size": types,
         "layer_norm_eps": 1e-12, "hidden_act": "gelu", "position_embedding_type": "absolute", "pad_token_id": 0}
    shapes = {"embeddings.word_embeddings.weight": (vocab, hidden), "embeddings.position_embeddings.weight": (positions, hidden),
              "embeddings.token_type_embeddings.weight": (types, hidden), "embeddings.LayerNorm.weight": (hidden,),
              "embeddings.LayerNorm.bias": (hidden,)}
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]:
            shapes[p + name + ".weight"] = (hidden, hidden)
            shapes[p + name + ".bias"] = (hidden,)
        shapes.update({p + "intermediate.dense.weight": (inner, hidden), p + "intermediate.dense.bias": (inner,),
                       p + "output.dense.weight": (hidden, inner), p + "output.dense.bias": (hidden,),
                       p + "attention.output.LayerNorm.weight": (hidden,), p + "attention.output.LayerNorm.bias": (hidden,),
                       p + "output.LayerNorm.weight": (hidden,), p + "output.LayerNorm.bias": (hidden,)})
    save(os.path.join(root, "tiny-bert"), c, shapes, "F32", bert_forward, None, 4, [101 % vocab] + ids + [102 % vocab])


if __name__ == "__main__":
    main()
