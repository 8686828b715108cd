"""Self-test of moto_eb_iam.py: Elastic Beanstalk writes checked against the caller's policies.

    harness/.venv/bin/python harness/test_eb_iam.py

Starts the seeded emulator, creates IAM users through its IAM API (with the default `testing`
key, which is no IAM user and so is never checked), and calls Elastic Beanstalk as each user.
"""

import json
import os
import subprocess
import sys
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from moto_eb_iam import example_policy  # noqa: E402

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=20)
ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
ENV_VARS = [{"Namespace": "aws:elasticbeanstalk:application:environment", "OptionName": "FEATURE", "Value": "on"}]


def allow(actions, resources="*"):
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]}


class EbIam(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emulator = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "emulator.py"), "serve", "--port", "0", "--seed", "incident"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = cls.emulator.stdout.readline().split()
        assert line and line[0] == "READY", f"emulator did not start: {line}"
        cls.endpoint = line[1]
        cls.iam = cls.client("iam")
        # Own environments that settle at once (a restart or swap turns Updating and ends at the
        # call: start-seconds=0, update-seconds=0), so tests need not wait.
        eb = cls.client("elasticbeanstalk")
        eb.create_application(ApplicationName="iamtest")
        for name in ("iam-blue", "iam-green", "iam-worker"):
            eb.create_environment(
                ApplicationName="iamtest", EnvironmentName=name,
                SolutionStackName="64bit Amazon Linux 2023 v4.3.0 running Python 3.11",
                Tier={"Name": "Worker", "Type": "SQS/HTTP"} if name == "iam-worker" else {"Name": "WebServer", "Type": "Standard"},
                Tags=[{"Key": "emulator:update-seconds", "Value": "0"}, {"Key": "emulator:start-seconds", "Value": "0"}])
        cls.users = 0

    @classmethod
    def tearDownClass(cls):
        cls.emulator.terminate()
        cls.emulator.wait()
        cls.emulator.stdout.close()

    @classmethod
    def client(cls, service, key=("testing", "testing")):
        return boto3.client(service, endpoint_url=cls.endpoint, region_name="us-east-1", config=NO_RETRY,
                            aws_access_key_id=key[0], aws_secret_access_key=key[1])

    def user(self, *inline, group=None, managed=None):
        """A fresh IAM user with these inline policies (and optionally a group policy or an
        attached customer-managed policy); its Elastic Beanstalk client."""
        type(self).users += 1
        name = f"user{self.users}"
        self.iam.create_user(UserName=name)
        for i, doc in enumerate(inline):
            self.iam.put_user_policy(UserName=name, PolicyName=f"p{i}", PolicyDocument=json.dumps(doc))
        if group:
            self.iam.create_group(GroupName=f"{name}-group")
            self.iam.put_group_policy(GroupName=f"{name}-group", PolicyName="g", PolicyDocument=json.dumps(group))
            self.iam.add_user_to_group(GroupName=f"{name}-group", UserName=name)
        if managed:
            arn = self.iam.create_policy(PolicyName=f"{name}-managed", PolicyDocument=json.dumps(managed))["Policy"]["Arn"]
            self.iam.attach_user_policy(UserName=name, PolicyArn=arn)
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return self.client("elasticbeanstalk", (key["AccessKeyId"], key["SecretAccessKey"]))

    def update(self, eb, env="iam-blue", settings=ENV_VARS):
        return eb.update_environment(EnvironmentName=env, OptionSettings=settings)

    def refused(self, call, code, *words):
        with self.assertRaises(ClientError) as caught:
            call()
        error = caught.exception.response["Error"]
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertEqual(error["Code"], code)
        for word in words:
            self.assertIn(word, error["Message"])
        return error["Message"]

    def status(self, env):
        return self.client("elasticbeanstalk").describe_environments(EnvironmentNames=[env])["Environments"][0]["Status"]

    def test_only_the_eb_action_is_refused_naming_an_underlying_action(self):
        eb = self.user(allow("elasticbeanstalk:UpdateEnvironment"))
        message = self.refused(lambda: self.update(eb), "InsufficientPrivilegesException",
                               "is not authorized to perform: cloudformation:",
                               "on resource: arn:aws:cloudformation:us-east-1:123456789012:stack/awseb-e-",
                               "because no identity-based policy allows")
        print("\n  refused:", message)
        self.assertEqual(self.status("iam-blue"), "Ready")  # nothing happened

    def test_without_the_eb_action_access_is_denied(self):
        eb = self.user(allow("cloudformation:*"))
        self.refused(lambda: self.update(eb), "AccessDenied",
                     "not authorized to perform: elasticbeanstalk:UpdateEnvironment on resource: "
                     "arn:aws:elasticbeanstalk:us-east-1:123456789012:environment/iamtest/iam-blue")

    def test_the_full_table_scoped_to_awseb_resources_succeeds(self):
        eb = self.user(example_policy())
        self.update(eb)
        self.update(eb, settings=[{"Namespace": "aws:autoscaling:asg", "OptionName": "MaxSize", "Value": "4"},
                                  {"Namespace": "aws:autoscaling:launchconfiguration", "OptionName": "InstanceType",
                                   "Value": "t3.small"}])
        eb.restart_app_server(EnvironmentName="iam-blue")
        eb.swap_environment_cnames(SourceEnvironmentName="iam-blue", DestinationEnvironmentName="iam-green")
        eb.swap_environment_cnames(SourceEnvironmentName="iam-green", DestinationEnvironmentName="iam-blue")

    def test_resource_scoping_is_checked(self):
        policy = example_policy()
        for statement in policy["Statement"]:
            statement["Resource"] = [r.replace("stack/awseb-*", "stack/other-*") for r in statement["Resource"]]
        eb = self.user(policy)
        self.refused(lambda: self.update(eb), "InsufficientPrivilegesException", "cloudformation:")
        self.refused(lambda: eb.restart_app_server(EnvironmentName="iam-blue"), "InsufficientPrivilegesException",
                     "cloudformation:DescribeStacks")

    def test_changing_capacity_needs_update_auto_scaling_group(self):
        policy = example_policy()
        for statement in policy["Statement"]:
            statement["Action"] = [a for a in statement["Action"] if a != "autoscaling:UpdateAutoScalingGroup"]
        eb = self.user(policy)
        self.update(eb)  # environment properties alone do not need it
        self.refused(lambda: self.update(eb, settings=[{"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize",
                                                        "Value": "2"}]),
                     "InsufficientPrivilegesException", "autoscaling:UpdateAutoScalingGroup",
                     "autoScalingGroupName/awseb-e-")

    def test_removing_an_instance_type_replaces_instances_too(self):
        policy = example_policy()
        for statement in policy["Statement"]:
            statement["Action"] = [a for a in statement["Action"] if a != "ec2:RunInstances"]
        eb = self.user(policy)
        instance_types = {"Namespace": "aws:ec2:instances", "OptionName": "InstanceTypes"}
        self.refused(lambda: eb.update_environment(EnvironmentName="iam-blue", OptionsToRemove=[instance_types]),
                     "InsufficientPrivilegesException", "ec2:RunInstances")
        self.user(example_policy()).update_environment(EnvironmentName="iam-blue", OptionsToRemove=[instance_types])

    def test_star_on_star_succeeds(self):
        eb = self.user(ALL)
        self.update(eb)
        eb.restart_app_server(EnvironmentName="iam-blue")
        eb.swap_environment_cnames(SourceEnvironmentName="iam-blue", DestinationEnvironmentName="iam-green")

    def test_explicit_deny_on_update_stack_wins(self):
        deny = {"Version": "2012-10-17",
                "Statement": [{"Effect": "Deny", "Action": "cloudformation:UpdateStack", "Resource": "*"}]}
        eb = self.user(ALL, deny)
        self.refused(lambda: self.update(eb), "InsufficientPrivilegesException",
                     "not authorized to perform: cloudformation:UpdateStack", "with an explicit deny")
        eb.restart_app_server(EnvironmentName="iam-blue")  # needs no UpdateStack

    def test_swap_needs_the_action_on_both_environments(self):
        policy = example_policy()
        policy["Statement"][-1]["Resource"] = ["arn:aws:elasticbeanstalk:*:*:environment/iamtest/iam-blue"]
        eb = self.user(policy)
        self.refused(lambda: eb.swap_environment_cnames(SourceEnvironmentName="iam-blue",
                                                        DestinationEnvironmentName="iam-green"),
                     "AccessDenied", "environment/iamtest/iam-green")

    def test_group_and_managed_policies_count_and_not_action_works(self):
        not_iam = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
        self.update(self.user(group=not_iam))
        self.update(self.user(managed=example_policy()))

    def test_worker_environments_need_no_load_balancer_permissions(self):
        policy = example_policy()
        policy["Statement"] = [s for s in policy["Statement"] if not any("elasticloadbalancing:" in r
                                                                          for r in s["Resource"])]
        eb = self.user(policy)
        self.update(eb, env="iam-worker", settings=[{"Namespace": "aws:autoscaling:launchconfiguration",
                                                     "OptionName": "InstanceType", "Value": "t3.small"}])
        self.refused(lambda: self.update(eb, settings=[{"Namespace": "aws:autoscaling:launchconfiguration",
                                                        "OptionName": "InstanceType", "Value": "t3.small"}]),
                     "InsufficientPrivilegesException", "elasticloadbalancing:")

    def test_an_assumed_role_is_checked_too(self):
        trust = {"Version": "2012-10-17",
                 "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
        self.iam.create_role(RoleName="breakglass", AssumeRolePolicyDocument=json.dumps(trust))

        def session(policy):
            self.iam.put_role_policy(RoleName="breakglass", PolicyName="p", PolicyDocument=json.dumps(policy))
            creds = self.client("sts").assume_role(RoleArn="arn:aws:iam::123456789012:role/breakglass",
                                                   RoleSessionName="oncall")["Credentials"]
            return boto3.client("elasticbeanstalk", endpoint_url=self.endpoint, region_name="us-east-1",
                                config=NO_RETRY, aws_access_key_id=creds["AccessKeyId"],
                                aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])

        eb = session(allow("elasticbeanstalk:RestartAppServer"))
        self.refused(lambda: eb.restart_app_server(EnvironmentName="iam-blue"), "InsufficientPrivilegesException",
                     "User: arn:aws:sts::123456789012:assumed-role/breakglass/oncall is not authorized")
        session(example_policy()).restart_app_server(EnvironmentName="iam-blue")

    def test_the_testing_key_is_unaffected(self):
        eb = self.client("elasticbeanstalk")
        self.update(eb, env="shop-staging")
        with self.assertRaises(ClientError) as caught:  # the incident, as before
            self.update(eb, env="shop-prod")
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidParameterValue")
        eb.restart_app_server(EnvironmentName="iam-green")


if __name__ == "__main__":
    unittest.main(verbosity=2)
