#!/usr/bin/env bash
# The monthly failover drill, for cron and systemd (examples/schedule/README.md): promote
# staging, hold it 10 minutes while the gates are checked, put production back, verify that
# everything is as it was, and write the reports; then say how it went, as loudly as its exit
# code deserves.
#
# Install (it runs from a checkout of this repository, with standin built from it):
#   cargo install --locked --path . --root /usr/local
#   install -m 0755 examples/schedule/standin-drill.sh /usr/local/bin/standin-drill.sh
#
# AWS credentials: none in this file, the crontab or the unit. standin uses the standard AWS
# chain: on EC2 the instance profile's role (IMDSv2); elsewhere a profile of the service
# user's ~/.aws/config that assumes a role (IAM Identity Center, or credential_process).
# The role needs what `standin iam-policy playbooks/promote-staging.yaml` prints, plus the
# state prefix and the lock table (README.md, "A team's state in S3").
#
# Environment (all optional):
#   STANDIN_HOME           the checkout that holds playbooks/ (default /opt/standin)
#   STANDIN_DRILL_REPORTS  where the reports go, one directory per drill
#                          (default /var/lib/standin-drill/reports)
#   STANDIN_DRILL_ALERT    a command, run as `ALERT LEVEL CODE MESSAGE REPORT_DIR` when the
#                          drill needs attention. LEVEL is `page` (the world may not be as it
#                          was: a human must act now), `alert` (the drill failed and was rolled
#                          back, or did not run) or `warn` (it passed, slower than its RTO
#                          target). Wire it to your pager; it fetches its own secrets (e.g. a
#                          routing key from Secrets Manager, with the same role).
#
# Exit status: standin's own (README.md, "Exit codes"), so cron, systemd and whoever runs this
# by hand see the same code. standin-drill.service counts 6 as success (SuccessExitStatus=6).

set -uo pipefail

cd "${STANDIN_HOME:-/opt/standin}" || exit 2
report_dir="${STANDIN_DRILL_REPORTS:-/var/lib/standin-drill/reports}/$(date -u +%Y-%m-%dT%H%M%SZ)"

# systemd (stop, TimeoutStartSec) signals every process of the unit: standin handles the signal
# itself (it stops cleanly and exits 5); this shell waits for it and reports, instead of dying
# first. (A trap, not an ignored signal: standin must still receive it.)
trap 'echo "standin-drill: signal received, waiting for standin to stop" >&2' TERM INT HUP

standin --state s3://acme-standin-state/shop --lock dynamodb://standin-locks \
  drill playbooks/promote-staging.yaml \
  --yes --soak 10m --every 30s --report "$report_dir"
code=$?

# Every command standin suggests repeats where the state and the lock are.
where='--state s3://acme-standin-state/shop --lock dynamodb://standin-locks'
case $code in
  0) level=ok message="drill passed: promoted, held, put back and verified, within the RTO target" ;;
  6) level=warn message="drill passed (everything put back) but recovery took longer than the playbook's rto_target" ;;
  1) level=alert message="drill failed (a step, or a gate during the soak) and everything was rolled back" ;;
  2) level=alert message="drill did not run: invalid input (playbook or arguments); nothing was called" ;;
  4) level=alert message="drill did not start (lock held, guard refused, state unreachable); nothing was changed" ;;
  3) level=page message="production is NOT as it was (rollback incomplete, or the restore differs): act now, as the report says; 'standin $where status'" ;;
  5) level=page message="drill stopped by a signal with changes in place: 'standin $where rollback --last --yes' (or resume) now" ;;
  *) level=page message="standin ended unexpectedly (exit $code): changes may be in place; 'standin $where status'" ;;
esac

case $level in
  ok) priority=user.info ;;
  warn) priority=user.warning ;;
  alert) priority=user.err ;;
  *) priority=user.crit ;;
esac
summary="$message (exit $code; reports: $report_dir)"
logger -t standin-drill -p "$priority" -- "$summary" 2>/dev/null || true
echo "standin-drill: $level: $summary" >&2

if [[ $level != ok && -n ${STANDIN_DRILL_ALERT:-} ]]; then
  "$STANDIN_DRILL_ALERT" "$level" "$code" "$message" "$report_dir" ||
    echo "standin-drill: the alert command $STANDIN_DRILL_ALERT failed" >&2
fi
exit "$code"
