#!/usr/bin/env bash
# Installs the Debian packages Whetstone builds and tests with, only when something is missing.
# Idempotent and quick on a machine that already has everything.
set -euo pipefail

need=()
pkg-config --exists openblas 2>/dev/null || need+=(libopenblas-dev)
[ -f /usr/include/ncursesw/curses.h ] || need+=(libncursesw5-dev)
[ -f /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v tmux >/dev/null || need+=(tmux)
command -v python3 >/dev/null || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)

if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v swift >/dev/null; then
    echo "setup: no Swift toolchain on PATH; install Swift 6 (https://swift.org) and run again" >&2
    exit 1
fi

# Python packages the tests use (the `openai` client drives `whet serve` in ServerTests).
# Quiet and idempotent: pip runs only when an import fails. Under CI=true a package that cannot be
# installed stops the set-up with an error instead of letting its tests skip.
py_has() { python3 -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)" 2>/dev/null; }
py_need=()
py_has openai || py_need+=(openai)
if [ ${#py_need[@]} -gt 0 ]; then
    echo "setup: installing Python packages ${py_need[*]}" >&2
    pip_args=(install --quiet --disable-pip-version-check --root-user-action=ignore "${py_need[@]}")
    # Debian's own python3 refuses pip installs into the system (PEP 668) unless told explicitly.
    python3 -m pip "${pip_args[@]}" >&2 2>/dev/null || python3 -m pip "${pip_args[@]}" --break-system-packages >&2 || true
    for p in "${py_need[@]}"; do
        if ! py_has "$p"; then
            if [ "${CI:-}" = "true" ]; then
                echo "setup: ERROR: Python package '$p' could not be installed (python3 -m pip install $p failed); the server tests need it" >&2
                exit 1
            fi
            echo "setup: warning: Python package '$p' is missing; tests that need it are skipped (python3 -m pip install $p)" >&2
        fi
    done
fi
