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
"""

import json
import re

from moto.ssm.exceptions import SSMException

from moto.core.responses import ActionResult
from moto.ssm.models import Parameter, SimpleSystemManagerBackend
from moto.ssm.responses import SimpleSystemManagerResponse


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


class ParameterPatternMismatch(SSMException):
    def __init__(self, pattern):
        super().__init__(
            "ParameterPatternMismatchException",
            f"Parameter value, cannot be validated against allowedPattern: {pattern}",
        )


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
            raise ParameterPatternMismatch(pattern)
        param = original(self, name, description, value, parameter_type, allowed_pattern, *args, **kwargs)
        if param.parameter_type != "SecureString":
            param.keyid = None
        return param

    return put_parameter


def _describe_parameters(self):
    """moto's DescribeParameters with AWS's page size: MaxResults (1-50), 10 when not given."""
    page_size = self._get_param("MaxResults") or 10
    if not 1 <= int(page_size) <= 50:
        raise SSMException("ValidationException", f"1 validation error detected: Value '{page_size}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50")
    page_size = int(page_size)
    start = int((self._get_param("NextToken") or "0").strip() or 0)
    result = self.ssm_backend.describe_parameters(self._get_param("Filters"), self._get_param("ParameterFilters"))
    page = result[start:start + page_size]
    response = {"Parameters": [p.describe_response_object(False) for p in page]}
    if start + page_size < len(result):
        response["NextToken"] = str(start + page_size)
    return ActionResult(response)


def install():
    """Applies every patch; idempotent."""
    if getattr(Parameter, "_standin_extended", False):
        return
    Parameter.response_object = _response_object(Parameter.response_object)
    SimpleSystemManagerBackend.put_parameter = _put_parameter(SimpleSystemManagerBackend.put_parameter)
    SimpleSystemManagerResponse.describe_parameters = _describe_parameters
    Parameter._standin_extended = True
