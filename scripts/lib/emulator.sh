# Sourced by scripts/demo.sh and scripts/drill.sh: builds standin, starts the local AWS
# emulator with the incident world, and points the AWS chain and standin at it. Sets
# `standin`, `endpoint`, `edge`, `ca`, `work` and `vars` (the gates' --var flags); the
# emulator stops and `work` is removed when the script exits.
bash harness/setup.sh
cargo build --locked --quiet
standin="$PWD/target/debug/standin"
work=$(mktemp -d)
ready="$work/ready"
mkfifo "$ready"
harness/.venv/bin/python harness/emulator.py serve --port 0 --seed incident >"$ready" 2>"$work/emulator.log" &
emulator=$!
# The oracle's violations (requests AWS would refuse, harness/oracle.py) are shown, never lost
# with the log.
trap 'grep "^oracle: " "$work/emulator.log" >&2 || true; kill $emulator 2>/dev/null || true; rm -rf "$work"' EXIT
read -r line <"$ready"
# "READY http://127.0.0.1:PORT edge=127.0.0.1:PORT ca=/path/ca.pem"
set -- $line
[ "${1:-}" = READY ] || { echo "emulator did not start:"; cat "$work/emulator.log"; exit 1; }
endpoint=$2 edge=${3#edge=} ca=${4#ca=}
# The edge answers HTTPS with certificates from the emulator's own CA; trust it (only it).
export SSL_CERT_FILE="$ca"

# The emulator, with throwaway credentials; real AWS is never called.
export AWS_ENDPOINT_URL="$endpoint" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_CONFIG_FILE="$work/none" AWS_SHARED_CREDENTIALS_FILE="$work/none" AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE
export STANDIN_STATE_DIR="$work/state"
# The gates look at the emulated world from outside, through its HTTP edge.
vars=(--var app_check_url=http://app.example.com/health --var staging_check_url=https://staging.example.com/ --var "edge=$edge")
