"""The benchmark's failover as a careful engineer would script it with boto3: paginated reads,
types and KMS keys kept, waits until Route 53 and Run Command are done, failures raised. No
plan, no journal, no guards, no rollback: what standin adds is measured against this.

    python scripts/bench/failover_boto3.py ENDPOINT_URL

Credentials and region come from the environment (the benchmark sets the emulator's).
"""

import sys
import time

import boto3

FROM, TO = "/bench/prod/", "/bench/staging/"
ZONE, RECORD = "bench.example.", "app.bench.example."
STAGING_CNAME = "bench-staging.us-east-1.elasticbeanstalk.com"
WORKERS = [{"Key": "tag:Role", "Values": ["queue-worker"]}, {"Key": "tag:Environment", "Values": ["staging"]}]
COMMAND = "systemctl restart queue-worker"
DONE = {"Success", "Failed", "TimedOut", "Cancelled"}


def source_parameters(ssm):
    """Production's parameters: values (decrypted) from GetParametersByPath, and KMS keys from
    DescribeParameters, the only read that returns them."""
    keys = {}
    for page in ssm.get_paginator("describe_parameters").paginate(
            ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [FROM]}],
            PaginationConfig={"PageSize": 50}):
        keys.update({p["Name"]: p.get("KeyId") for p in page["Parameters"]})
    params = []
    for page in ssm.get_paginator("get_parameters_by_path").paginate(
            Path=FROM, Recursive=True, WithDecryption=True, PaginationConfig={"PageSize": 10}):
        params.extend(page["Parameters"])
    return [dict(p, KeyId=keys.get(p["Name"])) for p in params]


def copy_parameters(ssm):
    """Writes each production parameter under staging's prefix, with its type (and key)."""
    for p in source_parameters(ssm):
        extra = {"KeyId": p["KeyId"]} if p["Type"] == "SecureString" and p["KeyId"] else {}
        ssm.put_parameter(Name=TO + p["Name"][len(FROM):], Value=p["Value"], Type=p["Type"], Overwrite=True, **extra)


def repoint(route53):
    """UPSERTs the record onto staging and waits until Route 53 says INSYNC."""
    zones = route53.list_hosted_zones_by_name(DNSName=ZONE, MaxItems="1")["HostedZones"]
    if not zones or zones[0]["Name"] != ZONE:
        raise SystemExit(f"no hosted zone {ZONE}")
    change = route53.change_resource_record_sets(HostedZoneId=zones[0]["Id"], ChangeBatch={"Changes": [{
        "Action": "UPSERT",
        "ResourceRecordSet": {"Name": RECORD, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": STAGING_CNAME}]},
    }]})
    route53.get_waiter("resource_record_sets_changed").wait(Id=change["ChangeInfo"]["Id"], WaiterConfig={"Delay": 5})


def restart_workers(ssm):
    """Sends the restart to the tagged workers and polls the command's status (0.25 s, growing
    by half to 5 s, as standin does) until it has ended, then reads every invocation; raises
    unless all succeeded. (The invocations alone cannot say when it has ended: Run Command
    lists them as it reaches the instances.)"""
    command = ssm.send_command(Targets=WORKERS, DocumentName="AWS-RunShellScript",
                               Parameters={"commands": [COMMAND]}, Comment="bench")["Command"]["CommandId"]
    delay, deadline = 0.25, time.monotonic() + 600
    while ssm.list_commands(CommandId=command)["Commands"][0]["Status"] not in DONE:
        if time.monotonic() > deadline:
            raise SystemExit(f"command {command} still running after 10 minutes")
        time.sleep(delay)
        delay = min(delay * 1.5, 5)
    invocations = [i for page in ssm.get_paginator("list_command_invocations").paginate(CommandId=command)
                   for i in page["CommandInvocations"]]
    failed = [i["InstanceId"] for i in invocations if i["Status"] != "Success"]
    if failed:
        raise SystemExit(f"the restart failed on {', '.join(failed)}")


def main(endpoint):
    ssm = boto3.client("ssm", endpoint_url=endpoint)
    copy_parameters(ssm)
    repoint(boto3.client("route53", endpoint_url=endpoint))
    restart_workers(ssm)


if __name__ == "__main__":
    main(sys.argv[1])
