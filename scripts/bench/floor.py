"""The floor: the failover with the fewest API calls it can be done in, from boto3 clients that
were created and connected before the clock starts, timed in-process. Nothing can do the same
work against the same endpoint with fewer round trips; with one connection and sequential
writes, hardly faster.

The calls, and why each is unavoidable:
- DescribeParameters, filtered to production's SecureStrings (50 a page): the only read that
  returns KMS key ids;
- GetParametersByPath, decrypted (10 a page, AWS's maximum): the values and types;
- PutParameter for each parameter (every one differs, see world.py);
- ListHostedZonesByName: the zone's id, known only by name;
- ChangeResourceRecordSets (UPSERT with the TTL the failover sets: no need to read the record);
  GetChange only while the answer is not INSYNC;
- SendCommand to the tag targets (Run Command resolves them: no DescribeInstances), then
  ListCommands for the command's overall status, polled on standin's schedule (first after
  0.25 s), which is `Success` only when every invocation succeeded.
"""

import time

import world

DONE = {"Success", "Failed", "TimedOut", "Cancelled", "Incomplete"}


class Floor:
    """Warm clients for one endpoint; `warm()` before the clock, `failover()` is timed."""

    def __init__(self, endpoint):
        self.ssm = world.client("ssm", endpoint)
        self.route53 = world.client("route53", endpoint)

    def warm(self):
        """Opens each client's connection with a read the failover does not need (its answer is
        not used), so the clock sees no connection set-up."""
        self.ssm.describe_parameters(MaxResults=1)
        self.route53.get_hosted_zone_count()

    def failover(self):
        self.copy_parameters()
        self.repoint()
        self.restart_workers()

    def copy_parameters(self):
        keys, token = {}, None
        while True:
            page = self.ssm.describe_parameters(
                ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [world.FROM]},
                                  {"Key": "Type", "Values": ["SecureString"]}],
                MaxResults=50, **({"NextToken": token} if token else {}))
            keys.update({p["Name"]: p["KeyId"] for p in page["Parameters"]})
            token = page.get("NextToken")
            if not token:
                break
        while True:
            page = self.ssm.get_parameters_by_path(Path=world.FROM, Recursive=True, WithDecryption=True,
                                                   MaxResults=10, **({"NextToken": token} if token else {}))
            for p in page["Parameters"]:
                extra = {"KeyId": keys[p["Name"]]} if p["Type"] == "SecureString" else {}
                self.ssm.put_parameter(Name=world.TO + p["Name"][len(world.FROM):], Value=p["Value"],
                                       Type=p["Type"], Overwrite=True, **extra)
            token = page.get("NextToken")
            if not token:
                break

    def repoint(self):
        zone = self.route53.list_hosted_zones_by_name(DNSName=world.ZONE, MaxItems="1")["HostedZones"][0]["Id"]
        info = self.route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
            "Action": "UPSERT",
            "ResourceRecordSet": {"Name": world.RECORD, "Type": "CNAME", "TTL": world.TTL,
                                  "ResourceRecords": [{"Value": world.STAGING_CNAME}]},
        }]})["ChangeInfo"]
        delay = 0.25
        while info["Status"] != "INSYNC":
            time.sleep(delay)
            delay = min(delay * 1.5, 5)
            info = self.route53.get_change(Id=info["Id"])["ChangeInfo"]

    def restart_workers(self):
        command = self.ssm.send_command(
            Targets=[{"Key": f"tag:{k}", "Values": [v]} for k, v in world.WORKER_TAGS.items()],
            DocumentName=world.DOCUMENT, Parameters={"commands": [world.COMMAND]}, Comment="bench")["Command"]
        delay = 0.25
        while True:
            time.sleep(delay)
            delay = min(delay * 1.5, 5)
            status = self.ssm.list_commands(CommandId=command["CommandId"])["Commands"][0]["Status"]
            if status in DONE:
                break
        if status != "Success":
            raise RuntimeError(f"floor: the restart ended {status}")


def timed_failover(endpoint):
    """Seconds the floor's failover takes on `endpoint`, clients warmed first."""
    floor = Floor(endpoint)
    floor.warm()
    start = time.perf_counter()
    floor.failover()
    return time.perf_counter() - start
