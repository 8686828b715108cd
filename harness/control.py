"""Changes the emulated world the way a test scenario needs, through the real APIs, or, for
state AWS offers no API for, the emulator's own `/moto-api/standin/` endpoints (standin_api.py).
Everything acts in the default account, 123456789012.

    python harness/control.py ENDPOINT instance-id NAME
    python harness/control.py ENDPOINT tag-instance NAME KEY=VALUE...
    python harness/control.py ENDPOINT tag-env ENV KEY=VALUE...
    python harness/control.py ENDPOINT untag-env ENV KEY...
    python harness/control.py ENDPOINT iam-user NAME POLICY.json   # prints `ACCESS_KEY_ID SECRET`
    python harness/control.py ENDPOINT rule NAME STATE TARGET_ARN   # an EventBridge rule on the default bus
    python harness/control.py ENDPOINT api-destination NAME URL     # prints its ARN

The account's health (`standin doctor`'s reads):

    python harness/control.py ENDPOINT root-key                  # prints `ACCESS_KEY_ID SECRET` of a new root access key
    python harness/control.py ENDPOINT root-signin DAYS_AGO      # root's last sign-in (the report's password_last_used)
    python harness/control.py ENDPOINT key-age USER DAYS         # every access key of USER is DAYS old (CreateDate)
    python harness/control.py ENDPOINT quarantine USER           # AttachUserPolicy AWSCompromisedKeyQuarantineV3
    python harness/control.py ENDPOINT support-plan PLAN         # basic (AWS's default) | developer | business |
                                                                 # enterprise-on-ramp | enterprise | business-plus |
                                                                 # unified-operations: the Health API answers from business on
    python harness/control.py ENDPOINT health-event TYPE_CODE CATEGORY STATUS [SERVICE] [ENTITY...]
                                                                 # an account-specific Health event; prints its ARN
    python harness/control.py ENDPOINT contact TYPE EMAIL        # PutAlternateContact: SECURITY | OPERATIONS | BILLING

`health-event`: CATEGORY issue | accountNotification | scheduledChange | investigation, STATUS
open | upcoming | closed, SERVICE (default: the code's, AWS_SERVICE_...; `-` for the default
before entities) and the affected entities' values (none: one `UNKNOWN` entity); details in
moto_health.py. A refused request exits 1 with the emulator's reason.
"""

import json
import sys
import urllib.error
import urllib.request

from seed import client

QUARANTINE = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"


def instance_id(ec2, name):
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])
    return found["Reservations"][0]["Instances"][0]["InstanceId"]


def env_arn(eb, name):
    # moto answers DescribeEnvironments with every environment, whatever the names asked for.
    envs = eb.describe_environments(EnvironmentNames=[name])["Environments"]
    return next(e["EnvironmentArn"] for e in envs if e["EnvironmentName"] == name)


def standin(endpoint, name, body):
    """POSTs `body` to the emulator's /moto-api/standin/NAME; its JSON answer."""
    request = urllib.request.Request(f"{endpoint}/moto-api/standin/{name}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as e:
        sys.exit(f"control.py: {name}: {json.load(e).get('error')}")


def account_health(endpoint, action, args):
    """The account-health actions (`standin doctor`'s reads)."""
    if action == "root-key":
        key = standin(endpoint, "root-access-key", {})
        print(key["AccessKeyId"], key["SecretAccessKey"])
    elif action == "root-signin":
        standin(endpoint, "root-sign-in", {"days_ago": float(args[0])})
    elif action == "key-age":
        standin(endpoint, "access-key-age", {"user": args[0], "days": float(args[1])})
    elif action == "quarantine":
        client("iam", endpoint).attach_user_policy(UserName=args[0], PolicyArn=QUARANTINE)
    elif action == "support-plan":
        standin(endpoint, "support-plan", {"plan": args[0]})
    elif action == "health-event":
        code, category, status, *rest = args
        service = rest[0] if rest and rest[0] != "-" else None
        print(standin(endpoint, "health-events", {"eventTypeCode": code, "eventTypeCategory": category,
                                                  "statusCode": status, "service": service,
                                                  "entities": rest[1:]})["arn"])
    elif action == "contact":
        kind, email = args
        client("account", endpoint).put_alternate_contact(
            AlternateContactType=kind, EmailAddress=email, Name=f"{kind.title()} contact",
            Title=f"{kind.title()} contact", PhoneNumber="+1 555 0100")
    else:
        return False
    return True


def main(endpoint, action, *args):
    if account_health(endpoint, action, args):
        return
    target, args = args[0], args[1:]
    pairs = [a.split("=", 1) for a in args]
    if action == "instance-id":
        print(instance_id(client("ec2", endpoint), target))
    elif action == "tag-instance":
        ec2 = client("ec2", endpoint)
        ec2.create_tags(Resources=[instance_id(ec2, target)], Tags=[{"Key": k, "Value": v} for k, v in pairs])
    elif action == "tag-env":
        eb = client("elasticbeanstalk", endpoint)
        eb.update_tags_for_resource(ResourceArn=env_arn(eb, target), TagsToAdd=[{"Key": k, "Value": v} for k, v in pairs])
    elif action == "iam-user":
        # A user with exactly this inline policy, as a break-glass identity would have.
        iam = client("iam", endpoint)
        iam.create_user(UserName=target)
        with open(args[0]) as f:
            iam.put_user_policy(UserName=target, PolicyName="standin", PolicyDocument=f.read())
        key = iam.create_access_key(UserName=target)["AccessKey"]
        print(key["AccessKeyId"], key["SecretAccessKey"])
    elif action == "rule":
        state, arn = args
        events = client("events", endpoint)
        events.put_rule(Name=target, EventPattern='{"source": ["shop.orders"]}', State=state)
        events.put_targets(Rule=target, Targets=[{"Id": "1", "Arn": arn}])
    elif action == "api-destination":
        events = client("events", endpoint)
        connection = events.create_connection(Name=f"{target}-auth", AuthorizationType="API_KEY", AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "not-a-real-key"}})
        print(events.create_api_destination(Name=target, ConnectionArn=connection["ConnectionArn"],
                                            InvocationEndpoint=args[0], HttpMethod="POST")["ApiDestinationArn"])
    elif action == "untag-env":
        eb = client("elasticbeanstalk", endpoint)
        eb.update_tags_for_resource(ResourceArn=env_arn(eb, target), TagsToRemove=list(args))
    else:
        sys.exit(f"unknown action {action}")


if __name__ == "__main__":
    main(*sys.argv[1:])
