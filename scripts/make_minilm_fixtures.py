#!/usr/bin/env python3
"""Fixtures for the MiniLM (all-MiniLM-L6-v2) tokenizer and embedding tests.

Token ids come from the Hugging Face `tokenizers` library reading the model's tokenizer.json.
Embeddings come from an independent float64 numpy re-implementation of BERT reading
model.safetensors with the `safetensors` package, followed by sentence-transformers' pooling
(mean over the attention mask, then L2 normalisation). sentence-transformers / torch are too
large to install on the build machine, so this script is the reference instead.

    pip install tokenizers safetensors numpy
    python3 scripts/make_minilm_fixtures.py models/all-MiniLM-L6-v2 \
        Tests/EngineTests/Fixtures/minilm_fixtures.json
"""
import json
import math
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

TOKENIZER_TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "Café déjà vu — naïve résumé façade.",
    "ÅNGSTRÖM Ünïcödé ÉCOLE",
    "我爱北京天安门。中文句子测试",
    "日本語のテキストとカタカナ",
    "Tabs\tand\nnewlines\r\nand   spaces",
    "control\u0000chars\u0007here\ufffdand\u200bzero-width",
    "Numbers: 3.14159, 1,000,000 and 42nd",
    "Emoji 😀👍🏽 and symbols ©®™ $100 <tag> a+b=c ^_^ ~tilde~ `code`",
    "unbelievable antidisestablishmentarianism supercalifragilisticexpialidocious",
    "e-mail: someone@example.com, url: https://example.org/path?q=1&r=2",
    "don't can't won't I'm you're they've",
    "[CLS] already has special tokens [SEP] and [MASK] inside",
    "Ελληνικά κείμενα και ΣΊΣΥΦΟΣ",
    "Русский текст с заглавными БУКВАМИ",
    "مرحبا بالعالم",
    "x" * 120,
    "",
    "   ",
    "A sentence-transformers model maps sentences & paragraphs to a 384 dimensional dense vector space.",
    "Straße, Œuvre, ﬁnance, ½ cup",
]

TRUNCATION_TEXT = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
TRUNCATION_LENGTH = 8

EMBEDDING_TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A monkey is playing drums.",
    "Café déjà vu: 我爱北京 and numbers 3.14159!",
]


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def bert_embed(weights, config, ids):
    w = {k: v.astype(np.float64) for k, v in weights.items() if v.dtype != np.int64}
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    head_dim = hidden // heads
    eps = config["layer_norm_eps"]
    t = len(ids)
    x = (w["embeddings.word_embeddings.weight"][ids]
         + w["embeddings.position_embeddings.weight"][:t]
         + w["embeddings.token_type_embeddings.weight"][0])
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."

        def linear(name, v):
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q = linear("attention.self.query", x).reshape(t, heads, head_dim).transpose(1, 0, 2)
        k = linear("attention.self.key", x).reshape(t, heads, head_dim).transpose(1, 0, 2)
        v = linear("attention.self.value", x).reshape(t, heads, head_dim).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(head_dim)
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs = probs / probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(1, 0, 2).reshape(t, hidden)
        x = layer_norm(linear("attention.output.dense", context) + x,
                       w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
        inner = gelu(linear("intermediate.dense", x))
        x = layer_norm(linear("output.dense", inner) + x,
                       w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    # Every token of a single unpadded sentence is attended, so the masked mean is the plain mean.
    pooled = x.mean(0)
    return pooled / max(np.linalg.norm(pooled), 1e-12)


def main():
    model_dir, out_path = sys.argv[1], sys.argv[2]
    tok = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
    tok.no_truncation()
    tok.no_padding()
    config = json.load(open(f"{model_dir}/config.json"))
    weights = load_file(f"{model_dir}/model.safetensors")

    tokenizer_cases = []
    for text in TOKENIZER_TEXTS:
        enc = tok.encode(text)
        tokenizer_cases.append({"text": text, "ids": enc.ids, "tokens": enc.tokens})
    tok.enable_truncation(TRUNCATION_LENGTH)
    truncated = tok.encode(TRUNCATION_TEXT).ids
    tok.no_truncation()

    embedding_cases = []
    for text in EMBEDDING_TEXTS:
        ids = tok.encode(text).ids
        emb = bert_embed(weights, config, ids)
        embedding_cases.append({"text": text, "ids": ids, "embedding": [round(float(v), 8) for v in emb]})

    fixture = {
        "provenance": "scripts/make_minilm_fixtures.py: tokenizers " + __import__("tokenizers").__version__
                      + ", numpy float64 BERT over model.safetensors of all-MiniLM-L6-v2",
        "tokenizer": tokenizer_cases,
        "truncation": {"text": TRUNCATION_TEXT, "max_length": TRUNCATION_LENGTH, "ids": truncated},
        "embeddings": embedding_cases,
    }
    with open(out_path, "w") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
