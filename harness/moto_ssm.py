"""Parameter Store as AWS answers it, where moto 5.2.5 differs (see ../shared/EMULATOR.md).

- A parameter's `Policies` come back as AWS sends them: each `PolicyText` is the policy's JSON
  text (moto puts the parsed object there, which no SDK can read as the string AWS's model
  says it is), `PolicyType` its `Type`, `PolicyStatus` `Pending`.
- Only a SecureString has a KMS key: moto carries an earlier version's `KeyId` over to a new
  String version written without one (a secret made plain again keeps reporting a key).
- A value must match the parameter's `AllowedPattern` (the one sent, else the one it has), or
  PutParameter is refused with `ParameterPatternMismatchException`, as on AWS; moto stores the
  pattern and checks nothing.
- A value longer than its tier holds is refused with `ValidationException`: a Standard
  parameter holds 4096 characters, an Advanced one 8192 ("Standard parameters have a value limit
  of 4 KB. Advanced parameters have a value limit of 8 KB": botocore model SSM PutParameter,
  member Value); the tier is the one sent, else the parameter's, else Standard. moto stored any
  value.
- DescribeParameters returns up to `MaxResults` (1 to 50, AWS's range) per page: moto always
  pages 10 at a time, which hides what asking for the largest pages saves.
- DescribeParameters answers from the store as it was `ssm-describe-lag` seconds ago (knobs.py):
  a parameter just put is not listed yet or shows its previous version's metadata, one just
  deleted is still listed. GetParameter(s) and GetParameterHistory see every write at once.
  moto answered from the current state.
- PutParameter takes a token from a bucket per account and Region (`ssm-put-rate` per second,
  at most `ssm-put-burst`); with none left it is refused, HTTP 400 `ThrottlingException`
  "Rate exceeded", and nothing is written. moto never throttled.

Requests carrying the header `x-emulator-world: 1` are the emulated world's own (seed.py,
control.py, a test's fixtures and its look at the state): they are never throttled, their
writes are visible at once, and their DescribeParameters sees the store as it is. standin never
sends it.
"""

import copy
import json
import re
import threading
import time

from moto.ssm.exceptions import SSMException

from moto.core.responses import ActionResult
from moto.ssm.models import Parameter, ParameterDict, SimpleSystemManagerBackend
from moto.ssm.responses import SimpleSystemManagerResponse

import knobs

WORLD_HEADER = "x-emulator-world"

# Whether the request this thread serves is the world's own (see above).
_request = threading.local()
# Guards the first creation of each backend's write log and token bucket.
_created = threading.Lock()


def _own(backend, attribute, make):
    """The backend's `attribute`, made on first use (requests are served in threads)."""
    with _created:
        if attribute not in vars(backend):
            setattr(backend, attribute, make())
        return getattr(backend, attribute)


def _world():
    return getattr(_request, "world", False)


def _response_object(original):
    def response_object(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        if self.policies:
            try:
                policies = json.loads(self.policies)
            except json.JSONDecodeError:
                policies = []
            out["Policies"] = [
                {"PolicyText": json.dumps(p, separators=(",", ":")), "PolicyType": p.get("Type", ""), "PolicyStatus": "Pending"}
                for p in policies
                if isinstance(p, dict)
            ]
        return out

    return response_object


def _refusal(code, message):
    """An error as Parameter Store answers it. moto's own exception class: moto finds an error's
    HTTP status in the service model named by the exception's module, and a class of this
    module (`moto_ssm`) made it answer 500 instead."""
    return SSMException(code, message)


# AWS's answer to a Standard value over 4096 characters, as users of Terraform, the AWS SDK for
# .NET and others quote it (docs/aws-behaviour.md, Parameter Store).
STANDARD_TOO_LONG = (
    "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger "
    "parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see "
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"
)
# No one quotes AWS's answer over 8192 characters: the same words for the Advanced tier (assumption).
ADVANCED_TOO_LONG = "Advanced tier parameters support a maximum parameter value of 8192 characters."


def refuse_oversized(value, tier, previous):
    """Refuses a value longer than the tier it is written in holds (the one sent, else the
    parameter's, else Standard)."""
    tier = tier or getattr(previous, "tier", None) or "Standard"
    if value is None:
        return
    if len(value) > 8192:
        raise SSMException("ValidationException", ADVANCED_TOO_LONG)
    if tier == "Standard" and len(value) > 4096:
        raise SSMException("ValidationException", STANDARD_TOO_LONG)


def _put_parameter(original):
    def put_parameter(self, name, description, value, parameter_type, allowed_pattern, *args, **kwargs):
        previous = self._parameters[name][-1] if self._parameters.get(name) else None
        refuse_oversized(value, kwargs.get("tier"), previous)
        pattern = allowed_pattern if allowed_pattern is not None else getattr(previous, "allowed_pattern", None)
        if pattern and value is not None and not re.search(pattern, value):
            raise _refusal("ParameterPatternMismatchException",
                           f"Parameter value, cannot be validated against allowedPattern: {pattern}")
        param = original(self, name, description, value, parameter_type, allowed_pattern, *args, **kwargs)
        if param.parameter_type != "SecureString":
            param.keyid = None
        return param

    return put_parameter


class _Writes:
    """A backend's writes of the last `ssm-describe-lag` seconds, each with what its parameter
    was before it: enough to see the store as it was that long ago."""

    def __init__(self):
        self.lock = threading.Lock()
        self.log = []  # (monotonic time, parameter name, the parameter before, or None)


def _writes(backend):
    return _own(backend, "_standin_writes", _Writes)


def _key(backend, name):
    return ParameterDict.normalize_name(backend._strip_parameter_arn(name))


def _latest(backend, key):
    """The parameter's latest version, without creating an entry (`_parameters` is a defaultdict)."""
    versions = dict.get(backend._parameters, key)
    if not versions:
        return None
    # Its labels change in place (LabelParameterVersion): keep them as they are now.
    kept = copy.copy(versions[-1])
    kept.labels = list(versions[-1].labels)
    return kept


def _logged(original, names):
    """`original` (a backend write), logging what it changes for DescribeParameters' lag; a
    write of the world's own is visible at once, so it ends the lag of what it writes. Writes
    take the log's lock, so what each found before it is exact."""

    def write(self, *args, **kwargs):
        keys = [_key(self, n) for n in names(*args, **kwargs)]
        writes = _writes(self)
        with writes.lock:
            before = {k: _latest(self, k) for k in keys}
            result = original(self, *args, **kwargs)
            if _world():
                writes.log = [w for w in writes.log if w[1] not in keys]
            else:
                now = time.monotonic()
                writes.log.extend((now, k, before[k]) for k in keys)
        return result

    return write


class _Lagged:
    """The store as DescribeParameters sees it: each parameter as it was `lag` seconds ago,
    everything else (tags, filters) from the backend."""

    def __init__(self, backend, lag):
        self._backend = backend
        writes = _writes(backend)
        with writes.lock:
            cutoff = time.monotonic() - lag
            writes.log = [w for w in writes.log if w[0] > cutoff]
            self._parameters = {k: v[-1] for k, v in dict.items(backend._parameters) if v}
            # Each parameter written since, as it was before the first of those writes.
            undone = set()
            for _, key, before in writes.log:
                if key in undone:
                    continue
                undone.add(key)
                if before is None:
                    self._parameters.pop(key, None)
                else:
                    self._parameters[key] = before

    def get_parameter(self, name):
        return self._parameters.get(name)

    # moto's, reading tags through this view.
    _match_filters = SimpleSystemManagerBackend._match_filters

    def list_tags_for_resource(self, resource_type, resource_id):
        """A parameter deleted since has no tags left (they went with it)."""
        if resource_type == "Parameter" and self._backend.get_parameter(resource_id) is None:
            return {}
        return self._backend.list_tags_for_resource(resource_type, resource_id)

    def __getattr__(self, name):
        return getattr(self._backend, name)


def _describe_parameters(self):
    """moto's DescribeParameters with AWS's page size (MaxResults 1-50, 10 when not given),
    answering from the lagged view (the world's own requests: from the store as it is)."""
    page_size = self._get_param("MaxResults") or 10
    if not 1 <= int(page_size) <= 50:
        raise SSMException("ValidationException", f"1 validation error detected: Value '{page_size}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50")
    page_size = int(page_size)
    start = int((self._get_param("NextToken") or "0").strip() or 0)
    lag = knobs.value("ssm_describe_lag")
    store = self.ssm_backend if _world() or not lag else _Lagged(self.ssm_backend, lag)
    result = SimpleSystemManagerBackend.describe_parameters(
        store, self._get_param("Filters"), self._get_param("ParameterFilters"))
    page = result[start:start + page_size]
    response = {"Parameters": [p.describe_response_object(False) for p in page]}
    if start + page_size < len(result):
        response["NextToken"] = str(start + page_size)
    return ActionResult(response)


class _Bucket:
    """PutParameter's tokens for one account and Region: at most `burst`, `rate` more a second."""

    def __init__(self):
        self.lock = threading.Lock()
        self.tokens = knobs.value("ssm_put_burst")
        self.at = time.monotonic()

    def take(self):
        rate, burst = knobs.value("ssm_put_rate"), knobs.value("ssm_put_burst")
        with self.lock:
            now = time.monotonic()
            self.tokens = min(burst, self.tokens + (now - self.at) * rate)
            self.at = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


def _throttled(original):
    """PutParameter, refused when its account's bucket is empty (never the world's own)."""

    def put_parameter(self):
        if knobs.value("ssm_put_rate") and not _world():
            if not _own(self.ssm_backend, "_standin_bucket", _Bucket).take():
                raise _refusal("ThrottlingException", "Rate exceeded")
        return original(self)

    return put_parameter


def _call_action(original):
    """Notes, for this request's thread, whether the request is the world's own."""

    def call_action(self):
        _request.world = self.headers.get(WORLD_HEADER) == "1"
        try:
            return original(self)
        finally:
            _request.world = False

    return call_action


def install():
    """Applies every patch; idempotent."""
    if getattr(Parameter, "_standin_extended", False):
        return
    Parameter.response_object = _response_object(Parameter.response_object)
    backend = SimpleSystemManagerBackend
    backend.put_parameter = _logged(_put_parameter(backend.put_parameter), lambda name, *_, **__: [name])
    backend.delete_parameter = _logged(backend.delete_parameter, lambda name: [name])
    backend.delete_parameters = _logged(backend.delete_parameters, lambda names: names)
    backend.label_parameter_version = _logged(backend.label_parameter_version, lambda name, *_: [name])
    backend.unlabel_parameter_version = _logged(backend.unlabel_parameter_version, lambda name, *_: [name])
    SimpleSystemManagerResponse.describe_parameters = _describe_parameters
    SimpleSystemManagerResponse.put_parameter = _throttled(SimpleSystemManagerResponse.put_parameter)
    SimpleSystemManagerResponse.call_action = _call_action(SimpleSystemManagerResponse.call_action)
    Parameter._standin_extended = True
