#!/usr/bin/env python3
"""Writes the quantization fixtures in Tests/EngineTests/Fixtures/quant/.

Reference: the `gguf` Python package (pip install gguf; made with gguf 0.19.0, numpy 2.4), whose
`gguf.quants.dequantize` is an independent numpy implementation of ggml's block formats.

1. Random blocks for every supported format (`<TYPE>.blocks`, raw GGML bytes of a 2-row matrix)
   and their dequantized values (`<TYPE>.f32`, little-endian float32). Every byte is random except
   the fp16 scale fields, which are drawn from a sane range so no block decodes to inf/NaN.
2. `gemma_rows.json`: for a few rows of tensors of every type in the real Gemma 3 270M Q4_K_M file,
   the FNV-1a 64-bit hash of the dequantized float32 bytes (an exact, bit-level check), their sum,
   and the first values. Needs the model (models/gemma-3-270m-q4_k_m.gguf).

Usage: python3 scripts/make_quant_fixtures.py [path/to/gemma-3-270m-q4_k_m.gguf]
"""
import json
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader
from gguf.quants import dequantize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "EngineTests", "Fixtures", "quant")

# name -> (type, bytes per block, values per block, offsets of fp16 scale fields in a block, columns)
FORMATS = {
    "F32": (T.F32, 4, 1, [], 64),
    "F16": (T.F16, 2, 1, [], 64),
    "BF16": (T.BF16, 2, 1, [], 64),
    "Q8_0": (T.Q8_0, 34, 32, [0], 256),
    "Q4_0": (T.Q4_0, 18, 32, [0], 256),
    "Q5_0": (T.Q5_0, 22, 32, [0], 256),
    "Q4_K": (T.Q4_K, 144, 256, [0, 2], 512),
    "Q5_K": (T.Q5_K, 176, 256, [0, 2], 512),
    "Q6_K": (T.Q6_K, 210, 256, [208], 512),
}
ROWS = 2


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def random_blocks(rng, name):
    qtype, size, per_block, half_fields, cols = FORMATS[name]
    count = ROWS * cols
    if name == "F32":
        return rng.standard_normal(count).astype("<f4").tobytes()
    if name == "F16":
        return rng.standard_normal(count).astype("<f2").tobytes()
    if name == "BF16":
        return (rng.standard_normal(count).astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
    nblocks = count // per_block
    raw = bytearray(rng.integers(0, 256, size=nblocks * size, dtype=np.uint8).tobytes())
    for b in range(nblocks):
        for off in half_fields:
            # scales in ±[1e-4, 0.1], the range real weights use; sometimes zero
            v = 0.0 if rng.random() < 0.05 else float(rng.choice([-1, 1]) * 10 ** rng.uniform(-4, -1))
            raw[b * size + off:b * size + off + 2] = np.array([v], dtype="<f2").tobytes()
    return bytes(raw)


def write_random_fixtures():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261123)
    manifest = {}
    for name, (qtype, size, per_block, _, cols) in FORMATS.items():
        blocks = random_blocks(rng, name)
        values = dequantize(np.frombuffer(blocks, dtype=np.uint8).reshape(ROWS, -1), qtype)
        values = np.ascontiguousarray(values, dtype="<f4").reshape(ROWS, cols)
        assert np.isfinite(values).all(), name
        with open(os.path.join(OUT, f"{name}.blocks"), "wb") as f:
            f.write(blocks)
        with open(os.path.join(OUT, f"{name}.f32"), "wb") as f:
            f.write(values.tobytes())
        manifest[name] = {"type": int(qtype), "rows": ROWS, "cols": cols}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


def write_model_fixture(path):
    reader = GGUFReader(path)
    tensors = {t.name: t for t in reader.tensors}
    picks = {
        "token_embd.weight": [0, 2, 105, 262143],
        "blk.0.attn_q.weight": [0, 1023],
        "blk.0.attn_v.weight": [0, 255],
        "blk.0.attn_output.weight": [0, 639],
        "blk.0.ffn_down.weight": [0, 639],
        "blk.3.ffn_down.weight": [0, 639],
        "blk.0.ffn_gate.weight": [7],
        "output_norm.weight": [0],
    }
    entries = []
    for name, rows in picks.items():
        t = tensors[name]
        data = np.asarray(t.data)
        if data.ndim == 1:
            data = data.reshape(1, -1)
        for r in rows:
            row = data[r:r + 1]
            values = row if t.tensor_type == T.F32 else dequantize(row, t.tensor_type)
            values = np.ascontiguousarray(values, dtype="<f4").reshape(-1)
            entries.append({
                "tensor": name, "type": t.tensor_type.name, "row": r, "count": int(values.size),
                "fnv1a64": f"{fnv1a64(values.tobytes()):016x}",
                "sum": float(values.astype(np.float64).sum()),
                "first": [float(v) for v in values[:4]],
            })
    with open(os.path.join(OUT, "gemma_rows.json"), "w") as f:
        json.dump({"model": os.path.basename(path),
                   "sha256": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
                   "rows": entries}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    write_random_fixtures()
    model = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models", "gemma-3-270m-q4_k_m.gguf")
    if os.path.exists(model):
        write_model_fixture(model)
    else:
        print(f"note: {model} missing; gemma_rows.json not rewritten", file=sys.stderr)
