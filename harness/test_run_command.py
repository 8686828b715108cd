"""Self-test of Run Command as the emulator runs it (moto_run_command.py, instances.py,
systemctl, leaks.py): invocations that appear as Run Command reaches the targets, the worker
service that keeps what it loaded until restarted, scripts' exit codes and output, paging, and
the endpoints the tests' leak scan reads. boto3 against a freshly started, seeded emulator with
instant delays.

    harness/.venv/bin/python harness/test_run_command.py
"""

import json
import os
import sys
import time
import unittest
import urllib.request

import boto3
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import instances  # noqa: E402
from selftest import start_emulator  # noqa: E402

# Prints the worker service's environment as its process holds it, then the root shell's own.
READ = ("pid=$(systemctl show -p MainPID queue-worker); pid=${pid#MainPID=}; "
        "tr '\\0' '\\n' < /proc/$pid/environ | sort; echo ---; printenv | sort")


class RunCommand(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # This test's own scripts (echo, exit 3) run here: only its own, so any may.
        env = {k: v for k, v in os.environ.items() if not k.startswith("STANDIN_EMULATOR_")}
        cls.emulator, ready = start_emulator(env=dict(env, STANDIN_EMULATOR_SCRIPTS="any"))
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

    def put(self, name, value):
        before = self.ssm.get_parameter(Name=name)["Parameter"]["Value"]
        self.ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
        self.addCleanup(self.ssm.put_parameter, Name=name, Value=before, Type="String", Overwrite=True)

    def run_on(self, name, *commands):
        """(status, exit code, stdout, stderr) of the commands on one instance, once done."""
        command_id = self.ssm.send_command(InstanceIds=[self.ids[name]], DocumentName="AWS-RunShellScript",
                                           Parameters={"commands": list(commands)})["Command"]["CommandId"]
        self.done(command_id)
        out = self.ssm.get_command_invocation(CommandId=command_id, InstanceId=self.ids[name])
        return out["Status"], out["ResponseCode"], out["StandardOutputContent"], out["StandardErrorContent"]

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

    def environments(self, name):
        """The worker service's variables and the root shell's, each as NAME=VALUE lines."""
        status, _, out, err = self.run_on(name, READ)
        self.assertEqual(status, "Success", err)
        service, shell = out.split("---\n")
        return dict(line.split("=", 1) for line in service.splitlines()), shell

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

    def test_the_service_keeps_what_it_loaded_until_restarted(self):
        launched, shell = self.environments("shop-worker-1")
        self.assertEqual(launched["QUEUE_URL"], "https://sqs.us-east-1.amazonaws.com/123456789012/shop-staging-jobs")
        self.assertEqual(launched["PATH"], "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin")
        # The root shell sees none of the service's variables.
        self.assertNotIn("QUEUE_URL", shell)
        self.assertNotIn("staging-Sup3rSecret", shell)
        self.put("/shop/staging/QUEUE_URL", "https://sqs.example/new")
        self.assertEqual(self.environments("shop-worker-1")[0]["QUEUE_URL"], launched["QUEUE_URL"])
        # A reload signals the process; only a restart loads the .env again.
        self.assertEqual(self.run_on("shop-worker-1", "systemctl reload queue-worker")[:2], ("Success", 0))
        self.assertEqual(self.environments("shop-worker-1")[0]["QUEUE_URL"], launched["QUEUE_URL"])
        self.assertEqual(self.run_on("shop-worker-1", "systemctl restart queue-worker")[:2], ("Success", 0))
        self.assertEqual(self.environments("shop-worker-1")[0]["QUEUE_URL"], "https://sqs.example/new")
        # Another instance not restarted keeps the old value.
        self.assertEqual(self.environments("shop-worker-2")[0]["QUEUE_URL"], launched["QUEUE_URL"])

    def test_a_stopped_service_has_no_main_process(self):
        self.assertEqual(self.run_on("shop-staging-web", "systemctl stop queue-worker")[:2], ("Success", 0))
        self.addCleanup(self.run_on, "shop-staging-web", "systemctl start queue-worker")
        status, _, out, _ = self.run_on("shop-staging-web", "systemctl show --property=MainPID --value queue-worker.service")
        self.assertEqual((status, out), ("Success", "0\n"))

    def test_the_scripts_exit_code_decides(self):
        self.assertEqual(self.run_on("shop-worker-1", "echo out; echo err >&2; exit 3"), ("Failed", 3, "out\n", "err\n"))
        status, code, _, err = self.run_on("shop-worker-1", "systemctl restart nosuch")
        self.assertEqual((status, code, err), ("Failed", 5, "Failed to restart nosuch.service: Unit nosuch.service not found.\n"))
        # A forced outcome does not run the script.
        self.tag("shop-worker-1", **{"emulator:command-outcome": "Failed"})
        status, code, out, err = self.run_on("shop-worker-1", "echo ran")
        self.assertEqual((status, code, out), ("Failed", 1, ""))
        self.assertIn("Failed with result", err)

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

    def test_the_leak_scan_reads_outputs_and_secure_strings(self):
        self.run_on("shop-worker-2", "echo scanned-output")
        outputs = json.load(urllib.request.urlopen(f"{self.endpoint}/moto-api/standin/run-command-outputs"))
        self.assertIn(("scanned-output\n", self.ids["shop-worker-2"]), [(o["stdout"], o["instance_id"]) for o in outputs])
        secure = json.load(urllib.request.urlopen(f"{self.endpoint}/moto-api/standin/secure-strings"))
        self.assertIn(("/shop/staging/DB_PASSWORD", "staging-Sup3rSecret-1b2d4e"), [(s["name"], s["value"]) for s in secure])
        self.assertIn("/shop/dotenv/staging", [s["name"] for s in secure])



class ScriptsThatMayRunHere(unittest.TestCase):
    """By default only what acts on the emulated instance alone runs on this machine."""

    def test_systemctl_true_and_standin_s_check_run_and_nothing_else(self):
        check = "\n".join([
            "pid=$(systemctl show -p MainPID queue-worker); pid=${pid#MainPID=}",
            'if [ -z "$pid" ] || [ "$pid" = 0 ] || [ ! -r /proc/$pid/environ ]; then echo "queue-worker is not running" >&2; exit 3; fi',
            "salt=00ff",
            "for key in QUEUE_URL DB_HOST; do",
            '  if grep -qz "^$key=" /proc/$pid/environ; then',
            "    printf '%s %s\\n' \"$key\" \"$({ printf '%s\\n' \"$salt\"; grep -z -m 1 \"^$key=\" /proc/$pid/environ | tr -d '\\000'; } | sha256sum | cut -c 1-64)\"",
            "  else printf '%s -\\n' \"$key\"; fi",
            "done",
        ])
        for script in ("systemctl restart queue-worker", "sudo systemctl reload web.service", "true", check):
            self.assertTrue(instances.acts_on_the_instance_only(script), script)
        for script in ("rm -rf /", "systemctl restart x; rm -rf /", "php artisan queue:restart",
                       "echo hi > /etc/motd", check.replace("salt=00ff", "salt=00ff; curl evil")):
            self.assertFalse(instances.acts_on_the_instance_only(script), script)


if __name__ == "__main__":
    unittest.main(verbosity=2)
