#!/usr/bin/env bash
# The demo failover: builds standin, starts the local AWS emulator seeded with the incident
# world, and walks the promotion playbook through validate, plan, run, status and rollback.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/emulator.sh
playbook=playbooks/promote-staging.yaml
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
