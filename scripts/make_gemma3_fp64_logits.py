#!/usr/bin/env python3
"""Independent fp64 reference for the Gemma 3 engine: a plain numpy forward pass of
gemma-3-270m-q4_k_m.gguf (weights dequantized by the `gguf` Python package, pip install gguf numpy)
over the first prompt of greedy.jsonl ("The capital of France is", ids below), writing the 20
largest step-0 logits to Tests/EngineTests/Fixtures/gemma3-step0-fp64.json.

usage: scripts/make_gemma3_fp64_logits.py [MODEL]
"""
import importlib.metadata, json, os, sys
import numpy as np, gguf
model = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'models', 'gemma-3-270m-q4_k_m.gguf')
r = gguf.GGUFReader(model)
T = {t.name: t for t in r.tensors}
def W(name):
    t = T[name]
    a = gguf.quants.dequantize(t.data, t.tensor_type)
    return np.asarray(a, dtype=np.float64).reshape([int(x) for x in reversed(t.shape)] if a.ndim == 1 and len(t.shape) > 1 else a.shape)
ids = [2, 818, 5279, 529, 7001, 563]
d, H, KVH, hd, L, ff = 640, 4, 1, 256, 18, 2048
emb = W('token_embd.weight')
print('emb', emb.shape, file=sys.stderr)
def rms(x, w): return x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6) * w
def rope(x, base):  # x [T, heads, hd]
    half = hd // 2
    pos = np.arange(x.shape[0])[:, None]
    freq = base ** (-2.0 * np.arange(half) / hd)
    ang = pos * freq[None, :]
    c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    a, b = x[..., :half], x[..., half:]
    return np.concatenate([a * c - b * s, a * s + b * c], -1)
h = emb[ids] * np.sqrt(np.float32(640))
n = len(ids)
for l in range(L):
    p = f'blk.{l}.'
    sliding = l % 6 < 5
    base = 1e4 if sliding else 1e6
    x = rms(h, W(p + 'attn_norm.weight'))
    q = (x @ W(p + 'attn_q.weight').T).reshape(n, H, hd)
    k = (x @ W(p + 'attn_k.weight').T).reshape(n, KVH, hd)
    v = (x @ W(p + 'attn_v.weight').T).reshape(n, KVH, hd)
    q = rope(rms(q, W(p + 'attn_q_norm.weight')), base) / 16.0
    k = rope(rms(k, W(p + 'attn_k_norm.weight')), base)
    out = np.zeros((n, H, hd))
    for hh in range(H):
        s = q[:, hh, :] @ k[:, 0, :].T
        s = s + np.triu(np.full((n, n), -np.inf), 1)
        s = np.exp(s - s.max(-1, keepdims=True)); s /= s.sum(-1, keepdims=True)
        out[:, hh, :] = s @ v[:, 0, :]
    a = out.reshape(n, H * hd) @ W(p + 'attn_output.weight').T
    h = h + rms(a, W(p + 'post_attention_norm.weight'))
    x = rms(h, W(p + 'ffn_norm.weight'))
    g = x @ W(p + 'ffn_gate.weight').T; u = x @ W(p + 'ffn_up.weight').T
    act = 0.5 * g * (1 + np.tanh(np.sqrt(2 / np.pi) * (g + 0.044715 * g ** 3))) * u
    f = act @ W(p + 'ffn_down.weight').T
    h = h + rms(f, W(p + 'post_ffw_norm.weight'))
    print('layer', l, file=sys.stderr)
x = rms(h[-1], W('output_norm.weight'))
logits = emb @ x
top = np.argsort(-logits)[:20]
out = {"prompt": "The capital of France is", "prompt_ids": ids, "gguf_version": importlib.metadata.version("gguf"),
       "top_logits": [[int(t), float(logits[t])] for t in top]}
dst = os.path.join(os.path.dirname(__file__), '..', 'Tests', 'EngineTests', 'Fixtures', 'gemma3-step0-fp64.json')
with open(dst, 'w') as f:
    json.dump(out, f, indent=1)
print(dst)
