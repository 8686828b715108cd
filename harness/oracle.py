"""The oracle: every request the emulator receives is held to AWS's published service models
(botocore's JSON models, read through `botocore.session.get_session().get_service_model`)
before moto sees it, so a test can fail on a request AWS would refuse even where moto would
not.

`install()` wraps the WSGI application `ThreadedMotoServer` builds (moto's
`DomainDispatcherApplication`) in `Oracle`. For each request it finds the service (the SigV4
credential scope's signing name, then the model among those signing so whose protocol the
request speaks: `X-Amz-Target`'s prefix for json, the `/service/{targetPrefix}/` path of a
`smithy-protocol: rpc-v2-cbor` request, `Version` for query/ec2, the URI for rest-xml) and the
operation, reads the input off the wire (oracle_wire.py) and checks it
(oracle_rules.py). A request that breaks a rule is not passed on: it is answered as AWS
answers invalid input in that protocol (`ANSWERS`), each violation is printed on stderr and
kept, and tests read them:

    GET    /__oracle/violations    # every violation so far, JSON
    DELETE /__oracle/violations    # answers them, then forgets them
    GET    /__oracle/stats         # requests checked, seconds spent checking, by operation

moto's own `/moto-api/` is not checked. A value is shown truncated, and never when its shape
(or one around it) is `sensitive`, nor for a member the model does not have.
"""

import io
import json
import re
import sys
import threading
import time
import traceback
from collections import Counter
import urllib.request
from urllib.parse import urlsplit

import botocore
import botocore.session
from werkzeug.datastructures import EnvironHeaders

import rpcv2_cbor
from oracle_rules import Checker, temp_cache
from oracle_wire import Reader, Routes, Wire, parse_query
from proxy import aws_error, service_of

SKIPPED = ("/moto-api", "/favicon.ico")
CONTROL = "/__oracle/"
SHOWN = 60  # characters of an offending value shown
# The query-string form of SigV4 (a presigned URL): authentication parameters, not input.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html (query string)
PRESIGN = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
           "X-Amz-Signature", "X-Amz-Security-Token"}

# protocol -> rule -> (HTTP status, AWS error code); "*" for the other rules. Sources and
# assumptions: docs/aws-behaviour.md, "The oracle".
ANSWERS = {
    "json": {"operation": (400, "UnknownOperationException"), "malformed": (400, "SerializationException"),
             "type": (400, "SerializationException"), "*": (400, "ValidationException")},
    "query": {"operation": (400, "InvalidAction"), "version": (400, "InvalidAction"),
              "*": (400, "ValidationError")},
    "ec2": {"operation": (400, "InvalidAction"), "required": (400, "MissingParameter"),
            "unknown": (400, "UnknownParameter"), "*": (400, "InvalidParameterValue")},
    "rest-xml": {"operation": (404, "UnknownOperationException"), "*": (400, "InvalidInput")},
    # EventBridge Scheduler's model: ValidationException (400) for input it refuses.
    "rest-json": {"operation": (404, "UnknownOperationException"), "*": (400, "ValidationException")},
    # As json: the same services (Health) answer the same errors in either protocol.
    rpcv2_cbor.PROTOCOL: {"operation": (404, "UnknownOperationException"), "malformed": (400, "SerializationException"),
                          "type": (400, "SerializationException"), "*": (400, "ValidationException")},
    "s3": {"operation": (405, "MethodNotAllowed"), "malformed": (400, "MalformedXML"),
           "*": (400, "InvalidArgument")},
}
# Which rule's answer a request gets when it breaks several: the first in this order.
PRECEDENCE = ["service", "operation", "version", "unchecked", "oracle", "malformed", "type", "unknown"]


def signing_names():
    """{SigV4 signing name: [botocore service names]} from every model's metadata
    (`signingName`, else `endpointPrefix`). Reading all ~450 models takes seconds, so the
    index is kept in the temp directory, per botocore version."""
    def build():
        session = botocore.session.get_session()
        index = {}
        for name in session.get_available_services():
            metadata = session.get_service_model(name).metadata
            index.setdefault(metadata.get("signingName") or metadata["endpointPrefix"], []).append(name)
        return index

    return temp_cache(f"signing-names-botocore-{botocore.__version__}", build)


class Models:
    """Service models and their REST routes, loaded once each, on first use."""

    def __init__(self):
        self.lock = threading.Lock()
        # A session of its own: botocore customizes the models of the clients it creates in
        # place (S3's URIs lose `/{Bucket}`), so the emulator's own boto3 clients' are no oracle.
        self.session = botocore.session.get_session()
        self.index = None
        self.models = {}
        self.routes = {}

    def signing(self, name):
        with self.lock:
            if self.index is None:
                self.index = signing_names()
            names = self.index.get(name, [])
        return [self.model(n) for n in names]

    def model(self, name):
        with self.lock:
            if name not in self.models:
                self.models[name] = self.session.get_service_model(name)
            return self.models[name]

    def rest_routes(self, model):
        with self.lock:
            if model.service_name not in self.routes:
                self.routes[model.service_name] = Routes(model)
            return self.routes[model.service_name]


def protocols(model):
    return model.metadata.get("protocols") or [model.metadata["protocol"]]


class Found(Exception):
    """The request cannot be checked further: the service or operation is unknown."""

    def __init__(self, rule, message):
        super().__init__(message)
        self.rule, self.message = rule, message


class Check:
    """One request: who it is for, what it asks, what is wrong with it."""

    def __init__(self, models, environ, body):
        self.models = models
        self.headers = EnvironHeaders(environ)
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        parts = urlsplit(raw)
        self.wire = Wire(environ["REQUEST_METHOD"], parts.path or "/", parse_query(parts.query),
                         {k.lower(): v for k, v in self.headers.items()}, body)
        self.signing = service_of(self.headers)
        if self.signing == "?":
            credential = dict(self.wire.query).get("X-Amz-Credential", "")
            self.signing = credential.split("/")[3] if credential.count("/") >= 4 else "?"
        # A presigned request's SigV4 parameters sign it, as the Authorization header does:
        # they are no member of any operation (docs/aws-behaviour.md, "STS: proving who approves").
        self.wire.query = [(k, v) for k, v in self.wire.query if k not in PRESIGN]
        self.service, self.operation, self.protocol = self.signing, "?", None
        self.input = None  # the input as read off the wire, once run
        self.violations = []

    def report(self, member, rule, constraint, value, sensitive):
        self.violations.append({"member": member, "rule": rule, "constraint": constraint,
                                "value": shown(value, sensitive)})

    def run(self):
        """The operation's name once checked (violations in `self.violations`)."""
        try:
            operation, read = self.identify()
            self.operation = operation.name
            self.input = read(Reader(self.report))
            if operation.input_shape is not None:
                Checker(self.report).check(operation.input_shape, self.input)
        except Found as found:
            self.report("", found.rule, found.message, None, False)
        return self.operation

    def identify(self):
        """(operation model, function reading its input) for this request."""
        if self.signing == "?":
            raise Found("service", "The request carries no SigV4 credential scope to name its service")
        models = self.models.signing(self.signing)
        if not models:
            raise Found("service", f"No botocore model signs as {self.signing!r}")
        wire = self.wire
        target = wire.headers.get("x-amz-target")
        if target:
            self.protocol = "json"
            prefix, _, name = target.rpartition(".")
            model = next((m for m in models if "json" in protocols(m) and m.metadata.get("targetPrefix") == prefix),
                         None)
            if model is None:
                raise Found("operation", f"No JSON model of {self.signing!r} has the target prefix {prefix!r}")
            operation = self.operation_of(model, name)
            return operation, lambda reader: self.read_json(reader, operation)
        if wire.headers.get("smithy-protocol"):
            return self.identify_rpcv2(models)
        params = dict(wire.query)
        content_type = wire.headers.get("content-type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            params.update(parse_query(wire.body.decode("utf-8", "replace")))
        if "Action" in params and any(p in ("query", "ec2") for m in models for p in protocols(m)):
            version = params.pop("Version", None)
            name = params.pop("Action")
            model = next((m for m in models if m.metadata.get("apiVersion") == version
                          and {"query", "ec2"} & set(protocols(m))), None)
            if model is None:
                self.protocol = "ec2" if any("ec2" in protocols(m) for m in models) else "query"
                raise Found("version", f"No query model of {self.signing!r} has the API version {version!r}")
            self.protocol = "ec2" if "ec2" in protocols(model) else "query"
            operation = self.operation_of(model, name)
            if operation.input_shape is None:
                return operation, lambda reader: self.nothing_else(reader, params)
            return operation, lambda reader: reader.query(operation.input_shape, params, self.protocol == "ec2")
        self.protocol = "s3" if self.signing == "s3" else "rest-xml"
        for model in models:
            rest = [p for p in ("rest-xml", "rest-json") if p in protocols(model)]
            if not rest:
                continue
            found = self.models.rest_routes(model).match(wire)
            if found is not None:
                self.service = model.service_name
                operation, labels = found
                if rest[0] == "rest-json":
                    self.protocol = "rest-json"
                    return operation, lambda reader: reader.rest_json(operation, wire, labels)
                return operation, lambda reader: reader.rest_xml(operation, wire, labels)
        unread = [m.service_name for m in models
                  if not {"rest-xml", "rest-json", "query", "ec2", "json"} & set(protocols(m))]
        if unread:
            raise Found("unchecked", f"The oracle does not read the protocols of {', '.join(unread)}")
        raise Found("operation", f"No operation of {self.signing!r} is {wire.method} {wire.path}")

    def identify_rpcv2(self, models):
        """(operation model, reader) of a Smithy RPC v2 request: `POST
        /service/{targetPrefix}/operation/{Operation}`, its body CBOR."""
        wire = self.wire
        if wire.headers["smithy-protocol"] != rpcv2_cbor.HEADER:
            raise Found("unchecked", f"The oracle does not read {wire.headers['smithy-protocol']} requests")
        self.protocol = rpcv2_cbor.PROTOCOL
        route = rpcv2_cbor.ROUTE.fullmatch(wire.path)
        if wire.method != "POST" or route is None:
            raise Found("operation", f"No operation of {self.signing!r} is {wire.method} {wire.path}")
        prefix, name = route.groups()
        model = next((m for m in models if rpcv2_cbor.PROTOCOL in protocols(m)
                      and m.metadata.get("targetPrefix") == prefix), None)
        if model is None:
            raise Found("operation", f"No RPC v2 model of {self.signing!r} is named {prefix!r}")
        operation = self.operation_of(model, name)
        return operation, lambda reader: self.read_document(reader, operation, rpcv2_cbor.decode, reader.cbor)

    def operation_of(self, model, name):
        self.service = model.service_name
        if name not in model.operation_names:
            self.operation = name
            raise Found("operation", f"{model.service_name} has no operation {name!r}")
        return model.operation_model(name)

    def read_json(self, reader, operation):
        def decode(body):
            try:
                return json.loads(body) if body.strip() else {}
            except ValueError as e:
                raise ValueError(f"The body is not JSON: {e}")

        return self.read_document(reader, operation, decode, reader.json)

    def read_document(self, reader, operation, decode, read):
        """The input of a body `decode` reads (ValueError: malformed), `read` by its shape."""
        try:
            value = decode(self.wire.body)
        except ValueError as e:
            raise Found("malformed", str(e))
        if operation.input_shape is None:
            return self.nothing_else(reader, value if isinstance(value, dict) else {})
        return read(operation.input_shape, value)

    @staticmethod
    def nothing_else(reader, params):
        for key in sorted(params):
            reader.unknown(key)
        return {}

    def answer(self):
        """(status, headers, body) of AWS's answer to this invalid request."""
        rules = [v["rule"] for v in self.violations]
        rule = min(rules, key=lambda r: PRECEDENCE.index(r) if r in PRECEDENCE else len(PRECEDENCE))
        protocol = self.protocol or "rest-xml"
        answers = ANSWERS[protocol]
        status, code = answers.get(rule, answers["*"])
        count = len(self.violations)
        message = (f"{count} validation error{'s' if count > 1 else ''} detected: "
                   + "; ".join(describe(v) for v in self.violations))
        return aws_error(protocol, status, code, message, self.signing, self.headers, self.wire.body)


def shown(value, sensitive):
    """How a value appears in a violation: never when sensitive, else truncated."""
    if value is None:
        return None
    if sensitive:
        return "***"
    text = value if isinstance(value, str) else repr(value)
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return text if len(text) <= SHOWN else text[:SHOWN] + "..."


def describe(violation):
    """AWS's words for one violation: `Value 'x' at 'changeBatch.changes.1.member.tTL' failed
    to satisfy constraint: ...` (members in lower camel case, list items as `N.member`)."""
    value = "null" if violation["value"] is None else f"'{violation['value']}'"
    return (f"Value {value} at '{aws_path(violation['member'])}' failed to satisfy constraint: "
            f"{violation['constraint']}")


def aws_path(member):
    """A member path as AWS's validation messages write it; a map's key stays as it is."""
    parts = []
    for name, key in re.findall(r"([^.{]+)|\{([^}]*)\}", member):
        if key:
            parts.append(key)
        elif name.isdigit():
            parts.append(f"{name}.member")
        elif name != "(key)":
            parts.append(name[:1].lower() + name[1:])
    return ".".join(parts)


def read_body(environ):
    """The request's body, read once; the environ gets a fresh stream of it for moto."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


class Oracle:
    """WSGI middleware: checks every request, answers the invalid ones, passes on the rest."""

    def __init__(self, app):
        self.app = app
        self.models = Models()
        self.lock = threading.Lock()
        self.violations = []
        self.requests = 0
        self.seconds = 0.0
        self.operations = Counter()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL):
            return self.control(environ, start_response, path)
        if path.startswith(SKIPPED):
            return self.app(environ, start_response)
        body = read_body(environ)
        if len(body) < int(environ.get("CONTENT_LENGTH") or 0):
            # The client went away mid-request: no request AWS would see, nothing to judge.
            start_response("400 Bad Request", [("Content-Length", "0")])
            return [b""]
        started = time.perf_counter()
        check = Check(self.models, environ, body)
        try:
            check.run()
        except Exception:  # noqa: BLE001 - an oracle defect must fail the test, not pass silently
            check.report("", "oracle", "The oracle failed: " + traceback.format_exc(limit=3).replace("\n", " "),
                         None, False)
        elapsed = time.perf_counter() - started
        with self.lock:
            self.requests += 1
            self.seconds += elapsed
            self.operations[f"{check.service}:{check.operation}"] += 1
        if not check.violations:
            return self.app(environ, start_response)
        request = f"{check.wire.method} {check.wire.path}"
        found = [dict(service=check.service, operation=check.operation, request=request, **v)
                 for v in check.violations]
        with self.lock:
            self.violations.extend(found)
        for v in found:
            print(said(v), file=sys.stderr, flush=True)
        status, headers, data = check.answer()
        start_response(f"{status} {STATUS_TEXT.get(status, 'Error')}",
                       list(headers.items()) + [("Content-Length", str(len(data)))])
        return [data]

    def control(self, environ, start_response, path):
        method = environ["REQUEST_METHOD"]
        with self.lock:
            if path == CONTROL + "violations" and method in ("GET", "DELETE"):
                status, value = 200, list(self.violations)
                if method == "DELETE":
                    self.violations.clear()
            elif path == CONTROL + "stats" and method == "GET":
                status, value = 200, {"requests": self.requests, "seconds": self.seconds,
                                      "operations": dict(self.operations)}
            else:
                status, value = 404, {"error": f"no {method} {path} here"}
        data = json.dumps(value, indent=1).encode()
        start_response(f"{status} {STATUS_TEXT[status]}",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


def said(violation):
    """A violation as one line of the emulator's stderr."""
    v = violation
    value = "" if v["value"] is None else f" value={v['value']!r}"
    return (f"oracle: VIOLATION {v['service']} {v['operation']} {v['member'] or '-'} [{v['rule']}] "
            f"{v['constraint']}{value} ({v['request']})")


def say_violations(endpoint):
    """Prints on stderr the violations the emulator at `endpoint` holds: for the scripts that
    hide its stderr (scripts/bench.py, scripts/critical_path.py), so none goes unseen."""
    with urllib.request.urlopen(f"{endpoint}{CONTROL}violations") as answer:
        for violation in json.load(answer):
            print(said(violation), file=sys.stderr, flush=True)


STATUS_TEXT = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}


def install():
    """Puts the oracle in front of the application every `ThreadedMotoServer` serves."""
    from moto.moto_server import threaded_moto_server

    dispatcher = threaded_moto_server.DomainDispatcherApplication
    if getattr(dispatcher, "oracle", False):
        return

    def checked(create_app):
        return Oracle(dispatcher(create_app))

    checked.oracle = True
    threaded_moto_server.DomainDispatcherApplication = checked
