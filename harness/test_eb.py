"""Self-test of moto_eb.py's operations: the deployed and draft configuration sets, a deployment
that fails, DescribeEvents, and a restart or swap that turns Updating a moment after the call.

    harness/.venv/bin/python harness/test_eb.py

Starts an emulator with no seed (instant delays) and creates its own environments, each test
its own, with the timing tags it needs.
"""

import itertools
import os
import sys
import time
import unittest
from datetime import datetime, timedelta, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import emulator  # noqa: E402
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=20)
APP = "ebtest"
ASG = "aws:autoscaling:asg"
PROPS = "aws:elasticbeanstalk:application:environment"


def option(namespace, name, value):
    return {"Namespace": namespace, "OptionName": name, "Value": value}


class Eb(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emulator, endpoint = emulator.spawn()
        cls.eb = boto3.client("elasticbeanstalk", endpoint_url=endpoint, region_name="us-east-1", config=NO_RETRY,
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        cls.eb.create_application(ApplicationName=APP)
        cls.names = itertools.count(1)

    @classmethod
    def tearDownClass(cls):
        cls.emulator.terminate()
        cls.emulator.wait()
        cls.emulator.stdout.close()

    def environment(self, **tags):
        """A fresh Ready environment with MinSize 2 and APP_ENV staging, tagged `tags`."""
        name = f"eb-test-{next(self.names)}"
        self.eb.create_environment(
            ApplicationName=APP, EnvironmentName=name, SolutionStackName="64bit Amazon Linux 2023 v4.3.0 running Python 3.11",
            OptionSettings=[option(ASG, "MinSize", "2"), option(PROPS, "APP_ENV", "staging")],
            Tags=[{"Key": f"emulator:{k.replace('_', '-')}", "Value": v} for k, v in tags.items()])
        return name

    def describe(self, env):
        return self.eb.describe_environments(EnvironmentNames=[env])["Environments"][0]

    def sets(self, env):
        """DeploymentStatus -> {option name: value} of each configuration set, in the order listed."""
        out = self.eb.describe_configuration_settings(ApplicationName=APP, EnvironmentName=env)
        return [(c["DeploymentStatus"], {o["OptionName"]: o.get("Value") for o in c["OptionSettings"]})
                for c in out["ConfigurationSettings"]]

    def events(self, **filters):
        """(Severity, Message) of every event matching, the most recent first, following pages."""
        found, token = [], None
        while True:
            page = self.eb.describe_events(**filters, **({"NextToken": token} if token else {}))
            found += [(e["Severity"], e["Message"]) for e in page["Events"]]
            token = page.get("NextToken")
            if not token:
                return found

    def until(self, env, status, limit=10):
        start = time.monotonic()
        while self.describe(env)["Status"] != status:
            if time.monotonic() - start > limit:
                self.fail(f"{env} not {status} after {limit} s")
            time.sleep(0.02)

    def refused(self, call):
        with self.assertRaises(ClientError) as caught:
            call()
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidParameterValue")
        self.assertIn("Must be Ready.", caught.exception.response["Error"]["Message"])

    def test_an_update_deploys_a_draft_that_becomes_the_deployed_set(self):
        env = self.environment(update_seconds="1")
        before = self.describe(env)["DateUpdated"]
        out = self.eb.update_environment(EnvironmentName=env, OptionSettings=[option(ASG, "MinSize", "4")])
        # The answer is the environment, Updating, and names the request its events carry.
        self.assertEqual(out["Status"], "Updating")
        self.assertGreater(out["DateUpdated"], before)
        request = out["ResponseMetadata"]["RequestId"]
        self.assertEqual(out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"], request)
        self.assertEqual(self.sets(env), [("deployed", {"MinSize": "2", "APP_ENV": "staging"}),
                                          ("pending", {"MinSize": "4", "APP_ENV": "staging"})])
        self.assertEqual(self.events(RequestId=request), [
            ("INFO", f"Updating environment {env}'s configuration settings."),
            ("INFO", "Environment update is starting."),
        ])
        self.until(env, "Ready")
        self.assertEqual(self.sets(env), [("deployed", {"MinSize": "4", "APP_ENV": "staging"})])
        self.assertEqual(self.events(RequestId=request)[:2], [("INFO", "Environment update completed successfully."),
                                                              ("INFO", "Successfully deployed new configuration to environment.")])
        done = self.describe(env)
        self.assertEqual((done["Health"], done["HealthStatus"]), ("Green", "Ok"))
        self.assertGreater(done["DateUpdated"], out["DateUpdated"])

    def test_a_failed_deployment_keeps_the_deployed_set_and_lists_the_draft_failed(self):
        env = self.environment(update_seconds="0.5", deploy_fails="MinSize")
        # Only an update that changes the option named fails.
        self.eb.update_environment(EnvironmentName=env, OptionSettings=[option(PROPS, "APP_ENV", "production")])
        self.until(env, "Ready")
        self.assertEqual(self.sets(env), [("deployed", {"MinSize": "2", "APP_ENV": "production"})])
        out = self.eb.update_environment(EnvironmentName=env, OptionSettings=[option(ASG, "MinSize", "9")])
        self.assertEqual(out["Status"], "Updating")
        self.until(env, "Ready")
        failed = self.describe(env)
        self.assertEqual((failed["Health"], failed["HealthStatus"]), ("Red", "Severe"))
        self.assertEqual(self.sets(env), [("deployed", {"MinSize": "2", "APP_ENV": "production"}),
                                          ("failed", {"MinSize": "9", "APP_ENV": "production"})])
        request = out["ResponseMetadata"]["RequestId"]
        self.assertEqual(self.events(RequestId=request, Severity="ERROR"), [
            ("ERROR", "The environment was reverted to the previous configuration setting."),
            ("ERROR", "Failed to deploy configuration."),
            ("ERROR", "Instance deployment failed. For details, see 'eb-engine.log'."),
        ])
        # The failed draft stays listed; the next update replaces it, and health recovers with it.
        time.sleep(0.3)
        self.assertEqual(self.sets(env)[1][0], "failed")
        self.eb.update_environment(EnvironmentName=env, OptionSettings=[option(PROPS, "APP_ENV", "staging")])
        self.assertEqual([status for status, _ in self.sets(env)], ["deployed", "pending"])
        self.until(env, "Ready")
        self.assertEqual(self.sets(env), [("deployed", {"MinSize": "2", "APP_ENV": "staging"})])
        self.assertEqual(self.describe(env)["Health"], "Green")

    def test_delete_environment_configuration_deletes_a_failed_draft(self):
        env = self.environment(update_seconds="0", deploy_fails="true")
        self.eb.update_environment(EnvironmentName=env, OptionSettings=[option(PROPS, "APP_ENV", "production")])
        self.until(env, "Ready")
        self.assertEqual([status for status, _ in self.sets(env)], ["deployed", "failed"])
        self.eb.delete_environment_configuration(ApplicationName=APP, EnvironmentName=env)
        self.assertEqual(self.sets(env), [("deployed", {"MinSize": "2", "APP_ENV": "staging"})])

    def test_a_restart_stays_ready_a_moment_then_updates(self):
        env = self.environment(start_seconds="0.6", update_seconds="0.6")
        before = self.describe(env)["DateUpdated"]
        out = self.eb.restart_app_server(EnvironmentName=env)
        request = out["ResponseMetadata"]["RequestId"]
        # Accepted, its first event logged, and still Ready: no proof it has run.
        self.assertEqual(self.events(RequestId=request), [("INFO", "restartAppServer is starting.")])
        shown = self.describe(env)
        self.assertEqual((shown["Status"], shown["DateUpdated"]), ("Ready", before))
        # It holds the environment all the same.
        self.refused(lambda: self.eb.update_environment(EnvironmentName=env, OptionSettings=[option(PROPS, "X", "1")]))
        self.until(env, "Updating")
        started = self.describe(env)["DateUpdated"]
        self.assertGreater(started, before)
        self.until(env, "Ready")
        self.assertGreater(self.describe(env)["DateUpdated"], started)
        self.assertEqual(self.events(RequestId=request)[0], ("INFO", "Restarted application server on all ec2 instances."))

    def test_a_swap_stays_ready_a_moment_then_updates_both(self):
        blue, green = self.environment(start_seconds="0.5", update_seconds="0.5"), self.environment(start_seconds="0.5", update_seconds="0.5")
        cnames = self.describe(blue)["CNAME"], self.describe(green)["CNAME"]
        out = self.eb.swap_environment_cnames(SourceEnvironmentName=blue, DestinationEnvironmentName=green)
        self.assertEqual([self.describe(e)["Status"] for e in (blue, green)], ["Ready", "Ready"])
        self.refused(lambda: self.eb.restart_app_server(EnvironmentName=green))
        self.until(blue, "Updating")
        self.assertEqual(self.describe(green)["Status"], "Updating")
        self.until(blue, "Ready")
        self.until(green, "Ready")
        self.assertEqual((self.describe(green)["CNAME"], self.describe(blue)["CNAME"]), cnames)
        self.assertEqual(self.events(RequestId=out["ResponseMetadata"]["RequestId"]), [
            ("INFO", f"Completed swapping CNAMEs for environments '{blue}' and '{green}'."),
            ("INFO", f"Swapping CNAMEs for environments '{blue}' and '{green}'."),
            ("INFO", "swapEnvironmentCNAMEs is starting."),
        ])

    def test_describe_events_filters_and_pages(self):
        env, other = self.environment(update_seconds="0"), self.environment(update_seconds="0")
        start = datetime.now(timezone.utc)
        for value in ("a", "b", "c"):
            self.eb.update_environment(EnvironmentName=env, OptionSettings=[option(PROPS, "V", value)])
            self.until(env, "Ready")
        self.eb.update_environment(EnvironmentName=other, OptionSettings=[option(PROPS, "V", "x")])
        self.until(other, "Ready")
        mine = self.events(EnvironmentName=env, StartTime=start)
        self.assertEqual(len(mine), 12)
        self.assertEqual(mine[0], ("INFO", "Environment update completed successfully."))
        # MaxRecords a page, the most recent first, the same events as one page.
        page = self.eb.describe_events(EnvironmentName=env, StartTime=start, MaxRecords=4)
        self.assertEqual(len(page["Events"]), 4)
        self.assertIn("NextToken", page)
        self.assertEqual(self.events(EnvironmentName=env, StartTime=start, MaxRecords=4), mine)
        dates = [e["EventDate"] for e in self.eb.describe_events(EnvironmentName=env)["Events"]]
        self.assertEqual(dates, sorted(dates, reverse=True))
        self.assertEqual(self.events(EnvironmentName=env, EndTime=start), [])
        self.assertEqual(self.events(EnvironmentName=env, StartTime=start + timedelta(hours=1)), [])
        self.assertEqual(self.events(EnvironmentName=env, Severity="WARN"), [])
        self.assertEqual(len(self.events(ApplicationName=APP, StartTime=start)), 16)


if __name__ == "__main__":
    unittest.main(verbosity=2)
