"""The incident world: production on Elastic Beanstalk behind app.example.com, staging beside
it, and each environment's `.env` in Parameter Store. Tests rely on these exact names."""

import boto3

REGION = "us-east-1"
ZONE = "example.com."
APPLICATION = "shop"
ENVIRONMENTS = {"shop-prod": "WebServer", "shop-staging": "WebServer", "shop-worker": "Worker"}
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
# Written first, so /shop/prod/DB_HOST has a history (version 2 is current).
OLD_PROD_DB_HOST = "old-prod-db.cluster-abc123.us-east-1.rds.amazonaws.com"


def clients(endpoint_url):
    kw = dict(endpoint_url=endpoint_url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    return boto3.client("route53", **kw), boto3.client("ssm", **kw), boto3.client("elasticbeanstalk", **kw)


def seed_incident(endpoint_url):
    route53, ssm, eb = clients(endpoint_url)

    eb.create_application(ApplicationName=APPLICATION)
    stack = eb.list_available_solution_stacks()["SolutionStacks"][0]
    for name, tier in ENVIRONMENTS.items():
        kw = {"Tier": {"Name": tier, "Type": "SQS/HTTP" if tier == "Worker" else "Standard"}}
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
