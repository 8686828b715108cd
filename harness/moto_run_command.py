"""SSM Run Command with outcomes a test can choose, where moto 5.2.5 reports Success at once
and answers ListCommandInvocations with HTTP 500.

Each targeted instance's outcome is read from its EC2 tags when the command is sent:
- `emulator:command-outcome=Success|Failed|TimedOut` (default Success);
- `emulator:command-seconds=N`: InProgress this long once started, in seconds, whatever the
  delays mode and never scaled (default: delays.py's `ssm.command`: 0.2 s with instant delays,
  the default; 25 s times the time scale with realistic delays);
- `emulator:env-path=/app/staging/`: a command containing `printenv` prints `NAME=VALUE` for
  every parameter under that path, as a worker that loads its .env from Parameter Store would.
GetCommandInvocation and ListCommandInvocations report the outcome once its time has come.

Rate controls, as SendCommand documents them (botocore's SSM model):
- `MaxConcurrency` (a number or `N%` of the targets; default 50): at most that many invocations
  run at once. The others wait `Pending` and start, in target order, as running ones finish.
- `MaxErrors` (a number or `N%`, rounded down; default 0): once more invocations than that have
  failed, the ones not yet started are not run: Status `Cancelled`, StatusDetails `Terminated`
  ("the parent command exceeded its MaxErrors limit and subsequent command invocations were
  canceled by the system"). Running ones finish. Only `Failed` counts: delivery timeouts do not
  count against MaxErrors (the `TimedOut` outcome here is a delivery timeout).
- ListCommands shows the MaxConcurrency/MaxErrors received (AWS shows the defaults when none
  were sent) and the command's Status/StatusDetails and counts as they stand now.
Everything is computed when the command is sent (outcomes and durations are known then), and
read against the clock, so nothing runs in the background.

Also fixed: moto sent a command given only InstanceIds to every instance of the account (an
empty target list matched them all); AWS runs it on the instances named.
"""

import heapq
import math
import re
import time

import delays
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ssm.exceptions import ValidationException
from moto.ssm.models import Command, ssm_backends
from moto.ssm.responses import SimpleSystemManagerResponse

DEFAULT_MAX_CONCURRENCY = "50"  # SendCommand's documented defaults
DEFAULT_MAX_ERRORS = "0"
FAILURE_TEXT = "queue-worker.service: Failed with result 'exit-code'."
# SendCommand's input patterns (botocore's SSM model); AWS answers ValidationException otherwise.
PATTERNS = {
    "maxConcurrency": r"^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$",
    "maxErrors": r"^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$",
}


def _tags(account_id, region, instance_id):
    try:
        tags = ec2_backends[account_id][region].describe_tags(filters={"resource-id": [instance_id]})
    except Exception:
        return {}
    return {t.get("key", t.get("Key")): t.get("value", t.get("Value")) for t in tags}


def _printenv(account_id, region, path):
    params = ssm_backends[account_id][region]._parameters
    lines = []
    for name in sorted(params):
        versions = params[name]
        if name.startswith(path) and versions:
            current = versions[-1]
            lines.append(f"{name[len(path):]}={current.decrypt(current.value)}")
    return "\n".join(lines) + ("\n" if lines else "")


def command_seconds(tags):
    """How long an invocation on an instance with these tags stays InProgress once started."""
    tagged = tags.get("emulator:command-seconds")
    return float(tagged) if tagged is not None else delays.seconds("ssm.command")


def _limit(field, value, targets, round_up):
    """A rate control as a count of targets: `N`, or `N%` of them."""
    if not re.match(PATTERNS[field], value):
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {PATTERNS[field]}"
        )
    if not value.endswith("%"):
        return int(value)
    share = int(value[:-1]) * targets / 100
    return max(1, math.ceil(share)) if round_up else math.floor(share)


def _targets_from_tags(original):
    def _get_instance_ids_from_targets(self):
        # moto turns an empty target list into "no filter", i.e. every instance.
        if not self.targets:
            return []
        # `InstanceIds` is a valid target key on AWS; EC2 knows it as the `instance-id` filter.
        self.targets = [dict(t, Key="instance-id") if t.get("Key") == "InstanceIds" else t for t in self.targets]
        return original(self)

    return _get_instance_ids_from_targets


def _init(original):
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        # moto de-duplicated through a set; keep the order targets were given in (instance ids
        # first, then tag matches in launch order) so waves run in a predictable order.
        given = kwargs.get("instance_ids") or []
        order = list(dict.fromkeys([i for i in given if i in self.instance_ids] + self.instance_ids))
        self.instance_ids = order
        self.invocations.sort(key=lambda inv: order.index(inv["InstanceId"]))
        self.max_concurrency = self.max_concurrency or DEFAULT_MAX_CONCURRENCY
        self.max_errors = self.max_errors or DEFAULT_MAX_ERRORS
        concurrency = _limit("maxConcurrency", self.max_concurrency, len(order), round_up=True)
        allowed_errors = _limit("maxErrors", self.max_errors, len(order), round_up=False)

        commands = " ".join(self.parameters.get("commands", []))
        self._standin = {}
        for instance_id in order:
            tags = _tags(self.account_id, self.backend_region, instance_id)
            path = tags.get("emulator:env-path")
            self._standin[instance_id] = {
                "outcome": tags.get("emulator:command-outcome", "Success"),
                "seconds": command_seconds(tags),
                "stdout": _printenv(self.account_id, self.backend_region, path) if path and "printenv" in commands else "",
            }
        _schedule(self, order, concurrency, allowed_errors)

    return __init__


def _schedule(command, order, concurrency, allowed_errors):
    """Gives each invocation its start and end time, or the time it was terminated: waves of at
    most `concurrency`, and no new start once more than `allowed_errors` have failed."""
    clock = time.time()
    running = []  # (ends at, order, outcome), earliest first
    failed = 0
    stopped_at = None
    for n, instance_id in enumerate(order):
        meta = command._standin[instance_id]
        while stopped_at is None and len(running) >= concurrency:
            ends_at, _, outcome = heapq.heappop(running)
            clock = max(clock, ends_at)
            failed += outcome == "Failed"
            if failed > allowed_errors:
                stopped_at = clock
        if stopped_at is not None:
            meta["terminated_at"] = stopped_at
            continue
        meta["started_at"] = clock
        meta["done_at"] = clock + meta["seconds"]
        heapq.heappush(running, (meta["done_at"], n, meta["outcome"]))


def _invocation(command, invocation):
    """The invocation as it stands now."""
    meta = getattr(command, "_standin", {}).get(invocation["InstanceId"])
    if meta is None:
        return invocation
    now = dict(invocation)
    t = time.time()
    idle = dict(ResponseCode=-1, StandardOutputContent="", StandardErrorContent="")
    if "terminated_at" in meta:
        if t < meta["terminated_at"]:
            now.update(Status="Pending", StatusDetails="Pending", **idle)
        else:
            now.update(Status="Cancelled", StatusDetails="Terminated", **idle)
    elif t < meta["started_at"]:
        now.update(Status="Pending", StatusDetails="Pending", **idle)
    elif t < meta["done_at"]:
        now.update(Status="InProgress", StatusDetails="InProgress", **idle)
    elif meta["outcome"] == "Failed":
        now.update(Status="Failed", StatusDetails="Failed", ResponseCode=1, StandardOutputContent=meta["stdout"], StandardErrorContent=FAILURE_TEXT)
    elif meta["outcome"] == "TimedOut":
        now.update(Status="TimedOut", StatusDetails="DeliveryTimedOut", **idle)
    else:
        now.update(Status="Success", StatusDetails="Success", ResponseCode=0, StandardOutputContent=meta["stdout"], StandardErrorContent="")
    return now


def _get_invocation(original):
    def get_invocation(self, instance_id, plugin_name):
        return _invocation(self, original(self, instance_id, plugin_name))

    return get_invocation


def _response_object(original):
    def response_object(self):
        """The command as ListCommands shows it now: status and counts from its invocations."""
        out = original(self)
        if not hasattr(self, "_standin"):
            return out
        statuses = [_invocation(self, inv)["StatusDetails"] for inv in self.invocations]
        failed = statuses.count("Failed")
        allowed = _limit("maxErrors", self.max_errors, len(statuses), round_up=False)
        if any(s in ("Pending", "InProgress") for s in statuses):
            status = details = "InProgress"
        elif failed > allowed:
            status = details = "Failed"
        elif all(s == "Success" for s in statuses):
            status = details = "Success"
        else:  # attempted everywhere, not all succeeded, not enough failures to fail
            status, details = "Failed", "Incomplete"
        out.update(
            Status=status,
            StatusDetails=details,
            InstanceIds=list(self.instance_ids),
            TargetCount=len(statuses),
            CompletedCount=sum(s not in ("Pending", "InProgress") for s in statuses),
            ErrorCount=failed,
            DeliveryTimedOutCount=statuses.count("DeliveryTimedOut"),
        )
        return out

    return response_object


def list_command_invocations(self):
    command = self.ssm_backend.get_command_by_id(self._get_param("CommandId"))
    details = self._get_param("Details", False)
    entries = []
    for invocation in command.invocations:
        now = _invocation(command, invocation)
        entry = {
            "CommandId": command.command_id,
            "InstanceId": now["InstanceId"],
            "Comment": command.comment,
            "DocumentName": command.document_name,
            "RequestedDateTime": command.requested_date_time,
            "Status": now["Status"],
            "StatusDetails": now["StatusDetails"],
        }
        if details:
            entry["CommandPlugins"] = [
                {
                    "Name": now["PluginName"],
                    "Status": now["Status"],
                    "StatusDetails": now["StatusDetails"],
                    "ResponseCode": now["ResponseCode"],
                    "Output": (now["StandardOutputContent"] + now["StandardErrorContent"])[:2500],
                }
            ]
        entries.append(entry)
    return ActionResult({"CommandInvocations": entries})


def install():
    """Applies every patch; idempotent."""
    if getattr(Command, "_standin_extended", False):
        return
    Command.__init__ = _init(Command.__init__)
    Command._get_instance_ids_from_targets = _targets_from_tags(Command._get_instance_ids_from_targets)
    Command.get_invocation = _get_invocation(Command.get_invocation)
    Command.response_object = _response_object(Command.response_object)
    SimpleSystemManagerResponse.list_command_invocations = list_command_invocations
    Command._standin_extended = True
