"""The emulated world's edge: answers HTTP the way the internet would for the hosts in the
emulated Route 53 zone, so standin's `http.check` gates check real outcomes.

For a request with `Host: H`:
- an ALB listener rule with a host-header condition for H and a fixed response answers first
  (that is what `lock-url` with `strategy: alb` creates);
- otherwise H's record in Route 53 is followed (CNAME, possibly to another record) to an
  Elastic Beanstalk environment CNAME: a Ready environment with Green/Yellow health answers
  200 with `served by ENV (APP_ENV=...)`, any other state 503;
- a host with no record answers 404, one pointing elsewhere 502.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3


def _clients(endpoint):
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    return boto3.client("route53", **kw), boto3.client("elbv2", **kw), boto3.client("elasticbeanstalk", **kw)


def _fqdn(name):
    return name.lower().rstrip(".") + "."


class World:
    def __init__(self, endpoint):
        self.route53, self.elbv2, self.eb = _clients(endpoint)

    def lock_rule(self, host):
        for lb in self.elbv2.describe_load_balancers()["LoadBalancers"]:
            for listener in self.elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
                for rule in self.elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
                    hosts = []
                    for c in rule.get("Conditions", []):
                        if c.get("Field") == "host-header":
                            hosts += c.get("Values", []) + c.get("HostHeaderConfig", {}).get("Values", [])
                    fixed = [a for a in rule.get("Actions", []) if a.get("Type") == "fixed-response"]
                    if host in hosts and fixed:
                        return fixed[0]["FixedResponseConfig"]
        return None

    def record(self, name):
        for zone in self.route53.list_hosted_zones()["HostedZones"]:
            sets = self.route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
            for rs in sets:
                if _fqdn(rs["Name"]) == _fqdn(name) and rs["Type"] in ("CNAME", "A") and "SetIdentifier" not in rs:
                    return rs
        return None

    def environment(self, cname):
        for env in self.eb.describe_environments()["Environments"]:
            if env.get("CNAME") and _fqdn(env["CNAME"]) == _fqdn(cname):
                return env
        return None

    def answer(self, host):
        locked = self.lock_rule(host)
        if locked:
            return int(locked["StatusCode"]), locked.get("MessageBody", "")
        name = host
        for _ in range(5):
            rs = self.record(name)
            if rs is None:
                return (404, f"no DNS record for {host}") if name == host else (502, f"{name} does not resolve")
            if rs["Type"] != "CNAME":
                return 502, f"{host} points at an address outside the emulated world"
            target = rs["ResourceRecords"][0]["Value"]
            env = self.environment(target)
            if env is not None:
                return self.serve(env)
            name = target
        return 502, f"{host}: CNAME chain too long"

    def serve(self, env):
        if env["Status"] != "Ready" or env.get("Health") not in ("Green", "Yellow"):
            return 503, f"{env['EnvironmentName']} is {env['Status']}, {env.get('Health')}"
        settings = self.eb.describe_configuration_settings(
            ApplicationName=env["ApplicationName"], EnvironmentName=env["EnvironmentName"]
        )["ConfigurationSettings"]
        props = {
            o["OptionName"]: o.get("Value", "")
            for c in settings
            for o in c.get("OptionSettings", [])
            if o.get("Namespace") == "aws:elasticbeanstalk:application:environment"
        }
        return 200, f"served by {env['EnvironmentName']} (APP_ENV={props.get('APP_ENV', '')})"


def start_edge(endpoint, host="127.0.0.1", port=0):
    """Starts the edge in a thread; returns (server, "HOST:PORT")."""
    world = World(endpoint)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            name = (self.headers.get("Host") or "").split(":")[0]
            try:
                status, body = world.answer(name)
            except Exception as e:  # the edge must answer, even about its own failure
                status, body = 500, f"edge error: {e}"
            data = (body + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"{host}:{server.server_address[1]}"
