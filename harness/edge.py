"""The emulated world's edge: answers HTTP and HTTPS the way the internet would for the hosts in
the emulated Route 53 zone, so standin's `http.check` gates check real outcomes.

One port serves both: the first byte of a connection says which (0x16 opens a TLS ClientHello),
so callers use one `IP:PORT` for http:// and https:// URLs alike.

For a request with `Host: H`, over plain HTTP or TLS:
- an ALB listener rule with a host-header condition for H and a fixed response (that is what
  `lock-url` with `strategy: alb` creates) or a redirect answers first; only rules of listeners
  of the request's protocol apply (HTTP listeners for plain HTTP, HTTPS listeners for TLS), as
  only those would see the request on AWS;
- otherwise H's record in Route 53 is followed (CNAME, possibly to another record) to an
  Elastic Beanstalk environment CNAME. If the environment is fronted by a load balancer (its tag
  `emulator:load-balancer=ALB-NAME`) whose listener of the request's protocol has a redirect or
  fixed-response default action, that answers (e.g. HTTP -> HTTPS, 301 with Location);
- else a Ready environment with Green/Yellow health answers 200 with
  `served by ENV (APP_ENV=...)`, any other state 503;
- a host with no record answers 404, one pointing elsewhere 502.

TLS: the edge presents what AWS would. Certificates are issued on the fly, per SNI name, by the
emulator's private CA (`ca=` on the READY line). If the name leads (CNAME chain to a tagged
environment, or an alias record to the load balancer's own DNS name) to a load balancer, its
HTTPS listener decides, as an ALB does: among its certificates (the default one, then those
added with AddListenerCertificates) the first whose ACM names cover the name (exactly, or a
`*.` wildcard for one label), else the default one; the certificate issued carries exactly that
ACM certificate's names, so a client checking the host name fails when it is not covered. A
load balancer without an HTTPS listener refuses the handshake. Any other name (no record, no
load balancer) gets a certificate for itself.
"""

import os
import shutil
import socket
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import boto3
from certs import CertificateAuthority

LB_TAG = "emulator:load-balancer"
PEEK_SECONDS = 10  # a connection that says nothing this long is dropped
PASSTHROUGH = ("fixed-response", "redirect")  # listener actions that answer by themselves


def _clients(endpoint):
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    return (boto3.client(s, **kw) for s in ("route53", "elbv2", "elasticbeanstalk", "acm"))


def _fqdn(name):
    return name.lower().rstrip(".") + "."


def _covers(names, host):
    """Whether a certificate for `names` is valid for `host`: exactly, or `*.` for one label."""
    host = host.lower().rstrip(".")
    label, _, parent = host.partition(".")
    for name in (n.lower().rstrip(".") for n in names):
        if name == host or (name.startswith("*.") and label and name[2:] == parent):
            return True
    return False


def _priority(rule):
    p = rule.get("Priority", "default")
    return (p == "default", int(p) if p.isdigit() else 0)


class NoHttpsListener(Exception):
    """The host's load balancer has no HTTPS listener: on AWS, nothing would answer TLS."""


class World:
    def __init__(self, endpoint):
        self.route53, self.elbv2, self.eb, self.acm = _clients(endpoint)

    # --- load balancers -------------------------------------------------------------------

    def listeners(self, lb, protocol):
        listeners = self.elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
        return [listener for listener in listeners if listener.get("Protocol") == protocol]

    def rule_action(self, host, protocol):
        """(action, listener) of a host-header rule for `host` that answers by itself, on a
        listener of `protocol`; else None."""
        for lb in self.elbv2.describe_load_balancers()["LoadBalancers"]:
            for listener in self.listeners(lb, protocol):
                rules = self.elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
                for rule in sorted(rules, key=_priority):
                    hosts = []
                    for c in rule.get("Conditions", []):
                        if c.get("Field") == "host-header":
                            hosts += c.get("Values", []) + c.get("HostHeaderConfig", {}).get("Values", [])
                    actions = [a for a in rule.get("Actions", []) if a.get("Type") in PASSTHROUGH]
                    if host in hosts and actions:
                        return actions[0], listener
        return None

    def load_balancer_of(self, env):
        """The load balancer an environment is fronted by (its `emulator:load-balancer` tag)."""
        tags = self.eb.list_tags_for_resource(ResourceArn=env["EnvironmentArn"]).get("ResourceTags", [])
        name = next((t["Value"] for t in tags if t["Key"] == LB_TAG), None)
        if not name:
            return None
        try:
            return self.elbv2.describe_load_balancers(Names=[name])["LoadBalancers"][0]
        except Exception:  # tagged with a load balancer that does not exist (any more)
            return None

    def load_balancer_named(self, dns_name):
        """The load balancer whose DNS name this is (an alias target may add `dualstack.`)."""
        want = _fqdn(dns_name)
        want = want[len("dualstack."):] if want.startswith("dualstack.") else want
        for lb in self.elbv2.describe_load_balancers()["LoadBalancers"]:
            if _fqdn(lb["DNSName"]) == want:
                return lb
        return None

    # --- DNS --------------------------------------------------------------------------------

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

    def resolve(self, host):
        """Follows `host`'s CNAME chain to an Elastic Beanstalk environment:
        (environment, None), or (None, (status, body)) saying why not."""
        name = host
        for _ in range(5):
            rs = self.record(name)
            if rs is None:
                return None, ((404, f"no DNS record for {host}") if name == host else (502, f"{name} does not resolve"))
            if rs["Type"] != "CNAME":
                return None, (502, f"{host} points at an address outside the emulated world")
            target = rs["ResourceRecords"][0]["Value"]
            env = self.environment(target)
            if env is not None:
                return env, None
            name = target
        return None, (502, f"{host}: CNAME chain too long")

    def front(self, host):
        """The load balancer a client reaching `host` meets: the one its CNAME chain's
        environment is fronted by, or the one an alias record names; else None."""
        name = host
        for _ in range(5):
            rs = self.record(name)
            if rs is None:
                return None
            if "AliasTarget" in rs:
                target = rs["AliasTarget"]["DNSName"]
            elif rs["Type"] == "CNAME":
                target = rs["ResourceRecords"][0]["Value"]
            else:
                return None
            lb = self.load_balancer_named(target)
            if lb is not None:
                return lb
            env = self.environment(target)
            if env is not None:
                return self.load_balancer_of(env)
            name = target
        return None

    # --- TLS --------------------------------------------------------------------------------

    def acm_names(self, arn):
        cert = self.acm.describe_certificate(CertificateArn=arn)["Certificate"]
        return list(dict.fromkeys([cert["DomainName"]] + cert.get("SubjectAlternativeNames", [])))

    def certificate_names(self, host):
        """The names of the certificate a TLS client asking for `host` is shown."""
        lb = self.front(host)
        if lb is None:
            return [host]
        listeners = self.listeners(lb, "HTTPS")
        if not listeners:
            raise NoHttpsListener(lb["LoadBalancerName"])
        listener = sorted(listeners, key=lambda lis: lis["Port"] != 443)[0]  # the one https:// reaches
        arns = [c["CertificateArn"] for c in listener.get("Certificates", [])]  # the default first
        more = self.elbv2.describe_listener_certificates(ListenerArn=listener["ListenerArn"])["Certificates"]
        arns = list(dict.fromkeys(arns + [c["CertificateArn"] for c in more]))
        candidates = [self.acm_names(arn) for arn in arns]
        if not candidates:
            return [host]
        return next((names for names in candidates if _covers(names, host)), candidates[0])

    # --- answers ----------------------------------------------------------------------------

    def answer(self, host, protocol="HTTP", target="/"):
        """(status, body, headers) for `GET target` on `host` over `protocol` (HTTP or HTTPS)."""
        found = self.rule_action(host, protocol)
        if found:
            action, listener = found
            return self.act(action, host, protocol, target, listener["Port"])
        env, error = self.resolve(host)
        if env is None:
            return (*error, {})
        lb = self.load_balancer_of(env)
        if lb is not None:
            for listener in self.listeners(lb, protocol):
                action = sorted(listener.get("DefaultActions", []), key=lambda a: a.get("Order", 0))[:1]
                if action and action[0].get("Type") in PASSTHROUGH:
                    return self.act(action[0], host, protocol, target, listener["Port"])
        return (*self.serve(env), {})

    def act(self, action, host, protocol, target, port):
        """What an ALB answers for a fixed-response or redirect action."""
        if action["Type"] == "fixed-response":
            config = action["FixedResponseConfig"]
            return int(config["StatusCode"]), config.get("MessageBody", ""), {}
        config = action["RedirectConfig"]
        url = urlsplit(target)
        values = {
            "#{protocol}": protocol.lower(),
            "#{host}": host,
            "#{port}": str(port),
            "#{path}": url.path.lstrip("/"),
            "#{query}": url.query,
        }

        def part(key, default):
            text = config.get(key) or default
            for placeholder, value in values.items():
                text = text.replace(placeholder, value)
            return text

        scheme = part("Protocol", "#{protocol}").lower()
        new_port = part("Port", "#{port}")
        shown_port = "" if new_port == {"http": "80", "https": "443"}.get(scheme) else f":{new_port}"
        query = part("Query", "#{query}")
        location = f"{scheme}://{part('Host', '#{host}')}{shown_port}{part('Path', '/#{path}')}" + (f"?{query}" if query else "")
        status = 301 if config.get("StatusCode") == "HTTP_301" else 302
        return status, f"moved to {location}", {"Location": location}

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


class EdgeServer(ThreadingHTTPServer):
    """Plain HTTP and TLS on one port: each connection's first byte says which."""

    daemon_threads = True

    def __init__(self, address, handler, world, ca, default_name):
        super().__init__(address, handler)
        self.world, self.ca = world, ca
        self._contexts = {}
        # Clients that send no SNI (an IP address in the URL) get the edge's own address.
        self.tls = self._context([default_name])
        self.tls.sni_callback = self._sni

    def _context(self, names):
        names = tuple(names)
        if names not in self._contexts:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.ca.issue(names))
            self._contexts[names] = context
        return self._contexts[names]

    def _sni(self, sock, server_name, _context):
        if not server_name:
            return None
        try:
            sock.context = self._context(self.world.certificate_names(server_name.lower()))
        except NoHttpsListener:
            return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
        except Exception:  # the edge must not die on its own failure; the client sees an alert
            return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        return None

    def finish_request(self, request, client_address):
        try:
            request.settimeout(PEEK_SECONDS)
            first = request.recv(1, socket.MSG_PEEK)
            request.settimeout(None)
        except OSError:
            return
        if first != b"\x16":
            return super().finish_request(request, client_address)
        try:
            tls = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client refused the certificate, or the handshake was refused: as on AWS
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            tls.close()

    def server_close(self):
        super().server_close()
        if getattr(self, "owns_ca_dir", False):
            shutil.rmtree(self.ca.directory, ignore_errors=True)


def start_edge(endpoint, host="127.0.0.1", port=0, ca=None):
    """Starts the edge in a thread; returns (server, "HOST:PORT"). `server.ca_path` is the CA
    certificate clients trust; without `ca`, a new CA is made in a temporary directory, removed
    by `server.server_close()`."""
    world = World(endpoint)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            name = (self.headers.get("Host") or "").split(":")[0]
            protocol = "HTTPS" if isinstance(self.connection, ssl.SSLSocket) else "HTTP"
            try:
                status, body, headers = world.answer(name, protocol, self.path)
            except Exception as e:  # the edge must answer, even about its own failure
                status, body, headers = 500, f"edge error: {e}", {}
            data = (body + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    owns = ca is None
    if owns:
        ca = CertificateAuthority(tempfile.mkdtemp(prefix="standin-edge-"))
    server = EdgeServer((host, port), Handler, world, ca, host)
    server.owns_ca_dir = owns
    server.ca_path = os.path.abspath(ca.path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"{host}:{server.server_address[1]}"
