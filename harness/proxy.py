"""A recording, fault-injecting HTTP proxy between standin and the emulator. It forwards every
request unchanged and counts them by AWS API action (so a benchmark can say how many round trips
a command takes), and injects AWS-shaped faults on the calls a test names.

    python harness/proxy.py UPSTREAM          # prints `READY http://127.0.0.1:PORT`
    GET    /__proxy/counts                    # the counts so far (injected calls included), JSON
    DELETE /__proxy/counts                    # answers the counts so far, then resets them
    POST   /__proxy/faults                    # JSON list of rules: replaces the current ones
    GET    /__proxy/faults                    # the rules, each with `seen` and `injected`
    DELETE /__proxy/faults                    # no faults any more

A rule: {"action": "ssm:PutParameter", "fault": "throttle", "after": 0, "times": 2, "seconds": 5}
- action: what `action_of` returns (`ssm:PutParameter`, `route53 POST /2013-04-01/hostedzone/{id}/rrset`),
  exactly; or `*` (every call); or `SERVICE:*` (every call to that service, REST ones included);
  or a REST action with `*` for one path segment (`s3 PUT /bucket/runs/*/journal.jsonl`).
- after (default 0): the first N matching calls pass untouched; times (default null = forever):
  how many matching calls after those get the fault; later ones pass again. share (default 1):
  the fraction of the calls in that window that get it, spread evenly (0.3: the 4th, 7th, 10th, ... call
  of the window), as a throttled account refuses a share of a burst.
- fault: `throttle` | `error500` | `deny` (an AWS error answer in the request's protocol, not
  forwarded) | `reset` (the request is read, not forwarded, and the connection reset) |
  `slow` (waits `seconds`, default 5, then forwards).
- until (default none): an action; the fault is held until a call of that action has been
  answered (at most 60 s), so a test can order two parallel steps: deny a step's call only
  once its sibling's change has landed.
Every rule whose action matches counts the call in `seen`; the first of them whose window
(`after` <= call index < `after` + `times`) is open injects, and counts it in `injected`.

The error answers, by protocol (X-Amz-Target: JSON; `smithy-protocol: rpc-v2-cbor`: as JSON, in a
CBOR body (Health, to the AWS SDK for Rust); `Action=` in the body: query; else REST):

    fault     JSON (ssm, dynamodb)          query (elasticbeanstalk, elb)  ec2                          route53 (REST-XML)   s3
    throttle  400 ThrottlingException       400 Throttling                 503 RequestLimitExceeded     400 Throttling       503 SlowDown
    error500  500 InternalFailure           500 InternalFailure            500 InternalError            500 InternalFailure  500 InternalError
    deny      400 AccessDeniedException     400 AccessDenied               403 UnauthorizedOperation    403 AccessDenied     403 AccessDenied
"""

import http.client
import json
import re
import socket
import struct
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import rpcv2_cbor

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}

# fault -> protocol -> (HTTP status, error code, message); `{action}` is filled in.
DENIED = ("User: arn:aws:sts::123456789012:assumed-role/standin/x is not authorized to perform: "
          "{action} because the account is restricted")
ERRORS = {
    "throttle": {
        "json": (400, "ThrottlingException", "Rate exceeded"),
        "query": (400, "Throttling", "Rate exceeded"),
        "ec2": (503, "RequestLimitExceeded", "Request limit exceeded."),
        "rest-xml": (400, "Throttling", "Rate exceeded"),
        "rest-json": (429, "ThrottlingException", "Rate exceeded"),
        "s3": (503, "SlowDown", "Please reduce your request rate."),
    },
    "error500": {
        "json": (500, "InternalFailure", "An internal error occurred."),
        "query": (500, "InternalFailure", "An internal error occurred."),
        "ec2": (500, "InternalError", "An internal error has occurred."),
        "rest-xml": (500, "InternalFailure", "An internal error occurred."),
        "rest-json": (500, "InternalServerException", "An internal error occurred."),
        "s3": (500, "InternalError", "We encountered an internal error. Please try again."),
    },
    "deny": {
        "json": (400, "AccessDeniedException", DENIED),
        "query": (400, "AccessDenied", DENIED),
        "ec2": (403, "UnauthorizedOperation", "You are not authorized to perform this operation. " + DENIED),
        "rest-xml": (403, "AccessDenied", DENIED),
        "rest-json": (403, "AccessDeniedException", DENIED),
        "s3": (403, "AccessDenied", DENIED),
    },
}
for _answers in ERRORS.values():
    _answers[rpcv2_cbor.PROTOCOL] = _answers["json"]  # the same services, the same errors
KINDS = set(ERRORS) | {"slow", "reset"}


def service_of(headers):
    """The service name of the request's SigV4 credential scope, or `?`."""
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", headers.get("Authorization", ""))
    return scope.group(1) if scope else "?"


def action_of(method, path, headers, body):
    """`service:Action` for JSON, RPC v2 and query protocols; `service METHOD /path` (ids elided) for REST."""
    service = service_of(headers)
    target = headers.get("X-Amz-Target")
    if target:
        return f"{service}:{target.split('.')[-1]}"
    rpc = rpcv2_cbor.ROUTE.fullmatch(urlsplit(path).path) if headers.get("smithy-protocol") else None
    if rpc:
        return f"{service}:{rpc.group(2)}"
    if body and b"Action=" in body:
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]
        return f"{service}:{action}"
    route = re.sub(r"/(hostedzone|change)/[A-Z0-9]+", r"/\1/{id}", urlsplit(path).path)
    return f"{service} {method} {route}"


# The SigV4 signing names of the rest-json services standin calls (EventBridge Scheduler): a
# REST request with no X-Amz-Target whose errors are JSON.
REST_JSON = {"scheduler"}


def protocol_of(service, headers, body):
    if headers.get("X-Amz-Target"):
        return "json"
    if headers.get("smithy-protocol") == rpcv2_cbor.HEADER:
        return rpcv2_cbor.PROTOCOL
    if service in REST_JSON:
        return "rest-json"
    if body and b"Action=" in body:
        return "ec2" if service == "ec2" else "query"
    return "s3" if service == "s3" else "rest-xml"


def error_response(kind, action, service, headers, body):
    """(status, headers, body) of the AWS error answer for fault `kind` on this request."""
    protocol = protocol_of(service, headers, body)
    status, code, message = ERRORS[kind][protocol]
    return aws_error(protocol, status, code, message.format(action=action), service, headers, body)


def aws_error(protocol, status, code, message, service, headers, body):
    """(status, headers, body) of an AWS error answer in `protocol` (json, smithy-rpc-v2-cbor,
    rest-json, query, ec2, rest-xml or s3); `service` is the SigV4 signing name, `headers` and
    `body` the request's."""
    request_id = str(uuid.uuid4())
    if protocol == rpcv2_cbor.PROTOCOL:
        return status, {"Content-Type": rpcv2_cbor.CONTENT_TYPE, "smithy-protocol": rpcv2_cbor.HEADER,
                        "x-amzn-RequestId": request_id}, rpcv2_cbor.error_body(code, message)
    if protocol == "rest-json":
        # The code goes in X-Amzn-ErrorType (the SDKs read it first), the body says it again.
        data = json.dumps({"message": message})
        return status, {"Content-Type": "application/json", "x-amzn-RequestId": request_id,
                        "x-amzn-ErrorType": code}, data.encode()
    if protocol == "json":
        content_type = headers.get("Content-Type", "")
        if not content_type.startswith("application/x-amz-json"):
            content_type = "application/x-amz-json-1.1"
        data = json.dumps({"__type": code, "message": message})
        return status, {"Content-Type": content_type, "x-amzn-RequestId": request_id,
                        "x-amzn-ErrorType": code}, data.encode()
    code, message = escape(code), escape(message)
    if protocol == "s3":
        data = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}'
                f"</Message><RequestId>{request_id}</RequestId></Error>")
        return status, {"Content-Type": "application/xml", "x-amz-request-id": request_id}, data.encode()
    if protocol == "ec2":
        data = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
        return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, data.encode()
    if protocol == "query":
        version = parse_qs(body.decode("utf-8", "replace")).get("Version", [""])[0]
        namespace = f"https://{service}.amazonaws.com/doc/{version}/"
    else:
        namespace = "https://route53.amazonaws.com/doc/2013-04-01/" if service == "route53" else ""
    fault_type = "Receiver" if status >= 500 else "Sender"
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    data = (f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse{xmlns}><Error><Type>{fault_type}</Type>'
            f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>")
    return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, data.encode()


class Faults:
    """The fault rules and their counters; every method takes the lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    @staticmethod
    def parse(rules):
        """Validated, normalised copies of `rules` (a list, or one rule); ValueError says why not."""
        if isinstance(rules, dict):
            rules = [rules]
        if not isinstance(rules, list):
            raise ValueError("expected a JSON list of rules")
        parsed = []
        for rule in rules:
            if not isinstance(rule, dict):
                raise ValueError(f"a rule is a JSON object, not {rule!r}")
            unknown = set(rule) - {"action", "fault", "after", "times", "seconds", "share", "until"}
            if unknown:
                raise ValueError(f"unknown rule keys {sorted(unknown)}")
            r = {"action": rule.get("action"), "fault": rule.get("fault"), "after": rule.get("after", 0),
                 "times": rule.get("times"), "seconds": rule.get("seconds", 5), "share": rule.get("share", 1),
                 "until": rule.get("until")}
            if not isinstance(r["action"], str) or not r["action"]:
                raise ValueError(f"`action` must be a non-empty string: {rule!r}")
            if r["fault"] not in KINDS:
                raise ValueError(f"`fault` must be one of {sorted(KINDS)}: {rule!r}")
            if type(r["after"]) is not int or r["after"] < 0:
                raise ValueError(f"`after` must be an integer >= 0: {rule!r}")
            if r["times"] is not None and (type(r["times"]) is not int or r["times"] < 0):
                raise ValueError(f"`times` must be an integer >= 0 or null: {rule!r}")
            if type(r["seconds"]) not in (int, float) or r["seconds"] < 0:
                raise ValueError(f"`seconds` must be a number >= 0: {rule!r}")
            if r["until"] is not None and (not isinstance(r["until"], str) or not r["until"]):
                raise ValueError(f"`until` must be a non-empty string: {rule!r}")
            if type(r["share"]) not in (int, float) or not 0 < r["share"] <= 1:
                raise ValueError(f"`share` must be a number in (0, 1]: {rule!r}")
            parsed.append(dict(r, seen=0, injected=0))
        return parsed

    def set(self, rules):
        parsed = self.parse(rules)
        with self.lock:
            self.rules = parsed

    def get(self):
        with self.lock:
            return [dict(r) for r in self.rules]

    def clear(self):
        self.set([])

    def pick(self, action):
        """Counts the call on every matching rule; returns a copy of the rule to inject, or None."""
        chosen = None
        with self.lock:
            for rule in self.rules:
                if not matches(rule["action"], action):
                    continue
                index = rule["seen"]
                rule["seen"] += 1
                window = index >= rule["after"] and (rule["times"] is None or index < rule["after"] + rule["times"])
                k = index - rule["after"]
                hit = int((k + 1) * rule["share"]) > int(k * rule["share"])
                if window and hit and chosen is None:
                    rule["injected"] += 1
                    chosen = dict(rule)
        return chosen


def matches(pattern, action):
    if pattern in ("*", action):
        return True
    if pattern.endswith(":*"):
        return re.split(r"[: ]", action, maxsplit=1)[0] == pattern[:-2]
    # A REST path with `*` for one segment (a run id, an object key's part).
    return " /" in pattern and re.fullmatch(re.escape(pattern).replace(r"\*", "[^/]*"), action) is not None


def start_proxy(upstream, host="127.0.0.1", faults=None):
    """Starts the proxy in a thread; returns (server, address, counts). `server.faults` is its
    `Faults` (rules can be set in-process too); `faults` is an optional initial list of rules."""
    target = urlsplit(upstream)
    counts = Counter()
    # Forwarded calls answered, by action: what `until` waits for.
    answered = Counter()
    lock = threading.Lock()
    answer_seen = threading.Condition(lock)
    rules = Faults()
    rules.set(faults or [])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # The answer goes out in several writes (status, headers, body): with Nagle's algorithm
        # each call would wait ~40 ms for the client's delayed ACK.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def _answer(self, status, headers, data):
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _json(self, status, value):
            self._answer(status, {"Content-Type": "application/json"}, json.dumps(value).encode())

        def _control(self, path, body):
            if path == "/__proxy/counts" and self.command in ("GET", "DELETE"):
                with lock:
                    value = dict(counts)
                    if self.command == "DELETE":
                        counts.clear()
                return self._json(200, value)
            if path == "/__proxy/faults" and self.command == "POST":
                try:
                    rules.set(json.loads(body or b"null"))
                except ValueError as e:  # json.JSONDecodeError is one too
                    return self._json(400, {"error": str(e)})
                return self._json(200, rules.get())
            if path == "/__proxy/faults" and self.command in ("GET", "DELETE"):
                if self.command == "DELETE":
                    rules.clear()
                return self._json(200, rules.get())
            return self._json(404, {"error": f"no {self.command} {path} here"})

        def _reset(self):
            """Closes the connection with an RST and no answer."""
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()  # drops the makefile reference, so close() really closes the socket
            self.connection.close()

        def _forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if len(body) < length:
                # The client went away mid-request (a command dropping its other reads once
                # one failed): AWS never gets such a request, so neither does the emulator.
                self.close_connection = True
                return
            path = urlsplit(self.path).path
            if path.startswith("/__proxy/"):
                return self._control(path, body)
            action = action_of(self.command, self.path, self.headers, body)
            with lock:
                counts[action] += 1
            rule = rules.pick(action)
            if rule and rule["until"]:
                with answer_seen:
                    answer_seen.wait_for(lambda: answered[rule["until"]] > 0, timeout=60)
            if rule and rule["fault"] == "reset":
                return self._reset()
            if rule and rule["fault"] in ERRORS:
                return self._answer(*error_response(rule["fault"], action, service_of(self.headers),
                                                    self.headers, body))
            if rule and rule["fault"] == "slow":
                time.sleep(rule["seconds"])
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()
            with answer_seen:
                answered[action] += 1
                answer_seen.notify_all()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    server = ThreadingHTTPServer((host, 0), Handler)
    server.faults = rules
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}", counts


if __name__ == "__main__":
    _, address, _ = start_proxy(sys.argv[1])
    print(f"READY {address}", flush=True)
    threading.Event().wait()
