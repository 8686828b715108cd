"""Changes the emulated world the way a test scenario needs, through the real APIs.

    python harness/control.py ENDPOINT instance-id NAME
    python harness/control.py ENDPOINT tag-instance NAME KEY=VALUE...
    python harness/control.py ENDPOINT tag-env ENV KEY=VALUE...
    python harness/control.py ENDPOINT untag-env ENV KEY...
    python harness/control.py ENDPOINT iam-user NAME POLICY.json   # prints `ACCESS_KEY_ID SECRET`
    python harness/control.py ENDPOINT rule NAME STATE TARGET_ARN   # an EventBridge rule on the default bus
    python harness/control.py ENDPOINT api-destination NAME URL     # prints its ARN
"""

import sys

from seed import client


def instance_id(ec2, name):
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])
    return found["Reservations"][0]["Instances"][0]["InstanceId"]


def env_arn(eb, name):
    # moto answers DescribeEnvironments with every environment, whatever the names asked for.
    envs = eb.describe_environments(EnvironmentNames=[name])["Environments"]
    return next(e["EnvironmentArn"] for e in envs if e["EnvironmentName"] == name)


def main(endpoint, action, target, *args):
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
