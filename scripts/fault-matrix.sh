#!/usr/bin/env bash
# Runs the fault matrix (tests/faults.rs: each fault at each step of the incident playbook,
# through harness/proxy.py) and prints its table: cases, succeeded, rolled back cleanly,
# needed a human, lost.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test.sh faults -- --nocapture 2>&1 | sed -n '/^| cases/,/^test /p'
