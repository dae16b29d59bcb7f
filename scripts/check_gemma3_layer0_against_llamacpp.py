#!/usr/bin/env python3
"""Op-by-op comparison of llama.cpp's layer 0 on Gemma 3 270M with a numpy emulation of its arithmetic
(docs/gemma3.md, "Per-step check against llama.cpp"). llama.cpp's intermediate tensors come from its
eval callback (the reference build: llama-cpp-python==0.3.36, flash attention on, as llama-simple);
the weights are dequantized with the `gguf` package.

    python3 -m venv venv && venv/bin/pip install llama-cpp-python==0.3.36 gguf numpy
    venv/bin/python scripts/check_gemma3_layer0_against_llamacpp.py models/gemma-3-270m-q4_k_m.gguf

Prints, per op, max|numpy − llama.cpp| / max|llama.cpp|: ~1e-7 means the same arithmetic up to float
summation order. Flip ROUNDING_AS_LLAMACPP to see what the two details (double-sum RMSNorm, fp16 V
accumulation in flash attention) are worth.
"""
import ctypes, sys
import numpy as np, gguf, llama_cpp

ROUNDING_AS_LLAMACPP = True
IDS = [2, 818, 5279, 529, 7001, 563]  # "The capital of France is" with BOS

class GGMLTensor(ctypes.Structure):  # struct ggml_tensor of the vendored ggml.h
    _fields_ = [("type", ctypes.c_int), ("buffer", ctypes.c_void_p), ("ne", ctypes.c_int64 * 4), ("nb", ctypes.c_size_t * 4),
                ("op", ctypes.c_int), ("op_params", ctypes.c_int32 * 16), ("flags", ctypes.c_int32),
                ("src", ctypes.c_void_p * 10), ("view_src", ctypes.c_void_p), ("view_offs", ctypes.c_size_t),
                ("data", ctypes.c_void_p), ("name", ctypes.c_char * 64), ("extra", ctypes.c_void_p), ("padding", ctypes.c_char * 8)]

def dump_llamacpp(model_path):
    dumps = {}
    def callback(t, ask, _):
        if ask:
            return True
        x = ctypes.cast(t, ctypes.POINTER(GGMLTensor)).contents
        if x.type in (0, 1):  # f32, f16
            dtype, size = (np.float32, 4) if x.type == 0 else (np.float16, 2)
            ne, nb = list(x.ne), list(x.nb)
            span = sum((ne[i] - 1) * nb[i] for i in range(4)) + size
            raw = np.frombuffer((ctypes.c_char * span).from_address(x.data), dtype=np.uint8)
            view = np.lib.stride_tricks.as_strided(raw.view(dtype), shape=tuple(reversed(ne)), strides=tuple(reversed(nb)))
            name, k = x.name.decode(), 0
            while (name if k == 0 else f"{name}#{k}") in dumps:
                k += 1
            dumps[name if k == 0 else f"{name}#{k}"] = (np.array(view, dtype=np.float32), x.op)
        return True
    hook = llama_cpp.ggml_backend_sched_eval_callback(callback)
    llm = llama_cpp.Llama(model_path=model_path, n_ctx=256, n_batch=256, n_threads=4, verbose=False, flash_attn=True)
    params = llm.context_params
    params.cb_eval, params.cb_eval_user_data = hook, None
    ctx = llama_cpp.llama_init_from_model(llm.model, params)
    tokens = (llama_cpp.llama_token * len(IDS))(*IDS)
    if llama_cpp.llama_decode(ctx, llama_cpp.llama_batch_get_one(tokens, len(IDS))) != 0:
        sys.exit("llama_decode failed")
    return dumps

def main():
    model_path = sys.argv[1]
    D = dump_llamacpp(model_path)
    reader = gguf.GGUFReader(model_path)
    tensors = {t.name: t for t in reader.tensors}
    def W(name):
        t = tensors[name]
        a = gguf.quants.dequantize(t.data, t.tensor_type)
        return np.asarray(a, np.float64).reshape([int(x) for x in reversed(t.shape)] if a.ndim == 1 and len(t.shape) > 1 else a.shape)
    def rows(name):
        a = D[name][0]
        return a.reshape(-1, a.shape[-1]) if a.shape[1] == 1 else a[0]
    f16 = lambda x: np.asarray(x, np.float32).astype(np.float16).astype(np.float32)
    def q8_0(x):  # quantize_row_q8_0 (x86): d = max/127 stored in fp16, q = round-half-even(x·127/max)
        s = np.asarray(x, np.float32).reshape(*np.shape(x)[:-1], -1, 32)
        amax = np.abs(s).max(-1, keepdims=True)
        inv = np.where(amax > 0, np.float32(127) / np.where(amax > 0, amax, 1), 0).astype(np.float32)
        return (np.rint(s * inv) * np.float64(f16(amax / np.float32(127)))).reshape(np.shape(x))
    def q8_K(x):  # quantize_row_q8_K: iscale = -127/m (m the signed value of largest magnitude)
        s = np.asarray(x, np.float32).reshape(*np.shape(x)[:-1], -1, 256)
        m = np.take_along_axis(s, np.abs(s).argmax(-1)[..., None], -1)
        iscale = np.where(m != 0, np.float32(-127) / np.where(m != 0, m, 1), 0).astype(np.float32)
        d = np.where(iscale != 0, np.float32(1) / np.where(iscale != 0, iscale, 1), 0).astype(np.float32)
        return (np.clip(np.rint(iscale * s), -128, 127) * np.float64(d)).reshape(np.shape(x))
    def mm(x, name):
        kind = tensors[name].tensor_type.name
        return ((q8_K(x) if kind in ("Q4_K", "Q5_K", "Q6_K") else q8_0(x)) @ W(name).T).astype(np.float32)
    def rms(x):
        x = np.asarray(x, np.float32)
        if ROUNDING_AS_LLAMACPP:  # squares summed in double, scale and product in float
            mean = np.float32(np.float64((x * x).astype(np.float32)).sum(-1, keepdims=True) / x.shape[-1])
            return (x * (np.float32(1) / np.sqrt(mean + np.float32(1e-6)))).astype(np.float32)
        return (x / np.sqrt((x * x).mean(-1, keepdims=True, dtype=np.float32) + np.float32(1e-6))).astype(np.float32)
    def rope(x):  # NEOX pairs (i, i+128); theta accumulated in float as ggml's rope cache does
        out, scale = np.empty_like(x), np.float32(1e4 ** (-2.0 / 256))
        for pos in range(x.shape[0]):
            theta = np.empty(128, np.float32); t = np.float32(pos)
            for i in range(128):
                theta[i] = t; t = np.float32(t * scale)
            c, s = np.cos(np.float64(theta)).astype(np.float32), np.sin(np.float64(theta)).astype(np.float32)
            a, b = x[pos, ..., :128], x[pos, ..., 128:]
            out[pos, ..., :128] = a * c - b * s; out[pos, ..., 128:] = a * s + b * c
        return out
    def attention(Q, K, V):
        n = Q.shape[0]; out = np.zeros((n, 4, 256), np.float32)
        for t in range(n):
            for h in range(4):
                if not ROUNDING_AS_LLAMACPP:
                    s = np.float64(Q[t, h]) @ np.float64(K[:t + 1]).T
                    e = np.exp(s - s.max()); out[t, h] = (e / e.sum()) @ np.float64(V[:t + 1]); continue
                q, M, S, acc = f16(Q[t, h]), -np.inf, np.float32(0), np.zeros(256, np.float32)
                for j in range(t + 1):  # online softmax, V sum kept in fp16 (K, V cached in fp16)
                    s = np.float32(np.dot(np.float64(q), np.float64(f16(K[j]))))
                    if s > M:
                        ms = np.float32(np.exp(np.float32(M - s))) if M != -np.inf else np.float32(0)
                        M, vs, acc = s, np.float32(1), f16(acc * ms)
                    else:
                        ms, vs = np.float32(1), np.float32(np.exp(np.float32(s - M)))
                    acc = f16(np.float32(np.float64(acc) + np.float64(f16(V[j])) * np.float64(vs)))
                    S = np.float32(S * ms + vs)
                out[t, h] = acc / S
        return out
    gelu = lambda z: 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z ** 3)))
    def report(name, ours, theirs):
        ours, theirs = np.float64(ours).reshape(np.shape(theirs)), np.float64(theirs)
        print(f"{name:16s} {np.abs(ours - theirs).max() / np.abs(theirs).max():.2e}")

    n, p = len(IDS), "blk.0."
    h = (W("token_embd.weight")[IDS] * np.float32(np.sqrt(640))).astype(np.float32); report("inp_scaled", h, rows("inp_scaled"))
    x = rms(h) * W(p + "attn_norm.weight").astype(np.float32); report("attn_norm", x, rows("attn_norm-0"))
    q = mm(x, p + "attn_q.weight").reshape(n, 4, 256); report("Qcur", q.reshape(n, -1), rows("Qcur-0"))
    k = mm(x, p + "attn_k.weight").reshape(n, 1, 256); v = mm(x, p + "attn_v.weight"); report("Vcur", v, rows("Vcur-0"))
    q = rope(rms(q) * W(p + "attn_q_norm.weight").astype(np.float32)) * np.float32(1 / 16)
    k = rope(rms(k) * W(p + "attn_k_norm.weight").astype(np.float32))[:, 0]; report("Kcur roped", k, D["Kcur-0#2"][0][0][:, 0])
    fa = [key for key, (_, op) in D.items() if op == 74][0]  # GGML_OP_FLASH_ATTN_EXT of layer 0
    a = attention(q, k, v); report("flash attn", a, D[fa][0][0])
    attn_out = [key for key in D if key.startswith("node_") and D[key][1] == 29][0]  # its output projection
    a = mm(a.reshape(n, 1024), p + "attn_output.weight"); report("attn_output", a, rows(attn_out))
    h = (h + rms(a) * W(p + "post_attention_norm.weight").astype(np.float32)).astype(np.float32); report("sa_out", h, rows("sa_out-0"))
    x = rms(h) * W(p + "ffn_norm.weight").astype(np.float32)
    g, u = np.float64(mm(x, p + "ffn_gate.weight")), np.float64(mm(x, p + "ffn_up.weight")); report("ffn_gate", g, rows("ffn_gate-0"))
    act = (np.where(g <= -10, 0, np.where(g >= 10, g, f16(gelu(np.float64(f16(g)))))) if ROUNDING_AS_LLAMACPP else gelu(g)) * u
    report("ffn_geglu", act, rows("ffn_geglu-0"))
    f = mm(act.astype(np.float32), p + "ffn_down.weight"); report("ffn_out", f, rows("ffn_out-0"))
    h = (h + rms(f) * W(p + "post_ffw_norm.weight").astype(np.float32)).astype(np.float32); report("l_out", h, rows("l_out-0"))

if __name__ == "__main__":
    main()
