#!/usr/bin/env bash
# The demo failover: builds standin, starts the local AWS emulator seeded with the incident
# world, and walks the promotion playbook through validate, plan, run, status and rollback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash harness/setup.sh
cargo build --locked --quiet
standin="$PWD/target/debug/standin"
work=$(mktemp -d)
ready="$work/ready"
mkfifo "$ready"
harness/.venv/bin/python harness/emulator.py serve --port 0 --seed incident >"$ready" 2>"$work/emulator.log" &
emulator=$!
trap 'kill $emulator 2>/dev/null || true; rm -rf "$work"' EXIT
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
playbook=playbooks/promote-staging.yaml
# The gates look at the emulated world from outside, through its HTTP edge.
vars=(--var app_check_url=http://app.example.com/health --var staging_check_url=https://staging.example.com/ --var "edge=$edge")
outside() {
    for url in http://app.example.com/ http://staging.example.com/ https://staging.example.com/; do
        host=${url#*://}; host=${host%/}
        port=80; [ "${url%%:*}" = https ] && port=443
        printf '  %-30s %s\n' "$url" "$(curl -s --cacert "$ca" --connect-to "$host:$port:$edge" -w ' (%{http_code})' "$url")"
    done
}

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
step standin kinds;                       "$standin" kinds
step "what the world sees: production is stuck mid-upgrade";  outside
step standin validate "$playbook";              "$standin" validate "$playbook"
step standin plan "$playbook" "${vars[@]}";     "$standin" plan "${vars[@]}" "$playbook"
step standin run --yes "$playbook" "${vars[@]}"; "$standin" run --yes "${vars[@]}" "$playbook"
step standin status;                            "$standin" status
step "what the world sees: staging serves production, the staging URL is locked"; outside
step standin rollback --last --yes;             "$standin" rollback --last --yes
step standin status;                            "$standin" status
step "what the world sees: back as before";     outside
printf '\nDemo finished: staging stood in for production and everything was put back, against the local emulator at %s.\n' "$endpoint"
