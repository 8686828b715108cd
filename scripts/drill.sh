#!/usr/bin/env bash
# A full failover drill of the incident playbook against the local emulator: promote, hold
# (SOAK, default 3s) while the gates are checked again, put everything back, verify, and
# write the reports to DIR (default drill-reports/). CI runs it and keeps the reports.
#
#   bash scripts/drill.sh [DIR] [SOAK]
set -euo pipefail
cd "$(dirname "$0")/.."
reports=$(realpath -m "${1:-drill-reports}")
soak=${2:-3s}
source scripts/lib/emulator.sh
rm -rf "$reports"
code=0
"$standin" drill --yes --soak "$soak" --every 1s --report "$reports" "${vars[@]}" playbooks/promote-staging.yaml || code=$?
"$standin" history
echo "Reports: $reports"
exit $code
