"""Self-test of what `standin doctor` reads, over HTTP, driven by control.py as the Rust tests
drive it: the Health API in both its protocols (JSON 1.1, boto3's; RPC v2 CBOR, the AWS SDK for
Rust's) and its SubscriptionRequiredException under AWS's default support plan (moto_health.py),
the root user (moto_iam_root.py), the credential report (moto_iam_credentials.py), the
quarantine policies (moto_iam_quarantine.py), alternate contacts (moto_account.py), the proxy's
CBOR faults, and no oracle violation in any of it.

    harness/.venv/bin/python harness/test_doctor.py
"""

import csv
import datetime
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

import boto3
import botocore.model
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rpcv2_cbor  # noqa: E402
from proxy import start_proxy  # noqa: E402
from selftest import start_emulator, stop_emulator  # noqa: E402

ACCOUNT = "123456789012"
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
NOW = lambda: datetime.datetime.now(datetime.timezone.utc)  # noqa: E731


def client(endpoint, service, account=None, cbor=False, region="us-east-1", key=("testing", "testing")):
    """A boto3 client; `account`: as that account (moto's x-moto-account-id); `cbor`: speaking
    RPC v2 CBOR as the AWS SDK for Rust does (boto3 picks JSON when a model offers both)."""
    protocols = botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS
    if cbor:
        botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = (rpcv2_cbor.PROTOCOL,) + protocols
    try:
        made = boto3.session.Session().client(service, endpoint_url=endpoint, region_name=region, config=NO_RETRY,
                                              aws_access_key_id=key[0], aws_secret_access_key=key[1])
    finally:
        botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = protocols
    assert not cbor or made.meta.service_model.resolved_protocol == rpcv2_cbor.PROTOCOL
    if account:
        made.meta.events.register("before-sign", lambda request, **_: request.headers.__setitem__(
            "x-moto-account-id", account))
    return made


def control(endpoint, *args):
    """Runs control.py; its stdout's words."""
    done = subprocess.run([sys.executable, os.path.join(HERE, "control.py"), endpoint, *args],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def standin(endpoint, name, body):
    request = urllib.request.Request(f"{endpoint}/moto-api/standin/{name}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


def streamed(value):
    """CBOR with indefinite-length maps and arrays, as aws-smithy-cbor writes a request."""
    if isinstance(value, dict):
        return b"\xbf" + b"".join(streamed(k) + streamed(v) for k, v in value.items()) + b"\xff"
    if isinstance(value, list):
        return b"\x9f" + b"".join(streamed(v) for v in value) + b"\xff"
    return rpcv2_cbor.encode(value)


def rust_like(endpoint, operation, body):
    """(status, headers, decoded body) of an RPC v2 CBOR request made as the Rust SDK makes it."""
    url = f"{endpoint}/service/AWSHealth_20160804/operation/{operation}"
    signed = AWSRequest(method="POST", url=url, data=body, headers={
        "Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor", "Accept": "application/cbor"})
    SigV4Auth(Credentials("testing", "testing"), "health", "us-east-1").add_auth(signed)
    request = urllib.request.Request(url, data=body, headers=dict(signed.headers.items()), method="POST")
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, answer.headers, rpcv2_cbor.decode(answer.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers, rpcv2_cbor.decode(e.read())


class Emulated(unittest.TestCase):
    """One emulator (no seed) per class; no test may leave an oracle violation."""

    @classmethod
    def setUpClass(cls):
        cls.emulator, ready = start_emulator("none")
        cls.endpoint = ready[1]

    @classmethod
    def tearDownClass(cls):
        stop_emulator(cls.emulator)

    def tearDown(self):
        with urllib.request.urlopen(f"{self.endpoint}/__oracle/violations") as answer:
            self.assertEqual(json.load(answer), [])

    def take_violations(self):
        request = urllib.request.Request(f"{self.endpoint}/__oracle/violations", method="DELETE")
        with urllib.request.urlopen(request) as answer:
            return json.load(answer)

    def assertError(self, call, status, code):
        with self.assertRaises(ClientError) as caught:
            call()
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)
        self.assertEqual(caught.exception.response["Error"]["Code"], code)
        return caught.exception.response["Error"]

    def assertRecent(self, text, ago=datetime.timedelta(0), slack=datetime.timedelta(minutes=2)):
        when = datetime.datetime.fromisoformat(text)
        self.assertLess(abs(NOW() - ago - when), slack, text)


class Health(Emulated):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        control(cls.endpoint, "support-plan", "business")
        cls.exposed = control(cls.endpoint, "health-event", "AWS_RISK_CREDENTIALS_EXPOSED", "issue", "open", "RISK",
                              "exposed-key-id-0001")[0]
        cls.retiring = control(cls.endpoint, "health-event", "AWS_ELASTICBEANSTALK_PLATFORM_RETIREMENT_SCHEDULED",
                               "scheduledChange", "upcoming", "ELASTICBEANSTALK", "shop-prod")[0]
        cls.closed = standin(cls.endpoint, "health-events", {
            "eventTypeCode": "AWS_EC2_OPERATIONAL_ISSUE", "eventTypeCategory": "issue", "statusCode": "closed"})["arn"]
        cls.json, cls.cbor = client(cls.endpoint, "health"), client(cls.endpoint, "health", cbor=True)

    def both(self, operation, **kwargs):
        """The answers of the JSON client and the CBOR client, which must agree."""
        out = [getattr(c, operation)(**kwargs) for c in (self.json, self.cbor)]
        for answer in out:
            answer.pop("ResponseMetadata")
        self.assertEqual(out[0], out[1])
        return out[0]

    def arns(self, **kwargs):
        return [e["arn"] for e in self.both("describe_events", **kwargs)["events"]]

    def test_aws_default_basic_plan_answers_subscription_required(self):
        other = "210987654321"
        for cbor in (False, True):
            health = client(self.endpoint, "health", account=other, cbor=cbor)
            for call in (health.describe_events, lambda: health.describe_affected_entities(filter={"eventArns": [self.exposed]}),
                         lambda: health.describe_event_details(eventArns=[self.exposed])):
                error = self.assertError(call, 400, "SubscriptionRequiredException")
                self.assertEqual(error["Message"], "")  # AWS says nothing more
        standin(self.endpoint, "support-plan", {"plan": "developer", "account": other})
        self.assertError(client(self.endpoint, "health", account=other).describe_events, 400,
                         "SubscriptionRequiredException")
        standin(self.endpoint, "support-plan", {"plan": "enterprise", "account": other})
        self.assertEqual(client(self.endpoint, "health", account=other).describe_events()["events"], [])
        with self.assertRaises(urllib.error.HTTPError) as refused:
            standin(self.endpoint, "support-plan", {"plan": "gold"})
        self.assertEqual(refused.exception.code, 400)

    def test_events_newest_first_as_the_model_shapes_them(self):
        events = self.both("describe_events")["events"]
        self.assertEqual([e["arn"] for e in events], [self.closed, self.retiring, self.exposed])
        exposed = events[2]
        self.assertRegex(exposed["arn"], r"^arn:aws:health:us-east-1::event/RISK/AWS_RISK_CREDENTIALS_EXPOSED/"
                                         r"AWS_RISK_CREDENTIALS_EXPOSED_[0-9a-f-]{36}$")
        self.assertEqual({k: exposed[k] for k in ("service", "eventTypeCode", "eventTypeCategory", "region",
                                                 "statusCode", "eventScopeCode")},
                         {"service": "RISK", "eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED", "eventTypeCategory": "issue",
                          "region": "us-east-1", "statusCode": "open", "eventScopeCode": "ACCOUNT_SPECIFIC"})
        self.assertNotIn("endTime", exposed)
        self.assertLess(abs(NOW() - exposed["startTime"]), datetime.timedelta(minutes=2))
        self.assertGreater(events[1]["startTime"], NOW() + datetime.timedelta(days=6))  # upcoming: ahead
        self.assertEqual(events[0]["service"], "EC2")  # from AWS_EC2_...
        self.assertIn("endTime", events[0])

    def test_filters(self):
        self.assertEqual(self.arns(filter={"eventStatusCodes": ["open", "upcoming"]}), [self.retiring, self.exposed])
        self.assertEqual(self.arns(filter={"eventTypeCategories": ["scheduledChange"]}), [self.retiring])
        self.assertEqual(self.arns(filter={"eventTypeCodes": ["AWS_RISK_CREDENTIALS_EXPOSED"]}), [self.exposed])
        self.assertEqual(self.arns(filter={"services": ["RISK", "EC2"], "eventStatusCodes": ["open"]}), [self.exposed])
        self.assertEqual(self.arns(filter={"regions": ["eu-west-1"]}), [])
        self.assertEqual(self.arns(filter={"entityValues": ["shop-prod"]}), [self.retiring])
        self.assertEqual(self.arns(filter={"eventArns": [self.closed]}), [self.closed])
        ahead = NOW() + datetime.timedelta(days=1)
        self.assertEqual(self.arns(filter={"startTimes": [{"from": ahead}]}), [self.retiring])
        self.assertEqual(self.arns(filter={"endTimes": [{"to": ahead}]}), [self.closed])

    def test_pages_by_max_results_and_next_token(self):
        seen, token = [], None
        while True:
            page = self.json.describe_events(maxResults=1, **({"nextToken": token} if token else {}))
            seen += [e["arn"] for e in page["events"]]
            token = page.get("nextToken")
            if not token:
                break
        self.assertEqual(seen, [self.closed, self.retiring, self.exposed])
        for health in (self.json, self.cbor):
            self.assertError(lambda: health.describe_events(nextToken="bm90LWEtdG9rZW4="), 400, "InvalidPaginationToken")
            self.assertError(lambda: health.describe_events(locale="fr"), 400, "UnsupportedLocale")
        # Without maxResults, ten a page.
        other = "333333333333"
        standin(self.endpoint, "support-plan", {"plan": "business", "account": other})
        for i in range(12):
            standin(self.endpoint, "health-events", {"account": other, "eventTypeCode": f"AWS_EC2_TEST_{i}",
                                                     "eventTypeCategory": "accountNotification", "statusCode": "open"})
        health = client(self.endpoint, "health", account=other, cbor=True)
        first = health.describe_events()
        self.assertEqual(len(first["events"]), 10)
        self.assertEqual(len(health.describe_events(nextToken=first["nextToken"])["events"]), 2)

    def test_affected_entities_and_details(self):
        entities = self.both("describe_affected_entities", filter={"eventArns": [self.exposed, self.retiring, self.closed]})
        got = [(e["eventArn"], e["entityValue"], e["statusCode"], e["awsAccountId"]) for e in entities["entities"]]
        self.assertEqual(got, [(self.exposed, "exposed-key-id-0001", "IMPAIRED", ACCOUNT),
                               (self.retiring, "shop-prod", "PENDING", ACCOUNT),
                               (self.closed, "UNKNOWN", "UNKNOWN", ACCOUNT)])
        for entity in entities["entities"]:
            self.assertRegex(entity["entityArn"], rf"^arn:aws:health:us-east-1:{ACCOUNT}:entity/\w+$")
            self.assertIn("lastUpdatedTime", entity)
        pending = self.both("describe_affected_entities", filter={"eventArns": [self.exposed, self.retiring],
                                                                   "statusCodes": ["PENDING"]})
        self.assertEqual([e["entityValue"] for e in pending["entities"]], ["shop-prod"])
        unknown = self.exposed.replace("AWS_RISK_CREDENTIALS_EXPOSED_", "AWS_RISK_CREDENTIALS_EXPOSED_0")
        details = self.both("describe_event_details", eventArns=[self.retiring, unknown])
        self.assertEqual([d["event"]["arn"] for d in details["successfulSet"]], [self.retiring])
        self.assertTrue(details["successfulSet"][0]["eventDescription"]["latestDescription"])
        self.assertEqual([f["eventArn"] for f in details["failedSet"]], [unknown])

    def test_a_request_as_the_rust_sdk_makes_it(self):
        status, headers, body = rust_like(self.endpoint, "DescribeEvents",
                                          streamed({"filter": {"eventStatusCodes": ["upcoming"]}, "maxResults": 5}))
        self.assertEqual((status, headers["smithy-protocol"], headers["Content-Type"]), (200, "rpc-v2-cbor", "application/cbor"))
        self.assertEqual([e["arn"] for e in body["events"]], [self.retiring])
        self.assertIsInstance(body["events"][0]["startTime"], rpcv2_cbor.Epoch)  # tag 1
        status, _, body = rust_like(self.endpoint, "DescribeAffectedEntities", streamed({"filter": {}}))
        self.assertEqual((status, body["__type"]), (400, "ValidationException"))  # the oracle: eventArns required
        self.assertEqual([(v["member"], v["rule"]) for v in self.take_violations()], [("filter.eventArns", "required")])

    def test_the_oracle_holds_cbor_requests_to_the_model(self):
        cases = [(b"\xbf\x66filter", "malformed", "SerializationException"),
                 (streamed({"filter": {"startTimes": [{"from": 1700000000}]}}), "type", "SerializationException"),
                 (streamed({"maxResults": 500}), "range", "ValidationException"),
                 (streamed({"maxResult": 5}), "unknown", "ValidationException")]
        for body, rule, code in cases:
            with self.subTest(rule):
                status, headers, answer = rust_like(self.endpoint, "DescribeEvents", body)
                self.assertEqual((status, answer["__type"], headers["smithy-protocol"]), (400, code, "rpc-v2-cbor"))
                self.assertEqual([v["rule"] for v in self.take_violations()], [rule])
        status, _, answer = rust_like(self.endpoint, "DescribeEverything", streamed({}))
        self.assertEqual((status, answer["__type"]), (404, "UnknownOperationException"))
        self.assertEqual([v["rule"] for v in self.take_violations()], ["operation"])

    def test_the_endpoint_is_global(self):
        for region in ("us-east-1", "us-east-2", "eu-west-1"):
            health = client(self.endpoint, "health", cbor=True, region=region)
            self.assertEqual([e["arn"] for e in health.describe_events()["events"]],
                             [self.closed, self.retiring, self.exposed])

    def test_the_proxy_answers_health_faults_in_the_request_protocol(self):
        server, address, counts = start_proxy(self.endpoint, faults=[{"action": "health:DescribeEvents", "fault": "deny"}])
        try:
            for cbor in (False, True):
                self.assertError(client(address, "health", cbor=cbor).describe_events, 400, "AccessDeniedException")
            self.assertEqual(counts["health:DescribeEvents"], 2)
        finally:
            server.shutdown()
            server.server_close()


class Account(Emulated):
    def test_root_key_root_sign_in_and_the_report(self):
        key = control(self.endpoint, "root-key")
        self.assertRegex(key[0], r"^AKIA[A-Z0-9]{16}$")
        sts = client(self.endpoint, "sts", key=key)
        identity = sts.get_caller_identity()
        self.assertEqual((identity["Arn"], identity["UserId"], identity["Account"]),
                         (f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, ACCOUNT))
        with tempfile.NamedTemporaryFile("w", suffix=".json") as policy:
            json.dump({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*",
                                                               "Resource": "*"}]}, policy)
            policy.flush()
            user_key = control(self.endpoint, "iam-user", "old-keys", policy.name)
        control(self.endpoint, "key-age", "old-keys", "120")
        control(self.endpoint, "root-signin", "3")
        iam = client(self.endpoint, "iam", key=key)  # root may call IAM
        created = iam.list_access_keys(UserName="old-keys")["AccessKeyMetadata"][0]
        self.assertEqual(created["AccessKeyId"], user_key[0])
        self.assertRecent(created["CreateDate"].isoformat(), ago=datetime.timedelta(days=120))
        self.assertEqual(iam.generate_credential_report()["State"], "STARTED")
        report = iam.get_credential_report()
        self.assertEqual(report["ReportFormat"], "text/csv")
        self.assertRecent(report["GeneratedTime"].isoformat())
        rows = list(csv.DictReader(io.StringIO(report["Content"].decode())))
        root, user = rows[0], next(r for r in rows if r["user"] == "old-keys")  # other tests add users
        self.assertEqual((root["user"], root["arn"]), ("<root_account>", f"arn:aws:iam::{ACCOUNT}:root"))
        self.assertEqual([root[c] for c in ("password_enabled", "password_last_changed", "password_next_rotation",
                                            "mfa_active", "access_key_1_active", "access_key_2_active",
                                            "access_key_2_last_rotated", "cert_1_active", "cert_1_last_rotated")],
                         ["not_supported"] * 3 + ["false", "true", "false", "N/A", "false", "N/A"])
        self.assertRecent(root["password_last_used"], ago=datetime.timedelta(days=3))
        self.assertRecent(root["access_key_1_last_rotated"])
        self.assertRecent(root["access_key_1_last_used_date"])  # GetCallerIdentity, then IAM
        self.assertEqual(root["access_key_1_last_used_region"], "us-east-1")
        self.assertLess(datetime.datetime.fromisoformat(root["user_creation_time"]),
                        datetime.datetime.fromisoformat(user["user_creation_time"]))
        self.assertEqual(datetime.datetime.fromisoformat(user["access_key_1_last_rotated"]),
                         created["CreateDate"].replace(microsecond=0))
        self.assertEqual([user[c] for c in ("password_enabled", "password_last_used", "password_last_changed",
                                            "access_key_1_active", "access_key_1_last_used_date")],
                         ["false", "N/A", "N/A", "true", "N/A"])

    def test_a_report_is_a_snapshot_kept_four_hours(self):
        iam = client(self.endpoint, "iam", account="222222222222")
        self.assertError(iam.get_credential_report, 410, "ReportNotPresent")
        self.assertEqual(iam.generate_credential_report()["State"], "STARTED")
        first = iam.get_credential_report()
        iam.create_user(UserName="late")
        iam.create_login_profile(UserName="late", Password="Corr3ct-Horse-Battery")
        self.assertEqual(iam.generate_credential_report()["State"], "COMPLETE")
        again = iam.get_credential_report()
        self.assertEqual((again["GeneratedTime"], again["Content"]), (first["GeneratedTime"], first["Content"]))
        self.assertEqual([r["user"] for r in csv.DictReader(io.StringIO(again["Content"].decode()))], ["<root_account>"])

    def test_quarantine_policies_are_aws_managed(self):
        iam = client(self.endpoint, "iam")
        iam.create_user(UserName="leaked")
        control(self.endpoint, "quarantine", "leaked")
        v3 = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"
        self.assertEqual(iam.list_attached_user_policies(UserName="leaked")["AttachedPolicies"],
                         [{"PolicyName": "AWSCompromisedKeyQuarantineV3", "PolicyArn": v3}])
        iam.create_role(RoleName="leaked-role", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))
        iam.attach_role_policy(RoleName="leaked-role", PolicyArn="arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2")
        self.assertEqual([p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="leaked-role")["AttachedPolicies"]],
                         ["arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2"])
        aws = iam.list_policies(Scope="AWS")["Policies"]
        self.assertEqual(sorted((p["PolicyName"], p["Path"]) for p in aws),
                         [(n, "/") for n in ("AWSCompromisedKeyQuarantine", "AWSCompromisedKeyQuarantineV2",
                                             "AWSCompromisedKeyQuarantineV3")])
        policy = iam.get_policy(PolicyArn=v3)["Policy"]
        document = iam.get_policy_version(PolicyArn=v3, VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]
        self.assertEqual({s["Effect"] for s in document["Statement"]}, {"Deny"})
        self.assertIn("iam:CreateAccessKey", document["Statement"][0]["Action"])

    def test_security_contact(self):
        account = client(self.endpoint, "account")
        error = self.assertError(lambda: account.get_alternate_contact(AlternateContactType="SECURITY"), 404,
                                 "ResourceNotFoundException")
        self.assertTrue(error["Message"])
        control(self.endpoint, "contact", "SECURITY", "security@example.com")
        contact = account.get_alternate_contact(AlternateContactType="SECURITY")["AlternateContact"]
        self.assertEqual((contact["AlternateContactType"], contact["EmailAddress"]), ("SECURITY", "security@example.com"))
        self.assertError(lambda: account.get_alternate_contact(AlternateContactType="OPERATIONS"), 404,
                         "ResourceNotFoundException")


if __name__ == "__main__":
    unittest.main(verbosity=2)
