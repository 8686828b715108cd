"""AWS Health (SigV4 service `health`), which moto does not have: an account's support plan and
its account-specific events, read with DescribeEvents, DescribeAffectedEntities and
DescribeEventDetails in both protocols AWS's model gives the service: JSON 1.1 (`X-Amz-Target:
AWSHealth_20160804.DescribeEvents`, what boto3 speaks) and Smithy RPC v2 CBOR (`POST
/service/AWSHealth_20160804/operation/DescribeEvents`, what the AWS SDK for Rust speaks;
rpcv2_cbor.py). Sources and assumptions: docs/aws-behaviour.md, "Doctor's reads".

- The support plan (per account, `basic` by default, as AWS's) decides everything: under
  `basic` or `developer` every call answers 400 `SubscriptionRequiredException` (no message);
  the API answers under `business`, `enterprise-on-ramp`, `enterprise`, `business-plus` and
  `unified-operations`.
- Events are kept per account (whatever region a request is signed for: Health's endpoint is
  global), newest `lastUpdatedTime` first. DescribeEvents filters by `eventArns`,
  `eventTypeCodes`, `services`, `regions`, `availabilityZones`, `eventTypeCategories`,
  `eventStatusCodes`, `entityArns`, `entityValues` (one of the values listed) and `startTimes`,
  `endTimes`, `lastUpdatedTimes` (within one of the ranges); `tags`, `actionabilities` and
  `personas` are ignored. DescribeAffectedEntities lists the entities of `filter.eventArns`,
  filtered by `entityArns`, `entityValues`, `statusCodes`, `lastUpdatedTimes`.
  DescribeEventDetails answers each known ARN in `successfulSet`, each other in `failedSet`.
- Paging: `maxResults` (1-100, default 10) per page, `nextToken` opaque; a token this module did
  not hand out for that operation answers 400 `InvalidPaginationToken`. A `locale` other than
  `en` answers 400 `UnsupportedLocale`. Other Health operations answer 501 `NotImplemented`
  ("not emulated"; the emulator's own answer, which the SDKs do not retry).

Test control (AWS has no API for either), standin_api.py:

    POST /moto-api/standin/support-plan  {"plan": "business", "account": "123456789012"}
    POST /moto-api/standin/health-events {"eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED",
        "eventTypeCategory": "issue", "statusCode": "open", "service": "RISK",
        "entities": ["AKIA..."], "region": "us-east-1", "description": "...",
        "startTime": ISO-8601, "endTime": ISO-8601}      # answers {"arn": ...}

Only the first three members are required: `service` defaults to the type code's SERVICE
(`AWS_SERVICE_DESCRIPTION`), `region` to us-east-1, `startTime` to now (an upcoming event's to
a week from now), `endTime` to now for a closed event; an event with no `entities` has one
`UNKNOWN` entity (its extent unknown). An entity's status follows the event's: open
`IMPAIRED`, upcoming `PENDING`, closed `RESOLVED`.
"""

import base64
import binascii
import datetime
import functools
import json
import re
import types
import uuid
from dataclasses import dataclass, field

import botocore.session
from moto import backend_index, backends
from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.responses import BaseResponse
from moto.utilities.utils import PARTITION_NAMES

import oracle
import rpcv2_cbor
import standin_api
from oracle_wire import Reader

SERVICE = "health"
TARGET_PREFIX = "AWSHealth_20160804"
URL_BASE = r"https?://health\.(.+)\.amazonaws\.com"
# Support plan -> whether it gives the Health API (the model's service documentation).
PLANS = {"basic": False, "developer": False, "business": True, "enterprise-on-ramp": True,
         "enterprise": True, "business-plus": True, "unified-operations": True}
CATEGORIES = ("issue", "accountNotification", "scheduledChange", "investigation")
ENTITY_STATUS = {"open": "IMPAIRED", "upcoming": "PENDING", "closed": "RESOLVED"}
PAGE = 10  # maxResults when none is sent (an assumption: AWS documents none)
UPCOMING = datetime.timedelta(days=7)  # how far ahead an upcoming event starts by default

@functools.cache
def model():
    """botocore's model of Health, read once."""
    return botocore.session.get_session().get_service_model(SERVICE)


class HealthError(Exception):
    def __init__(self, status, code, message=None):
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


# ---- state ---------------------------------------------------------------------------------

@dataclass
class Entity:
    value: str
    arn: str
    status: str
    updated: datetime.datetime


@dataclass
class Event:
    arn: str
    service: str
    type_code: str
    category: str
    region: str
    start: datetime.datetime
    end: datetime.datetime | None
    updated: datetime.datetime
    status: str
    description: str
    entities: list = field(default_factory=list)

    def summary(self):
        """The event as the model's `Event` shape."""
        out = {"arn": self.arn, "service": self.service, "eventTypeCode": self.type_code,
               "eventTypeCategory": self.category, "region": self.region, "startTime": self.start,
               "endTime": self.end, "lastUpdatedTime": self.updated, "statusCode": self.status,
               "eventScopeCode": "ACCOUNT_SPECIFIC"}
        return {k: v for k, v in out.items() if v is not None}


class HealthBackend(BaseBackend):
    """One account's Health (per partition): its support plan and its events."""

    # Where moto's server finds this service's routes (a moto service's urls.py).
    _url_module = types.SimpleNamespace(url_bases=[URL_BASE], url_paths={})

    def __init__(self, region_name, account_id):
        super().__init__(region_name, account_id)
        self.support_plan = "basic"
        self.events = []


health_backends = BackendDict(HealthBackend, SERVICE, use_boto3_regions=False, additional_regions=PARTITION_NAMES)


# ---- the operations ------------------------------------------------------------------------

def _among(values, value):
    return values is None or value in values


def _within(ranges, when):
    """Whether `when` lies in one of the model's DateTimeRanges (`from`, `to`; either open)."""
    if ranges is None:
        return True
    return when is not None and any(r.get("from", when) <= when <= r.get("to", when) for r in ranges)


def _event_matches(event, f):
    values = {x.value for x in event.entities}
    arns = {x.arn for x in event.entities}
    return (_among(f.get("eventArns"), event.arn) and _among(f.get("eventTypeCodes"), event.type_code)
            and _among(f.get("services"), event.service) and _among(f.get("regions"), event.region)
            and _among(f.get("availabilityZones"), None)  # no event here is in one zone
            and _among(f.get("eventTypeCategories"), event.category)
            and _among(f.get("eventStatusCodes"), event.status)
            and (f.get("entityValues") is None or bool(values & set(f["entityValues"])))
            and (f.get("entityArns") is None or bool(arns & set(f["entityArns"])))
            and _within(f.get("startTimes"), event.start) and _within(f.get("endTimes"), event.end)
            and _within(f.get("lastUpdatedTimes"), event.updated))


def _page(items, params, operation):
    """(this page of `items`, the next page's token or None), by maxResults and nextToken."""
    size = params.get("maxResults", PAGE)
    start = 0
    if "nextToken" in params:
        try:
            kind, _, offset = base64.b64decode(params["nextToken"], validate=True).decode().partition(":")
            start = int(offset)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            kind = None
        if kind != operation or not 0 < start <= len(items):
            raise HealthError(400, "InvalidPaginationToken", "The specified pagination token (nextToken) is not valid.")
    end = start + size
    token = base64.b64encode(f"{operation}:{end}".encode()).decode() if end < len(items) else None
    return items[start:end], token


def _paged(key, items, params, operation):
    page, token = _page(items, params, operation)
    out = {key: page}
    if token:
        out["nextToken"] = token
    return out


def describe_events(backend, params):
    f = params.get("filter", {})
    events = sorted(enumerate(backend.events), key=lambda ie: (ie[1].updated, ie[0]), reverse=True)
    found = [e.summary() for _, e in events if _event_matches(e, f)]
    return _paged("events", found, params, "DescribeEvents")


def describe_affected_entities(backend, params):
    f = params["filter"]
    by_arn = {e.arn: e for e in backend.events}
    found = [{"entityArn": x.arn, "eventArn": arn, "entityValue": x.value, "awsAccountId": backend.account_id,
              "lastUpdatedTime": x.updated, "statusCode": x.status}
             for arn in dict.fromkeys(f["eventArns"]) if arn in by_arn for x in by_arn[arn].entities
             if _among(f.get("entityArns"), x.arn) and _among(f.get("entityValues"), x.value)
             and _among(f.get("statusCodes"), x.status) and _within(f.get("lastUpdatedTimes"), x.updated)]
    return _paged("entities", found, params, "DescribeAffectedEntities")


def describe_event_details(backend, params):
    by_arn = {e.arn: e for e in backend.events}
    arns = list(dict.fromkeys(params["eventArns"]))
    return {
        "successfulSet": [{"event": by_arn[a].summary(), "eventDescription": {"latestDescription": by_arn[a].description}}
                          for a in arns if a in by_arn],
        "failedSet": [{"eventArn": a, "errorName": "EventNotFoundException",
                       "errorMessage": f"Event {a} not found."} for a in arns if a not in by_arn],
    }


OPERATIONS = {"DescribeEvents": describe_events, "DescribeAffectedEntities": describe_affected_entities,
              "DescribeEventDetails": describe_event_details}


# ---- the two protocols ---------------------------------------------------------------------

def _epoch(value):
    if isinstance(value, datetime.datetime):
        return round(value.timestamp(), 3)
    raise TypeError(f"no JSON for {type(value).__name__}")


class Json:
    """JSON 1.1: the operation in `X-Amz-Target`, timestamps as epoch seconds."""
    protocol = "json"

    @staticmethod
    def operation(request):
        prefix, _, name = request.headers.get("X-Amz-Target", "").rpartition(".")
        return name if prefix == TARGET_PREFIX else None

    @staticmethod
    def read(reader, shape, body):
        try:
            value = json.loads(body) if body.strip() else {}
        except ValueError as e:
            raise HealthError(400, "SerializationException", f"The body is not JSON: {e}")
        return reader.json(shape, value)

    @staticmethod
    def answer(status, value, request_id):
        return status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": request_id}, \
            json.dumps(value, default=_epoch)


class Cbor:
    """Smithy RPC v2 CBOR: the operation in the path, timestamps as tag 1."""
    protocol = rpcv2_cbor.PROTOCOL

    @staticmethod
    def operation(request):
        route = rpcv2_cbor.ROUTE.fullmatch(request.path)
        return route.group(2) if route and route.group(1) == TARGET_PREFIX else None

    @staticmethod
    def read(reader, shape, body):
        try:
            return reader.cbor(shape, rpcv2_cbor.decode(body))
        except ValueError as e:
            raise HealthError(400, "SerializationException", str(e))

    @staticmethod
    def answer(status, value, request_id):
        return status, {"Content-Type": rpcv2_cbor.CONTENT_TYPE, "smithy-protocol": rpcv2_cbor.HEADER,
                        "x-amzn-RequestId": request_id}, rpcv2_cbor.encode(value)


class HealthResponse(BaseResponse):
    use_raw_body = True

    def __init__(self):
        super().__init__(service_name=SERVICE)

    def _dispatch(self, request, full_url=None, headers=None):
        # Reads the account, region and partition of the request, and marks its access key used.
        self.setup_class(request, full_url, headers)
        wire = Cbor if request.headers.get("smithy-protocol") == rpcv2_cbor.HEADER else Json
        request_id = str(uuid.uuid4())
        try:
            value = self.call(wire, wire.operation(request))
            return wire.answer(200, value, request_id)
        except HealthError as e:
            body = {"__type": e.code} if e.message is None else {"__type": e.code, "message": e.message}
            return wire.answer(e.status, body, request_id)

    def call(self, wire, name):
        if name not in model().operation_names:
            status, code = oracle.ANSWERS[wire.protocol]["operation"]
            raise HealthError(status, code, f"Health has no operation {name!r}")
        operation = model().operation_model(name)
        params = wire.read(Reader(lambda *_: None), operation.input_shape, self.raw_body or b"")
        backend = health_backends[self.current_account][self.partition]
        if not PLANS[backend.support_plan]:
            raise HealthError(400, "SubscriptionRequiredException")
        if params.get("locale", "en") != "en":
            raise HealthError(400, "UnsupportedLocale", "The specified locale is not supported.")
        act = OPERATIONS.get(name)
        if act is None:
            # 501, which the SDKs do not retry: no AWS answer, the emulator's own.
            raise HealthError(501, "NotImplemented", f"Health {name} is not emulated (harness/moto_health.py)")
        return act(backend, params)


HealthBackend._url_module.url_paths.update({"{0}/$": HealthResponse.dispatch, "{0}/.*": HealthResponse.dispatch})


# ---- test control --------------------------------------------------------------------------

def _backend(body):
    return health_backends[standin_api.account(body)]["aws"]


def set_support_plan(body):
    plan = body["plan"]
    if plan not in PLANS:
        raise standin_api.Refused(f"plan must be one of {', '.join(PLANS)}, not {plan!r}")
    _backend(body).support_plan = plan
    return {"account": standin_api.account(body), "plan": plan}


def _time(body, key, default):
    if body.get(key) is None:
        return default
    when = datetime.datetime.fromisoformat(str(body[key]).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def add_event(body):
    """Adds an account-specific event (see the module's text); answers its ARN."""
    code, category, status = body["eventTypeCode"], body["eventTypeCategory"], body["statusCode"]
    parts = code.split("_")
    service = body.get("service") or (parts[1] if len(parts) > 2 and parts[0] == "AWS" else None)
    region = body.get("region") or "us-east-1"
    if not re.fullmatch(r"[A-Za-z0-9_-]{3,100}", code):
        raise standin_api.Refused(f"eventTypeCode must match [A-Za-z0-9_-]{{3,100}}, not {code!r}")
    if category not in CATEGORIES:
        raise standin_api.Refused(f"eventTypeCategory must be one of {', '.join(CATEGORIES)}, not {category!r}")
    if status not in ENTITY_STATUS:
        raise standin_api.Refused(f"statusCode must be one of {', '.join(ENTITY_STATUS)}, not {status!r}")
    if not service or not re.fullmatch(r"[A-Za-z0-9_-]{2,30}", service):
        raise standin_api.Refused(f"name the event's service (2-30 of A-Z a-z 0-9 _ -), not {service!r}")
    backend = _backend(body)
    now = datetime.datetime.now(datetime.timezone.utc)
    start = _time(body, "startTime", now + UPCOMING if status == "upcoming" else now)
    end = _time(body, "endTime", now if status == "closed" else None)
    arn = f"arn:{backend.partition}:health:{region}::event/{service}/{code}/{code}_{uuid.uuid4()}"
    values = [str(v) for v in body.get("entities") or []] or ["UNKNOWN"]
    entities = [Entity(value=v, status="UNKNOWN" if values == ["UNKNOWN"] else ENTITY_STATUS[status], updated=now,
                       arn=f"arn:{backend.partition}:health:{region}:{backend.account_id}:entity/{uuid.uuid4().hex[:20]}")
                for v in values]
    backend.events.append(Event(arn=arn, service=service, type_code=code, category=category, region=region,
                                start=start, end=end, updated=now, status=status, entities=entities,
                                description=body.get("description") or f"{code}: an event of the emulated account."))
    return {"arn": arn}


def install():
    """Registers Health with moto's server (before it starts): requests signed for `health`
    reach HealthResponse, and the control endpoints exist. Idempotent."""
    if getattr(backends, "_standin_health", False):
        return
    # The server names a request's backend by its host, which for a local endpoint it builds
    # from the SigV4 scope (`health.REGION.amazonaws.com`), then asks moto.backends for it.
    backend_index.backend_url_patterns.insert(0, (SERVICE, re.compile(URL_BASE)))
    moto_get_backend = backends.get_backend
    backends.get_backend = lambda name: health_backends if name == SERVICE else moto_get_backend(name)
    backends._standin_health = True
    standin_api.route("support-plan", POST=set_support_plan)
    standin_api.route("health-events", POST=add_event)
