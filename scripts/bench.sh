#!/usr/bin/env bash
# Benchmark: `standin plan` of the incident playbook (time, memory, AWS round trips). Prints
# figures; no thresholds. Usage: bash scripts/bench.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash harness/setup.sh
cargo build --release --locked --quiet
exec harness/.venv/bin/python scripts/bench.py "$@"
