"""Self-test of Parameter Store's lag and throttling (moto_ssm.py, knobs.py): how the knobs are
chosen, in-process; then, against emulators started with the knobs set by environment variables
(as a test harness would): DescribeParameters lagging puts, overwrites and deletes while
GetParameter and GetParameterHistory see them at once; PutParameter refused by its token bucket
with ThrottlingException, nothing written, then accepted again; the world's own requests
(seed.py's header) neither lagged nor throttled.

    harness/.venv/bin/python harness/test_parameter_store.py
"""

import os
import sys
import tempfile
import time
import unittest

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import emulator  # noqa: E402
import knobs  # noqa: E402
import seed  # noqa: E402
from selftest import start_emulator  # noqa: E402

LAG = 2.0


class Knobs(unittest.TestCase):
    def test_defaults_then_environment_then_flags(self):
        self.assertEqual(knobs.resolve({}, environ={}),
                         {"ssm_describe_lag": 2.0, "ssm_put_rate": 3.0, "ssm_put_burst": 15.0})
        env = {"STANDIN_EMULATOR_SSM_DESCRIBE_LAG": "0.5", "STANDIN_EMULATOR_SSM_PUT_RATE": "0"}
        self.assertEqual(knobs.resolve({}, environ=env),
                         {"ssm_describe_lag": 0.5, "ssm_put_rate": 0.0, "ssm_put_burst": 15.0})
        args = emulator.parse_args(["serve", "--ssm-describe-lag", "4", "--ssm-put-burst", "2"], environ=env)
        self.assertEqual(args.knobs, {"ssm_describe_lag": 4.0, "ssm_put_rate": 0.0, "ssm_put_burst": 2.0})

    def test_bad_values_are_refused(self):
        for name, value in [("ssm_describe_lag", "-1"), ("ssm_put_rate", "fast"), ("ssm_put_rate", "inf"),
                            ("ssm_put_burst", "0.5")]:
            with self.subTest(name=name, value=value), self.assertRaises(ValueError):
                knobs.parse(name, value)
        stderr = sys.stderr
        sys.stderr = open(os.devnull, "w")
        try:
            with self.assertRaises(SystemExit):
                emulator.parse_args(["serve", "--ssm-put-rate", "-3"], environ={})
            with self.assertRaises(SystemExit):
                emulator.parse_args(["serve"], environ={"STANDIN_EMULATOR_SSM_DESCRIBE_LAG": "soon"})
        finally:
            sys.stderr.close()
            sys.stderr = stderr


class Emulated(unittest.TestCase):
    """An emulator with these knobs (environment variables), and clients: standin's (`ssm`, no
    retries, so a throttle is seen) and the world's (`world`, seed.py's)."""

    env = {}

    @classmethod
    def setUpClass(cls):
        cls.stderr = tempfile.TemporaryFile(mode="w+")
        cls.emulator, ready = start_emulator("none", dict(os.environ, **cls.env), cls.stderr)
        cls.ssm = boto3.client("ssm", endpoint_url=ready[1], region_name="us-east-1",
                               aws_access_key_id="testing", aws_secret_access_key="testing",
                               config=Config(retries={"total_max_attempts": 1}))
        cls.world = seed.client("ssm", ready[1])

    @classmethod
    def tearDownClass(cls):
        cls.emulator.terminate()
        cls.emulator.wait()
        cls.emulator.stdout.close()
        cls.stderr.close()

    def listed(self, name, client=None):
        """DescribeParameters' entry for `name`, or None."""
        out = (client or self.ssm).describe_parameters(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}])["Parameters"]
        return out[0] if out else None

    def value(self, name):
        try:
            return self.ssm.get_parameter(Name=name)["Parameter"]
        except ClientError as e:
            self.assertEqual(e.response["Error"]["Code"], "ParameterNotFound")
            return None


class Lag(Emulated):
    env = {"STANDIN_EMULATOR_SSM_DESCRIBE_LAG": str(LAG), "STANDIN_EMULATOR_SSM_PUT_RATE": "0"}

    def after_lag(self, since):
        """Waits until the lag has passed since `since` (taken after the write returned)."""
        time.sleep(max(0.0, since + LAG + 0.2 - time.monotonic()))

    def test_logged_on_stderr(self):
        self.stderr.seek(0)
        self.assertIn("parameter store: DescribeParameters lags writes by 2 s, PutParameter bucket off",
                      self.stderr.read())

    def test_describe_parameters_lags_every_write_while_gets_see_it(self):
        name = "/lag/A"
        self.ssm.put_parameter(Name=name, Value="one", Type="String")
        put = time.monotonic()
        self.assertEqual(self.value(name)["Version"], 1)
        self.assertEqual([p["Version"] for p in self.ssm.get_parameter_history(Name=name)["Parameters"]], [1])
        self.assertIsNone(self.listed(name), "listed before the lag")
        self.after_lag(put)
        self.assertEqual(self.listed(name)["Version"], 1)

        self.ssm.put_parameter(Name=name, Value="two", Type="String", Description="second", Overwrite=True)
        put = time.monotonic()
        self.assertEqual(self.value(name)["Value"], "two")
        history = self.ssm.get_parameter_history(Name=name)["Parameters"]
        self.assertEqual((history[-1]["Version"], history[-1]["Description"]), (2, "second"))
        stale = self.listed(name)
        self.assertEqual(stale["Version"], 1)
        self.assertNotIn("Description", stale)
        self.after_lag(put)
        fresh = self.listed(name)
        self.assertEqual((fresh["Version"], fresh["Description"]), (2, "second"))

        self.ssm.delete_parameters(Names=[name])
        deleted = time.monotonic()
        self.assertIsNone(self.value(name))
        self.assertEqual(self.listed(name)["Version"], 2, "still listed right after the delete")
        self.after_lag(deleted)
        self.assertIsNone(self.listed(name))

    def test_a_path_listing_lags_too(self):
        for key in ("X", "Y"):
            self.ssm.put_parameter(Name=f"/path/{key}", Value=key, Type="String")
        put = time.monotonic()

        def names():
            return sorted(p["Name"] for p in self.ssm.describe_parameters(
                ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": ["/path"]}])["Parameters"])

        self.assertEqual(names(), [])
        self.after_lag(put)
        self.assertEqual(names(), ["/path/X", "/path/Y"])

    def test_the_worlds_own_writes_and_reads_are_not_lagged(self):
        self.world.put_parameter(Name="/world/A", Value="a", Type="String")
        self.assertEqual(self.listed("/world/A")["Version"], 1, "the world's write is listed at once")
        self.ssm.put_parameter(Name="/world/B", Value="b", Type="String")
        self.assertIsNone(self.listed("/world/B"))
        self.assertEqual(self.listed("/world/B", self.world)["Version"], 1, "the world sees the store as it is")
        # A write of the world's own over one of standin's ends its lag.
        self.world.put_parameter(Name="/world/B", Value="b2", Type="String", Overwrite=True)
        self.assertEqual(self.listed("/world/B")["Version"], 2)


class Bucket(Emulated):
    RATE, BURST = 0.5, 3
    env = {"STANDIN_EMULATOR_SSM_DESCRIBE_LAG": "0", "STANDIN_EMULATOR_SSM_PUT_RATE": str(RATE),
           "STANDIN_EMULATOR_SSM_PUT_BURST": str(BURST)}

    def setUp(self):
        # A full bucket.
        time.sleep(self.BURST / self.RATE)

    def test_logged_on_stderr(self):
        self.stderr.seek(0)
        self.assertIn("DescribeParameters lags writes by 0 s, PutParameter bucket 0.5/s, burst 3", self.stderr.read())

    def test_a_burst_passes_then_put_parameter_is_throttled_until_the_bucket_refills(self):
        for i in range(self.BURST):
            self.ssm.put_parameter(Name=f"/bucket/P{i}", Value="v", Type="String")
        with self.assertRaises(ClientError) as refused:
            self.ssm.put_parameter(Name="/bucket/refused", Value="v", Type="String")
        error = refused.exception.response
        self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertEqual((error["Error"]["Code"], error["Error"]["Message"]), ("ThrottlingException", "Rate exceeded"))
        self.assertIsNone(self.value("/bucket/refused"), "nothing written")
        # Reads and deletes are not PutParameter's bucket.
        self.ssm.get_parameters(Names=["/bucket/P0"])
        self.ssm.delete_parameters(Names=["/bucket/P0"])
        time.sleep(1 / self.RATE + 0.2)
        self.ssm.put_parameter(Name="/bucket/refused", Value="v", Type="String")
        self.assertEqual(self.value("/bucket/refused")["Version"], 1)

    def test_a_value_its_pattern_refuses_is_a_client_error_and_nothing_is_written(self):
        self.world.put_parameter(Name="/pattern/P", Value="v1", Type="String", AllowedPattern="^v[0-9]+$")
        with self.assertRaises(ClientError) as refused:
            self.world.put_parameter(Name="/pattern/P", Value="x", Type="String", Overwrite=True)
        error = refused.exception.response
        self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertEqual(error["Error"]["Code"], "ParameterPatternMismatchException")
        self.assertEqual(self.value("/pattern/P")["Value"], "v1")

    def test_the_worlds_own_puts_are_never_throttled(self):
        for i in range(self.BURST):
            self.ssm.put_parameter(Name=f"/drain/P{i}", Value="v", Type="String", Overwrite=True)
        for i in range(10):
            self.world.put_parameter(Name=f"/world/P{i}", Value="v", Type="String", Overwrite=True)
        with self.assertRaises(ClientError):
            self.ssm.put_parameter(Name="/drain/again", Value="v", Type="String")


if __name__ == "__main__":
    unittest.main(verbosity=2)
