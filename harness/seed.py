"""The incident world: production on Elastic Beanstalk behind app.example.com, staging beside
it, and each environment's `.env` in Parameter Store. Tests rely on these exact names."""

import boto3
from certs import self_signed

REGION = "us-east-1"
ZONE = "example.com."
APPLICATION = "shop"
ENVIRONMENTS = {"shop-prod": "WebServer", "shop-staging": "WebServer", "shop-worker": "Worker"}
STAGING_ALB = "shop-staging-alb"
STAGING_TARGET_GROUP = "shop-staging-web"
# The name on the certificate of the staging load balancer's HTTPS listener (ACM, imported).
STAGING_CERT_NAME = "staging.example.com"
# Production's certificate, imported into ACM ahead of time and on no listener yet: what an
# `alb.add-certificate` step puts on the staging load balancer so it can serve production's names.
PROD_CERT_NAMES = ["app.example.com", "www.example.com"]
PROD_CERT_TAGS = [{"Key": "Name", "Value": "shop-production"}]
# Production is stuck mid-upgrade, as in the incident (see moto_eb.py's control tags). Staging
# is fronted by its load balancer: the edge (edge.py) presents that ALB's HTTPS certificate.
ENVIRONMENT_TAGS = {
    "shop-prod": {"emulator:stuck": "true"},
    "shop-staging": {"emulator:load-balancer": STAGING_ALB},
}
PROPERTIES_NAMESPACE = "aws:elasticbeanstalk:application:environment"
PROD_CNAME = f"shop-prod.{REGION}.elasticbeanstalk.com"
STAGING_CNAME = f"shop-staging.{REGION}.elasticbeanstalk.com"

# (name, type, value, ttl, routing fields)
RECORDS = [
    ("app.example.com.", "CNAME", PROD_CNAME, 300, {}),
    ("staging.example.com.", "CNAME", STAGING_CNAME, 60, {}),
    ("www.example.com.", "A", "192.0.2.10", 3600, {}),
    ("api.example.com.", "CNAME", PROD_CNAME, 60, {"SetIdentifier": "blue", "Weight": 100}),
    ("api.example.com.", "CNAME", STAGING_CNAME, 60, {"SetIdentifier": "green", "Weight": 0}),
]

# The seeded secrets: tests grep every output and file standin writes for these.
PROD_SECRET = "prod-Sup3rSecret-7f3a9c"
STAGING_SECRET = "staging-Sup3rSecret-1b2d4e"

# key -> (type, prod value, staging value)
PARAMETERS = {
    "APP_URL": ("String", "https://app.example.com", "https://staging.example.com"),
    "DB_HOST": (
        "String",
        "prod-db.cluster-abc123.us-east-1.rds.amazonaws.com",
        "staging-db.cluster-def456.us-east-1.rds.amazonaws.com",
    ),
    "DB_PASSWORD": ("SecureString", PROD_SECRET, STAGING_SECRET),
    "QUEUE_URL": (
        "String",
        "https://sqs.us-east-1.amazonaws.com/123456789012/shop-prod-jobs",
        "https://sqs.us-east-1.amazonaws.com/123456789012/shop-staging-jobs",
    ),
    "RUN_MIGRATIONS": ("String", "false", "true"),
    "ALLOWED_ORIGINS": ("StringList", "https://app.example.com,https://admin.example.com", "https://staging.example.com"),
}
# Environment properties per environment (values from PARAMETERS where named).
ENVIRONMENT_PROPERTIES = {
    "shop-prod": {"APP_ENV": "production", "SOURCE": "prod"},
    "shop-staging": {"APP_ENV": "staging", "SOURCE": "staging"},
    "shop-worker": {"APP_ENV": "worker", "SOURCE": "staging"},
}
# Capacity option settings per environment, (namespace, option) -> value: staging runs a third
# of production's instances, on a burstable type. `eb.scale` changes them; the plan compares them.
CAPACITY = {
    "shop-prod": {
        ("aws:autoscaling:asg", "MinSize"): "6",
        ("aws:autoscaling:asg", "MaxSize"): "18",
        ("aws:ec2:instances", "InstanceTypes"): "m5.large",
    },
    "shop-staging": {
        ("aws:autoscaling:asg", "MinSize"): "2",
        ("aws:autoscaling:asg", "MaxSize"): "6",
        ("aws:ec2:instances", "InstanceTypes"): "t3.large",
    },
}

# The whole .env of staging in one SecureString, for accounts that keep it that way.
STAGING_ENV_FILE = "/shop/dotenv/staging"
STAGING_ENV_TEXT = (
    "# shop staging\n"
    "APP_ENV=staging\n"
    "APP_URL=https://staging.example.com\n"
    "QUEUE_URL=https://sqs.us-east-1.amazonaws.com/123456789012/shop-staging-jobs\n"
    "DEBUG=true\n"
)

# EC2 instances (name -> tags): the queue workers load their .env from /shop/staging/.
INSTANCES = {
    "shop-worker-1": {"Role": "queue-worker", "Environment": "staging", "emulator:env-path": "/shop/staging/"},
    "shop-worker-2": {"Role": "queue-worker", "Environment": "staging", "emulator:env-path": "/shop/staging/"},
    "shop-staging-web": {"Role": "web", "Environment": "staging"},
}

# Written first, so /shop/prod/DB_HOST has a history (version 2 is current).
OLD_PROD_DB_HOST = "old-prod-db.cluster-abc123.us-east-1.rds.amazonaws.com"


def client(service, endpoint_url):
    """A client of the world's own (the seed, control.py): its requests carry the header that
    moto_ssm.py lets through unthrottled and shows at once, as the world as it already is."""
    made = boto3.client(
        service, endpoint_url=endpoint_url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    made.meta.events.register("before-sign", _as_world)
    return made


def _as_world(request, **_):
    request.headers["x-emulator-world"] = "1"


def properties(env):
    """An environment's properties as CreateEnvironment OptionSettings."""
    source = ENVIRONMENT_PROPERTIES[env]["SOURCE"]
    values = {"APP_ENV": ENVIRONMENT_PROPERTIES[env]["APP_ENV"]}
    for key in ("DB_HOST", "QUEUE_URL"):
        values[key] = PARAMETERS[key][1 if source == "prod" else 2]
    return [{"Namespace": PROPERTIES_NAMESPACE, "OptionName": k, "Value": v} for k, v in values.items()]


def capacity(env):
    """An environment's capacity as CreateEnvironment OptionSettings."""
    return [{"Namespace": ns, "OptionName": name, "Value": v} for (ns, name), v in CAPACITY.get(env, {}).items()]


def seed_incident(endpoint_url):
    route53, ssm, eb = (client(s, endpoint_url) for s in ("route53", "ssm", "elasticbeanstalk"))

    eb.create_application(ApplicationName=APPLICATION)
    stack = eb.list_available_solution_stacks()["SolutionStacks"][0]
    for name, tier in ENVIRONMENTS.items():
        kw = {
            "Tier": {"Name": tier, "Type": "SQS/HTTP" if tier == "Worker" else "Standard"},
            "OptionSettings": properties(name) + capacity(name),
            "Tags": [{"Key": k, "Value": v} for k, v in ENVIRONMENT_TAGS.get(name, {}).items()],
        }
        if tier != "Worker":
            kw["CNAMEPrefix"] = name
        eb.create_environment(ApplicationName=APPLICATION, EnvironmentName=name, SolutionStackName=stack, **kw)

    zone_id = route53.create_hosted_zone(Name=ZONE, CallerReference="standin-incident-world")["HostedZone"]["Id"]
    changes = [
        {
            "Action": "CREATE",
            "ResourceRecordSet": {"Name": name, "Type": rtype, "TTL": ttl, "ResourceRecords": [{"Value": value}], **routing},
        }
        for name, rtype, value, ttl, routing in RECORDS
    ]
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})

    ssm.put_parameter(Name="/shop/prod/DB_HOST", Value=OLD_PROD_DB_HOST, Type="String")
    for key, (ptype, prod, staging) in PARAMETERS.items():
        for env, value in (("prod", prod), ("staging", staging)):
            ssm.put_parameter(Name=f"/shop/{env}/{key}", Value=value, Type=ptype, Overwrite=True)
    ssm.put_parameter(Name=STAGING_ENV_FILE, Value=STAGING_ENV_TEXT, Type="SecureString")

    seed_instances_and_alb(endpoint_url)


def seed_instances_and_alb(endpoint_url):
    ec2, elbv2 = client("ec2", endpoint_url), client("elbv2", endpoint_url)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ids = {}
    for name, tags in INSTANCES.items():
        tag_list = [{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in tags.items()]
        out = ec2.run_instances(
            ImageId=image,
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.small",
            TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list}],
        )
        ids[name] = out["Instances"][0]["InstanceId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    by_az = {}
    for subnet in subnets:
        by_az.setdefault(subnet["AvailabilityZone"], subnet)
    chosen = [s["SubnetId"] for s in list(by_az.values())[:2]]
    lb = elbv2.create_load_balancer(Name=STAGING_ALB, Subnets=chosen, Type="application", Scheme="internet-facing")
    lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elbv2.create_target_group(Name=STAGING_TARGET_GROUP, Protocol="HTTP", Port=80, VpcId=subnets[0]["VpcId"], TargetType="instance")
    tg_arn = tg["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": ids["shop-staging-web"], "Port": 80}])
    elbv2.create_listener(
        LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}]
    )
    # HTTPS:443 with an imported certificate for staging.example.com, to the same targets.
    cert_pem, key_pem = self_signed([STAGING_CERT_NAME])
    cert_arn = client("acm", endpoint_url).import_certificate(Certificate=cert_pem, PrivateKey=key_pem)["CertificateArn"]
    prod_pem, prod_key = self_signed(PROD_CERT_NAMES)
    client("acm", endpoint_url).import_certificate(Certificate=prod_pem, PrivateKey=prod_key, Tags=PROD_CERT_TAGS)
    elbv2.create_listener(
        LoadBalancerArn=lb_arn,
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": cert_arn}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
    )


# A second world, for `standin init`: two applications whose names use other words than the
# incident's (live/beta, prd/uat), in another zone, with workers tagged by application.
OTHER_ZONE = "example.org."
OTHER_APPS = {
    # app: (production word, staging word, production host, staging host)
    "books": ("live", "beta", "www.example.org", "beta.example.org"),
    "maps": ("prd", "uat", "maps.example.org", "uat.maps.example.org"),
}


def seed_other(endpoint_url):
    route53, ssm, eb, ec2 = (client(s, endpoint_url) for s in ("route53", "ssm", "elasticbeanstalk", "ec2"))
    stack = eb.list_available_solution_stacks()["SolutionStacks"][0]
    zone_id = route53.create_hosted_zone(Name=OTHER_ZONE, CallerReference="standin-other-world")["HostedZone"]["Id"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    changes = []
    for app, (prod, staging, prod_host, staging_host) in OTHER_APPS.items():
        eb.create_application(ApplicationName=app)
        for word, host in ((prod, prod_host), (staging, staging_host)):
            env = f"{app}-{word}"
            settings = [
                {"Namespace": PROPERTIES_NAMESPACE, "OptionName": "STAGE", "Value": "production" if word == prod else "staging"},
                {"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize", "Value": "4" if word == prod else "1"},
                {"Namespace": "aws:autoscaling:asg", "OptionName": "MaxSize", "Value": "8" if word == prod else "2"},
            ]
            eb.create_environment(ApplicationName=app, EnvironmentName=env, SolutionStackName=stack,
                                  CNAMEPrefix=env, OptionSettings=settings,
                                  Tier={"Name": "WebServer", "Type": "Standard"})
            cname = f"{env}.us-east-1.elasticbeanstalk.com"
            changes.append({"Action": "CREATE", "ResourceRecordSet": {
                "Name": host, "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": cname}]}})
            for key, value, ptype in (
                ("DB_HOST", f"{app}-{word}-db.internal", "String"),
                ("QUEUE_URL", f"https://sqs.us-east-1.amazonaws.com/123456789012/{app}-{word}", "String"),
                ("SITE_URL", f"https://{host}", "String"),
                ("API_KEY", f"{app}-{word}-secret-key", "SecureString"),
            ):
                ssm.put_parameter(Name=f"/{app}/{word}/{key}", Value=value, Type=ptype)
        for i in (1, 2):
            tags = {"Name": f"{app}-worker-{i}", "Role": "queue-worker", "Stage": staging, "App": app}
            ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.small",
                              TagSpecifications=[{"ResourceType": "instance",
                                                  "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}])
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})


# The incident world with the parts a playbook forgets (coverage's world, issue 28): a second
# name for production, production's own workers (tagged, and an Auto Scaling group), a nightly rule and an hourly schedule that
# send to production's queue, and a CDN in front of production.
PROD_QUEUE, STAGING_QUEUE = "shop-prod-jobs", "shop-staging-jobs"
PROD_TAGS = {"Environment": "production"}
FORGOTTEN_RULE, FORGOTTEN_SCHEDULE, CDN_ORIGIN = "nightly-report", "hourly-sync", "shop-prod-origin"
PROD_WORKER_GROUP = "shop-prod-workers"


def seed_forgotten(endpoint_url):
    seed_incident(endpoint_url)
    route53, sqs, ec2 = (client(s, endpoint_url) for s in ("route53", "sqs", "ec2"))
    zone = route53.list_hosted_zones_by_name(DNSName="example.com.")["HostedZones"][0]["Id"]
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {"Name": "shop.example.com.", "Type": "CNAME", "TTL": 300,
                                                  "ResourceRecords": [{"Value": PROD_CNAME}]}}]})
    tags = [{"Key": k, "Value": v} for k, v in PROD_TAGS.items()]
    arns = {}
    for name in (PROD_QUEUE, STAGING_QUEUE):
        url = sqs.create_queue(QueueName=name, tags={} if name == STAGING_QUEUE else PROD_TAGS)["QueueUrl"]
        arns[name] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="t3.small", TagSpecifications=[
        {"ResourceType": "instance", "Tags": tags + [{"Key": "Role", "Value": "queue-worker"}]}])
    # A worker group whose tags do not reach its instances (PropagateAtLaunch false).
    autoscaling = client("autoscaling", endpoint_url)
    autoscaling.create_launch_configuration(LaunchConfigurationName="shop-prod-workers", ImageId=image,
                                            InstanceType="t3.small")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=PROD_WORKER_GROUP, LaunchConfigurationName="shop-prod-workers", MinSize=1, MaxSize=1,
        AvailabilityZones=[f"{REGION}a"],
        Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": False} for k, v in PROD_TAGS.items()])
    events = client("events", endpoint_url)
    events.put_rule(Name=FORGOTTEN_RULE, ScheduleExpression="cron(0 2 * * ? *)", State="ENABLED")
    events.put_targets(Rule=FORGOTTEN_RULE, Targets=[{"Id": "jobs", "Arn": arns[PROD_QUEUE]}])
    client("scheduler", endpoint_url).create_schedule(
        Name=FORGOTTEN_SCHEDULE, ScheduleExpression="rate(1 hour)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arns[PROD_QUEUE], "RoleArn": "arn:aws:iam::123456789012:role/scheduler-sends-jobs"})
    client("cloudfront", endpoint_url).create_distribution(DistributionConfig={
        "CallerReference": "shop-cdn", "Comment": "shop's static files", "Enabled": True,
        "Aliases": {"Quantity": 1, "Items": ["static.example.com"]},
        "Origins": {"Quantity": 1, "Items": [{"Id": CDN_ORIGIN, "DomainName": PROD_CNAME, "CustomOriginConfig": {
            "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": CDN_ORIGIN, "ViewerProtocolPolicy": "redirect-to-https"}})
