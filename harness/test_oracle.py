"""Self-test of the oracle (oracle.py, oracle_wire.py, oracle_rules.py).

    harness/.venv/bin/python harness/test_oracle.py

- Round trips, no emulator: requests botocore itself serializes (every protocol feature the
  oracle reads: nested lists and maps, flattened lists, empty query lists, headers, header
  maps, URI labels, XML payloads, timestamps) are read back into exactly the parameters given,
  with no violation.
- Java patterns: each translation `java_pattern` makes, and every pattern of the services
  standin and the harness call compiles.
- Against an emulator (seeded): the seed's requests and boto3's requests for the calls standin
  makes pass; a raw bad request of each protocol breaking each rule is answered as AWS answers
  it, listed at /__oracle/violations with its operation, member and rule, and printed on
  stderr, never with a sensitive value.
"""

import contextlib
import datetime
import io
import json
import os
import sys
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import boto3  # noqa: E402
import botocore.session  # noqa: E402
from botocore.awsrequest import create_request_object, prepare_request_dict  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from botocore.serialize import create_serializer  # noqa: E402

import oracle  # noqa: E402
from oracle_rules import compiled, java_pattern  # noqa: E402
from selftest import start_emulator  # noqa: E402

SECRET = "prod-Sup3rSecret-7f3a9c"
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30)
# Every service standin (src/aws) and the harness (seed.py, control.py, edge.py) call.
USED = ["acm", "dynamodb", "ec2", "elasticbeanstalk", "elbv2", "iam", "resourcegroupstaggingapi", "route53",
        "s3", "ssm", "sts"]
WHEN = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)

# (service, operation, params): read back exactly, no violation.
ROUND_TRIPS = [
    ("scheduler", "ListSchedules", {"GroupName": "default", "MaxResults": 100, "NextToken": "t"}),
    ("scheduler", "CreateSchedule", {"Name": "nightly", "GroupName": "jobs", "ScheduleExpression": "rate(1 day)",
                                     "FlexibleTimeWindow": {"Mode": "OFF"}, "ClientToken": "c",
                                     "Target": {"Arn": "arn:aws:sqs:us-east-1:123456789012:prod-jobs",
                                                "RoleArn": "arn:aws:iam::123456789012:role/scheduler"}}),
    ("events", "ListTargetsByRule", {"Rule": "nightly", "EventBusName": "default", "Limit": 100}),
    ("cloudfront", "ListDistributions", {"MaxItems": "100", "Marker": "m"}),
    ("ssm", "PutParameter", {"Name": "/shop/prod/DB_PASSWORD", "Value": SECRET, "Type": "SecureString",
                             "Overwrite": True, "Tier": "Standard"}),
    ("ssm", "SendCommand", {"DocumentName": "AWS-RunShellScript", "Targets": [{"Key": "tag:Role", "Values": ["web"]}],
                            "Parameters": {"commands": ["printenv", "true"]}, "MaxConcurrency": "50%",
                            "MaxErrors": "0", "TimeoutSeconds": 60}),
    ("ssm", "GetParametersByPath", {"Path": "/shop/prod/", "Recursive": True, "WithDecryption": False,
                                    "ParameterFilters": [{"Key": "Type", "Option": "Equals", "Values": ["String"]}]}),
    ("dynamodb", "PutItem", {"TableName": "locks", "Item": {"LockID": {"S": "run"}, "Lease": {"N": "30"},
                                                            "Holder": {"M": {"Host": {"S": "a"},
                                                                             "Tags": {"L": [{"S": "x"}]}}},
                                                            "Blob": {"B": b"\x00\x01"}},
                             "ConditionExpression": "attribute_not_exists(LockID)",
                             "ExpressionAttributeValues": {":now": {"N": "1"}}}),
    ("acm", "ListCertificates", {"CertificateStatuses": ["ISSUED"], "Includes": {"keyTypes": ["RSA_2048", "EC_prime256v1"]},
                                 "MaxItems": 100}),
    ("acm", "ImportCertificate", {"Certificate": b"-----BEGIN CERTIFICATE-----", "PrivateKey": b"key",
                                  "Tags": [{"Key": "Name", "Value": "shop"}]}),
    ("elbv2", "CreateRule", {"ListenerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/a/1/2",
                             "Priority": 10,
                             "Conditions": [{"Field": "host-header", "HostHeaderConfig": {"Values": ["app.example.com"]}}],
                             "Actions": [{"Type": "fixed-response", "FixedResponseConfig": {
                                 "StatusCode": "503", "ContentType": "text/plain", "MessageBody": "locked"}}],
                             "Tags": [{"Key": "standin", "Value": "lock"}]}),
    ("elbv2", "DescribeLoadBalancers", {"Names": []}),
    ("elasticbeanstalk", "UpdateEnvironment", {
        "EnvironmentName": "shop-staging",
        "OptionSettings": [{"Namespace": "aws:elasticbeanstalk:application:environment", "OptionName": "APP_ENV",
                            "Value": "production"}],
        "OptionsToRemove": [{"Namespace": "aws:autoscaling:asg", "OptionName": "MinSize"}]}),
    ("elasticbeanstalk", "DescribeEvents", {"EnvironmentName": "shop-prod", "StartTime": WHEN, "MaxRecords": 10}),
    ("iam", "SimulatePrincipalPolicy", {
        "PolicySourceArn": "arn:aws:iam::123456789012:user/deployer", "ActionNames": ["ssm:GetParameter"],
        "ResourceArns": ["*"],
        "ContextEntries": [{"ContextKeyName": "aws:username", "ContextKeyValues": ["deployer"],
                            "ContextKeyType": "string"}]}),
    ("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::123456789012:role/standin", "RoleSessionName": "standin",
                           "DurationSeconds": 900, "Tags": [{"Key": "who", "Value": "standin"}]}),
    ("sns", "Publish", {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "m",
                        "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}}),
    ("ec2", "RunInstances", {"ImageId": "ami-12345678", "MinCount": 1, "MaxCount": 1, "InstanceType": "t3.small",
                             "TagSpecifications": [{"ResourceType": "instance",
                                                    "Tags": [{"Key": "Name", "Value": "w"}]}]}),
    ("ec2", "DescribeInstances", {"Filters": [{"Name": "tag:Name", "Values": ["a", "b"]}],
                                  "InstanceIds": ["i-1", "i-2"], "MaxResults": 5}),
    ("route53", "ChangeResourceRecordSets", {"HostedZoneId": "Z123", "ChangeBatch": {
        "Comment": "standin",
        "Changes": [
            {"Action": "UPSERT", "ResourceRecordSet": {"Name": "api.example.com.", "Type": "CNAME", "TTL": 60,
                                                       "SetIdentifier": "blue", "Weight": 100,
                                                       "ResourceRecords": [{"Value": "a.example.com"}]}},
            {"Action": "CREATE", "ResourceRecordSet": {"Name": "www.example.com.", "Type": "A", "AliasTarget": {
                "HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": "dualstack.alb.amazonaws.com.",
                "EvaluateTargetHealth": False}}}]}}),
    ("route53", "ListResourceRecordSets", {"HostedZoneId": "Z123", "StartRecordName": "api.example.com.",
                                           "StartRecordType": "CNAME", "MaxItems": "100"}),
    ("route53", "ListHostedZonesByName", {"DNSName": "example.com."}),
    ("route53", "GetChange", {"Id": "C2682N5HXP0BZ4"}),
    ("s3", "PutObject", {"Bucket": "state", "Key": "runs/a b/journal.jsonl", "Body": b"{}\n", "ContentLength": 3,
                         "IfNoneMatch": "*",
                         "Metadata": {"run": "1"}, "ContentType": "application/json"}),
    ("s3", "GetObject", {"Bucket": "state", "Key": "runs/x", "IfModifiedSince": WHEN}),
    ("s3", "ListObjectsV2", {"Bucket": "state", "Prefix": "runs/", "ContinuationToken": "t"}),
    ("s3", "DeleteObject", {"Bucket": "state", "Key": "lock", "IfMatch": '"etag"'}),
    ("s3", "DeleteObjects", {"Bucket": "state", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b"}], "Quiet": True}}),
    ("s3", "PutBucketTagging", {"Bucket": "state", "Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}}),
    ("s3", "CreateBucket", {"Bucket": "state", "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}),
    ("resourcegroupstaggingapi", "GetResources", {"TagFilters": [{"Key": "Role", "Values": ["queue-worker"]}],
                                                  "ResourceTypeFilters": ["ec2:instance"]}),
]


def environ_for(service, operation, params):
    """The WSGI environ of the request botocore writes for `params` (signed as `service`)."""
    session = botocore.session.get_session()
    model = session.get_service_model(service)
    protocol = "json" if "json" in (model.metadata.get("protocols") or []) else model.metadata["protocol"]
    op = model.operation_model(operation)
    request = create_serializer(protocol).serialize_to_request(params, op)
    prepare_request_dict(request, "http://127.0.0.1:1")
    prepared = create_request_object(request).prepare()
    url = urllib.parse.urlsplit(prepared.url)
    body = prepared.body or b""
    body = body.encode() if isinstance(body, str) else body
    signing = model.metadata.get("signingName") or model.metadata["endpointPrefix"]
    environ = {"REQUEST_METHOD": prepared.method, "PATH_INFO": urllib.parse.unquote(url.path),
               "REQUEST_URI": url.path + (f"?{url.query}" if url.query else ""), "QUERY_STRING": url.query,
               "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
               "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{signing}/aws4_request"}
    for key, value in prepared.headers.items():
        name = key.upper().replace("-", "_")
        environ[name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"] = value
    return environ, body


class RoundTrip(unittest.TestCase):
    """What botocore writes, the oracle reads back unchanged and finds nothing wrong with."""

    def test_every_protocol_reads_back_what_botocore_writes(self):
        models = oracle.Models()
        for service, operation, params in ROUND_TRIPS:
            with self.subTest(f"{service} {operation}"):
                environ, body = environ_for(service, operation, params)
                check = oracle.Check(models, environ, body)
                self.assertEqual(check.run(), operation)
                self.assertEqual(check.violations, [])
                self.assertEqual(check.input, params)


class JavaPatterns(unittest.TestCase):
    def assert_matches(self, pattern, good, bad):
        """Both the full translation and the oracle's (ASCII values by the ASCII-only one)."""
        for regex in (java_pattern(pattern), compiled(pattern)):
            for value in good:
                self.assertIsNotNone(regex.fullmatch(value), f"{pattern} should match {value!r}")
            for value in bad:
                self.assertIsNone(regex.fullmatch(value), f"{pattern} should not match {value!r}")

    def test_unicode_categories(self):
        self.assert_matches(r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$", ["Zürich 2 _.:/=+-@", "", "Ab9"],
                            ["a!", "tab\t", "é!", "\u2028!"])
        self.assert_matches(r"^([\p{L}\p{Z}\p{N}\p{P}\p{M}]*)$", ["Hé, llo!"], ["a$"])

    def test_negated_categories_inside_a_class(self):
        self.assert_matches(r"^[\P{C}\r\n\t]{1,250}$", ["line\nnext é"], ["\x00", "\u200b"])

    def test_posix_classes_are_ascii(self):
        self.assert_matches(r"\p{Print}+", ["abc ~"], ["a\tb", "é"])
        self.assert_matches(r"\p{ASCII}+", ["abc\x7f"], ["é"])

    def test_surrogate_pairs_are_code_points(self):
        self.assert_matches(r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\r\n\t]*",
                            ["ok 😀\n"], ["\x01"])

    def test_dash_after_a_class_escape_is_literal(self):
        self.assert_matches(r"^arn:aws[a-z0-9-]*:iam::\d{12}:role\/[\w-\/.@+=,]{1,1017}$",
                            ["arn:aws:iam::123456789012:role/a-b/c"], ["arn:aws:iam::123456789012:role/a b"])

    def test_the_whole_value_must_match_and_word_characters_are_ascii(self):
        # IAM refuses `analysts/some.one@example.com` as a user name (wallix/awless#277).
        self.assert_matches(r"[\w+=,.@-]+", ["deployer", "a+b=c,d.e@f-g"], ["analysts/some.one@example.com", "é"])

    def test_every_pattern_of_the_services_used_compiles(self):
        session = botocore.session.get_session()
        for service in USED:
            model = session.get_service_model(service)
            for name in model.shape_names:
                pattern = model.shape_for(name).metadata.get("pattern")
                if pattern is not None:
                    with self.subTest(f"{service} {name}"):
                        java_pattern(pattern)


def signed(service):
    return f"AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, " \
           "SignedHeaders=host, Signature=00"


def xml_code(data):
    root = ElementTree.fromstring(data)
    return next(e.text for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Code")


class Emulator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.log = tempfile.NamedTemporaryFile(prefix="oracle-emulator-", suffix=".log")
        cls.emulator, line = start_emulator(stderr=cls.log)
        cls.endpoint = line[1]
        cls.seeded = cls.control("GET", "violations")

    @classmethod
    def tearDownClass(cls):
        cls.emulator.terminate()
        cls.emulator.wait()
        cls.emulator.stdout.close()
        cls.log.close()

    @classmethod
    def control(cls, method, what):
        request = urllib.request.Request(f"{cls.endpoint}/__oracle/{what}", method=method)
        with urllib.request.urlopen(request) as answer:
            return json.load(answer)

    def client(self, service):
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1", config=NO_RETRY,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def send(self, service, method="POST", path="/", body=b"", headers=None, query=""):
        """A raw request, SigV4-scoped to `service` (the oracle reads the scope, not the
        signature); (status, body)."""
        url = self.endpoint + path + (f"?{query}" if query else "")
        request = urllib.request.Request(url, data=body if method not in ("GET", "HEAD") else None, method=method)
        if service:
            request.add_header("Authorization", signed(service))
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def json_call(self, target, value, service="ssm", prefix="AmazonSSM"):
        body = value if isinstance(value, bytes) else json.dumps(value).encode()
        return self.send(service, body=body, headers={"X-Amz-Target": f"{prefix}.{target}",
                                                       "Content-Type": "application/x-amz-json-1.1"})

    def form(self, service, params):
        return self.send(service, body=urllib.parse.urlencode(params).encode(),
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})

    def expect(self, answer, status, code, operation, member, rule):
        """The answer is AWS's (status, code), and the oracle lists exactly this violation."""
        got_status, data = answer
        found = self.control("DELETE", "violations")
        text = data.decode("utf-8", "replace")
        got_code = json.loads(data)["__type"] if text.startswith("{") else xml_code(data)
        self.assertEqual((got_status, got_code), (status, code), text)
        self.assertIn((operation, member, rule), [(v["operation"], v["member"], v["rule"]) for v in found], found)
        return found

    def setUp(self):
        self.control("DELETE", "violations")

    def test_the_seeded_world_broke_no_rule(self):
        self.assertEqual(self.seeded, [])

    # ---- good requests: boto3's, for the calls standin makes ----

    def test_boto3_requests_for_the_calls_standin_makes_pass(self):
        ssm, r53, eb, elbv2 = (self.client(s) for s in ("ssm", "route53", "elasticbeanstalk", "elbv2"))
        acm, s3, ddb, iam = (self.client(s) for s in ("acm", "s3", "dynamodb", "iam"))
        sts, ec2 = self.client("sts"), self.client("ec2")
        zone = r53.list_hosted_zones_by_name(DNSName="example.com.")["HostedZones"][0]["Id"]
        calls = [
            lambda: ssm.get_parameter(Name="/shop/prod/DB_PASSWORD", WithDecryption=True),
            lambda: ssm.get_parameters(Names=["/shop/prod/APP_URL", "/shop/prod/DB_HOST"]),
            lambda: ssm.get_parameters_by_path(Path="/shop/staging/", Recursive=True, WithDecryption=False),
            lambda: ssm.get_parameter_history(Name="/shop/prod/DB_HOST", WithDecryption=False),
            lambda: ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Option": "Recursive",
                                                               "Values": ["/shop/"]}], MaxResults=50),
            lambda: ssm.put_parameter(Name="/shop/prod/NEW", Value=SECRET, Type="SecureString", Overwrite=True),
            lambda: ssm.label_parameter_version(Name="/shop/prod/NEW", ParameterVersion=1, Labels=["standin"]),
            lambda: ssm.delete_parameters(Names=["/shop/prod/NEW"]),
            lambda: ssm.list_commands(MaxResults=10),
            lambda: r53.list_hosted_zones(),
            lambda: r53.get_hosted_zone(Id=zone),
            lambda: r53.list_resource_record_sets(HostedZoneId=zone, StartRecordName="api.example.com.",
                                                  StartRecordType="CNAME", MaxItems="10"),
            lambda: r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
                "Action": "UPSERT", "ResourceRecordSet": {"Name": "new.example.com.", "Type": "CNAME", "TTL": 60,
                                                          "ResourceRecords": [{"Value": "a.example.com"}]}}]}),
            lambda: eb.describe_environments(ApplicationName="shop", EnvironmentNames=["shop-prod", "shop-staging"]),
            lambda: eb.describe_configuration_settings(ApplicationName="shop", EnvironmentName="shop-staging"),
            lambda: eb.describe_environment_resources(EnvironmentName="shop-staging"),
            lambda: elbv2.describe_load_balancers(Names=["shop-staging-alb"]),
            lambda: acm.list_certificates(Includes={"keyTypes": ["RSA_2048"]}),
            lambda: s3.create_bucket(Bucket="oracle-state"),
            lambda: s3.put_object(Bucket="oracle-state", Key="runs/a/journal.jsonl", Body=b"{}", IfNoneMatch="*"),
            lambda: s3.get_object(Bucket="oracle-state", Key="runs/a/journal.jsonl"),
            lambda: s3.list_objects_v2(Bucket="oracle-state", Prefix="runs/"),
            lambda: ddb.describe_table(TableName="absent"),
            lambda: iam.get_user(UserName="nobody"),
            lambda: sts.get_caller_identity(),
            lambda: ec2.describe_instances(Filters=[{"Name": "tag:Role", "Values": ["queue-worker"]}]),
            lambda: self.client("events").list_event_buses(Limit=100),
            lambda: self.client("events").list_rules(EventBusName="default", Limit=100),
            lambda: self.client("events").list_api_destinations(Limit=100),
            lambda: self.client("scheduler").list_schedules(MaxResults=100),
            lambda: self.client("cloudfront").list_distributions(MaxItems="100"),
        ]
        for call in calls:
            try:
                call()
            except ClientError:  # moto may refuse (absent table, user); the oracle must not
                pass
        self.assertEqual(self.control("GET", "violations"), [])

    # ---- json ----

    def test_json_required(self):
        self.expect(self.json_call("PutParameter", {"Value": "v", "Type": "String"}),
                    400, "ValidationException", "PutParameter", "Name", "required")

    def test_json_unknown_member(self):
        self.expect(self.json_call("GetParameter", {"Name": "/shop/prod/APP_URL", "Nmae": "x"}),
                    400, "ValidationException", "GetParameter", "Nmae", "unknown")

    def test_json_enum(self):
        self.expect(self.json_call("PutParameter", {"Name": "/x", "Value": "v", "Type": "Secret"}),
                    400, "ValidationException", "PutParameter", "Type", "enum")

    def test_json_string_and_list_length(self):
        self.expect(self.json_call("GetParameter", {"Name": "/" + "a" * 2048}),
                    400, "ValidationException", "GetParameter", "Name", "length")
        self.expect(self.json_call("GetParameters", {"Names": [f"/p{i}" for i in range(11)]}),
                    400, "ValidationException", "GetParameters", "Names", "length")

    def test_json_pattern(self):
        self.expect(self.json_call("DescribeCertificate", {"CertificateArn": "not-an-arn-but-long-enough"},
                                   service="acm", prefix="CertificateManager"),
                    400, "ValidationException", "DescribeCertificate", "CertificateArn", "pattern")

    def test_json_range(self):
        self.expect(self.json_call("DescribeParameters", {"MaxResults": 51}),
                    400, "ValidationException", "DescribeParameters", "MaxResults", "range")

    def test_json_type(self):
        self.expect(self.json_call("GetParameter", {"Name": "/x", "WithDecryption": "yes"}),
                    400, "SerializationException", "GetParameter", "WithDecryption", "type")

    def test_json_nested_map_of_structures(self):
        found = self.expect(self.json_call("PutItem", {"TableName": "t", "Item": {"LockID": {"Z": "x"}}},
                                           service="dynamodb", prefix="DynamoDB_20120810"),
                            400, "ValidationException", "PutItem", "Item{LockID}.Z", "unknown")
        self.assertEqual(found[0]["service"], "dynamodb")

    def test_json_malformed_and_unknown_operation(self):
        self.expect(self.json_call("GetParameter", b"{not json"),
                    400, "SerializationException", "GetParameter", "", "malformed")
        self.expect(self.json_call("StealEverything", {}),
                    400, "UnknownOperationException", "StealEverything", "", "operation")

    def test_a_sensitive_value_is_never_shown(self):
        found = self.expect(self.json_call("PutParameter", {"Name": "/shop/prod/DB_PASSWORD", "Type": "SecureString",
                                                            "Value": [SECRET], "Overwrite": True}),
                            400, "SerializationException", "PutParameter", "Value", "type")
        self.assertEqual(found[0]["value"], "***")
        self.assertNotIn(SECRET, json.dumps(found))
        self.log.flush()
        with open(self.log.name) as f:
            log = f.read()
        self.assertIn("oracle: VIOLATION ssm PutParameter Value [type]", log)
        self.assertNotIn(SECRET, log)

    def test_an_unsigned_request_names_no_service(self):
        self.expect(self.send(None, method="GET", path="/anything"),
                    400, "InvalidInput", "?", "", "service")

    # ---- query ----

    def test_query_required(self):
        self.expect(self.form("elasticloadbalancing", {"Action": "DeleteListener", "Version": "2015-12-01"}),
                    400, "ValidationError", "DeleteListener", "ListenerArn", "required")

    def test_query_unknown_member(self):
        self.expect(self.form("elasticloadbalancing", {"Action": "DescribeLoadBalancers", "Version": "2015-12-01",
                                                       "Names.member.1": "a", "Foo": "1"}),
                    400, "ValidationError", "DescribeLoadBalancers", "Foo", "unknown")

    def test_query_enum(self):
        self.expect(self.form("elasticloadbalancing", {"Action": "ModifyListener", "Version": "2015-12-01",
                                                       "ListenerArn": "arn", "Protocol": "FTP"}),
                    400, "ValidationError", "ModifyListener", "Protocol", "enum")

    def test_query_length_in_a_list(self):
        self.expect(self.form("elasticbeanstalk", {"Action": "DescribeEnvironments", "Version": "2010-12-01",
                                                   "EnvironmentNames.member.1": "shop-prod",
                                                   "EnvironmentNames.member.2": "ab"}),
                    400, "ValidationError", "DescribeEnvironments", "EnvironmentNames.2", "length")

    def test_query_pattern(self):
        self.expect(self.form("iam", {"Action": "GetUser", "Version": "2010-05-08", "UserName": "bad name"}),
                    400, "ValidationError", "GetUser", "UserName", "pattern")

    def test_query_range_and_type(self):
        self.expect(self.form("elasticloadbalancing", {"Action": "DescribeLoadBalancers", "Version": "2015-12-01",
                                                       "PageSize": "401"}),
                    400, "ValidationError", "DescribeLoadBalancers", "PageSize", "range")
        self.expect(self.form("elasticloadbalancing", {"Action": "DescribeLoadBalancers", "Version": "2015-12-01",
                                                       "PageSize": "ten"}),
                    400, "ValidationError", "DescribeLoadBalancers", "PageSize", "type")

    def test_query_elb_and_elbv2_are_told_apart_by_version(self):
        found = self.expect(self.form("elasticloadbalancing", {"Action": "DescribeLoadBalancers",
                                                               "Version": "2012-06-01", "PageSize": "500"}),
                            400, "ValidationError", "DescribeLoadBalancers", "PageSize", "range")
        self.assertEqual(found[0]["service"], "elb")

    def test_query_unknown_operation_and_version(self):
        self.expect(self.form("iam", {"Action": "StealEverything", "Version": "2010-05-08"}),
                    400, "InvalidAction", "StealEverything", "", "operation")
        self.expect(self.form("iam", {"Action": "GetUser", "Version": "1999-01-01"}),
                    400, "InvalidAction", "?", "", "version")

    # ---- ec2 ----

    def test_ec2_rules(self):
        def ec2(params):
            return self.form("ec2", {"Version": "2016-11-15", **params})
        self.expect(ec2({"Action": "RunInstances", "ImageId": "ami-1", "MaxCount": "1"}),
                    400, "MissingParameter", "RunInstances", "MinCount", "required")
        self.expect(ec2({"Action": "DescribeInstances", "InstanceIds.1": "i-1"}),
                    400, "UnknownParameter", "DescribeInstances", "InstanceIds.1", "unknown")
        self.expect(ec2({"Action": "RunInstances", "MinCount": "1", "MaxCount": "1", "InstanceType": "t9.huge"}),
                    400, "InvalidParameterValue", "RunInstances", "InstanceType", "enum")
        self.expect(ec2({"Action": "DescribeInstances", "MaxResults": "many"}),
                    400, "InvalidParameterValue", "DescribeInstances", "MaxResults", "type")

    # ---- rest-xml: Route 53 ----

    def rrset(self, inner):
        body = ('<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest '
                f'xmlns="https://route53.amazonaws.com/doc/2013-04-01/">{inner}</ChangeResourceRecordSetsRequest>')
        return self.send("route53", path="/2013-04-01/hostedzone/Z123/rrset", body=body.encode())

    @staticmethod
    def change(record):
        return (f"<ChangeBatch><Changes><Change><Action>UPSERT</Action><ResourceRecordSet>{record}"
                "</ResourceRecordSet></Change></Changes></ChangeBatch>")

    def test_rest_xml_required(self):
        self.expect(self.rrset(""), 400, "InvalidInput", "ChangeResourceRecordSets", "ChangeBatch", "required")

    def test_rest_xml_unknown_element_and_query_parameter(self):
        self.expect(self.rrset(self.change("<Name>a.example.com.</Name><Type>A</Type><Bogus/>")),
                    400, "InvalidInput", "ChangeResourceRecordSets",
                    "ChangeBatch.Changes.1.ResourceRecordSet.Bogus", "unknown")
        self.expect(self.send("route53", method="GET", path="/2013-04-01/hostedzone", query="foo=1"),
                    400, "InvalidInput", "ListHostedZones", "?foo", "unknown")

    def test_rest_xml_enum(self):
        self.expect(self.rrset(self.change("<Name>a.example.com.</Name><Type>XYZ</Type>")),
                    400, "InvalidInput", "ChangeResourceRecordSets",
                    "ChangeBatch.Changes.1.ResourceRecordSet.Type", "enum")

    def test_rest_xml_length_of_a_uri_label(self):
        self.expect(self.send("route53", method="GET", path="/2013-04-01/hostedzone/" + "Z" * 33),
                    400, "InvalidInput", "GetHostedZone", "Id", "length")

    def test_rest_xml_pattern(self):
        self.expect(self.send("route53", method="GET", path="/2013-04-01/cidrcollection/not-a-uuid/cidrblocks"),
                    400, "InvalidInput", "ListCidrBlocks", "CollectionId", "pattern")

    def test_rest_xml_range_and_type(self):
        self.expect(self.rrset(self.change("<Name>a.example.com.</Name><Type>A</Type><TTL>-1</TTL>")),
                    400, "InvalidInput", "ChangeResourceRecordSets",
                    "ChangeBatch.Changes.1.ResourceRecordSet.TTL", "range")
        self.expect(self.rrset(self.change("<Name>a.example.com.</Name><Type>A</Type><TTL>soon</TTL>")),
                    400, "InvalidInput", "ChangeResourceRecordSets",
                    "ChangeBatch.Changes.1.ResourceRecordSet.TTL", "type")

    def test_the_answer_words_each_violation_as_aws_does(self):
        status, data = self.rrset(self.change("<Name>a.example.com.</Name><Type>A</Type><TTL>-1</TTL>"))
        self.assertEqual(status, 400)
        message = next(e.text for e in ElementTree.fromstring(data).iter() if e.tag.endswith("Message"))
        self.assertEqual(message, "1 validation error detected: Value '-1' at "
                                  "'changeBatch.changes.1.member.resourceRecordSet.tTL' failed to satisfy "
                                  "constraint: Member must have value greater than or equal to 0")

    def test_rest_xml_malformed_body_and_wrong_root(self):
        self.expect(self.send("route53", path="/2013-04-01/hostedzone/Z123/rrset", body=b"<ChangeResource"),
                    400, "InvalidInput", "ChangeResourceRecordSets", "(body)", "malformed")
        self.expect(self.send("route53", path="/2013-04-01/hostedzone/Z123/rrset",
                              body=b"<ChangeResourceRecordSetsRequest><ChangeBatch/></ChangeResourceRecordSetsRequest>"),
                    400, "InvalidInput", "ChangeResourceRecordSets", "(body)", "malformed")

    def test_rest_xml_unknown_route(self):
        self.expect(self.send("route53", method="GET", path="/2013-04-01/nothing"),
                    404, "UnknownOperationException", "?", "", "operation")

    # ---- rest-json: EventBridge Scheduler ----

    def test_rest_json_range_unknown_and_route(self):
        for query, member, rule in (("MaxResults=0", "MaxResults", "range"), ("Bogus=1", "?Bogus", "unknown")):
            status, data = self.send("scheduler", method="GET", path="/schedules", query=query)
            self.assertEqual(status, 400, data)
            found = self.control("DELETE", "violations")
            self.assertIn(("ListSchedules", member, rule), [(v["operation"], v["member"], v["rule"]) for v in found])
        status, data = self.send("scheduler", path="/schedules/nightly", body=b'{"Bogus": 1}',
                                 headers={"Content-Type": "application/json"})
        found = self.control("DELETE", "violations")
        self.assertIn(("CreateSchedule", "Bogus", "unknown"), [(v["operation"], v["member"], v["rule"]) for v in found])
        self.assertEqual(status, 400)
        self.assertIn("message", json.loads(data))

    # ---- rest-xml: S3 ----

    def test_s3_rules(self):
        self.expect(self.send("s3", method="PUT", path="/oracle-bucket", headers={"x-amz-acl": "everyone"}),
                    400, "InvalidArgument", "CreateBucket", "ACL", "enum")
        self.expect(self.send("s3", method="GET", path="/oracle-bucket", query="list-type=2&foo=bar"),
                    400, "InvalidArgument", "ListObjectsV2", "?foo", "unknown")
        self.expect(self.send("s3", method="GET", path="/oracle-bucket/key", query="x-id=PutObject"),
                    400, "InvalidArgument", "GetObject", "?x-id", "unknown")
        self.expect(self.send("s3", method="PATCH", path="/oracle-bucket"),
                    405, "MethodNotAllowed", "?", "", "operation")
        self.expect(self.send("s3", method="POST", path="/oracle-bucket", query="delete", body=b"<Delete"),
                    400, "MalformedXML", "DeleteObjects", "(body)", "malformed")

    def test_s3_x_id_naming_the_operation_passes(self):
        s3 = self.client("s3")
        s3.create_bucket(Bucket="oracle-x-id")
        status, _ = self.send("s3", method="GET", path="/oracle-x-id", query="list-type=2&x-id=ListObjectsV2")
        self.assertEqual(status, 200)
        self.assertEqual(self.control("GET", "violations"), [])

    def test_scripts_that_hide_the_emulators_stderr_print_its_violations(self):
        self.form("elasticloadbalancing", {"Action": "DescribeLoadBalancers", "Version": "2015-12-01",
                                           "PageSize": "401"})
        printed = io.StringIO()
        with contextlib.redirect_stderr(printed):
            oracle.say_violations(self.endpoint)
        self.assertEqual(printed.getvalue(),
                         "oracle: VIOLATION elbv2 DescribeLoadBalancers PageSize [range] Member must have value "
                         "less than or equal to 400 value='401' (POST /)\n")

    def test_stats_count_every_request(self):
        before = self.control("GET", "stats")["requests"]
        self.client("sts").get_caller_identity()
        stats = self.control("GET", "stats")
        self.assertEqual(stats["requests"], before + 1)
        self.assertGreater(stats["operations"]["sts:GetCallerIdentity"], 0)


if __name__ == "__main__":
    unittest.main()
