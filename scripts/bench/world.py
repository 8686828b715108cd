"""The benchmark's world, seeded with boto3 into an empty emulator, and the dump that says
whether two failovers left the same world.

The failover (the same for every way of doing it, see failover.yaml):
- copy every parameter under /bench/prod/ onto /bench/staging/, types and KMS keys kept;
- repoint app.bench.example. (CNAME, TTL 60) from production's Elastic Beanstalk CNAME to
  staging's, UPSERT, and wait until INSYNC;
- restart the queue workers (instances tagged Role=queue-worker, Environment=staging) with
  Run Command `AWS-RunShellScript`, and wait until every instance has finished.

The world is deterministic: the same size always gives the same names, types, values and keys,
so dumps of two emulators can be compared. Instance ids differ between emulators; dumps name
instances by their `Name` tag.
"""

from dataclasses import dataclass

import boto3

REGION = "us-east-1"
APPLICATION = "bench"
ZONE = "bench.example."
RECORD = "app.bench.example."
PROD_CNAME = f"bench-prod.{REGION}.elasticbeanstalk.com"
STAGING_CNAME = f"bench-staging.{REGION}.elasticbeanstalk.com"
TTL = 60
FROM, TO = "/bench/prod/", "/bench/staging/"
KEY_ALIAS = "alias/bench-secrets"
DEFAULT_KEY = "alias/aws/ssm"
WORKER_TAGS = {"Role": "queue-worker", "Environment": "staging"}
DOCUMENT = "AWS-RunShellScript"
COMMAND = "systemctl restart queue-worker"
# Instances that look like workers but must not be restarted: the failover targets by tags.
DECOYS = {
    "bench-staging-web": {"Role": "web", "Environment": "staging"},
    "bench-prod-worker": {"Role": "queue-worker", "Environment": "prod"},
}


@dataclass(frozen=True)
class Size:
    """How big a world is: parameters under each prefix, record sets created in the zone (the
    repointed one included; SOA and NS come on top), and worker instances."""

    name: str
    parameters: int
    records: int
    workers: int


SIZES = {
    "small": Size("small", parameters=3, records=5, workers=1),
    "medium": Size("medium", parameters=100, records=100, workers=5),
    "large": Size("large", parameters=1000, records=500, workers=50),
}


def describe(size):
    """The failover at `size`, in a line."""
    prod, staging = parameter_keys(size)
    created = len(set(prod) - set(staging))
    secrets = sum(parameter(int(k[4:]), "prod")[0] == "SecureString" for k in prod)
    return (f"copy {len(prod)} parameters ({secrets} SecureString{'s' * (secrets != 1)}) onto staging's {len(staging)} "
            f"({len(prod) - created} overwritten, {created} created), repoint 1 of {size.records} record sets, "
            f"restart {size.workers} of {size.workers + len(DECOYS)} instances")


def client(service, endpoint):
    """A boto3 client for the emulator, with the fixed test credentials."""
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def parameter_keys(size):
    """The keys under each prefix. A tenth of production's keys are missing on staging (the copy
    creates them) and staging has as many of its own (the copy leaves them alone)."""
    n, extra = size.parameters, size.parameters // 10
    return [f"KEY_{i:04d}" for i in range(n)], [f"KEY_{i:04d}" for i in range(extra, n + extra)]


def parameter(i, side):
    """(type, value, KMS key or None) of key number `i` on `side` ("prod" or "staging"). Every
    tenth key is a SecureString, half of production's under a customer key that staging's do
    not use, so a copy that drops the key shows; every tenth a StringList; some values are URLs
    (aws CLI v1 fetches a `--value` starting with https:// unless told not to)."""
    if i % 10 == 0:
        key = KEY_ALIAS if side == "prod" and i % 20 == 0 else DEFAULT_KEY
        return "SecureString", f"{side}-secret-{i:04d}-Zq8v", key
    if i % 10 == 1:
        return "StringList", f"{side}-a-{i},{side}-b-{i},shared", None
    if i % 10 == 2:
        return "String", f"https://{side}-{i}.bench.example/api?v=2", None
    return "String", f"{side}-value-{i:04d} with spaces & symbols=;'\"", None


def seed(endpoint, size):
    """Creates the world of `size` in an empty emulator."""
    seed_environments(endpoint)
    seed_zone(endpoint, size)
    seed_parameters(endpoint, size)
    seed_instances(endpoint, size)


def warm(endpoint):
    """One read of every service a way may call, before any is timed: the emulator's first
    request to a service loads its botocore model (the oracle) and moto's backend, 40 to 200 ms
    a service with the other requests waiting on the interpreter; AWS has no such cost, and a
    way that calls one more service would otherwise be timed on it."""
    for service, read in (
        ("route53", lambda c: c.list_hosted_zones()),
        ("ssm", lambda c: c.describe_parameters(MaxResults=1)),
        ("elasticbeanstalk", lambda c: c.describe_environments()),
        ("elbv2", lambda c: c.describe_load_balancers()),
        ("ec2", lambda c: c.describe_instances(MaxResults=5)),
        ("sts", lambda c: c.get_caller_identity()),
        ("resourcegroupstaggingapi", lambda c: c.get_resources(ResourcesPerPage=1)),
        ("autoscaling", lambda c: c.describe_auto_scaling_groups(MaxRecords=1)),
        ("events", lambda c: c.list_event_buses(Limit=1)),
        ("scheduler", lambda c: c.list_schedules(MaxResults=1)),
        ("cloudfront", lambda c: c.list_distributions(MaxItems="1")),
    ):
        read(client(service, endpoint))


def seed_environments(endpoint):
    """Production and staging on Elastic Beanstalk: the record's targets are their CNAMEs, and
    standin's built-in guard looks the target environment up before sending traffic to it."""
    eb = client("elasticbeanstalk", endpoint)
    eb.create_application(ApplicationName=APPLICATION)
    stack = eb.list_available_solution_stacks()["SolutionStacks"][0]
    for env in ("bench-prod", "bench-staging"):
        eb.create_environment(ApplicationName=APPLICATION, EnvironmentName=env, SolutionStackName=stack,
                              CNAMEPrefix=env, Tier={"Name": "WebServer", "Type": "Standard"})


def seed_zone(endpoint, size):
    """The zone: the record to repoint, then filler records (A, CNAME, TXT) up to `size.records`."""
    route53 = client("route53", endpoint)
    zone = route53.create_hosted_zone(Name=ZONE, CallerReference="standin-bench")["HostedZone"]["Id"]
    sets = [{"Name": RECORD, "Type": "CNAME", "TTL": TTL, "ResourceRecords": [{"Value": PROD_CNAME}]}]
    for i in range(size.records - 1):
        name = f"host-{i:04d}.{ZONE}"
        if i % 3 == 0:
            sets.append({"Name": name, "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": f"192.0.2.{i % 250 + 1}"}]})
        elif i % 3 == 1:
            sets.append({"Name": name, "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": STAGING_CNAME}]})
        else:
            sets.append({"Name": name, "Type": "TXT", "TTL": 3600, "ResourceRecords": [{"Value": f'"v={i}"'}]})
    for start in range(0, len(sets), 500):
        changes = [{"Action": "CREATE", "ResourceRecordSet": s} for s in sets[start:start + 500]]
        route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})


def seed_parameters(endpoint, size):
    """Both prefixes' parameters, and the customer KMS key some production secrets use."""
    kms, ssm = client("kms", endpoint), client("ssm", endpoint)
    key_id = kms.create_key(Description="bench secrets")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=KEY_ALIAS, TargetKeyId=key_id)
    prod, staging = parameter_keys(size)
    for side, prefix, keys in (("prod", FROM, prod), ("staging", TO, staging)):
        for key in keys:
            ptype, value, kms_key = parameter(int(key[4:]), side)
            extra = {"KeyId": kms_key} if kms_key else {}
            ssm.put_parameter(Name=prefix + key, Type=ptype, Value=value, **extra)


def seed_instances(endpoint, size):
    """The workers and the decoys, tagged as harness/seed.py tags the incident's workers (Run
    Command in the emulator resolves `tag:` targets through EC2's tags)."""
    ec2 = client("ec2", endpoint)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instances = {f"bench-worker-{i + 1:02d}": WORKER_TAGS for i in range(size.workers)} | DECOYS
    for name, tags in instances.items():
        tag_list = [{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in tags.items()]
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.small",
                          TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list}])


def expected_after(seeded, size):
    """The dump a correct failover leaves, from the dump of the seeded world: staging holds each
    of production's parameters (type, value, key), the record names staging, and every worker,
    and nothing else, ran the restart successfully."""
    after = {"parameters": dict(seeded["parameters"]), "records": [], "commands": []}
    for name, value in seeded["parameters"].items():
        if name.startswith(FROM):
            after["parameters"][TO + name[len(FROM):]] = value
    after["parameters"] = dict(sorted(after["parameters"].items()))
    for rrset in seeded["records"]:
        if rrset["Name"] == RECORD and rrset["Type"] == "CNAME":
            rrset = dict(rrset, Values=[STAGING_CNAME])
        after["records"].append(rrset)
    after["commands"] = sorted([f"bench-worker-{i + 1:02d}", DOCUMENT, COMMAND, "Success"] for i in range(size.workers))
    return after


def dump(endpoint):
    """Everything the failover may touch, comparable across emulators: parameters under /bench/
    (name, type, value, key; not versions), the zone's record sets, and which instances (by
    Name) ran which command with what outcome."""
    return {"parameters": dump_parameters(endpoint), "records": dump_records(endpoint),
            "commands": dump_commands(endpoint)}


def dump_parameters(endpoint):
    ssm = client("ssm", endpoint)
    keys = {}
    for page in ssm.get_paginator("describe_parameters").paginate(
            ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": ["/bench/"]}]):
        keys.update({p["Name"]: p.get("KeyId") for p in page["Parameters"]})
    out = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path="/bench/", Recursive=True,
                                                                     WithDecryption=True):
        for p in page["Parameters"]:
            key = keys.get(p["Name"]) if p["Type"] == "SecureString" else None
            out[p["Name"]] = [p["Type"], p["Value"], key]
    return dict(sorted(out.items()))


def dump_records(endpoint):
    route53 = client("route53", endpoint)
    zone = route53.list_hosted_zones_by_name(DNSName=ZONE)["HostedZones"][0]["Id"]
    sets = []
    for page in route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone):
        for rrset in page["ResourceRecordSets"]:
            if rrset["Type"] in ("SOA", "NS"):  # the zone's own: they name the emulator's servers
                continue
            sets.append({k: v for k, v in rrset.items() if k != "ResourceRecords"}
                        | {"Values": sorted(r["Value"] for r in rrset.get("ResourceRecords", []))})
    return sorted(sets, key=lambda s: (s["Name"], s["Type"], s.get("SetIdentifier", "")))


def dump_commands(endpoint):
    ec2, ssm = client("ec2", endpoint), client("ssm", endpoint)
    names = {}
    for page in ec2.get_paginator("describe_instances").paginate():
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                names[instance["InstanceId"]] = tags.get("Name", instance["InstanceId"])
    ran = []
    for page in ssm.get_paginator("list_commands").paginate():
        for command in page["Commands"]:
            invocations = ssm.list_command_invocations(CommandId=command["CommandId"])["CommandInvocations"]
            for invocation in invocations:
                ran.append([names.get(invocation["InstanceId"], invocation["InstanceId"]), command["DocumentName"],
                            " ; ".join(command["Parameters"].get("commands", [])), invocation["Status"]])
    return sorted(ran)


def differences(reference, other, limit=10):
    """Human-readable differences between two dumps (at most `limit` per part), empty if none."""
    out = []
    for part in ("parameters", "records", "commands"):
        a, b = reference[part], other[part]
        if a == b:
            continue
        if part == "parameters":
            names = sorted(set(a) | set(b))
            diffs = [f"{n}: {a.get(n)} vs {b.get(n)}" for n in names if a.get(n) != b.get(n)]
        else:
            diffs = [f"only in the first: {x}" for x in a if x not in b] + [f"only in the second: {x}" for x in b if x not in a]
        out.append(f"{part}: {len(diffs)} differ")
        out.extend(f"  {d}" for d in diffs[:limit])
    return out
