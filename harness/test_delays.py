"""Self-test of the delays modes (delays.py): the table and how a mode is chosen, in-process;
then, against an emulator started with realistic delays scaled by 0.01 through the environment
variables, a Route 53 change PENDING then INSYNC, an Elastic Beanstalk restart Updating then
Ready, a Run Command invocation InProgress then Success, each after about its scaled delay.
(Instant delays, the default, are what test_world.py runs against.)

    harness/.venv/bin/python harness/test_delays.py
"""

import os
import subprocess
import sys
import tempfile
import time
import unittest
from types import SimpleNamespace

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import delays  # noqa: E402
import emulator  # noqa: E402
import moto_eb  # noqa: E402
import moto_run_command  # noqa: E402

SCALE = 0.01
# Generous: an answer "within 5x the scaled delay" (and never less than a second, for a loaded
# machine), counted from just before the call.
SLACK = 5


def deadline(name):
    return max(1.0, SLACK * delays.REALISTIC[name] * SCALE)


class Table(unittest.TestCase):
    def tearDown(self):
        delays.configure("instant", 1.0)

    def test_instant_is_todays_behaviour_whatever_the_scale(self):
        for scale in (1.0, 0.01, 10):
            delays.configure("instant", scale)
            self.assertEqual({name: delays.seconds(name) for name in delays.INSTANT}, {
                "route53.change": 0.0,
                "eb.update-environment": 0.5,
                "eb.update-environment.replace-instances": 0.5,
                "eb.restart-app-server": 0.5,
                "eb.swap-environment-cnames": 0.5,
                "eb.accepted-to-updating": 0.3,
                "ssm.command": 0.2,
                "ssm.dispatch": 0.1,
            })

    def test_realistic_figures_are_scaled(self):
        self.assertEqual(set(delays.REALISTIC), set(delays.INSTANT))
        delays.configure("realistic", 1.0)
        self.assertEqual(delays.seconds("route53.change"), 40.0)
        delays.configure("realistic", 0.01)
        self.assertAlmostEqual(delays.seconds("route53.change"), 0.4)
        for name, figure in delays.REALISTIC.items():
            self.assertAlmostEqual(delays.seconds(name), figure * 0.01)
        delays.configure("realistic", 0)
        self.assertEqual(delays.seconds("eb.restart-app-server"), 0)

    def test_flags_then_environment_then_defaults(self):
        env = {"STANDIN_EMULATOR_DELAYS": "realistic", "STANDIN_EMULATOR_TIME_SCALE": "0.05"}
        self.assertEqual(delays.resolve(environ={}), ("instant", 1.0))
        self.assertEqual(delays.resolve(environ=env), ("realistic", 0.05))
        self.assertEqual(delays.resolve("instant", None, env), ("instant", 0.05))
        self.assertEqual(delays.resolve(None, "2", env), ("realistic", 2.0))
        args = emulator.parse_args(["serve"], environ={})
        self.assertEqual((args.delays, args.time_scale), ("instant", 1.0))
        args = emulator.parse_args(["serve", "--delays", "realistic", "--time-scale", "0.01"], environ={})
        self.assertEqual((args.delays, args.time_scale), ("realistic", 0.01))
        args = emulator.parse_args(["serve", "--time-scale", "0.5"], environ=env)
        self.assertEqual((args.delays, args.time_scale), ("realistic", 0.5))

    def test_bad_values_are_refused(self):
        for value in ("slow", ""):
            with self.subTest(mode=value), self.assertRaises(ValueError):
                delays.parse_mode(value)
        for value in ("fast", "-1", "nan", "inf"):
            with self.subTest(scale=value), self.assertRaises(ValueError):
                delays.parse_scale(value)
        stderr = sys.stderr
        sys.stderr = open(os.devnull, "w")
        try:
            with self.assertRaises(SystemExit):
                emulator.parse_args(["serve", "--time-scale", "-1"], environ={})
            with self.assertRaises(SystemExit):
                emulator.parse_args(["serve"], environ={"STANDIN_EMULATOR_DELAYS": "slow"})
        finally:
            sys.stderr.close()
            sys.stderr = stderr

    def test_updates_that_replace_instances_take_longer(self):
        asg = {"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize", "Value": "4"}
        prop = {"Namespace": "aws:elasticbeanstalk:application:environment", "OptionName": "APP_ENV", "Value": "x"}
        itype = {"Namespace": "aws:ec2:instances", "OptionName": "InstanceTypes", "Value": "t3.large"}
        self.assertEqual(moto_eb.update_operation([asg, prop], None), "eb.update-environment")
        self.assertEqual(moto_eb.update_operation([], []), "eb.update-environment")
        self.assertEqual(moto_eb.update_operation([asg, itype], []), "eb.update-environment.replace-instances")
        self.assertEqual(moto_eb.update_operation(None, [itype]), "eb.update-environment.replace-instances")
        self.assertGreater(delays.REALISTIC["eb.update-environment.replace-instances"], delays.REALISTIC["eb.update-environment"])

    def test_tags_win_and_are_not_scaled(self):
        delays.configure("realistic", 0.01)
        env = SimpleNamespace(tags={"emulator:update-seconds": "3"})
        self.assertEqual(moto_eb.update_seconds(env, "eb.restart-app-server"), 3.0)
        self.assertAlmostEqual(moto_eb.update_seconds(SimpleNamespace(tags={}), "eb.restart-app-server"), 0.6)
        self.assertAlmostEqual(moto_eb.update_seconds(SimpleNamespace(tags=None), "eb.swap-environment-cnames"), 0.05)
        self.assertEqual(moto_eb.start_seconds(SimpleNamespace(tags={"emulator:start-seconds": "1.5"})), 1.5)
        self.assertAlmostEqual(moto_eb.start_seconds(SimpleNamespace(tags={})), 0.02)
        self.assertEqual(moto_run_command.command_seconds({"emulator:command-seconds": "0.7"}), 0.7)
        self.assertAlmostEqual(moto_run_command.command_seconds({}), 0.25)
        delays.configure("instant", 1.0)
        self.assertEqual(moto_eb.start_seconds(SimpleNamespace(tags=None)), 0.3)
        self.assertEqual(moto_eb.update_seconds(env, "eb.restart-app-server"), 3.0)
        self.assertEqual(moto_eb.update_seconds(SimpleNamespace(tags={}), "eb.update-environment"), 0.5)
        self.assertEqual(moto_run_command.command_seconds({}), 0.2)


class Realistic(unittest.TestCase):
    """An emulator with realistic delays scaled by SCALE, chosen by environment variables only,
    as a test harness that starts the emulator would."""

    @classmethod
    def setUpClass(cls):
        env = dict(os.environ, STANDIN_EMULATOR_DELAYS="realistic", STANDIN_EMULATOR_TIME_SCALE=str(SCALE))
        cls.stderr = tempfile.TemporaryFile(mode="w+")
        cls.emulator = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "emulator.py"), "serve", "--port", "0", "--seed", "none"],
            stdout=subprocess.PIPE, stderr=cls.stderr, text=True, env=env)
        cls.ready = cls.emulator.stdout.readline().split()
        assert cls.ready and cls.ready[0] == "READY", f"emulator did not start: {cls.ready}"
        cls.endpoint = cls.ready[1]
        cls.route53, cls.eb, cls.ec2, cls.ssm = (cls.client(s) for s in ("route53", "elasticbeanstalk", "ec2", "ssm"))
        cls.zone = cls.route53.create_hosted_zone(Name="example.test", CallerReference="delays")["HostedZone"]["Id"]
        cls.eb.create_application(ApplicationName="delays")
        stack = cls.eb.list_available_solution_stacks()["SolutionStacks"][0]
        cls.eb.create_environment(ApplicationName="delays", EnvironmentName="delays-web", SolutionStackName=stack)
        # moto's example AMI: moto does not check image ids, and listing its images takes seconds.
        cls.instance = cls.ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]

    @classmethod
    def tearDownClass(cls):
        cls.emulator.terminate()
        cls.emulator.wait()
        cls.rest_of_stdout = cls.emulator.stdout.read()
        cls.emulator.stdout.close()
        cls.stderr.close()
        assert cls.rest_of_stdout == "", f"the emulator printed more than its READY line: {cls.rest_of_stdout!r}"

    @classmethod
    def client(cls, service):
        return boto3.client(service, endpoint_url=cls.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def until(self, what, done, limit):
        """Polls `what()` until `done(value)`, failing after `limit` seconds; the value."""
        start = time.monotonic()
        while True:
            value = what()
            if done(value):
                return value
            if time.monotonic() - start > limit:
                self.fail(f"still {value!r} after {limit:g} s")
            time.sleep(0.02)

    def test_ready_line_unchanged_and_mode_logged_on_stderr(self):
        self.assertEqual(len(self.ready), 4)
        self.assertTrue(self.ready[2].startswith("edge=") and self.ready[3].startswith("ca="))
        self.stderr.seek(0)
        self.assertIn("delays: realistic, time scale 0.01: route53.change 0.4 s", self.stderr.read())

    def test_route53_change_pending_then_insync(self):
        record = {"Name": "app.example.test.", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "v1.example.net"}]}
        start = time.monotonic()
        info = self.route53.change_resource_record_sets(HostedZoneId=self.zone, ChangeBatch={
            "Comment": "standin: repoint app", "Changes": [{"Action": "UPSERT", "ResourceRecordSet": record}]})["ChangeInfo"]
        self.assertEqual((info["Status"], info["Comment"]), ("PENDING", "standin: repoint app"))
        self.assertRegex(info["Id"], r"^/change/C[A-Z0-9]+$")
        # The record is listed at once; only its propagation is pending.
        listed = self.route53.list_resource_record_sets(HostedZoneId=self.zone)["ResourceRecordSets"]
        self.assertIn(record, listed)
        self.assertEqual(self.route53.get_change(Id=info["Id"])["ChangeInfo"]["Status"], "PENDING")
        done = self.until(lambda: self.route53.get_change(Id=info["Id"])["ChangeInfo"],
                          lambda c: c["Status"] == "INSYNC", deadline("route53.change") - (time.monotonic() - start))
        self.assertEqual((done["Id"], done["SubmittedAt"]), (info["Id"], info["SubmittedAt"]))
        # Every change has an Id of its own, PENDING again.
        again = self.route53.change_resource_record_sets(HostedZoneId=self.zone, ChangeBatch={
            "Changes": [{"Action": "DELETE", "ResourceRecordSet": record}]})["ChangeInfo"]
        self.assertNotEqual(again["Id"], info["Id"])
        self.assertEqual(again["Status"], "PENDING")
        self.assertNotIn("Comment", again)

    def test_eb_restart_updating_then_ready(self):
        status = lambda: self.eb.describe_environments(EnvironmentNames=["delays-web"])["Environments"][0]["Status"]  # noqa: E731
        self.assertEqual(status(), "Ready")
        start = time.monotonic()
        self.eb.restart_app_server(EnvironmentName="delays-web")
        # Ready a moment more (eb.accepted-to-updating), then Updating, then Ready.
        self.until(status, lambda s: s == "Updating", deadline("eb.accepted-to-updating"))
        self.until(status, lambda s: s == "Ready", deadline("eb.restart-app-server") - (time.monotonic() - start))

    def test_run_command_in_progress_then_success(self):
        def status():
            out = self.ssm.list_command_invocations(CommandId=command_id)["CommandInvocations"]
            return [i["Status"] for i in out]

        start = time.monotonic()
        command_id = self.ssm.send_command(InstanceIds=[self.instance], DocumentName="AWS-RunShellScript",
                                           Parameters={"commands": ["systemctl restart queue-worker"]})["Command"]["CommandId"]
        # Listed once Run Command has reached the instance, then InProgress for ssm.command.
        self.until(status, lambda s: s == ["InProgress"], deadline("ssm.dispatch"))
        self.until(status, lambda s: s == ["Success"], deadline("ssm.command") - (time.monotonic() - start))


if __name__ == "__main__":
    unittest.main(verbosity=2)
