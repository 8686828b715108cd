"""Self-test of Run Command as the emulator runs it (moto_run_command.py): invocations that
appear as Run Command reaches the targets, paging, and SendCommand's limits. boto3 against a
freshly started, seeded emulator with instant delays.

    harness/.venv/bin/python harness/test_run_command.py
"""

import os
import sys
import time
import unittest

import boto3
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from selftest import start_emulator  # noqa: E402

class RunCommand(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emulator, ready = start_emulator()
        cls.endpoint = ready[1]
        cls.ssm, cls.ec2 = (boto3.client(s, endpoint_url=cls.endpoint, region_name="us-east-1", aws_access_key_id="testing",
                                         aws_secret_access_key="testing") for s in ("ssm", "ec2"))
        cls.ids = {tag["Value"]: i["InstanceId"] for r in cls.ec2.describe_instances()["Reservations"] for i in r["Instances"]
                   for tag in i.get("Tags", []) if tag["Key"] == "Name"}

    @classmethod
    def tearDownClass(cls):
        cls.emulator.terminate()
        cls.emulator.wait()
        cls.emulator.stdout.close()

    def tag(self, name, **tags):
        self.ec2.create_tags(Resources=[self.ids[name]], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        self.addCleanup(self.ec2.delete_tags, Resources=[self.ids[name]], Tags=[{"Key": k} for k in tags])

    def command(self, command_id):
        return self.ssm.list_commands(CommandId=command_id)["Commands"][0]

    def done(self, command_id, limit=10):
        start = time.monotonic()
        while (command := self.command(command_id))["Status"] in ("Pending", "InProgress"):
            self.assertLess(time.monotonic() - start, limit, "command did not finish")
            time.sleep(0.02)
        return command

    def listed(self, command_id):
        out = self.ssm.list_command_invocations(CommandId=command_id)["CommandInvocations"]
        names = {v: k for k, v in self.ids.items()}
        return [(names[i["InstanceId"]], i["Status"]) for i in out]

    def test_invocations_appear_as_run_command_reaches_the_targets(self):
        self.tag("shop-worker-2", **{"emulator:resolve-seconds": "1.0"})
        sent = self.ssm.send_command(Targets=[{"Key": "tag:Role", "Values": ["queue-worker"]}],
                                     DocumentName="AWS-RunShellScript", Parameters={"commands": ["true"]})["Command"]
        command_id = sent["CommandId"]
        self.assertEqual((sent["Status"], sent["TargetCount"], sent["CompletedCount"]), ("Pending", 0, 0))
        self.assertEqual(self.listed(command_id), [])
        with self.assertRaises(ClientError) as caught:
            self.ssm.get_command_invocation(CommandId=command_id, InstanceId=self.ids["shop-worker-1"])
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvocationDoesNotExist")
        # The first target reached and done, the second not yet: the command is still running.
        start = time.monotonic()
        while self.listed(command_id) != [("shop-worker-1", "Success")]:
            self.assertLess(time.monotonic() - start, 0.9, self.listed(command_id))
            time.sleep(0.02)
        command = self.command(command_id)
        self.assertEqual((command["Status"], command["TargetCount"], command["CompletedCount"]), ("InProgress", 1, 1))
        command = self.done(command_id)
        self.assertEqual((command["Status"], command["TargetCount"], command["CompletedCount"]), ("Success", 2, 2))
        self.assertEqual(self.listed(command_id), [("shop-worker-1", "Success"), ("shop-worker-2", "Success")])

    def test_no_instance_matched(self):
        sent = self.ssm.send_command(Targets=[{"Key": "tag:Role", "Values": ["nobody"]}], DocumentName="AWS-RunShellScript",
                                     Parameters={"commands": ["true"]})["Command"]
        command = self.done(sent["CommandId"])
        self.assertEqual((command["Status"], command["TargetCount"]), ("Success", 0))

    def test_invocations_come_in_pages(self):
        command_id = self.ssm.send_command(Targets=[{"Key": "tag:Environment", "Values": ["staging"]}],
                                           DocumentName="AWS-RunShellScript", Parameters={"commands": ["true"]})["Command"]["CommandId"]
        self.done(command_id)
        first = self.ssm.list_command_invocations(CommandId=command_id, MaxResults=2)
        self.assertEqual(len(first["CommandInvocations"]), 2)
        rest = self.ssm.list_command_invocations(CommandId=command_id, MaxResults=2, NextToken=first["NextToken"])
        self.assertEqual(len(rest["CommandInvocations"]), 1)
        self.assertNotIn("NextToken", rest)

    def test_more_targets_or_ids_than_send_command_takes_are_refused(self):
        for extra in ({"Targets": [{"Key": f"tag:K{i}", "Values": ["v"]} for i in range(6)]},
                      {"InstanceIds": [f"i-{i:017x}" for i in range(51)]}):
            with self.subTest(extra=list(extra)), self.assertRaises(ClientError) as caught:
                self.ssm.send_command(DocumentName="AWS-RunShellScript", Parameters={"commands": ["true"]}, **extra)
            self.assertEqual(caught.exception.response["Error"]["Code"], "ValidationException")
            self.assertIn("Member must have length less than or equal to", caught.exception.response["Error"]["Message"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
