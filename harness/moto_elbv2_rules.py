"""Listener rules held to the limits AWS's model gives CreateRule, where moto 5.2.5 checks
nothing (it does check a fixed response's StatusCode pattern and ContentType):

- `Priority` is 1 to 50000 (botocore model ELBv2 CreateRule, member Priority: RulePriority).
- A fixed response's `MessageBody` is at most 1024 characters (FixedResponseActionConfig,
  member MessageBody: FixedResponseActionMessage).

Refusals are 400 `ValidationError` in AWS's words for a request outside its model ("1 validation
error detected: Value 'V' at 'PATH' failed to satisfy constraint: Member must ..."); nothing is
created.
"""

from moto.elbv2.exceptions import ValidationError
from moto.elbv2.models import ELBv2Backend

MAX_PRIORITY = 50000
MAX_BODY = 1024


def _refused(value, at, constraint):
    return ValidationError(
        f"1 validation error detected: Value '{value}' at '{at}' failed to satisfy constraint: Member must {constraint}"
    )


def refuse_out_of_model(priority, actions):
    """Raises AWS's ValidationError for a priority or a fixed-response body outside the model."""
    if priority is not None and int(priority) < 1:
        raise _refused(priority, "priority", "have value greater than or equal to 1")
    if priority is not None and int(priority) > MAX_PRIORITY:
        raise _refused(priority, "priority", f"have value less than or equal to {MAX_PRIORITY}")
    for i, action in enumerate(actions or [], start=1):
        body = (action.get("FixedResponseConfig") or {}).get("MessageBody")
        if body is not None and len(body) > MAX_BODY:
            raise _refused(
                body, f"actions.{i}.member.fixedResponseConfig.messageBody", f"have length less than or equal to {MAX_BODY}"
            )


def _create_rule(original):
    def create_rule(self, listener_arn, conditions, priority, actions, tags=None):
        refuse_out_of_model(priority, actions)
        return original(self, listener_arn, conditions, priority, actions, tags)

    return create_rule


def install():
    """Applies every patch; idempotent."""
    if getattr(ELBv2Backend, "_standin_rule_limits", False):
        return
    ELBv2Backend.create_rule = _create_rule(ELBv2Backend.create_rule)
    ELBv2Backend._standin_rule_limits = True
