"""SSM Run Command as AWS runs it, where moto 5.2.5 reports Success at once, answers
ListCommandInvocations with HTTP 500 and runs nothing.

What a command does on an instance is real: AWS-RunShellScript's commands run in a shell of
the emulated instance (instances.py: a root shell, and the instance's worker service whose
environment is what it loaded when it last started). An invocation's status follows the
script's exit code, its output is what the script printed. Control tags on the instance:
- `emulator:command-outcome=Failed|TimedOut`: the script is not run; the invocation fails
  (exit 1, a systemd-like message) or its delivery times out. `Success` or none: as the
  script goes;
- `emulator:command-seconds=N`: InProgress this long once started, in seconds, whatever the
  delays mode and never scaled (default: delays.py's `ssm.command`);
- `emulator:resolve-seconds=N`: for a command sent to tags, Run Command reaches this instance
  (lists its invocation, counts it in TargetCount) N seconds after SendCommand (default:
  delays.py's `ssm.dispatch`, which also applies to commands sent to instance ids);
- `emulator:env-path`, `emulator:service`: the instance's worker service (instances.py).

Invocations appear over time, as on AWS: ListCommandInvocations lists none right after
SendCommand and then each target once Run Command has reached it; GetCommandInvocation of one
not reached yet answers InvocationDoesNotExist. ListCommands' Status and counts (TargetCount,
CompletedCount, ErrorCount, DeliveryTimedOutCount) are the command's truth: Pending until a
target is reached, InProgress until every target is reached and has ended. SendCommand answers
Pending with every count 0.

Rate controls, as SendCommand documents them (botocore's SSM model):
- `MaxConcurrency` (a number or `N%` of the targets; default 50): at most that many invocations
  run at once. The others wait `Pending` and start, in the order they were reached, as running
  ones finish.
- `MaxErrors` (a number or `N%`, rounded down; default 0): once more invocations than that have
  failed, the ones not yet started are not run: Status `Cancelled`, StatusDetails `Terminated`
  ("the parent command exceeded its MaxErrors limit and subsequent command invocations were
  canceled by the system"). Running ones finish. Only `Failed` counts: delivery timeouts do not
  count against MaxErrors (the `TimedOut` outcome here is a delivery timeout).
Everything is decided when the command is sent (each script runs then, in the order its
invocation would start, so a failure can stop the ones after it), and read against the clock.

Also fixed: moto sent a command given only InstanceIds to every instance of the account (an
empty target list matched them all); AWS runs it on the instances named.

`outputs()` is every invocation's whole output, for the tests' scan for leaked secrets.
"""

import heapq
import math
import re
import time

import delays
import instances
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ssm.exceptions import SSMException, ValidationException
from moto.ssm.models import Command, ssm_backends
from moto.ssm.responses import SimpleSystemManagerResponse

DEFAULT_MAX_CONCURRENCY = "50"  # SendCommand's documented defaults
DEFAULT_MAX_ERRORS = "0"
FAILURE_TEXT = "queue-worker.service: Failed with result 'exit-code'."
RUN_SHELL_SCRIPT = "AWS-RunShellScript"
# ListCommandInvocations' MaxResults: 1 to 50 (botocore's SSM model); AWS documents no
# default, the largest page is assumed.
PAGE = 50
# SendCommand's input patterns (botocore's SSM model); AWS answers ValidationException otherwise.
PATTERNS = {
    "maxConcurrency": r"^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$",
    "maxErrors": r"^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$",
}
RUNNING = ("Pending", "InProgress")
MAX_INSTANCE_IDS, MAX_TARGETS = 50, 5


def _tags(account_id, region, instance_id):
    try:
        tags = ec2_backends[account_id][region].describe_tags(filters={"resource-id": [instance_id]})
    except Exception:
        return {}
    return {t.get("key", t.get("Key")): t.get("value", t.get("Value")) for t in tags}


def command_seconds(tags):
    """How long an invocation on an instance with these tags stays InProgress once started."""
    tagged = tags.get("emulator:command-seconds")
    return float(tagged) if tagged is not None else delays.seconds("ssm.command")


def resolve_seconds(tags, by_tags):
    """How long after SendCommand Run Command reaches an instance with these tags."""
    tagged = tags.get("emulator:resolve-seconds")
    return float(tagged) if by_tags and tagged is not None else delays.seconds("ssm.dispatch")


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


def _check_form(instance_ids, targets):
    """SendCommand's list lengths (botocore's SSM model: `InstanceIds` at most 50, `Targets` at
    most 5), refused as AWS refuses them."""
    for field, given, most in (("instanceIds", instance_ids, MAX_INSTANCE_IDS), ("targets", targets, MAX_TARGETS)):
        if len(given or []) > most:
            raise ValidationException(
                f"1 validation error detected: Value '{given}' at '{field}' failed to satisfy constraint: "
                f"Member must have length less than or equal to {most}"
            )


def _init(original):
    def __init__(self, *args, **kwargs):
        _check_form(kwargs.get("instance_ids"), kwargs.get("targets"))
        original(self, *args, **kwargs)
        # moto de-duplicated through a set; keep the order targets were given in (instance ids
        # first, then tag matches in launch order) so waves run in a predictable order.
        given = kwargs.get("instance_ids") or []
        order = list(dict.fromkeys([i for i in given if i in self.instance_ids] + self.instance_ids))
        self.max_concurrency = self.max_concurrency or DEFAULT_MAX_CONCURRENCY
        self.max_errors = self.max_errors or DEFAULT_MAX_ERRORS
        concurrency = _limit("maxConcurrency", self.max_concurrency, len(order), round_up=True)
        allowed_errors = _limit("maxErrors", self.max_errors, len(order), round_up=False)

        by_tags = any(t.get("Key", "").startswith("tag") for t in self.targets)
        self._standin = {}
        for instance_id in order:
            tags = _tags(self.account_id, self.backend_region, instance_id)
            self._standin[instance_id] = {
                "tags": tags,
                "outcome": tags.get("emulator:command-outcome", "Success"),
                "seconds": command_seconds(tags),
                "listed_at": resolve_seconds(tags, by_tags),
            }
        # Run Command reaches the targets in this order and starts them as it reaches them.
        order.sort(key=lambda i: self._standin[i]["listed_at"])
        self.instance_ids = order
        self.invocations.sort(key=lambda inv: order.index(inv["InstanceId"]))
        _schedule(self, order, concurrency, allowed_errors)
        # Times so far count from the sending; the command is sent once the scripts have run
        # (SendCommand answers then), so that its answer and first reads see it just sent.
        sent = time.time()
        for meta in self._standin.values():
            for key in ("listed_at", "started_at", "done_at", "terminated_at"):
                if key in meta:
                    meta[key] += sent
        self._standin_resolved_at = max((m["listed_at"] for m in self._standin.values()),
                                        default=sent + delays.seconds("ssm.dispatch"))

    return __init__


def _execute(command, instance_id, meta):
    """Runs the command on the instance now; sets its outcome, exit code and output."""
    if meta["outcome"] == "Failed":
        meta.update(code=1, stdout="", stderr=FAILURE_TEXT)
        return
    if meta["outcome"] == "TimedOut":
        meta.update(code=-1, stdout="", stderr="")
        return
    if command.document_name != RUN_SHELL_SCRIPT:
        # Another document's plugins are not emulated: it succeeds and prints nothing.
        meta.update(outcome="Success", code=0, stdout="", stderr="")
        return
    script = "\n".join(command.parameters.get("commands", []))
    code, stdout, stderr = instances.run(command.account_id, command.backend_region, instance_id, meta["tags"], script)
    meta.update(outcome="Success" if code == 0 else "Failed", code=code, stdout=stdout, stderr=stderr)


def _schedule(command, order, concurrency, allowed_errors):
    """Gives each invocation its start and end time, or the time it was terminated: at most
    `concurrency` at once, none before Run Command reaches its instance, and no new start once
    more than `allowed_errors` have failed. Each script runs here, in start order."""
    running = []  # (ends at, order, outcome), earliest first
    failed = 0
    stopped_at = None
    for n, instance_id in enumerate(order):
        meta = command._standin[instance_id]
        start = meta["listed_at"]
        # Retire what has ended by then, and while every slot is taken, wait for the first end.
        while stopped_at is None and running and (running[0][0] <= start or len(running) >= concurrency):
            ends_at, _, outcome = heapq.heappop(running)
            start = max(start, ends_at)
            failed += outcome == "Failed"
            if failed > allowed_errors:
                stopped_at = ends_at
        if stopped_at is not None:
            meta["terminated_at"] = max(stopped_at, meta["listed_at"])
            continue
        _execute(command, instance_id, meta)
        meta["started_at"] = start
        meta["done_at"] = start + meta["seconds"]
        heapq.heappush(running, (meta["done_at"], n, meta["outcome"]))


def _invocation(command, invocation, t):
    """The invocation as it stands at `t`; None before Run Command has reached its instance."""
    meta = getattr(command, "_standin", {}).get(invocation["InstanceId"])
    if meta is None:
        return invocation
    if t < meta["listed_at"]:
        return None
    now = dict(invocation)
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
    elif meta["outcome"] == "TimedOut":
        now.update(Status="TimedOut", StatusDetails="DeliveryTimedOut", **idle)
    else:
        status = meta["outcome"]
        now.update(Status=status, StatusDetails=status, ResponseCode=meta["code"],
                   StandardOutputContent=meta["stdout"][:24000], StandardErrorContent=meta["stderr"][:8000])
    return now


def _get_invocation(original):
    def get_invocation(self, instance_id, plugin_name):
        now = _invocation(self, original(self, instance_id, plugin_name), time.time())
        if now is None:
            raise SSMException(
                "InvocationDoesNotExist",
                "An error occurred (InvocationDoesNotExist) when calling the GetCommandInvocation operation",
            )
        return now

    return get_invocation


def _response_object(original):
    def response_object(self):
        """The command as ListCommands shows it now: status and counts from the invocations
        Run Command has reached."""
        out = original(self)
        if not hasattr(self, "_standin"):
            return out
        t = time.time()
        listed = [now for inv in self.invocations if (now := _invocation(self, inv, t)) is not None]
        statuses = [now["StatusDetails"] for now in listed]
        failed = statuses.count("Failed")
        allowed = _limit("maxErrors", self.max_errors, len(self.invocations), round_up=False)
        if not listed and t < self._standin_resolved_at:
            status = details = "Pending"
        elif t < self._standin_resolved_at or any(s in RUNNING for s in statuses):
            status, details = "InProgress", "InProgress"
        elif failed > allowed:
            status = details = "Failed"
        elif all(s == "Success" for s in statuses):
            # Also when no instance matched the targets: nothing failed (assumption).
            status = details = "Success"
        else:  # attempted everywhere, not all succeeded, not enough failures to fail
            status, details = "Failed", "Incomplete"
        out.update(
            Status=status,
            StatusDetails=details,
            InstanceIds=[now["InstanceId"] for now in listed],
            TargetCount=len(listed),
            CompletedCount=sum(s not in RUNNING for s in statuses),
            ErrorCount=failed,
            DeliveryTimedOutCount=statuses.count("DeliveryTimedOut"),
        )
        return out

    return response_object


def list_command_invocations(self):
    command = self.ssm_backend.get_command_by_id(self._get_param("CommandId"))
    details = self._get_param("Details", False)
    size = int(self._get_param("MaxResults") or PAGE)
    first = int(self._get_param("NextToken") or 0)
    t = time.time()
    listed = [now for inv in command.invocations if (now := _invocation(command, inv, t)) is not None]
    entries = []
    for now in listed[first:first + size]:
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
    page = {"CommandInvocations": entries}
    if first + size < len(listed):
        page["NextToken"] = str(first + size)
    return ActionResult(page)


def outputs():
    """Every invocation's whole output so far, in every account and region: the scripts' stdout
    and stderr as they ran, whether or not a caller has seen them yet."""
    found = []
    for account_id, regions in list(ssm_backends.items()):
        for region, backend in list(regions.items()):
            for command in list(backend._commands):
                for instance_id, meta in getattr(command, "_standin", {}).items():
                    if "code" in meta:
                        found.append({"account": account_id, "region": region, "command_id": command.command_id,
                                      "instance_id": instance_id, "stdout": meta["stdout"], "stderr": meta["stderr"]})
    return found


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
