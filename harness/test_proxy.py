"""Self-test of proxy.py's fault injection, with boto3 against the seeded emulator.

    harness/.venv/bin/python harness/test_proxy.py
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, HTTPClientError

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from proxy import Faults, start_proxy  # noqa: E402

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=20)
RETRY = Config(retries={"total_max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=20)


class ProxyFaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emulator = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "emulator.py"), "serve", "--port", "0", "--seed", "incident"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = cls.emulator.stdout.readline().split()
        assert line and line[0] == "READY", f"emulator did not start: {line}"
        cls.upstream = line[1]
        cls.server, cls.address, cls.counts = start_proxy(cls.upstream)
        cls.client("s3").create_bucket(Bucket="standin-locks")
        cls.client("dynamodb").create_table(
            TableName="standin-locks", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        cls.emulator.terminate()
        cls.emulator.wait()
        cls.emulator.stdout.close()

    @classmethod
    def client(cls, service, config=NO_RETRY):
        return boto3.client(service, endpoint_url=cls.address, region_name="us-east-1", config=config,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def control(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.address + path, data=data, method=method)
        with urllib.request.urlopen(req) as resp:
            return json.loads(resp.read())

    def faults(self, *rules):
        return self.control("POST", "/__proxy/faults", list(rules))

    def tearDown(self):
        self.control("DELETE", "/__proxy/faults")

    # One cheap read per protocol: (service, call, action as the proxy names it).
    CALLS = {
        "ssm": (lambda c: c.get_parameter(Name="/shop/prod/APP_URL"), "ssm:GetParameter"),
        "dynamodb": (lambda c: c.describe_table(TableName="standin-locks"), "dynamodb:DescribeTable"),
        "elasticbeanstalk": (lambda c: c.describe_environments(ApplicationName="shop"),
                             "elasticbeanstalk:DescribeEnvironments"),
        "elbv2": (lambda c: c.describe_load_balancers(), "elasticloadbalancing:DescribeLoadBalancers"),
        "ec2": (lambda c: c.describe_instances(), "ec2:DescribeInstances"),
        "route53": (lambda c: c.list_hosted_zones(), "route53 GET /2013-04-01/hostedzone"),
        "s3": (lambda c: c.list_objects_v2(Bucket="standin-locks"), "s3 GET /standin-locks"),
    }
    EXPECTED = {  # service -> fault -> (status, code botocore parses)
        "ssm": {"throttle": (400, "ThrottlingException"), "error500": (500, "InternalFailure"),
                "deny": (400, "AccessDeniedException")},
        "dynamodb": {"throttle": (400, "ThrottlingException"), "error500": (500, "InternalFailure"),
                     "deny": (400, "AccessDeniedException")},
        "elasticbeanstalk": {"throttle": (400, "Throttling"), "error500": (500, "InternalFailure"),
                             "deny": (400, "AccessDenied")},
        "elbv2": {"throttle": (400, "Throttling"), "error500": (500, "InternalFailure"),
                  "deny": (400, "AccessDenied")},
        "ec2": {"throttle": (503, "RequestLimitExceeded"), "error500": (500, "InternalError"),
                "deny": (403, "UnauthorizedOperation")},
        "route53": {"throttle": (400, "Throttling"), "error500": (500, "InternalFailure"),
                    "deny": (403, "AccessDenied")},
        "s3": {"throttle": (503, "SlowDown"), "error500": (500, "InternalError"), "deny": (403, "AccessDenied")},
    }

    def test_error_faults_parse_as_aws_errors(self):
        for service, (call, action) in self.CALLS.items():
            client = self.client(service)
            call(client)  # passes without faults
            for fault, (status, code) in self.EXPECTED[service].items():
                with self.subTest(service=service, fault=fault):
                    self.faults({"action": action, "fault": fault})
                    with self.assertRaises(ClientError) as caught:
                        call(client)
                    err = caught.exception.response
                    self.assertEqual(err["Error"]["Code"], code)
                    self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status)
                    self.assertTrue(err["ResponseMetadata"].get("RequestId"))
                    if fault == "deny":
                        self.assertIn("is not authorized to perform", err["Error"]["Message"])
                        self.assertIn(action, err["Error"]["Message"])
                    [rule] = self.control("GET", "/__proxy/faults")
                    self.assertEqual((rule["seen"], rule["injected"]), (1, 1))

    def test_botocore_classifies_like_aws(self):
        """botocore's standard mode (like the AWS SDK for Rust) calls throttle a throttling error,
        error500 a transient one, and deny neither."""
        from botocore.retries.standard import RetryContext, ThrottledRetryableChecker, TransientRetryableChecker
        throttling, transient = ThrottledRetryableChecker(), TransientRetryableChecker()
        for service, (call, action) in self.CALLS.items():
            client = self.client(service)
            for fault in ("throttle", "error500", "deny"):
                with self.subTest(service=service, fault=fault):
                    self.faults({"action": action, "fault": fault})
                    with self.assertRaises(ClientError) as caught:
                        call(client)
                    err = caught.exception.response
                    status = type("Response", (), {"status_code": err["ResponseMetadata"]["HTTPStatusCode"]})()
                    ctx = RetryContext(attempt_number=1, parsed_response=err, http_response=status)
                    self.assertEqual(throttling.is_retryable(ctx), fault == "throttle")
                    self.assertEqual(transient.is_retryable(ctx), fault == "error500" or status.status_code >= 500)

    def test_head_request_error_has_no_body(self):
        s3 = self.client("s3")
        s3.put_object(Bucket="standin-locks", Key="lock", Body=b"x")
        self.faults({"action": "s3:*", "fault": "throttle"})
        with self.assertRaises(ClientError) as caught:
            s3.head_object(Bucket="standin-locks", Key="lock")
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)

    def test_reset_closes_without_forwarding(self):
        ssm = self.client("ssm")
        self.faults({"action": "ssm:PutParameter", "fault": "reset"})
        with self.assertRaises((ConnectionClosedError, EndpointConnectionError, HTTPClientError)):
            ssm.put_parameter(Name="/proxy-test/reset", Value="v", Type="String")
        self.control("DELETE", "/__proxy/faults")
        with self.assertRaises(ClientError) as caught:
            ssm.get_parameter(Name="/proxy-test/reset")
        self.assertEqual(caught.exception.response["Error"]["Code"], "ParameterNotFound")
        self.faults({"action": "*", "fault": "reset"})
        with socket.create_connection(self.server.server_address) as raw:  # an RST, not a FIN
            raw.sendall(b"GET /x HTTP/1.1\r\nHost: proxy\r\nContent-Length: 0\r\n\r\n")
            with self.assertRaises(ConnectionResetError):
                raw.recv(100)
        for service in ("route53", "s3", "elasticbeanstalk"):  # every protocol
            call, action = self.CALLS[service]
            with self.subTest(service=service):
                self.faults({"action": action, "fault": "reset"})
                with self.assertRaises((ConnectionClosedError, EndpointConnectionError, HTTPClientError)):
                    call(self.client(service))

    def test_a_request_cut_short_is_not_forwarded(self):
        # A client that goes away mid-body (a command dropping its other reads once one
        # failed) sent no request AWS would see: the emulator must not get half of one.
        before = dict(self.control("GET", "/__proxy/counts"))
        with socket.create_connection(self.server.server_address) as raw:
            raw.sendall(b"POST / HTTP/1.1\r\nHost: proxy\r\nContent-Length: 100\r\n\r\nAction=Descr")
            raw.shutdown(socket.SHUT_WR)
            self.assertEqual(raw.recv(100), b"")
        self.assertEqual(dict(self.control("GET", "/__proxy/counts")), before)

    def test_after_and_times(self):
        ssm = self.client("ssm")
        self.faults({"action": "ssm:GetParameter", "fault": "throttle", "after": 1, "times": 1})
        outcomes = []
        for _ in range(3):
            try:
                ssm.get_parameter(Name="/shop/prod/APP_URL")
                outcomes.append("ok")
            except ClientError as e:
                outcomes.append(e.response["Error"]["Code"])
        self.assertEqual(outcomes, ["ok", "ThrottlingException", "ok"])
        [rule] = self.control("GET", "/__proxy/faults")
        self.assertEqual(rule, {"action": "ssm:GetParameter", "fault": "throttle", "after": 1, "times": 1,
                                "seconds": 5, "share": 1, "until": None, "seen": 3, "injected": 1})

    def test_until_holds_the_fault_until_that_action_is_answered(self):
        ssm = self.client("ssm")
        self.faults({"action": "ssm:GetParameter", "fault": "deny", "until": "ssm:PutParameter"})
        outcome = []

        def held():
            try:
                ssm.get_parameter(Name="/shop/prod/APP_URL")
                outcome.append("ok")
            except ClientError as e:
                outcome.append(e.response["Error"]["Code"])

        caller = threading.Thread(target=held)
        caller.start()
        caller.join(1.0)
        self.assertTrue(caller.is_alive(), "answered before any PutParameter")
        ssm.put_parameter(Name="/shop/prod/UNTIL", Value="x", Type="String", Overwrite=True)
        caller.join(10)
        self.assertEqual(outcome, ["AccessDeniedException"])
        with self.assertRaises(ClientError):  # from then on, denied at once
            ssm.get_parameter(Name="/shop/prod/APP_URL")
        with self.assertRaises(ValueError):
            Faults.parse({"action": "*", "fault": "deny", "until": ""})

    def test_share_spreads_faults_over_the_window(self):
        ssm = self.client("ssm")
        self.faults({"action": "ssm:GetParameter", "fault": "throttle", "after": 2, "share": 0.3})
        outcomes = []
        for _ in range(12):
            try:
                ssm.get_parameter(Name="/shop/prod/APP_URL")
                outcomes.append(".")
            except ClientError:
                outcomes.append("T")
        self.assertEqual("".join(outcomes), ".....T..T..T")

    def test_patterns_and_precedence(self):
        ssm = self.client("ssm")
        route53 = self.client("route53")
        self.faults({"action": "route53:*", "fault": "deny"},
                    {"action": "*", "fault": "error500", "times": 1})
        with self.assertRaises(ClientError) as caught:
            route53.list_hosted_zones()  # both match; the first rule wins
        self.assertEqual(caught.exception.response["Error"]["Code"], "AccessDenied")
        ssm.get_parameter(Name="/shop/prod/APP_URL")  # `*` saw the route53 call: its one time is used
        deny, anything = self.control("GET", "/__proxy/faults")
        self.assertEqual((deny["seen"], deny["injected"]), (1, 1))
        self.assertEqual((anything["seen"], anything["injected"]), (2, 0))

    def test_a_rest_pattern_matches_one_path_segment(self):
        from proxy import matches
        pattern = "s3 PUT /state/runs/*/journal.jsonl"
        self.assertTrue(matches(pattern, "s3 PUT /state/runs/20261206T1-ab12/journal.jsonl"))
        self.assertFalse(matches(pattern, "s3 PUT /state/runs/a/b/journal.jsonl"))
        self.assertFalse(matches(pattern, "s3 GET /state/runs/r1/journal.jsonl"))
        self.assertFalse(matches(pattern, "s3 PUT /state/lock"))
        self.assertFalse(matches("ssm:Put*", "ssm:PutParameter"), "only REST paths take `*`")

    def test_slow_delays_then_forwards(self):
        ssm = self.client("ssm")
        self.faults({"action": "ssm:GetParameter", "fault": "slow", "seconds": 1.5})
        start = time.monotonic()
        value = ssm.get_parameter(Name="/shop/prod/APP_URL")["Parameter"]["Value"]
        elapsed = time.monotonic() - start
        self.assertTrue(value)
        self.assertGreaterEqual(elapsed, 1.5)
        self.assertLess(elapsed, 3.5)

    def test_transient_faults_are_retried_to_success(self):
        cases = [("ssm", "throttle"), ("elasticbeanstalk", "throttle"), ("route53", "throttle"),
                 ("s3", "throttle"), ("route53", "error500")]
        for service, fault in cases:
            call, action = self.CALLS[service]
            with self.subTest(service=service, fault=fault):
                self.faults({"action": action, "fault": fault, "times": 2})
                call(self.client(service, RETRY))
                [rule] = self.control("GET", "/__proxy/faults")
                self.assertEqual((rule["seen"], rule["injected"]), (3, 2))

    def test_deny_is_not_retried(self):
        self.faults({"action": "ssm:GetParameter", "fault": "deny", "times": 2})
        with self.assertRaises(ClientError):
            self.client("ssm", RETRY).get_parameter(Name="/shop/prod/APP_URL")
        [rule] = self.control("GET", "/__proxy/faults")
        self.assertEqual(rule["seen"], 1)

    def test_counters_under_concurrency(self):
        self.faults({"action": "ssm:GetParameter", "fault": "throttle", "after": 3, "times": 5})
        errors = []

        def worker():
            ssm = self.client("ssm")
            for _ in range(4):
                try:
                    ssm.get_parameter(Name="/shop/prod/APP_URL")
                except ClientError as e:
                    errors.append(e.response["Error"]["Code"])

        threads = [threading.Thread(target=worker) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        [rule] = self.control("GET", "/__proxy/faults")
        self.assertEqual((rule["seen"], rule["injected"]), (20, 5))
        self.assertEqual(errors, ["ThrottlingException"] * 5)

    def test_counts_include_injected_and_reset(self):
        self.control("DELETE", "/__proxy/counts")
        ssm = self.client("ssm")
        self.faults({"action": "ssm:GetParameter", "fault": "throttle", "times": 1})
        with self.assertRaises(ClientError):
            ssm.get_parameter(Name="/shop/prod/APP_URL")
        ssm.get_parameter(Name="/shop/prod/APP_URL")
        self.assertEqual(self.control("GET", "/__proxy/counts"), {"ssm:GetParameter": 2})
        self.assertEqual(self.counts["ssm:GetParameter"], 2)  # the returned Counter is the live one
        self.assertEqual(self.control("DELETE", "/__proxy/counts"), {"ssm:GetParameter": 2})
        self.assertEqual(self.control("GET", "/__proxy/counts"), {})

    def test_rules_are_validated_and_cleared(self):
        for bad in ({"action": "ssm:GetParameter", "fault": "explode"}, {"fault": "deny"},
                    {"action": "*", "fault": "deny", "after": -1}, {"action": "*", "fault": "deny", "tmes": 1},
                    "nonsense"):
            with self.subTest(bad=bad):
                with self.assertRaises(urllib.error.HTTPError) as caught:
                    self.faults(bad)
                self.assertEqual(caught.exception.code, 400)
        self.faults({"action": "*", "fault": "deny"})
        self.assertEqual(self.control("DELETE", "/__proxy/faults"), [])
        self.client("ssm").get_parameter(Name="/shop/prod/APP_URL")

    def test_cli_prints_ready(self):
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "proxy.py"), self.upstream],
                                stdout=subprocess.PIPE, text=True)
        try:
            word, address = proc.stdout.readline().split()
            self.assertEqual(word, "READY")
            with urllib.request.urlopen(address + "/__proxy/counts") as resp:
                self.assertEqual(json.loads(resp.read()), {})
        finally:
            proc.terminate()
            proc.wait()
            proc.stdout.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
