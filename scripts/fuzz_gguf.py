#!/usr/bin/env python3
"""Mutates a GGUF file in the ways a hostile or careless file would and runs whet on each mutation.

Every mutation is run through `whet models show F --json` and
`whet generate --model F --prompt hi --max-tokens 2 --json`; each outcome is one of
  error    exit status != 0 with a one-line message on stderr (what we want for a broken file)
  ok       exit status 0 (a "silent success" when the mutation must break the model)
  crash    killed by a signal
  hang     still running after --timeout seconds
Mutations are structure-aware (the header is parsed here, so a tensor's dimensions, its type, a
metadata value or a count can be changed on purpose) plus truncations and random bit flips.

    python3 scripts/fuzz_gguf.py --whet .build/release/whet \\
        --model Tests/EngineTests/Fixtures/families/gemma3-f32.gguf --count 700 --seed 1

Prints a table (kind × outcome) and writes every mutation that did not end as it must to
--keep DIR. Exits 1 when any mutation crashed, hung or silently succeeded where it must fail.
"""
import argparse, collections, json, os, random, resource, struct, subprocess, sys, tempfile

SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


class Header:
    """Offsets of every field of a GGUF header."""

    def __init__(self, data):
        self.data = data
        self.pos = 0
        magic, self.version = struct.unpack_from("<II", data, 0)
        assert magic == 0x46554747, "not a GGUF file"
        self.pos = 8
        self.tensor_count_at = self.pos
        self.tensor_count = self.u64()
        self.kv_count_at = self.pos
        self.kv_count = self.u64()
        self.kvs = []  # (key, type, start of the key, start of the type, start of the value, end)
        for _ in range(self.kv_count):
            start = self.pos
            key = self.string()
            type_at = self.pos
            t = self.u32()
            value_at = self.pos
            self.skip_value(t)
            self.kvs.append((key, t, start, type_at, value_at, self.pos))
        self.tensors = []  # (name, dims start, n_dims, type at, offset at)
        for _ in range(self.tensor_count):
            name = self.string()
            ndims_at = self.pos
            n = self.u32()
            dims_at = self.pos
            self.pos += 8 * n
            type_at = self.pos
            self.pos += 4
            offset_at = self.pos
            self.pos += 8
            self.tensors.append((name, ndims_at, n, dims_at, type_at, offset_at))
        self.header_end = self.pos

    def u32(self):
        v = struct.unpack_from("<I", self.data, self.pos)[0]
        self.pos += 4
        return v

    def u64(self):
        v = struct.unpack_from("<Q", self.data, self.pos)[0]
        self.pos += 8
        return v

    def string(self):
        n = self.u64()
        s = self.data[self.pos:self.pos + n].decode("utf-8", "replace")
        self.pos += n
        return s

    def skip_value(self, t):
        if t in SCALAR:
            self.pos += struct.calcsize("<" + SCALAR[t])
        elif t == 8:
            self.string()
        elif t == 9:
            et = self.u32()
            n = self.u64()
            for _ in range(n):
                self.skip_value(et)
        else:
            raise ValueError(f"unknown type {t}")

    def kv(self, key):
        return next((kv for kv in self.kvs if kv[0] == key), None)


def encode_value(t, v):
    return struct.pack("<" + SCALAR[t], v)


def mutations(data, h, rng, count):
    """Yields (kind, must_fail, bytes)."""
    arch = next((kv for kv in h.kvs if kv[0] == "general.architecture"), None)
    arch_name = data[arch[4] + 8:arch[5]].decode() if arch else "gemma3"
    out = []

    def replace(at, length, new):
        return data[:at] + new + data[at + length:]

    # Truncations: inside the header, at the data start and inside the data.
    for _ in range(count // 7):
        cut = rng.choice([rng.randrange(1, h.header_end), rng.randrange(h.header_end, len(data))])
        out.append(("truncate", True, data[:cut]))
    # Tensor dimensions and types.
    for _ in range(count // 7):
        name, ndims_at, n, dims_at, type_at, offset_at = rng.choice(h.tensors)
        i = rng.randrange(n)
        d = struct.unpack_from("<Q", data, dims_at + 8 * i)[0]
        new = rng.choice([d + 1, max(0, d - 1), d * 2, d // 2 if d > 1 else 3, 0, 1 << 30, 1 << 62])
        out.append(("tensor dims", True, replace(dims_at + 8 * i, 8, struct.pack("<Q", new))))
    for _ in range(count // 7):
        name, ndims_at, n, dims_at, type_at, offset_at = rng.choice(h.tensors)
        old = struct.unpack_from("<I", data, type_at)[0]
        new = rng.choice([t for t in [0, 1, 2, 3, 6, 8, 10, 12, 13, 14, 30, 99, 1 << 31] if t != old])
        out.append(("tensor type", True, replace(type_at, 4, struct.pack("<I", new))))
    # Hyper-parameters with impossible values.
    bad_floats = [float("nan"), float("inf"), -1.0, 0.0]
    float_keys = [kv for kv in h.kvs if kv[1] == 6 and kv[0].startswith(arch_name + ".")]
    int_keys = [kv for kv in h.kvs if kv[1] in (4, 5, 10, 11) and kv[0].startswith(arch_name + ".")]
    for _ in range(count // 7):
        if float_keys and rng.random() < 0.5:
            key, t, start, type_at, value_at, end = rng.choice(float_keys)
            value = rng.choice(bad_floats)
            out.append(("bad float", True, replace(value_at, 4, struct.pack("<f", value)), f"{key} = {value}"))
        elif int_keys:
            key, t, start, type_at, value_at, end = rng.choice(int_keys)
            size = struct.calcsize("<" + SCALAR[t])
            value = rng.choice([0, 1 << (8 * size - 2)])
            out.append(("bad integer", True, replace(value_at, size, struct.pack("<" + SCALAR[t], value)), f"{key} = {value}"))
    # Value types changed under a well-known key (same payload size where possible).
    for _ in range(count // 14):
        candidates = [kv for kv in h.kvs if kv[1] in (4, 6, 7)]
        if not candidates:
            break
        key, t, start, type_at, value_at, end = rng.choice(candidates)
        new_type = {4: 6, 6: 4, 7: 0}[t]
        value = data[value_at:end]
        if t == 7:
            value = b"\x05"
        out.append(("value type", True, replace(type_at, 4 + (end - value_at), struct.pack("<I", new_type) + value),
                    f"{key}: type {t} -> {new_type}"))
    # A duplicate key with another value.
    for _ in range(count // 28):
        key, t, start, type_at, value_at, end = rng.choice([kv for kv in h.kvs if kv[1] in SCALAR])
        extra = data[start:value_at] + data[value_at:end][::-1]
        body = data[:h.kv_count_at] + struct.pack("<Q", h.kv_count + 1) + data[h.kv_count_at + 8:end] + extra + data[end:]
        out.append(("duplicate key", True, body))
    # Pathological metadata: deep nesting, huge counts, huge alignment, huge strings.
    def with_kv(key, payload):
        kb = key.encode()
        return (data[:h.kv_count_at] + struct.pack("<Q", h.kv_count + 1) + data[h.kv_count_at + 8:h.kvs[0][2]]
                + struct.pack("<Q", len(kb)) + kb + payload + data[h.kvs[0][2]:])
    nested = struct.pack("<I", 9) + b"".join(struct.pack("<IQ", 9, 1) for _ in range(100_000)) + struct.pack("<IQ", 0, 0)
    out.append(("nested arrays", True, with_kv("x.nested", nested)))
    out.append(("huge array", True, with_kv("x.huge", struct.pack("<IIQ", 9, 8, 1 << 40))))
    out.append(("many empty arrays", False, with_kv("x.empty", struct.pack("<IIQ", 9, 9, 200_000)
                                                         + struct.pack("<IQ", 0, 0) * 200_000)))
    out.append(("huge string", True, with_kv("x.s", struct.pack("<IQ", 8, 1 << 50))))
    align = h.kv("general.alignment")
    out.append(("alignment", True, with_kv("general.alignment", struct.pack("<IQ", 10, 1 << 63)) if align is None
                else replace(align[3], 4 + (align[5] - align[4]), struct.pack("<IQ", 10, 1 << 63))))
    out.append(("huge tensor count", True, replace(h.tensor_count_at, 8, struct.pack("<Q", 1 << 40))))
    out.append(("huge kv count", True, replace(h.kv_count_at, 8, struct.pack("<Q", 1 << 40))))
    # Random bit flips in the header (some are harmless: a flipped letter in a name).
    while len(out) < count:
        at = rng.randrange(8, h.header_end)
        flipped = bytearray(data)
        flipped[at] ^= 1 << rng.randrange(8)
        out.append(("bit flip", False, bytes(flipped)))
    return [m if len(m) == 4 else m + ("",) for m in out]


def run(cmd, timeout):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30)))
    except subprocess.TimeoutExpired:
        return "hang", ""
    if p.returncode < 0:
        return "crash", f"signal {-p.returncode}"
    if p.returncode == 0:
        return "ok", ""
    lines = [l for l in p.stderr.strip().splitlines() if l.strip()]
    return ("error" if len(lines) == 1 else "error (several lines)"), lines[0] if lines else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--whet", default=".build/release/whet")
    ap.add_argument("--model", default="Tests/EngineTests/Fixtures/families/gemma3-f32.gguf")
    ap.add_argument("--count", type=int, default=700)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--keep", default=None, help="folder for the mutations that did not end as they must")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    data = open(args.model, "rb").read()
    h = Header(data)
    rng = random.Random(args.seed)
    table = collections.Counter()
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.gguf")
        for i, (kind, must_fail, body, detail) in enumerate(mutations(data, h, rng, args.count)):
            with open(path, "wb") as f:
                f.write(body)
            for command in (["models", "show", path, "--json"],
                            ["generate", "--model", path, "--prompt", "hi", "--max-tokens", "2", "--json"]):
                outcome, message = run([args.whet] + command, args.timeout)
                if outcome == "ok" and must_fail:
                    outcome = "silent success"
                table[(kind, command[0], outcome)] += 1
                if outcome in ("crash", "hang", "silent success", "error (several lines)"):
                    bad.append((i, kind, command[0], outcome, (detail + " " + message).strip()))
                    if args.keep:
                        os.makedirs(args.keep, exist_ok=True)
                        with open(os.path.join(args.keep, f"{i:04d}-{kind.replace(' ', '-')}.gguf"), "wb") as f:
                            f.write(body)
            print(f"\r{i + 1} mutations", end="", file=sys.stderr)
    print(file=sys.stderr)
    rows = sorted(table.items())
    if args.json:
        print(json.dumps({"outcomes": [{"kind": k, "command": c, "outcome": o, "count": n} for (k, c, o), n in rows],
                          "failures": [{"mutation": i, "kind": k, "command": c, "outcome": o, "message": m} for i, k, c, o, m in bad]}))
    else:
        print(f"{'mutation':<20} {'command':<10} {'outcome':<22} count")
        for (k, c, o), n in rows:
            print(f"{k:<20} {c:<10} {o:<22} {n}")
        for i, k, c, o, m in bad[:40]:
            print(f"mutation {i} ({k}) {c}: {o} {m}")
    sys.exit(1 if any(o in ("crash", "hang", "silent success") for _, _, _, o, _ in bad) else 0)


if __name__ == "__main__":
    main()
