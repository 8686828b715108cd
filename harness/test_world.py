"""Self-test of the emulated world's AWS behaviours: Route 53 names and conflicts, the TLS edge,
Run Command rate controls, Elastic Beanstalk option settings (capacity); boto3 against a freshly
started, seeded emulator with the default (instant) delays, whatever the environment says
(test_delays.py tests the realistic ones).

    harness/.venv/bin/python harness/test_world.py
"""

import http.client
import os
import socket
import ssl
import sys
import time
import unittest

import boto3
from botocore.exceptions import ClientError
from cryptography import x509

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from certs import self_signed  # noqa: E402
from selftest import start_emulator, stop_emulator  # noqa: E402

ZONE = "example.com."


class World(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emulator, cls.ready = start_emulator("incident")
        cls.endpoint = cls.ready[1]
        cls.edge_host, cls.edge_port = cls.ready[2][len("edge="):].split(":")
        cls.ca = cls.ready[3][len("ca="):]
        cls.route53 = cls.client("route53")
        cls.zone = cls.route53.list_hosted_zones()["HostedZones"][0]["Id"]
        cls.elbv2, cls.acm, cls.ec2, cls.ssm = (cls.client(s) for s in ("elbv2", "acm", "ec2", "ssm"))
        cls.alb = cls.elbv2.describe_load_balancers(Names=["shop-staging-alb"])["LoadBalancers"][0]
        listeners = cls.elbv2.describe_listeners(LoadBalancerArn=cls.alb["LoadBalancerArn"])["Listeners"]
        cls.listener = {lis["Protocol"]: lis for lis in listeners}
        cls.instances = {
            tag["Value"]: i["InstanceId"]
            for r in cls.ec2.describe_instances()["Reservations"] for i in r["Instances"]
            for tag in i.get("Tags", []) if tag["Key"] == "Name"
        }

    @classmethod
    def tearDownClass(cls):
        stop_emulator(cls.emulator)

    @classmethod
    def client(cls, service):
        return boto3.client(service, endpoint_url=cls.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    # --- helpers ----------------------------------------------------------------------------

    def change(self, *changes):
        return self.route53.change_resource_record_sets(HostedZoneId=self.zone, ChangeBatch={"Changes": list(changes)})

    def refused(self, *changes):
        """The message of the InvalidChangeBatch the batch is refused with."""
        with self.assertRaises(ClientError) as caught:
            self.change(*changes)
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidChangeBatch")
        return caught.exception.response["Error"]["Message"]

    def record_sets(self, name):
        sets = self.route53.list_resource_record_sets(HostedZoneId=self.zone)["ResourceRecordSets"]
        return [rs for rs in sets if rs["Name"] == name]

    def get(self, host, path="/", tls=False, verify=True):
        """(status, headers, body, certificate SANs) for GET through the edge, as a client
        resolving `host` to the edge would see it (SNI and Host header `host`)."""
        sock = socket.create_connection((self.edge_host, int(self.edge_port)), timeout=10)
        sans = None
        if tls:
            context = ssl.create_default_context(cafile=self.ca)
            if not verify:
                context.check_hostname = False
            sock = context.wrap_socket(sock, server_hostname=host)
            cert = x509.load_der_x509_certificate(sock.getpeercert(binary_form=True))
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
        with sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            response = http.client.HTTPResponse(sock)
            response.begin()
            return response.status, dict(response.getheaders()), response.read().decode().strip(), sans

    def tag(self, name, **tags):
        self.ec2.create_tags(Resources=[self.instances[name]], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        self.addCleanup(self.ec2.delete_tags, Resources=[self.instances[name]], Tags=[{"Key": k} for k in tags])

    def send(self, names, **controls):
        command = self.ssm.send_command(InstanceIds=[self.instances[n] for n in names], DocumentName="AWS-RunShellScript",
                                        Parameters={"commands": ["systemctl restart queue-worker"]}, **controls)
        return command["Command"]["CommandId"]

    def statuses(self, command_id):
        out = self.ssm.list_command_invocations(CommandId=command_id)["CommandInvocations"]
        by_id = {i["InstanceId"]: (i["Status"], i["StatusDetails"]) for i in out}
        return [by_id[self.instances[n]] for n in self.names(out)]

    def names(self, invocations):
        ids = {v: k for k, v in self.instances.items()}
        return [ids[i["InstanceId"]] for i in invocations]

    def dispatched(self, command_id, limit=5):
        """Waits until Run Command has reached the targets (the command is no longer Pending)."""
        start = time.monotonic()
        while self.ssm.list_commands(CommandId=command_id)["Commands"][0]["Status"] == "Pending":
            self.assertLess(time.monotonic() - start, limit, "command never dispatched")
            time.sleep(0.01)
        return command_id

    def wait_done(self, command_id, limit=10):
        start = time.monotonic()
        while time.monotonic() - start < limit:
            command = self.ssm.list_commands(CommandId=command_id)["Commands"][0]
            if command["Status"] not in ("Pending", "InProgress"):
                return command
            time.sleep(0.05)
        self.fail("command did not finish")

    # --- Route 53 ---------------------------------------------------------------------------

    def test_names_stored_as_aws_stores_them(self):
        self.change({"Action": "CREATE", "ResourceRecordSet": {
            "Name": "Shop-Alias.Example.com", "Type": "A",
            "AliasTarget": {"HostedZoneId": "Z35SXDOTRQ7X7K", "EvaluateTargetHealth": False,
                            "DNSName": "Dualstack.Shop-Staging-ALB-1.us-east-1.ELB.amazonaws.com"}}},
            {"Action": "CREATE", "ResourceRecordSet": {
                "Name": "Mixed.Example.com.", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "Foo.Example.NET"}]}})
        [alias] = self.record_sets("shop-alias.example.com.")
        self.assertEqual(alias["AliasTarget"]["DNSName"], "dualstack.shop-staging-alb-1.us-east-1.elb.amazonaws.com.")
        self.assertEqual(alias["AliasTarget"]["HostedZoneId"], "Z35SXDOTRQ7X7K")
        [cname] = self.record_sets("mixed.example.com.")
        self.assertEqual(cname["ResourceRecords"], [{"Value": "Foo.Example.NET"}])  # values as written
        # A DELETE written in another case finds them, as on AWS.
        self.change({"Action": "DELETE", "ResourceRecordSet": {
            "Name": "MIXED.example.com.", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "Foo.Example.NET"}]}},
            {"Action": "DELETE", "ResourceRecordSet": {
                "Name": "shop-alias.example.com", "Type": "A",
                "AliasTarget": {"HostedZoneId": "Z35SXDOTRQ7X7K", "EvaluateTargetHealth": False,
                                "DNSName": "dualstack.shop-staging-alb-1.us-east-1.elb.amazonaws.com."}}})
        self.assertEqual(self.record_sets("mixed.example.com.") + self.record_sets("shop-alias.example.com."), [])

    def test_cname_conflicts(self):
        cname = lambda name, action="CREATE": {"Action": action, "ResourceRecordSet": {  # noqa: E731
            "Name": name, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "elsewhere.example.net"}]}}
        a = lambda name, action="CREATE": {"Action": action, "ResourceRecordSet": {  # noqa: E731
            "Name": name, "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.20"}]}}
        self.assertEqual(self.refused(cname("www.example.com")),
                         "[RRSet of type CNAME with DNS name www.example.com. is not permitted as it conflicts with "
                         "other records with the same DNS name in zone example.com.]")
        txt = {"Action": "UPSERT", "ResourceRecordSet": {
            "Name": "app.example.com", "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": '"v=1"'}]}}
        self.assertEqual(self.refused(txt),
                         "[RRSet of type TXT with DNS name app.example.com. is not permitted because a conflicting "
                         "RRSet of type CNAME with the same DNS name already exists in zone example.com.]")
        self.assertEqual(self.refused(cname("example.com")),
                         "[RRSet of type CNAME with DNS name example.com. is not permitted at apex in zone example.com.]")
        # Every violation of a batch at once; nothing of a refused batch is applied.
        self.assertEqual(self.refused(a("fresh.example.com"), cname("fresh.example.com")),
                         "[RRSet of type A with DNS name fresh.example.com. is not permitted because a conflicting "
                         "RRSet of type CNAME with the same DNS name already exists in zone example.com., "
                         "RRSet of type CNAME with DNS name fresh.example.com. is not permitted as it conflicts with "
                         "other records with the same DNS name in zone example.com.]")
        self.assertEqual(self.record_sets("fresh.example.com."), [])
        # Replacing a CNAME by an A record in one batch is allowed, and back; UPSERT of the same set too.
        self.change(cname("swap.example.com"))
        self.change(cname("swap.example.com", "DELETE"), a("swap.example.com"))
        self.change(a("swap.example.com", "DELETE"), cname("swap.example.com"))
        self.change(cname("swap.example.com", "UPSERT"))
        self.assertEqual([rs["Type"] for rs in self.record_sets("swap.example.com.")], ["CNAME"])
        self.assertEqual(self.refused(cname("swap.example.com")),
                         "[Tried to create resource record set [name='swap.example.com.', type='CNAME'] but it already exists]")

    def test_changes_insync_at_once_by_default(self):
        record = {"Name": "insync.example.com.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.30"}]}
        info = self.change({"Action": "CREATE", "ResourceRecordSet": record})["ChangeInfo"]
        self.addCleanup(self.change, {"Action": "DELETE", "ResourceRecordSet": record})
        self.assertEqual(info["Status"], "INSYNC")
        self.assertEqual(self.route53.get_change(Id=info["Id"])["ChangeInfo"]["Status"], "INSYNC")

    def test_weighted_and_simple_sets_do_not_mix(self):
        def cname(name, **routing):
            return {"Action": "CREATE", "ResourceRecordSet": {
                "Name": name, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "x.example.net"}], **routing}}

        self.assertEqual(self.refused(cname("api.example.com")),
                         "[RRSet with DNS name api.example.com., type CNAME cannot be created as other RRSets exist "
                         "with the same name and type.]")
        self.assertEqual(self.refused(cname("staging.example.com", SetIdentifier="canary", Weight=1)),
                         "[RRSet with DNS name staging.example.com., type CNAME, SetIdentifier canary cannot be "
                         "created as a non-weighted set exists with the same name and type.]")
        blue = self.record_sets("api.example.com.")[0]
        self.assertEqual(blue["SetIdentifier"], "blue")
        self.change({"Action": "UPSERT", "ResourceRecordSet": dict(blue, Weight=50)})
        self.change({"Action": "UPSERT", "ResourceRecordSet": blue})
        self.assertEqual([(rs["SetIdentifier"], rs["Weight"]) for rs in self.record_sets("api.example.com.")],
                         [("blue", 100), ("green", 0)])

    # --- the edge ---------------------------------------------------------------------------

    def test_ready_line(self):
        self.assertEqual(len(self.ready), 4)
        self.assertTrue(self.ready[2].startswith("edge="))
        self.assertTrue(self.ready[3].startswith("ca=") and os.path.isabs(self.ca))
        with open(self.ca, "rb") as f:
            ca = x509.load_pem_x509_certificate(f.read())
        self.assertTrue(ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)

    def test_plain_http_unchanged(self):
        self.assertEqual(self.get("staging.example.com")[::2], (200, "served by shop-staging (APP_ENV=staging)"))
        self.assertEqual(self.get("app.example.com")[::2], (503, "shop-prod is Updating, Red"))
        self.assertEqual(self.get("nothing.example.com")[::2], (404, "no DNS record for nothing.example.com"))
        self.assertEqual(self.get("www.example.com")[0], 502)

    def test_https_presents_the_listener_certificate(self):
        status, _, body, sans = self.get("staging.example.com", tls=True)
        self.assertEqual((status, body, sans), (200, "served by shop-staging (APP_ENV=staging)", ["staging.example.com"]))
        # An alias to the load balancer's own name (any case, `dualstack.`) meets the same listener.
        alias = {"Name": "lb.example.com", "Type": "A", "AliasTarget": {
            "HostedZoneId": "Z35SXDOTRQ7X7K", "EvaluateTargetHealth": False, "DNSName": "DualStack." + self.alb["DNSName"].upper()}}
        self.change({"Action": "CREATE", "ResourceRecordSet": alias})
        self.addCleanup(self.change, {"Action": "DELETE", "ResourceRecordSet": dict(
            alias, Name="lb.example.com.", AliasTarget=dict(alias["AliasTarget"], DNSName=("dualstack." + self.alb["DNSName"]).lower() + "."))})
        self.assertEqual(self.get("lb.example.com", tls=True, verify=False)[3], ["staging.example.com"])

    def test_https_name_not_covered_fails_until_a_certificate_covers_it(self):
        self.change({"Action": "CREATE", "ResourceRecordSet": {
            "Name": "shop.example.com", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "staging.example.com"}]}})
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.get("shop.example.com", tls=True)
        self.assertEqual(self.get("shop.example.com", tls=True, verify=False)[3], ["staging.example.com"])
        cert, key = self_signed(["*.example.com"])
        arn = self.acm.import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]
        https = self.listener["HTTPS"]["ListenerArn"]
        self.elbv2.add_listener_certificates(ListenerArn=https, Certificates=[{"CertificateArn": arn}])
        self.addCleanup(self.elbv2.remove_listener_certificates, ListenerArn=https, Certificates=[{"CertificateArn": arn}])
        status, _, body, sans = self.get("shop.example.com", tls=True)
        self.assertEqual((status, body, sans), (200, "served by shop-staging (APP_ENV=staging)", ["*.example.com"]))
        self.assertEqual(self.get("staging.example.com", tls=True)[3], ["staging.example.com"])  # still the default

    def test_https_without_load_balancer(self):
        self.assertEqual(self.get("app.example.com", tls=True)[::3], (503, ["app.example.com"]))
        self.assertEqual(self.get("nothing.example.com", tls=True)[::3], (404, ["nothing.example.com"]))

    def test_load_balancer_without_https_listener_refuses_tls(self):
        by_az = {s["AvailabilityZone"]: s["SubnetId"] for s in self.ec2.describe_subnets()["Subnets"]}
        subnets = list(by_az.values())[:2]
        lb = self.elbv2.create_load_balancer(Name="plain-alb", Subnets=subnets, Type="application")["LoadBalancers"][0]
        self.addCleanup(self.elbv2.delete_load_balancer, LoadBalancerArn=lb["LoadBalancerArn"])
        self.elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[
            {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200", "ContentType": "text/plain"}}])
        alias = {"Name": "plain.example.com.", "Type": "A", "AliasTarget": {
            "HostedZoneId": "Z35SXDOTRQ7X7K", "EvaluateTargetHealth": False, "DNSName": lb["DNSName"].lower() + "."}}
        self.change({"Action": "CREATE", "ResourceRecordSet": alias})
        self.addCleanup(self.change, {"Action": "DELETE", "ResourceRecordSet": alias})
        with self.assertRaises(ssl.SSLError):
            self.get("plain.example.com", tls=True)

    def test_rules_apply_by_protocol(self):
        def lock(protocol, body):
            rule = self.elbv2.create_rule(
                ListenerArn=self.listener[protocol]["ListenerArn"], Priority=7,
                Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["staging.example.com"]}}],
                Actions=[{"Type": "fixed-response", "FixedResponseConfig": {
                    "StatusCode": "403", "ContentType": "text/plain", "MessageBody": body}}])["Rules"][0]
            self.addCleanup(self.elbv2.delete_rule, RuleArn=rule["RuleArn"])

        lock("HTTP", "locked over http")
        self.assertEqual(self.get("staging.example.com")[::2], (403, "locked over http"))
        self.assertEqual(self.get("staging.example.com", tls=True)[0], 200)
        lock("HTTPS", "locked over https")
        self.assertEqual(self.get("staging.example.com", tls=True)[::2], (403, "locked over https"))

    def test_redirect_default_action(self):
        http_listener = self.listener["HTTP"]
        self.elbv2.modify_listener(ListenerArn=http_listener["ListenerArn"], DefaultActions=[{"Type": "redirect", "RedirectConfig": {
            "Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}])
        self.addCleanup(self.elbv2.modify_listener, ListenerArn=http_listener["ListenerArn"],
                        DefaultActions=http_listener["DefaultActions"])
        status, headers, _, _ = self.get("staging.example.com", "/health?full=1")
        self.assertEqual((status, headers["Location"]), (301, "https://staging.example.com/health?full=1"))
        self.assertEqual(self.get("staging.example.com", tls=True)[0], 200)
        self.assertEqual(self.get("app.example.com")[0], 503)  # not behind that load balancer

    # --- Run Command ------------------------------------------------------------------------

    def test_defaults_shown_and_only_named_instances_run(self):
        command_id = self.dispatched(self.send(["shop-worker-1", "shop-worker-2"]))
        self.assertEqual(self.statuses(command_id), [("InProgress", "InProgress")] * 2)  # 50 at once
        command = self.wait_done(command_id)
        self.assertEqual((command["MaxConcurrency"], command["MaxErrors"], command["Status"], command["StatusDetails"]),
                         ("50", "0", "Success", "Success"))
        self.assertEqual((command["TargetCount"], command["CompletedCount"], command["ErrorCount"]), (2, 2, 0))
        self.assertEqual(self.statuses(command_id), [("Success", "Success")] * 2)
        # Sent to one instance, it runs on that one only.
        one = self.wait_done(self.send(["shop-worker-2"]))["CommandId"]
        self.assertEqual(self.names(self.ssm.list_command_invocations(CommandId=one)["CommandInvocations"]), ["shop-worker-2"])

    def test_waves_of_max_concurrency(self):
        names = ["shop-worker-1", "shop-worker-2", "shop-staging-web"]
        for name in names:
            self.tag(name, **{"emulator:command-seconds": "0.4"})
        command_id = self.dispatched(self.send(names, MaxConcurrency="1"))
        self.assertEqual(self.ssm.list_commands(CommandId=command_id)["Commands"][0]["MaxConcurrency"], "1")
        seen = []
        start = time.monotonic()
        while (command := self.ssm.list_commands(CommandId=command_id)["Commands"][0])["Status"] == "InProgress":
            now = [s for s, _ in self.statuses(command_id)]
            self.assertLessEqual(now.count("InProgress"), 1)
            if not seen or seen[-1] != now:
                seen.append(now)
            time.sleep(0.03)
        self.assertGreaterEqual(time.monotonic() - start, 1.1)
        self.assertEqual(seen[:3], [["InProgress", "Pending", "Pending"], ["Success", "InProgress", "Pending"],
                                    ["Success", "Success", "InProgress"]])
        self.assertEqual(command["Status"], "Success")
        # A percentage of the targets, rounded up: 50% of 3 is 2 at once.
        half = self.dispatched(self.send(names, MaxConcurrency="50%"))
        self.assertEqual([s for s, _ in self.statuses(half)], ["InProgress", "InProgress", "Pending"])

    def test_max_errors_stops_the_rest(self):
        self.tag("shop-worker-1", **{"emulator:command-outcome": "Failed"})
        command_id = self.send(["shop-worker-1", "shop-worker-2"], MaxConcurrency="1")  # MaxErrors 0
        command = self.wait_done(command_id)
        self.assertEqual(self.statuses(command_id), [("Failed", "Failed"), ("Cancelled", "Terminated")])
        self.assertEqual((command["Status"], command["StatusDetails"], command["ErrorCount"], command["CompletedCount"]),
                         ("Failed", "Failed", 1, 2))
        skipped = self.ssm.get_command_invocation(CommandId=command_id, InstanceId=self.instances["shop-worker-2"])
        self.assertEqual((skipped["Status"], skipped["StatusDetails"]), ("Cancelled", "Terminated"))
        # One error allowed: the second instance runs; not all succeeded, not enough failed.
        tolerant = self.send(["shop-worker-1", "shop-worker-2"], MaxConcurrency="1", MaxErrors="1")
        command = self.wait_done(tolerant)
        self.assertEqual(self.statuses(tolerant), [("Failed", "Failed"), ("Success", "Success")])
        self.assertEqual((command["MaxErrors"], command["StatusDetails"]), ("1", "Incomplete"))
        # Running invocations finish even once the limit is passed.
        together = self.send(["shop-worker-1", "shop-worker-2"])
        self.wait_done(together)
        self.assertEqual(self.statuses(together), [("Failed", "Failed"), ("Success", "Success")])

    def test_rate_controls_are_validated(self):
        for controls in ({"MaxConcurrency": "0"}, {"MaxErrors": "abc"}, {"MaxConcurrency": "101%"}):
            with self.subTest(controls=controls), self.assertRaises(ClientError) as caught:
                self.send(["shop-worker-1"], **controls)
            self.assertEqual(caught.exception.response["Error"]["Code"], "ValidationException")


    # --- Elastic Beanstalk option settings ----------------------------------------------------

    def options(self, env, status="deployed"):
        """Every option setting of `env`'s configuration set with this DeploymentStatus, as
        DescribeConfigurationSettings answers (None: no such set)."""
        eb = self.client("elasticbeanstalk")
        settings = eb.describe_configuration_settings(ApplicationName="shop", EnvironmentName=env)
        sets = [c for c in settings["ConfigurationSettings"] if c["DeploymentStatus"] == status]
        return {(o["Namespace"], o["OptionName"]): o.get("Value") for c in sets for o in c["OptionSettings"]} or None

    def wait_ready(self, env):
        eb = self.client("elasticbeanstalk")
        for _ in range(200):
            if eb.describe_environments(EnvironmentNames=[env])["Environments"][0]["Status"] == "Ready":
                return
            time.sleep(0.05)
        self.fail(f"{env} did not become Ready")

    def test_capacity_options_are_set_removed_and_read_even_when_stuck(self):
        eb = self.client("elasticbeanstalk")
        asg, ec2 = "aws:autoscaling:asg", "aws:ec2:instances"
        capacity = lambda o: (o[(asg, "MinSize")], o[(asg, "MaxSize")], o.get((ec2, "InstanceTypes")))  # noqa: E731
        prod, staging = self.options("shop-prod"), self.options("shop-staging")
        self.assertEqual(capacity(prod), ("6", "18", "m5.large"))
        self.assertEqual(capacity(staging), ("2", "6", "t3.large"))
        self.assertEqual(prod[("aws:elasticbeanstalk:application:environment", "APP_ENV")], "production")
        # Production is stuck: read as ever, changed never.
        with self.assertRaises(ClientError) as caught:
            eb.update_environment(EnvironmentName="shop-prod",
                                  OptionSettings=[{"Namespace": asg, "OptionName": "MinSize", "Value": "2"}])
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidParameterValue")
        self.assertEqual(self.options("shop-prod"), prod)
        # One request sets one option and removes another; the others stay as they were.
        eb.update_environment(EnvironmentName="shop-staging",
                              OptionSettings=[{"Namespace": asg, "OptionName": "MinSize", "Value": "4"}],
                              OptionsToRemove=[{"Namespace": ec2, "OptionName": "InstanceTypes"}])
        expected = {**staging, (asg, "MinSize"): "4"}
        del expected[(ec2, "InstanceTypes")]
        # A draft while it deploys; the deployed set once it has.
        self.assertEqual(self.options("shop-staging", "pending"), expected)
        self.wait_ready("shop-staging")
        self.assertEqual(self.options("shop-staging"), expected)
        # Put back, for the other tests (the edge serves staging only when it is Ready).
        eb.update_environment(EnvironmentName="shop-staging",
                              OptionSettings=[{"Namespace": asg, "OptionName": "MinSize", "Value": "2"},
                                              {"Namespace": ec2, "OptionName": "InstanceTypes", "Value": "t3.large"}])
        self.wait_ready("shop-staging")
        self.assertEqual(self.options("shop-staging"), staging)


if __name__ == "__main__":
    unittest.main(verbosity=2)
