#!/usr/bin/env bash
# Creates harness/.venv with the emulator (moto's server) and boto3, once; re-installs only
# when requirements.txt changes. Non-interactive: safe in CI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "harness: emulator venv up to date ($venv)"
    exit 0
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$here/requirements.txt"
echo "$want" >"$stamp"
echo "harness: installed the emulator into $venv"
