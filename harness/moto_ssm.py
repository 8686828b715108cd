"""Parameter Store as AWS answers it, where moto 5.2.5 differs (see ../shared/EMULATOR.md).

- A parameter's `Policies` come back as AWS sends them: each `PolicyText` is the policy's JSON
  text (moto puts the parsed object there, which no SDK can read as the string AWS's model
  says it is), `PolicyType` its `Type`, `PolicyStatus` `Pending`.
- Only a SecureString has a KMS key: moto carries an earlier version's `KeyId` over to a new
  String version written without one (a secret made plain again keeps reporting a key).
- A value must match the parameter's `AllowedPattern` (the one sent, else the one it has), or
  PutParameter is refused with `ParameterPatternMismatchException`, as on AWS; moto stores the
  pattern and checks nothing.
"""

import json
import re

from moto.ssm.exceptions import SSMException

from moto.ssm.models import Parameter, SimpleSystemManagerBackend


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


def _put_parameter(original):
    def put_parameter(self, name, description, value, parameter_type, allowed_pattern, *args, **kwargs):
        previous = self._parameters[name][-1] if self._parameters.get(name) else None
        pattern = allowed_pattern if allowed_pattern is not None else getattr(previous, "allowed_pattern", None)
        if pattern and value is not None and not re.search(pattern, value):
            raise ParameterPatternMismatch(pattern)
        param = original(self, name, description, value, parameter_type, allowed_pattern, *args, **kwargs)
        if param.parameter_type != "SecureString":
            param.keyid = None
        return param

    return put_parameter


def install():
    """Applies every patch; idempotent."""
    if getattr(Parameter, "_standin_extended", False):
        return
    Parameter.response_object = _response_object(Parameter.response_object)
    SimpleSystemManagerBackend.put_parameter = _put_parameter(SimpleSystemManagerBackend.put_parameter)
    Parameter._standin_extended = True
