#!/usr/bin/env bash
# The benchmark's failover as a bash script of aws CLI calls, as an engineer would write it by
# hand: copy production's parameters onto staging (types and KMS keys kept), repoint the
# record and wait for INSYNC, restart the workers and wait for every instance.
#
#   bash scripts/bench/failover_awscli.sh ENDPOINT_URL
#
# `aws` is taken from PATH (the benchmark puts harness/.venv/bin first). Values must not hold
# tabs or newlines: the reads use `--output text`.
set -euo pipefail
endpoint="$1"
from=/bench/prod/ to=/bench/staging/
zone=bench.example. record=app.bench.example.
staging_cname=bench-staging.us-east-1.elasticbeanstalk.com

# aws CLI v1 fetches a parameter value that starts with http:// or https:// (and sends the
# page it got) unless this is off: production's URLs would be copied as web pages.
config="$(mktemp)"
trap 'rm -f "$config"' EXIT
printf '[default]\ncli_follow_urlparam = false\n' >"$config"
export AWS_CONFIG_FILE="$config"

awsc() { aws --endpoint-url "$endpoint" "$@"; }

# 1. Parameters: KMS keys only come from describe-parameters; values from get-parameters-by-path.
declare -A key_of
while IFS=$'\t' read -r name key; do
    key_of["$name"]="$key"
done < <(awsc ssm describe-parameters --page-size 50 \
    --parameter-filters "Key=Path,Option=Recursive,Values=$from" \
    --query 'Parameters[].[Name,KeyId]' --output text)

while IFS=$'\t' read -r name type value; do
    key_args=()
    if [ "$type" = SecureString ] && [ -n "${key_of[$name]:-}" ] && [ "${key_of[$name]}" != None ]; then
        key_args=(--key-id "${key_of[$name]}")
    fi
    awsc ssm put-parameter --overwrite --name "$to${name#"$from"}" --type "$type" --value "$value" \
        "${key_args[@]}" --output text >/dev/null
done < <(awsc ssm get-parameters-by-path --path "$from" --recursive --with-decryption \
    --query 'Parameters[].[Name,Type,Value]' --output text)

# 2. The record: UPSERT, then wait until Route 53 has it everywhere.
zone_id="$(awsc route53 list-hosted-zones-by-name --dns-name "$zone" --max-items 1 \
    --query "HostedZones[?Name=='$zone'].Id | [0]" --output text)"
[ "$zone_id" != None ] || { echo "no hosted zone $zone" >&2; exit 1; }
change_id="$(awsc route53 change-resource-record-sets --hosted-zone-id "$zone_id" --change-batch \
    "{\"Changes\":[{\"Action\":\"UPSERT\",\"ResourceRecordSet\":{\"Name\":\"$record\",\"Type\":\"CNAME\",\"TTL\":60,\"ResourceRecords\":[{\"Value\":\"$staging_cname\"}]}}]}" \
    --query ChangeInfo.Id --output text)"
awsc route53 wait resource-record-sets-changed --id "$change_id"

# 3. The workers: send, poll the command's status until it has ended (its invocations are listed
# only as Run Command reaches the instances), fail unless all succeeded.
command_id="$(awsc ssm send-command --document-name AWS-RunShellScript \
    --targets Key=tag:Role,Values=queue-worker Key=tag:Environment,Values=staging \
    --parameters 'commands=["systemctl restart queue-worker"]' --comment bench \
    --query Command.CommandId --output text)"
deadline=$((SECONDS + 600))
while :; do
    status="$(awsc ssm list-commands --command-id "$command_id" --query 'Commands[0].Status' --output text)"
    case $status in Success | Failed | TimedOut | Cancelled) break ;; esac
    [ "$SECONDS" -lt "$deadline" ] || { echo "command $command_id still running after 10 minutes" >&2; exit 1; }
    sleep 0.25
done
statuses="$(awsc ssm list-command-invocations --command-id "$command_id" \
    --query 'CommandInvocations[].Status' --output text)"
if grep -qvwE 'Success' < <(tr '\t' '\n' <<<"$statuses"); then
    echo "the restart failed on some workers: $statuses" >&2
    exit 1
fi
