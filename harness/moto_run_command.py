"""SSM Run Command with outcomes a test can choose, where moto 5.2.5 reports Success at once
and answers ListCommandInvocations with HTTP 500.

Each targeted instance's outcome is read from its EC2 tags when the command is sent:
- `emulator:command-outcome=Success|Failed|TimedOut` (default Success);
- `emulator:command-seconds=N`: InProgress this long first (default 0.2);
- `emulator:env-path=/app/staging/`: a command containing `printenv` prints `NAME=VALUE` for
  every parameter under that path, as a worker that loads its .env from Parameter Store would.
GetCommandInvocation and ListCommandInvocations report the outcome once its time has come.
"""

import time

from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ssm.models import Command, ssm_backends
from moto.ssm.responses import SimpleSystemManagerResponse

DEFAULT_SECONDS = 0.2
FAILURE_TEXT = "queue-worker.service: Failed with result 'exit-code'."


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


def _init(original):
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        commands = " ".join(self.parameters.get("commands", []))
        self._standin = {}
        for instance_id in self.instance_ids:
            tags = _tags(self.account_id, self.backend_region, instance_id)
            path = tags.get("emulator:env-path")
            self._standin[instance_id] = {
                "outcome": tags.get("emulator:command-outcome", "Success"),
                "done_at": time.time() + float(tags.get("emulator:command-seconds", DEFAULT_SECONDS)),
                "stdout": _printenv(self.account_id, self.backend_region, path) if path and "printenv" in commands else "",
            }

    return __init__


def _invocation(command, invocation):
    """The invocation as it stands now."""
    meta = getattr(command, "_standin", {}).get(invocation["InstanceId"])
    if meta is None:
        return invocation
    now = dict(invocation)
    if time.time() < meta["done_at"]:
        now.update(Status="InProgress", StatusDetails="InProgress", ResponseCode=-1, StandardOutputContent="", StandardErrorContent="")
    elif meta["outcome"] == "Failed":
        now.update(Status="Failed", StatusDetails="Failed", ResponseCode=1, StandardOutputContent=meta["stdout"], StandardErrorContent=FAILURE_TEXT)
    elif meta["outcome"] == "TimedOut":
        now.update(Status="TimedOut", StatusDetails="DeliveryTimedOut", ResponseCode=-1, StandardOutputContent="", StandardErrorContent="")
    else:
        now.update(Status="Success", StatusDetails="Success", ResponseCode=0, StandardOutputContent=meta["stdout"], StandardErrorContent="")
    return now


def _get_invocation(original):
    def get_invocation(self, instance_id, plugin_name):
        return _invocation(self, original(self, instance_id, plugin_name))

    return get_invocation


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
    Command.get_invocation = _get_invocation(Command.get_invocation)
    SimpleSystemManagerResponse.list_command_invocations = list_command_invocations
    Command._standin_extended = True
