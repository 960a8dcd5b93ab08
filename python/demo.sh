#!/usr/bin/env bash
# The Python part of `make demo`: builds the module into python/.venv (as
# python/test.sh does, without the test tools) and runs examples/demo.py.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
vpy="$venv/bin/python"
"$vpy" -m pip install -q --disable-pip-version-check "maturin>=1.5,<2"
"$vpy" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$here"
cd "$here/examples"
exec "$vpy" demo.py
