"""Self-test of the limits the emulator holds requests to as AWS does, where moto did not:
Parameter Store values by tier (moto_ssm.py), an Elastic Beanstalk environment's properties in
all (moto_eb_properties.py), CreateRule's priority and fixed-response body
(moto_elbv2_rules.py), an alias record's type (moto_route53.py). Each refusal leaves the world
as it was. boto3 against a freshly started, seeded emulator:

    harness/.venv/bin/python harness/test_limits.py
"""

import os
import sys
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from selftest import start_emulator, stop_emulator  # noqa: E402

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
ALB_ZONE = "Z35SXDOTRQ7X7K"
STANDARD_TOO_LONG = (
    "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger "
    "parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see "
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"
)


class Limits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emulator, ready = start_emulator("incident")
        client = lambda service: boto3.client(  # noqa: E731
            service, endpoint_url=ready[1], region_name="us-east-1", config=NO_RETRY,
            aws_access_key_id="testing", aws_secret_access_key="testing")
        cls.ssm, cls.eb, cls.elbv2, cls.route53 = (client(s) for s in ("ssm", "elasticbeanstalk", "elbv2", "route53"))
        cls.zone = cls.route53.list_hosted_zones()["HostedZones"][0]["Id"].rsplit("/", 1)[-1]
        cls.alb = cls.elbv2.describe_load_balancers(Names=["shop-staging-alb"])["LoadBalancers"][0]
        cls.listener = cls.elbv2.describe_listeners(LoadBalancerArn=cls.alb["LoadBalancerArn"])["Listeners"][0]

    @classmethod
    def tearDownClass(cls):
        stop_emulator(cls.emulator)

    def refused(self, call, code, *args, **kwargs):
        """The message `call(*args, **kwargs)` is refused with, checking its code."""
        with self.assertRaises(ClientError) as caught:
            call(*args, **kwargs)
        self.assertEqual(caught.exception.response["Error"]["Code"], code)
        return caught.exception.response["Error"]["Message"]

    # --- Parameter Store ----------------------------------------------------------------------

    def version(self, name):
        try:
            return self.ssm.get_parameter(Name=name)["Parameter"]["Version"]
        except ClientError:
            return None

    def test_a_value_longer_than_its_tier_holds_is_refused(self):
        put = lambda **kw: self.ssm.put_parameter(Type="String", Overwrite=True, **kw)  # noqa: E731
        message = self.refused(put, "ValidationException", Name="/limits/new", Value="x" * 4097)
        self.assertEqual(message, STANDARD_TOO_LONG)
        self.assertIsNone(self.version("/limits/new"))
        # Characters, not bytes: 4096 two-byte characters fit.
        put(Name="/limits/new", Value="é" * 4096)
        self.refused(put, "ValidationException", Name="/limits/new", Value="x" * 4097, Tier="Standard")
        self.assertEqual(self.version("/limits/new"), 1)
        # Advanced holds 8192; a parameter that is Advanced stays so when a write gives no tier.
        put(Name="/limits/big", Value="x" * 4097, Tier="Advanced")
        put(Name="/limits/big", Value="x" * 8192)
        self.refused(put, "ValidationException", Name="/limits/big", Value="x" * 8193)
        self.assertEqual(self.version("/limits/big"), 2)

    # --- Elastic Beanstalk --------------------------------------------------------------------

    def properties(self):
        settings = self.eb.describe_configuration_settings(
            ApplicationName="shop", EnvironmentName="shop-staging")["ConfigurationSettings"][0]["OptionSettings"]
        return {o["OptionName"]: o["Value"] for o in settings
                if o["Namespace"] == "aws:elasticbeanstalk:application:environment"}

    def wait_ready(self):
        self.eb.get_waiter("environment_updated").wait(
            EnvironmentNames=["shop-staging"], WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    def test_properties_over_4096_bytes_in_all_are_refused(self):
        self.wait_ready()
        before = self.properties()
        used = sum(len(f"{k}={v}".encode()) for k, v in before.items())
        prop = lambda name, value: {  # noqa: E731
            "Namespace": "aws:elasticbeanstalk:application:environment", "OptionName": name, "Value": value}
        # `BIG=` plus a value that brings the whole to 4097 bytes, counting the ones kept.
        too_big = "x" * (4096 - used - len("BIG=") + 1)
        message = self.refused(self.eb.update_environment, "InvalidParameterValue",
                               EnvironmentName="shop-staging", OptionSettings=[prop("BIG", too_big)])
        self.assertIn("length is greater than 4096", message)
        self.assertEqual(self.properties(), before)
        self.assertEqual(self.eb.describe_environments(EnvironmentNames=["shop-staging"])["Environments"][0]["Status"],
                         "Ready")
        # Removing one in the same update makes room: the bytes counted are those after it.
        [kept] = [k for k in before if k != "APP_ENV"][:1]
        room = "x" * (4096 - used - len("BIG=") + len(f"{kept}={before[kept]}".encode()))
        self.eb.update_environment(
            EnvironmentName="shop-staging", OptionSettings=[prop("BIG", room)],
            OptionsToRemove=[{"Namespace": "aws:elasticbeanstalk:application:environment", "OptionName": kept}])
        self.wait_ready()
        self.assertEqual(self.properties()["BIG"], room)

    # --- Elastic Load Balancing ---------------------------------------------------------------

    def rule(self, priority, body):
        return dict(
            ListenerArn=self.listener["ListenerArn"], Priority=priority,
            Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["limits.example.com"]}}],
            Actions=[{"Type": "fixed-response", "FixedResponseConfig": {
                "StatusCode": "403", "ContentType": "text/plain", "MessageBody": body}}])

    def rules(self):
        return len(self.elbv2.describe_rules(ListenerArn=self.listener["ListenerArn"])["Rules"])

    def test_create_rule_is_held_to_the_model(self):
        before = self.rules()
        message = self.refused(self.elbv2.create_rule, "ValidationError", **self.rule(7, "x" * 1025))
        self.assertIn("at 'actions.1.member.fixedResponseConfig.messageBody' failed to satisfy constraint: "
                      "Member must have length less than or equal to 1024", message)
        message = self.refused(self.elbv2.create_rule, "ValidationError", **self.rule(50001, "no"))
        self.assertIn("Value '50001' at 'priority' failed to satisfy constraint: "
                      "Member must have value less than or equal to 50000", message)
        self.assertEqual(self.rules(), before)
        created = self.elbv2.create_rule(**self.rule(50000, "x" * 1024))["Rules"][0]["RuleArn"]
        self.elbv2.delete_rule(RuleArn=created)

    # --- Route 53 -----------------------------------------------------------------------------

    def alias(self, name, rtype, target, zone=ALB_ZONE, action="CREATE"):
        return {"Action": action, "ResourceRecordSet": {
            "Name": name, "Type": rtype,
            "AliasTarget": {"HostedZoneId": zone, "DNSName": target, "EvaluateTargetHealth": False}}}

    def change(self, *changes):
        return self.route53.change_resource_record_sets(HostedZoneId=self.zone, ChangeBatch={"Changes": list(changes)})

    def names(self):
        return sorted(rs["Name"] + rs["Type"]
                      for rs in self.route53.list_resource_record_sets(HostedZoneId=self.zone)["ResourceRecordSets"])

    def test_an_alias_has_a_type_its_target_can_have(self):
        before = self.names()
        lb = self.alb["DNSName"]
        message = self.refused(self.change, "InvalidChangeBatch", self.alias("lb.example.com", "CNAME", lb))
        self.assertEqual(
            message, f"[Tried to create an alias that targets {lb.lower()}., type CNAME in zone {ALB_ZONE}, "
            "but that target was not found]")
        env = "shop-staging.us-east-1.elasticbeanstalk.com"
        self.refused(self.change, "InvalidChangeBatch", self.alias("eb.example.com", "AAAA", env, "Z117KPS5GTRQ2G"))
        # Another record of the zone: its own type (staging is a CNAME).
        message = self.refused(self.change, "InvalidChangeBatch",
                               self.alias("to-staging.example.com", "A", "staging.example.com", self.zone))
        self.assertIn(f"targets staging.example.com., type A in zone {self.zone}, but that target was not found",
                      message)
        self.assertEqual(self.names(), before)
        valid = [self.alias("lb.example.com", "A", lb), self.alias("lb.example.com", "AAAA", "dualstack." + lb),
                 self.alias("eb.example.com", "A", env, "Z117KPS5GTRQ2G"),
                 self.alias("to-staging.example.com", "CNAME", "staging.example.com", self.zone)]
        self.change(*valid)
        self.change(*[dict(c, Action="DELETE") for c in valid])
        self.assertEqual(self.names(), before)


if __name__ == "__main__":
    unittest.main()
