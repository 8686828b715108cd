"""Self-test of what evidence and approvals rely on, over HTTP, as AWS documents it: S3 Object
Lock (moto_s3_lock.py) and objects' integrity headers (moto_s3_checksums.py), including a
PutObject exactly as the AWS SDK for Rust sends one (an in-memory body with a CRC32 header; a
streaming body aws-chunked with signed chunks and a CRC32 trailer); and STS GetCallerIdentity
naming the caller of a header-signed, replayed or presigned request, within STS's 15 minutes,
a presigned one only if its SigV4 signature holds: presigned by botocore or exactly as
aws-sigv4 1.6.4 presigns it for src/aws/identity.rs, refused when forged, altered, sent with
another signed header value or Host, signed with a wrong secret or an unknown key; the
canonical request and signature also against AWS's SigV4 test suite (moto_sts_presigned.py).
No HTTP test may leave an oracle violation. Sources: docs/aws-behaviour.md, "S3 Object Lock
and checksums (evidence files)" and "STS: proving who approves".

    harness/.venv/bin/python harness/test_evidence.py
"""

import base64
import datetime
import glob
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
import zlib
from unittest import mock

import boto3
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from proxy import start_proxy  # noqa: E402
from selftest import start_emulator, stop_emulator  # noqa: E402

TESTING = ("testing", "testing")
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"})
NOW = lambda: datetime.datetime.now(datetime.timezone.utc)  # noqa: E731
DAY = datetime.timedelta(days=1)
STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


def control(endpoint, *args):
    done = subprocess.run([sys.executable, os.path.join(HERE, "control.py"), endpoint, *args],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def http(method, url, body=None, headers=None):
    """(status, headers, body bytes) of one plain HTTP request, errors included."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def error_code(body):
    return ET.fromstring(body).find(".//{*}Code").text


def b64(digest):
    return base64.b64encode(digest).decode()


def crc32(data):
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256)


class Streaming(SigV4Auth):
    """SigV4 of an aws-chunked body whose chunks are signed: the seed signature."""

    def payload(self, request):
        return "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"


def rust_put(endpoint, path, data, headers=None, streaming=False, crc=None, key=TESTING, chunk=65536):
    """A PutObject as aws-sdk-s3 1.157 sends it over http:// (src/http_request_checksum.rs,
    src/aws_chunked.rs, aws-runtime's content_encoding): `x-amz-sdk-checksum-algorithm: CRC32`
    always; an in-memory body gets `x-amz-checksum-crc32` and a signed payload hash; a streaming
    body (ByteStream::from_path) goes aws-chunked, `x-amz-content-sha256:
    STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`, `x-amz-decoded-content-length`, each chunk
    signed, the CRC32 in the trailer `x-amz-trailer` names, then the trailer's signature."""
    crc = crc or crc32(data)
    url = f"{endpoint}{path}"
    sent = {"x-amz-sdk-checksum-algorithm": "CRC32", "Content-Type": "application/octet-stream", **(headers or {})}
    credentials = Credentials(*key)
    if not streaming:
        sent.update({"x-amz-checksum-crc32": crc, "x-amz-content-sha256": hashlib.sha256(data).hexdigest()})
        request = AWSRequest(method="PUT", url=url, headers=sent, data=data)
        SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
        return http("PUT", url, data, dict(request.headers))
    sent.update({"x-amz-trailer": "x-amz-checksum-crc32", "Content-Encoding": "aws-chunked",
                 "x-amz-decoded-content-length": str(len(data)),
                 "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"})
    request = AWSRequest(method="PUT", url=url, headers=sent, data=b"")
    Streaming(credentials, "s3", "us-east-1").add_auth(request)
    stamp = request.context["timestamp"]
    scope = f"{stamp[:8]}/us-east-1/s3/aws4_request"
    signing_key = ("AWS4" + key[1]).encode()
    for part in (stamp[:8], "us-east-1", "s3", "aws4_request"):
        signing_key = _hmac(signing_key, part).digest()
    previous = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    empty = hashlib.sha256(b"").hexdigest()
    body = b""
    for piece in [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]:
        to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", stamp, scope, previous, empty,
                             hashlib.sha256(piece).hexdigest()])
        previous = _hmac(signing_key, to_sign).hexdigest()
        body += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece + (b"\r\n" if piece else b"")
    trailer = f"x-amz-checksum-crc32:{crc}\r\n".encode()
    to_sign = "\n".join(["AWS4-HMAC-SHA256-TRAILER", stamp, scope, previous, hashlib.sha256(trailer).hexdigest()])
    body += trailer + f"x-amz-trailer-signature:{_hmac(signing_key, to_sign).hexdigest()}\r\n\r\n".encode()
    return http("PUT", url, body, dict(request.headers))


def form_urlencode(text):
    """What `Url::query_pairs_mut().append_pair` writes (the url crate's form_urlencoded
    byte_serialize): `A-Za-z0-9*-._` kept, a space as `+`, every other byte `%XY`."""
    return "".join(chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "*-._") else
                   "+" if b == 0x20 else f"%{b:02X}" for b in text.encode())


def signing_key(secret, scope):
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = _hmac(key, part).digest()
    return key


def rust_presign(endpoint, key, purpose, when=None, token=None, region="us-east-1"):
    """A proof as src/aws/identity.rs `prove` makes it with aws-sigv4 1.6.4
    (src/http_request/canonical_request.rs `CanonicalRequest::from`, `params`; sign.rs
    `calculate_signing_params`): `GET {endpoint}/?Action=GetCallerIdentity&Version=2011-06-15`,
    SignatureLocation::QueryParams, expires_in 900 s, headers `host` (with the port unless it is
    the scheme's default) and `x-standin-purpose`, SignableBody::Bytes(&[]). The canonical query
    string: the URL's parameters (form-decoded) plus X-Amz-Date, X-Amz-Expires, X-Amz-Algorithm,
    X-Amz-Credential, X-Amz-SignedHeaders (`host;x-standin-purpose`, sorted) and, with a session
    token, X-Amz-Security-Token (SessionTokenMode::Include), each name and value encoded by
    aws-smithy-http's `fmt_string` (all but `A-Za-z0-9-._~`), sorted; the payload hash that of
    the empty body. The URL then gets X-Amz-Algorithm, -Credential, -Date, -Expires,
    -SignedHeaders, -Signature (and -Security-Token) in that order, appended as form pairs."""
    when = (when or NOW()).astimezone(datetime.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/{region}/sts/aws4_request"
    host = urllib.parse.urlsplit(endpoint).netloc
    signed = "host;x-standin-purpose"
    auth = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", f"{key[0]}/{scope}"),
            ("X-Amz-Date", amz_date), ("X-Amz-Expires", "900"), ("X-Amz-SignedHeaders", signed)]
    tail = [("X-Amz-Security-Token", token)] if token else []
    encode = lambda s: urllib.parse.quote(s, safe="-._~")  # noqa: E731
    query = "&".join(f"{k}={v}" for k, v in sorted(
        (encode(k), encode(v)) for k, v in [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")] + auth + tail))
    creq = "\n".join(["GET", "/", query, f"host:{host}\nx-standin-purpose:{purpose}\n", signed,
                      hashlib.sha256(b"").hexdigest()])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    signature = _hmac(signing_key(key[1], scope), to_sign).hexdigest()
    return f"{endpoint}/?Action=GetCallerIdentity&Version=2011-06-15" + "".join(
        f"&{form_urlencode(k)}={form_urlencode(v)}" for k, v in auth + [("X-Amz-Signature", signature)] + tail)


def with_param(url, name, value):
    """`url` with query parameter `name` set to `value` (already encoded), in place."""
    return re.sub(rf"([?&]{name}=)[^&]*", lambda m: m.group(1) + value, url)


class Emulated(unittest.TestCase):
    """One emulator (no seed) per class; no test may leave an oracle violation."""

    @classmethod
    def setUpClass(cls):
        cls.emulator, ready = start_emulator("none")
        cls.endpoint = ready[1]
        cls.policies = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        stop_emulator(cls.emulator)
        cls.policies.cleanup()

    def tearDown(self):
        with urllib.request.urlopen(f"{self.endpoint}/__oracle/violations") as answer:
            self.assertEqual(json.load(answer), [])

    @classmethod
    def user(cls, name, *actions):
        """An IAM user allowed `actions` on everything; its (key, secret)."""
        path = os.path.join(cls.policies.name, f"{name}.json")
        with open(path, "w") as f:
            json.dump({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}, f)
        return tuple(control(cls.endpoint, "iam-user", name, path))

    def client(self, service, key=TESTING, **config):
        return boto3.session.Session().client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                                              aws_access_key_id=key[0], aws_secret_access_key=key[1],
                                              config=NO_RETRY.merge(Config(**config)))

    def assertError(self, call, status, code):
        with self.assertRaises(ClientError) as caught:
            call()
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)
        self.assertEqual(caught.exception.response["Error"]["Code"], code)
        return caught.exception.response["Error"]

    def assertAbout(self, when, expected, slack=datetime.timedelta(minutes=2)):
        self.assertLess(abs(when - expected), slack, f"{when} is not about {expected}")


class ObjectLock(Emulated):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s3 = boto3.client("s3", endpoint_url=cls.endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing", config=NO_RETRY)
        s3.create_bucket(Bucket="evidence", ObjectLockEnabledForBucket=True)
        s3.create_bucket(Bucket="plain")
        cls.no_bypass = cls.user("auditor", "s3:*Object*")  # s3:BypassGovernanceRetention is no object action
        cls.bypasser = cls.user("custodian", "s3:*Object*", "s3:BypassGovernanceRetention")

    def setUp(self):
        self.s3 = self.client("s3")

    def put_locked(self, key, mode, until, bucket="evidence"):
        return self.s3.put_object(Bucket=bucket, Key=key, Body=b"evidence", ObjectLockMode=mode,
                                  ObjectLockRetainUntilDate=until)["VersionId"]

    def test_object_lock_is_enabled_at_creation_and_read_back(self):
        config = self.s3.get_object_lock_configuration(Bucket="evidence")["ObjectLockConfiguration"]
        self.assertEqual(config, {"ObjectLockEnabled": "Enabled"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket="evidence")["Status"], "Enabled")
        error = self.assertError(lambda: self.s3.get_object_lock_configuration(Bucket="plain"), 404,
                                 "ObjectLockConfigurationNotFoundError")
        self.assertEqual(error["Message"], "Object Lock configuration does not exist for this bucket")

    def test_a_put_with_lock_headers_keeps_them(self):
        until = (NOW() + 2 * DAY).replace(microsecond=0)
        version = self.put_locked("ev/kept.json", "COMPLIANCE", until)
        head = self.s3.head_object(Bucket="evidence", Key="ev/kept.json")
        self.assertEqual((head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]), ("COMPLIANCE", until))
        retention = self.s3.get_object_retention(Bucket="evidence", Key="ev/kept.json", VersionId=version)["Retention"]
        self.assertEqual(retention, {"Mode": "COMPLIANCE", "RetainUntilDate": until})
        got = self.s3.get_object(Bucket="evidence", Key="ev/kept.json")
        self.assertEqual((got["ObjectLockMode"], got["Body"].read()), ("COMPLIANCE", b"evidence"))

    def test_lock_headers_on_a_bucket_without_object_lock_are_refused(self):
        error = self.assertError(lambda: self.put_locked("ev/x", "GOVERNANCE", NOW() + DAY, bucket="plain"),
                                 400, "InvalidRequest")
        self.assertEqual(error["Message"], "Bucket is missing ObjectLockConfiguration")
        self.assertError(lambda: self.s3.head_object(Bucket="plain", Key="ev/x"), 404, "404")
        self.s3.put_object(Bucket="plain", Key="ev/y", Body=b"y")
        for call in (lambda: self.s3.get_object_retention(Bucket="plain", Key="ev/y"),
                     lambda: self.s3.put_object_retention(Bucket="plain", Key="ev/y", Retention={
                         "Mode": "GOVERNANCE", "RetainUntilDate": NOW() + DAY})):
            error = self.assertError(call, 400, "InvalidRequest")
            self.assertEqual(error["Message"], "Bucket is missing Object Lock Configuration")

    def test_mode_and_date_come_together_and_the_date_in_the_future(self):
        bad = [{"ObjectLockMode": "GOVERNANCE"}, {"ObjectLockRetainUntilDate": NOW() + DAY},
               {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": NOW() - DAY}]
        for headers in bad:
            with self.subTest(headers):
                self.assertError(lambda: self.s3.put_object(Bucket="evidence", Key="ev/bad", Body=b"x", **headers),
                                 400, "InvalidArgument")
        self.assertError(lambda: self.s3.head_object(Bucket="evidence", Key="ev/bad"), 404, "404")

    def test_lock_parameters_need_content_md5_or_a_checksum(self):
        bare = self.client("s3", request_checksum_calculation="when_required")  # sends no checksum
        until = NOW() + DAY
        error = self.assertError(lambda: bare.put_object(Bucket="evidence", Key="ev/bare", Body=b"x",
                                                         ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until),
                                 400, "InvalidRequest")
        self.assertEqual(error["Message"], "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object "
                                           "requests with Object Lock parameters")
        md5 = b64(hashlib.md5(b"x").digest())
        bare.put_object(Bucket="evidence", Key="ev/md5", Body=b"x", ContentMD5=md5, ObjectLockMode="GOVERNANCE",
                        ObjectLockRetainUntilDate=until)
        # A value header alone, as AWS's message allows; its algorithm is the object's.
        sha = b64(hashlib.sha256(b"x").digest())
        bare.put_object(Bucket="evidence", Key="ev/sha", Body=b"x", ChecksumSHA256=sha, ObjectLockMode="GOVERNANCE",
                        ObjectLockRetainUntilDate=until)
        head = self.s3.head_object(Bucket="evidence", Key="ev/sha", ChecksumMode="ENABLED")
        self.assertEqual((head["ObjectLockMode"], head["ChecksumSHA256"]), ("GOVERNANCE", sha))

    def test_a_put_as_the_rust_sdk_sends_it_in_memory_and_streaming(self):
        until = (NOW() + DAY).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lock = {"x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": until}
        data = os.urandom(150_000)  # three chunks of 64 KiB
        for streaming in (False, True):
            with self.subTest(streaming=streaming):
                key = f"ev/rust-{streaming}.bin"
                status, headers, body = rust_put(self.endpoint, f"/evidence/{key}", data, lock, streaming=streaming)
                self.assertEqual(status, 200, body)
                self.assertEqual(headers["x-amz-checksum-crc32"], crc32(data))
                got = self.s3.get_object(Bucket="evidence", Key=key, ChecksumMode="ENABLED")
                self.assertEqual(got["Body"].read(), data)
                self.assertEqual((got["ChecksumCRC32"], got["ObjectLockMode"], got["ContentLength"]),
                                 (crc32(data), "COMPLIANCE", len(data)))
                self.assertNotIn("ContentEncoding", got)  # aws-chunked is the transfer's, not the object's

    def test_a_body_that_does_not_match_its_checksum_is_refused(self):
        data = b"evidence that flipped a bit on the way"
        for streaming in (False, True):
            with self.subTest(streaming=streaming):
                key = f"ev/flipped-{streaming}"
                status, _, body = rust_put(self.endpoint, f"/evidence/{key}", data, streaming=streaming,
                                           crc=crc32(data + b"!"))
                self.assertEqual((status, error_code(body)), (400, "BadDigest"))
                self.assertIn(b"The CRC32 you specified did not match the calculated checksum.", body)
                self.assertError(lambda: self.s3.head_object(Bucket="evidence", Key=key), 404, "404")
        bare = self.client("s3", request_checksum_calculation="when_required")
        self.assertError(lambda: bare.put_object(Bucket="evidence", Key="ev/md5-bad", Body=data,
                                                 ContentMD5=b64(hashlib.md5(b"other").digest())), 400, "BadDigest")

    def test_a_default_retention_applies_to_new_versions_only(self):
        bucket = "evidence-default"
        self.s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        self.s3.put_object(Bucket=bucket, Key="before", Body=b"x")
        # An existing bucket with objects takes a configuration (moto wanted it empty).
        self.s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 3}}})
        rule = self.s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["Rule"]
        self.assertEqual(rule, {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 3}})
        self.s3.put_object(Bucket=bucket, Key="after", Body=b"x")
        head = self.s3.head_object(Bucket=bucket, Key="after")
        self.assertEqual(head["ObjectLockMode"], "GOVERNANCE")
        self.assertAbout(head["ObjectLockRetainUntilDate"], NOW() + 3 * DAY)
        self.assertNotIn("ObjectLockMode", self.s3.head_object(Bucket=bucket, Key="before"))
        # Explicit headers override the default.
        self.put_locked("explicit", "COMPLIANCE", NOW() + DAY, bucket=bucket)
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="explicit")["ObjectLockMode"], "COMPLIANCE")
        self.s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 1}}})
        rule = self.s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["Rule"]
        self.assertEqual(rule, {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 1}})
        self.s3.put_object(Bucket=bucket, Key="a-year", Body=b"x")
        head = self.s3.head_object(Bucket=bucket, Key="a-year")
        self.assertEqual(head["ObjectLockMode"], "COMPLIANCE")
        self.assertAbout(head["ObjectLockRetainUntilDate"], NOW() + 365 * DAY)
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="after")["ObjectLockMode"], "GOVERNANCE")
        # A default retention makes every upload need an integrity header.
        bare = self.client("s3", request_checksum_calculation="when_required")
        self.assertError(lambda: bare.put_object(Bucket=bucket, Key="bare", Body=b"x"), 400, "InvalidRequest")

    def test_a_default_retention_needs_a_mode_and_one_period(self):
        bucket = "evidence-rules"
        self.s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        for retention in ({"Mode": "GOVERNANCE"}, {"Mode": "GOVERNANCE", "Days": 1, "Years": 1}):
            with self.subTest(retention):
                self.assertError(lambda: self.s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
                    "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": retention}}), 400, "MalformedXML")
        self.assertNotIn("Rule", self.s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"])

    def test_object_lock_on_an_existing_bucket_needs_versioning(self):
        self.s3.create_bucket(Bucket="later-locked")
        enable = {"ObjectLockEnabled": "Enabled"}
        error = self.assertError(lambda: self.s3.put_object_lock_configuration(
            Bucket="later-locked", ObjectLockConfiguration=enable), 400, "InvalidBucketState")
        self.assertEqual(error["Message"], "Versioning must be 'Enabled' on the bucket to apply a Object Lock "
                                           "configuration")
        self.s3.put_bucket_versioning(Bucket="later-locked", VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_object(Bucket="later-locked", Key="old", Body=b"x")
        self.s3.put_object_lock_configuration(Bucket="later-locked", ObjectLockConfiguration=enable)
        self.put_locked("new", "GOVERNANCE", NOW() + DAY, bucket="later-locked")

    def test_compliance_can_be_extended_never_shortened_changed_or_removed(self):
        until = NOW() + 2 * DAY
        version = self.put_locked("ev/compliance", "COMPLIANCE", until)

        def retain(retention, **kwargs):
            return self.s3.put_object_retention(Bucket="evidence", Key="ev/compliance", VersionId=version,
                                                Retention=retention, **kwargs)

        for retention in ({"Mode": "COMPLIANCE", "RetainUntilDate": until - DAY},
                          {"Mode": "GOVERNANCE", "RetainUntilDate": until + DAY}, {}):
            for bypass in (False, True):
                with self.subTest(retention=retention, bypass=bypass):
                    error = self.assertError(lambda: retain(retention, BypassGovernanceRetention=bypass), 403,
                                             "AccessDenied")
                    self.assertEqual(error["Message"], "Access Denied because object protected by object lock.")
        retain({"Mode": "COMPLIANCE", "RetainUntilDate": until + DAY})
        got = self.s3.get_object_retention(Bucket="evidence", Key="ev/compliance", VersionId=version)["Retention"]
        self.assertEqual(got["Mode"], "COMPLIANCE")
        self.assertAbout(got["RetainUntilDate"], until + DAY, slack=datetime.timedelta(seconds=1))

    def test_governance_is_shortened_or_removed_only_with_the_bypass_and_its_permission(self):
        until = NOW() + 2 * DAY
        version = self.put_locked("ev/governance", "GOVERNANCE", until)
        shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": until - DAY}
        auditor, custodian = self.client("s3", self.no_bypass), self.client("s3", self.bypasser)

        def retain(s3, retention, **kwargs):
            return s3.put_object_retention(Bucket="evidence", Key="ev/governance", VersionId=version,
                                           Retention=retention, **kwargs)

        self.assertError(lambda: retain(self.s3, shorter), 403, "AccessDenied")
        self.assertError(lambda: retain(auditor, shorter, BypassGovernanceRetention=True), 403, "AccessDenied")
        retain(auditor, {"Mode": "GOVERNANCE", "RetainUntilDate": until + DAY})  # anyone may extend
        retain(custodian, shorter, BypassGovernanceRetention=True)
        self.assertAbout(self.s3.head_object(Bucket="evidence", Key="ev/governance")["ObjectLockRetainUntilDate"],
                         until - DAY, slack=datetime.timedelta(seconds=1))
        self.assertError(lambda: retain(auditor, {}), 403, "AccessDenied")
        retain(custodian, {}, BypassGovernanceRetention=True)
        self.assertError(lambda: self.s3.get_object_retention(Bucket="evidence", Key="ev/governance"), 404,
                         "NoSuchObjectLockConfiguration")
        # Governance made compliance is a stronger lock: no bypass needed (assumption, docs).
        other = self.put_locked("ev/upgraded", "GOVERNANCE", until)
        self.s3.put_object_retention(Bucket="evidence", Key="ev/upgraded", VersionId=other,
                                     Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until})
        self.assertEqual(self.s3.head_object(Bucket="evidence", Key="ev/upgraded")["ObjectLockMode"], "COMPLIANCE")

    def test_a_locked_version_is_not_deleted(self):
        compliance = self.put_locked("ev/deleted", "COMPLIANCE", NOW() + DAY)
        for bypass in (False, True):
            error = self.assertError(lambda: self.s3.delete_object(
                Bucket="evidence", Key="ev/deleted", VersionId=compliance, BypassGovernanceRetention=bypass),
                403, "AccessDenied")
            self.assertEqual(error["Message"], "Access Denied because object protected by object lock.")
        # Without a version, a delete marker: the locked version stays.
        self.assertTrue(self.s3.delete_object(Bucket="evidence", Key="ev/deleted")["DeleteMarker"])
        self.assertEqual(self.s3.head_object(Bucket="evidence", Key="ev/deleted", VersionId=compliance)
                         ["ObjectLockMode"], "COMPLIANCE")

        governance = self.put_locked("ev/governed", "GOVERNANCE", NOW() + DAY)
        auditor, custodian = self.client("s3", self.no_bypass), self.client("s3", self.bypasser)
        delete = dict(Bucket="evidence", Key="ev/governed", VersionId=governance)
        self.assertError(lambda: self.s3.delete_object(**delete), 403, "AccessDenied")
        self.assertError(lambda: auditor.delete_object(**delete, BypassGovernanceRetention=True), 403, "AccessDenied")
        # `x-amz-bypass-governance-retention: false` is no bypass (moto took any value).
        no = self.client("s3")
        no.meta.events.register("before-sign.s3.DeleteObject", lambda request, **_: request.headers.__setitem__(
            "x-amz-bypass-governance-retention", "false"))
        self.assertError(lambda: no.delete_object(**delete), 403, "AccessDenied")
        custodian.delete_object(**delete, BypassGovernanceRetention=True)
        self.assertError(lambda: self.s3.head_object(**delete), 404, "404")

    def test_a_retention_that_ran_out_protects_nothing(self):
        version = self.put_locked("ev/short", "COMPLIANCE", NOW() + datetime.timedelta(seconds=2))
        self.assertError(lambda: self.s3.delete_object(Bucket="evidence", Key="ev/short", VersionId=version),
                         403, "AccessDenied")
        time.sleep(2.5)
        self.s3.delete_object(Bucket="evidence", Key="ev/short", VersionId=version)


class ProvingWhoApproves(Emulated):
    """GetCallerIdentity as the approver's proof: header-signed, replayed, presigned; a presigned
    one's signature verified as AWS verifies it."""

    PURPOSE = "run-20250101-0930-ab12/approve"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = cls.user("alice", "s3:GetObject")
        cls.bob = cls.user("bob", "s3:GetObject")
        cls.host = urllib.parse.urlsplit(cls.endpoint).netloc

    def arn(self, status, body):
        self.assertEqual(status, 200, body)
        return ET.fromstring(body).find(f"{STS_NS}GetCallerIdentityResult/{STS_NS}Arn").text

    def refused(self, status, body):
        """(status, code) of an STS error answer."""
        return status, error_code(body)

    def presign(self, key, headers=None, when=None, expires=900, region="us-east-1", endpoint=None, token=None):
        """A presigned GetCallerIdentity URL, signing `headers` too, dated `when` (now)."""
        request = AWSRequest(method="GET", headers=headers or {},
                             url=f"{endpoint or self.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15")
        when = (when or NOW()).astimezone(datetime.timezone.utc).replace(tzinfo=None)
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            SigV4QueryAuth(Credentials(*key, token), "sts", region, expires=expires).add_auth(request)
        return request.prepare().url

    def signed_post(self, key, headers=None, when=None):
        """A header-signed POST GetCallerIdentity as Vault's AWS auth has the client make it:
        (url, body, headers) for another party to replay."""
        body = b"Action=GetCallerIdentity&Version=2011-06-15"
        request = AWSRequest(method="POST", url=f"{self.endpoint}/", data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", **(headers or {})})
        when = (when or NOW()).astimezone(datetime.timezone.utc).replace(tzinfo=None)
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            SigV4Auth(Credentials(*key), "sts", "us-east-1").add_auth(request)
        return request.url, body, dict(request.headers)

    def test_each_user_s_keys_answer_that_user(self):
        for name, key in (("alice", self.alice), ("bob", self.bob)):
            identity = self.client("sts", key).get_caller_identity()
            self.assertEqual(identity["Arn"], f"arn:aws:iam::123456789012:user/{name}")
            self.assertEqual(identity["Account"], "123456789012")

    def test_a_presigned_request_names_the_user_of_its_key(self):
        for name, key in (("alice", self.alice), ("bob", self.bob)):
            with self.subTest(name):
                url = self.client("sts", key).generate_presigned_url("get_caller_identity", ExpiresIn=900,
                                                                     HttpMethod="GET")
                self.assertIn(f"X-Amz-Credential={key[0]}%2F", url)
                self.assertEqual(self.arn(*http("GET", url)[::2]), f"arn:aws:iam::123456789012:user/{name}")
                # The runner executes it with the header the approver signed.
                url = self.presign(key, {"x-standin-purpose": self.PURPOSE})
                self.assertIn("X-Amz-SignedHeaders=host%3Bx-standin-purpose", url)
                status, _, body = http("GET", url, headers={"x-standin-purpose": self.PURPOSE})
                self.assertEqual(self.arn(status, body), f"arn:aws:iam::123456789012:user/{name}")
                # ... signed in another region: the scope names it.
                status, _, body = http("GET", self.presign(key, region="eu-west-1"))
                self.assertEqual(self.arn(status, body), f"arn:aws:iam::123456789012:user/{name}")

    def test_the_method_is_signed(self):
        # Without HttpMethod botocore presigns STS's own method, POST: sent as GET it cannot match.
        url = self.client("sts", self.alice).generate_presigned_url("get_caller_identity", ExpiresIn=900)
        self.assertEqual(self.refused(*http("GET", url)[::2]), (403, "SignatureDoesNotMatch"))
        self.assertEqual(self.arn(*http("POST", url)[::2]), "arn:aws:iam::123456789012:user/alice")

    def test_a_proof_made_as_aws_sigv4_makes_it_verifies(self):
        url = rust_presign(self.endpoint, self.alice, self.PURPOSE)
        self.assertIn("&X-Amz-Credential=" + self.alice[0] + "%2F", url)
        self.assertIn("&X-Amz-SignedHeaders=host%3Bx-standin-purpose&X-Amz-Signature=", url)
        status, _, body = http("GET", url, headers={"x-standin-purpose": self.PURPOSE})
        self.assertEqual(self.arn(status, body), "arn:aws:iam::123456789012:user/alice")
        # The key the Rust tests use answers moto's default caller.
        status, _, body = http("GET", rust_presign(self.endpoint, TESTING, self.PURPOSE),
                               headers={"x-standin-purpose": self.PURPOSE})
        self.assertEqual(self.arn(status, body), "arn:aws:sts::123456789012:user/moto")
        # ... and the same proof's purpose, changed, or sent without it, is refused.
        for sent in ({"x-standin-purpose": "run-20250101-0930-ab12/deploy"}, {}):
            self.assertEqual(self.refused(*http("GET", url, headers=sent)[::2]), (403, "SignatureDoesNotMatch"))

    def test_through_the_recording_proxy_the_host_signed_is_the_host_received(self):
        server, address, _ = start_proxy(self.endpoint)
        try:
            for url in (rust_presign(address, self.bob, self.PURPOSE),
                        self.presign(self.bob, {"x-standin-purpose": self.PURPOSE}, endpoint=address)):
                status, _, body = http("GET", url, headers={"x-standin-purpose": self.PURPOSE})
                self.assertEqual(self.arn(status, body), "arn:aws:iam::123456789012:user/bob")
            # Signed for the emulator's address, sent to the proxy's: another Host.
            url = rust_presign(self.endpoint, self.bob, self.PURPOSE).replace(self.endpoint, address)
            status, _, body = http("GET", url, headers={"x-standin-purpose": self.PURPOSE})
            self.assertEqual(self.refused(status, body), (403, "SignatureDoesNotMatch"))
        finally:
            server.shutdown()
            server.server_close()

    def test_a_replayed_signed_post_names_its_user(self):
        url, body, headers = self.signed_post(self.bob, {"x-standin-purpose": self.PURPOSE})
        self.assertEqual(self.arn(*http("POST", url, body, headers)[::2]), "arn:aws:iam::123456789012:user/bob")

    def test_the_root_user_s_key_names_root(self):
        root = control(self.endpoint, "root-key")
        self.assertEqual(self.arn(*http("GET", self.presign(root))[::2]), "arn:aws:iam::123456789012:root")
        self.assertEqual(self.arn(*http("GET", rust_presign(self.endpoint, root, self.PURPOSE),
                                        headers={"x-standin-purpose": self.PURPOSE})[::2]),
                         "arn:aws:iam::123456789012:root")

    def test_sts_allows_15_minutes_from_x_amz_date_whatever_x_amz_expires_says(self):
        minute = datetime.timedelta(minutes=1)
        # X-Amz-Expires=60 signed 14 minutes ago: STS ignores X-Amz-Expires.
        status, _, body = http("GET", self.presign(self.alice, when=NOW() - 14 * minute, expires=60))
        self.assertEqual(self.arn(status, body), "arn:aws:iam::123456789012:user/alice")
        status, _, body = http("GET", self.presign(self.alice, when=NOW() - 16 * minute))
        self.assertEqual((status, error_code(body)), (403, "SignatureDoesNotMatch"))
        self.assertIn(b"Signature expired: ", body)
        self.assertIn(b" - 15 min.)", body)
        status, _, body = http("GET", self.presign(self.alice, when=NOW() + 16 * minute))
        self.assertEqual((status, error_code(body)), (403, "SignatureDoesNotMatch"))
        self.assertIn(b"Signature not yet current: ", body)
        url, data, headers = self.signed_post(self.alice, when=NOW() - 16 * minute)
        status, _, body = http("POST", url, data, headers)
        self.assertEqual((status, error_code(body)), (403, "SignatureDoesNotMatch"))

    def test_a_signed_header_the_request_lacks_fails_the_signature(self):
        url = self.presign(self.alice, {"x-standin-purpose": self.PURPOSE})
        status, _, body = http("GET", url)
        self.assertEqual((status, error_code(body)), (403, "SignatureDoesNotMatch"))
        url, data, headers = self.signed_post(self.alice, {"x-standin-purpose": self.PURPOSE})
        del headers["x-standin-purpose"]
        status, _, body = http("POST", url, data, headers)
        self.assertEqual((status, error_code(body)), (403, "SignatureDoesNotMatch"))

    def test_a_forged_or_altered_signature_is_refused(self):
        url = self.presign(self.alice, {"x-standin-purpose": self.PURPOSE})
        sent = {"x-standin-purpose": self.PURPOSE}
        self.assertEqual(self.arn(*http("GET", url, headers=sent)[::2]), "arn:aws:iam::123456789012:user/alice")
        signature = re.search(r"X-Amz-Signature=([0-9a-f]{64})", url).group(1)
        last = "0" if signature[-1] != "0" else "1"
        for forged in (signature[:-1] + last, "0" * 64, ""):
            with self.subTest(forged=forged):
                status, _, body = http("GET", with_param(url, "X-Amz-Signature", forged), headers=sent)
                self.assertEqual(self.refused(status, body), (403, "SignatureDoesNotMatch"))
                self.assertIn(b"The request signature we calculated does not match", body)

    def test_another_purpose_than_signed_is_refused(self):
        url = self.presign(self.alice, {"x-standin-purpose": self.PURPOSE})
        for other in ("run-20250101-0930-ab12/deploy", self.PURPOSE + "x", self.PURPOSE.upper()):
            with self.subTest(other=other):
                status, _, body = http("GET", url, headers={"x-standin-purpose": other})
                self.assertEqual(self.refused(status, body), (403, "SignatureDoesNotMatch"))
        # Values are compared trimmed, inner runs of spaces as one (SigV4's Trimall).
        status, _, body = http("GET", url, headers={"x-standin-purpose": f"  {self.PURPOSE} "})
        self.assertEqual(self.arn(status, body), "arn:aws:iam::123456789012:user/alice")

    def test_another_host_than_signed_is_refused(self):
        port = urllib.parse.urlsplit(self.endpoint).port
        for url in (self.presign(self.alice, {"x-standin-purpose": self.PURPOSE}),
                    rust_presign(self.endpoint, self.alice, self.PURPOSE)):
            for host in (f"localhost:{port}", "127.0.0.1", "sts.us-east-1.amazonaws.com"):
                with self.subTest(host=host):
                    status, _, body = http("GET", url, headers={"x-standin-purpose": self.PURPOSE, "Host": host})
                    self.assertEqual(self.refused(status, body), (403, "SignatureDoesNotMatch"))
        # Signed for another host, sent here.
        url = rust_presign(f"http://localhost:{port}", self.alice, self.PURPOSE).replace(
            f"http://localhost:{port}", self.endpoint)
        status, _, body = http("GET", url, headers={"x-standin-purpose": self.PURPOSE})
        self.assertEqual(self.refused(status, body), (403, "SignatureDoesNotMatch"))

    def test_the_query_is_signed(self):
        url = self.presign(self.alice)
        later = (NOW() + datetime.timedelta(seconds=5)).strftime("%Y%m%dT%H%M%SZ")
        for altered in (with_param(url, "X-Amz-Expires", "901"), with_param(url, "X-Amz-Date", later),
                        url.replace("%2Fus-east-1%2F", "%2Feu-west-1%2F")):
            with self.subTest(altered=altered):
                self.assertEqual(self.refused(*http("GET", altered)[::2]), (403, "SignatureDoesNotMatch"))
        # The same parameters in another order, or encoded otherwise, sign the same (the path,
        # which moto routes on, is only checked by SigV4Vectors).
        base, query = url.split("?", 1)
        shuffled = "&".join(reversed(query.split("&"))).replace("%2F", "%2f")
        self.assertEqual(self.arn(*http("GET", f"{base}?{shuffled}")[::2]), "arn:aws:iam::123456789012:user/alice")

    def test_a_wrong_secret_is_refused(self):
        wrong = (self.alice[0], self.bob[1])
        for url in (self.presign(wrong, {"x-standin-purpose": self.PURPOSE}),
                    rust_presign(self.endpoint, wrong, self.PURPOSE),
                    rust_presign(self.endpoint, ("testing", "not-testing"), self.PURPOSE)):
            status, _, body = http("GET", url, headers={"x-standin-purpose": self.PURPOSE})
            self.assertEqual(self.refused(status, body), (403, "SignatureDoesNotMatch"))

    def test_an_unknown_or_inactive_key_is_refused(self):
        for key in (("unknown-key-id-0001", "unknown-secret"), ("AKIA" + "Z" * 16, "x")):
            status, _, body = http("GET", rust_presign(self.endpoint, key, self.PURPOSE),
                                   headers={"x-standin-purpose": self.PURPOSE})
            self.assertEqual(self.refused(status, body), (403, "InvalidClientTokenId"))
            self.assertIn(b"The security token included in the request is invalid", body)
        carol = self.user("carol", "s3:GetObject")
        url = self.presign(carol)
        self.assertEqual(self.arn(*http("GET", url)[::2]), "arn:aws:iam::123456789012:user/carol")
        iam = self.client("iam")
        iam.update_access_key(UserName="carol", AccessKeyId=carol[0], Status="Inactive")
        self.assertEqual(self.refused(*http("GET", url)[::2]), (403, "InvalidClientTokenId"))
        iam.update_access_key(UserName="carol", AccessKeyId=carol[0], Status="Active")
        self.assertEqual(self.arn(*http("GET", url)[::2]), "arn:aws:iam::123456789012:user/carol")
        iam.delete_access_key(UserName="carol", AccessKeyId=carol[0])
        self.assertEqual(self.refused(*http("GET", url)[::2]), (403, "InvalidClientTokenId"))

    def test_a_role_session_signs_with_its_session_token(self):
        session = self.client("sts").assume_role(RoleArn="arn:aws:iam::123456789012:role/approver",
                                                 RoleSessionName="alice")["Credentials"]
        key = (session["AccessKeyId"], session["SecretAccessKey"])
        token = session["SessionToken"]
        arn = "arn:aws:sts::123456789012:assumed-role/approver/alice"
        url = self.presign(key, {"x-standin-purpose": self.PURPOSE}, token=token)
        self.assertIn("X-Amz-Security-Token=", url)
        status, _, body = http("GET", url, headers={"x-standin-purpose": self.PURPOSE})
        self.assertEqual(self.arn(status, body), arn)
        status, _, body = http("GET", rust_presign(self.endpoint, key, self.PURPOSE, token=token),
                               headers={"x-standin-purpose": self.PURPOSE})
        self.assertEqual(self.arn(status, body), arn)
        # The token is signed: another one, even a valid one of another session, fails.
        other = self.client("sts").assume_role(RoleArn="arn:aws:iam::123456789012:role/approver",
                                               RoleSessionName="bob")["Credentials"]["SessionToken"]
        for url in (rust_presign(self.endpoint, key, self.PURPOSE),
                    rust_presign(self.endpoint, key, self.PURPOSE, token=other),
                    rust_presign(self.endpoint, self.alice, self.PURPOSE, token=token)):
            status, _, body = http("GET", url, headers={"x-standin-purpose": self.PURPOSE})
            self.assertEqual(self.refused(status, body), (403, "InvalidClientTokenId"))
        url = with_param(self.presign(key, token=token), "X-Amz-Security-Token", urllib.parse.quote(other, safe=""))
        self.assertEqual(self.refused(*http("GET", url)[::2]), (403, "InvalidClientTokenId"))

    def test_a_presigned_request_lacking_a_signature_parameter_is_incomplete(self):
        url = self.presign(self.alice)
        for name in ("X-Amz-Algorithm", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"):
            with self.subTest(name):
                cut = re.sub(rf"&{name}=[^&]*", "", url)
                self.assertEqual(self.refused(*http("GET", cut)[::2]), (400, "IncompleteSignature"))
        # Another algorithm, a scope whose date is not X-Amz-Date's, a signature without host.
        for altered in (url.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA512"),
                        re.sub(r"(X-Amz-Credential=[^%]+%2F)\d{8}", r"\g<1>20200101", url)):
            self.assertEqual(self.refused(*http("GET", altered)[::2]), (403, "SignatureDoesNotMatch"))

        class WithoutHost(SigV4QueryAuth):
            def headers_to_sign(self, request):
                headers = super().headers_to_sign(request)
                del headers["host"]
                return headers

        request = AWSRequest(method="GET", url=f"{self.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15",
                             headers={"x-standin-purpose": self.PURPOSE})
        WithoutHost(Credentials(*self.alice), "sts", "us-east-1", expires=900).add_auth(request)
        url = request.prepare().url
        self.assertIn("X-Amz-SignedHeaders=x-standin-purpose&", url)
        status, _, body = http("GET", url, headers={"x-standin-purpose": self.PURPOSE})
        self.assertEqual(self.refused(status, body), (403, "SignatureDoesNotMatch"))


class SessionTokens(unittest.TestCase):
    """In process, with moto's own backends: a role session's key signs until its session ends."""

    def test_an_expired_session_is_refused(self):
        import moto_sts_presigned
        from moto.sts.models import sts_backends
        role = sts_backends["123456789012"]["aws"].assume_role(
            region_name="us-east-1", role_session_name="s", role_arn="arn:aws:iam::123456789012:role/r",
            policy=None, duration=900, external_id=None)
        now = NOW()
        secret, refused = moto_sts_presigned.secret_of(role.access_key_id, role.session_token, now)
        self.assertEqual((secret, refused), (role.secret_access_key, None))
        secret, refused = moto_sts_presigned.secret_of(role.access_key_id, role.session_token,
                                                       now + datetime.timedelta(minutes=16))
        self.assertIsNone(secret)
        self.assertEqual(refused[0], 403)
        self.assertEqual(error_code(refused[2]), "ExpiredToken")



class SigV4Vectors(unittest.TestCase):
    """moto_sts_presigned's canonical request and signature against AWS's SigV4 test suite: the
    query-signed requests of aws-c-auth's `tests/aws-signing-test-suite/v4` as aws-sigv4 1.6.4
    ships them (Apache-2.0): those that normalize the path (all services but S3) and sign the
    session token (STS signs it). Each request, as written there, is read as the server reads
    one: header lines folded, repeated headers joined by commas."""

    @staticmethod
    def parse(raw):
        head, _, body = raw.partition(b"\n\n")
        lines = head.split(b"\n")
        method, rest = lines[0].split(b" ", 1)
        target = rest.rsplit(b" ", 1)[0]  # the path may hold a space (get-space-normalized)
        headers = []
        for line in lines[1:]:
            if line[:1] in (b" ", b"\t") and headers:
                headers[-1] = (headers[-1][0], headers[-1][1] + b" " + line.strip())
            elif line:
                name, _, value = line.partition(b":")
                headers.append((name.decode().lower(), value.strip()))
        path, _, query = target.partition(b"?")
        return method.decode(), path, query, [(k, v.decode()) for k, v in headers], body

    def cases(self):
        """(name, context, files) of each vector: the suite found beside aws-sigv4's source in
        Cargo's registry, else the copy embedded below."""
        found = sorted(glob.glob(os.path.expanduser(
            "~/.cargo/registry/src/*/aws-sigv4-1.6.4/aws-signing-test-suite/v4/*/query-signed-request.txt")))
        for path in found:
            folder = os.path.dirname(path)
            files = {}
            for name in ("context.json", "query-signed-request.txt", "query-canonical-request.txt",
                         "query-signature.txt"):
                with open(os.path.join(folder, name), "rb") as f:
                    files[name] = f.read()
            yield os.path.basename(folder), json.loads(files["context.json"]), files
        yield "get-vanilla-with-session-token (embedded)", EMBEDDED_CONTEXT, EMBEDDED

    def test_canonical_requests_and_signatures_match_aws_s(self):
        import moto_sts_presigned as sigv4
        checked = 0
        for name, context, files in self.cases():
            if not context["normalize"] or context.get("omit_session_token"):
                continue
            with self.subTest(name):
                method, path, query, headers, body = self.parse(files["query-signed-request.txt"])
                params = {k.decode(): v.decode() for k, v in sigv4.query_pairs(query)}
                creq = sigv4.canonical_request(method, path, query, params["X-Amz-SignedHeaders"],
                                               lambda n, h=headers: [v for k, v in h if k == n], body)
                self.assertEqual(creq, files["query-canonical-request.txt"].decode())
                scope = params["X-Amz-Credential"].split("/", 1)[1]
                signature = sigv4.signature(context["credentials"]["secret_access_key"], params["X-Amz-Date"],
                                            scope, creq)
                self.assertEqual(signature, files["query-signature.txt"].decode().strip())
                self.assertEqual(signature, params["X-Amz-Signature"])
                checked += 1
        self.assertGreaterEqual(checked, 1)


# aws-c-auth tests/aws-signing-test-suite/v4/get-vanilla-with-session-token (Apache-2.0).
EMBEDDED_CONTEXT = {"credentials": {"access_key_id": "AKIDEXAMPLE",
                                    "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                    "token": "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"},
                    "normalize": True}
EMBEDDED = {
    "query-signed-request.txt": (
        b"GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice"
        b"%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600"
        b"&X-Amz-Security-Token=6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
        b"&X-Amz-Signature=7ff2b50b376cb4d151970630573d6291dc128cc5c2a12ffb237f73cc53f67b6c HTTP/1.1\n"
        b"Host:example.amazonaws.com\n\n"),
    "query-canonical-request.txt": (
        b"GET\n/\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice"
        b"%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600"
        b"&X-Amz-Security-Token=6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
        b"&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\n"
        b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    "query-signature.txt": b"7ff2b50b376cb4d151970630573d6291dc128cc5c2a12ffb237f73cc53f67b6c\n",
}


if __name__ == "__main__":
    unittest.main(verbosity=2)
