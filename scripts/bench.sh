#!/usr/bin/env bash
# Benchmark: the same failover done by standin, a bash script of aws CLI calls, a boto3 script
# and the floor (fewest calls, warm clients), against the local emulator, at three sizes.
# Prints figures (wall time, API calls, peak memory, ratios); asserts only that every way left
# the same world. See scripts/bench.py. Then how close the incident playbook comes to its
# critical path (scripts/critical_path.py).
#
#   bash scripts/bench.sh [--sizes small,medium,large] [--runs N] [--json FILE] [--cli-large] [--latency MS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash harness/setup.sh >&2
cargo build --release --locked --quiet
harness/.venv/bin/python scripts/bench.py "$@"
# The incident playbook with its parallel groups, against realistic (scaled) AWS delays.
exec harness/.venv/bin/python scripts/critical_path.py
