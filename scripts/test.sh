#!/usr/bin/env bash
# Runs every test: sets up the emulator's venv (once), then the unit and integration tests.
# Each integration test starts its own emulator on a free local port; nothing calls real AWS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash harness/setup.sh
# Debian packages the tests use: COMMAND, installed from PACKAGE when missing (as root, as CI
# runs), and why.
need() {
    command -v "$1" >/dev/null && return
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq "$2" >/dev/null
    else
        echo "scripts/test.sh: the tests need $2 ($3): sudo apt-get install $2" >&2
        exit 1
    fi
}
need chromium chromium "the HTML report is checked by what headless Chromium draws"
need strace strace "the journal's durability is checked by watching its system calls"
export STANDIN_PYTHON="$PWD/harness/.venv/bin/python"
# Never let a developer's real AWS settings leak into a test.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ENDPOINT_URL
# The harness's own tests (boto3 against the proxy and the emulator's extensions), unless a
# cargo filter was given.
if [ $# -eq 0 ]; then
    "$STANDIN_PYTHON" harness/test_proxy.py
    "$STANDIN_PYTHON" harness/test_world.py
    "$STANDIN_PYTHON" harness/test_delays.py
    "$STANDIN_PYTHON" harness/test_eb_iam.py
    "$STANDIN_PYTHON" harness/test_eb.py
    "$STANDIN_PYTHON" harness/test_iam_simulate.py
    "$STANDIN_PYTHON" harness/test_acm.py
    "$STANDIN_PYTHON" harness/test_doctor.py
    "$STANDIN_PYTHON" harness/test_parameter_store.py
    "$STANDIN_PYTHON" harness/test_run_command.py
    "$STANDIN_PYTHON" harness/test_limits.py
    "$STANDIN_PYTHON" harness/test_oracle.py
    "$STANDIN_PYTHON" harness/test_evidence.py
fi
cargo test --locked --features crash-points "$@"
