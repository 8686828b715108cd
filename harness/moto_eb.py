"""Elastic Beanstalk as AWS behaves, where moto 5.2.5 falls short (see ../shared/EMULATOR.md).

moto creates environments with an empty CNAME and Grey health and answers most write calls
with HTTP 500. Patched in-process before the server starts, so the Rust SDK, talking real HTTP,
sees what AWS would show (each behaviour's AWS source: docs/aws-behaviour.md, "Elastic
Beanstalk"):
- CreateEnvironment gives a CNAME (from CNAMEPrefix, else the name; none for Worker tier),
  Ready / Green / Ok, and keeps its OptionSettings.
- UpdateEnvironment, SwapEnvironmentCNAMEs and RestartAppServer require Ready with no operation
  in flight (the AWS error otherwise) and start an operation: the environment is Updating for
  the operation's figure in delays.py (0.5 s each with instant delays, the default; with
  realistic delays an in-place option update 120 s, one replacing instances 300 s, a restart
  60 s, a swap 5 s on both environments, times the time scale), unless its
  `emulator:update-seconds` tag says otherwise, then Ready again. UpdateEnvironment answers
  Updating at once; RestartAppServer and SwapEnvironmentCNAMEs leave it Ready a moment first
  (delays.py `eb.accepted-to-updating`, or the `emulator:start-seconds` tag). DateUpdated moves
  when the status does. Transitions are lazy: every read first moves environments whose time
  is up.
- Every operation logs events (DescribeEvents), tied to the call's RequestId (the
  `x-amzn-RequestId` it was answered with): its start when accepted, its end when done.
- Option settings are kept as AWS keeps them, (namespace, option name) -> value, in the deployed
  configuration set and, while an update deploys or after it failed, a draft. UpdateEnvironment's
  OptionSettings set and its OptionsToRemove remove options of the draft, in one request; the
  draft becomes the deployed set when the update completes. An update that fails (the
  `emulator:deploy-fails` tag) leaves the deployed set as it was, its draft `failed`, the
  environment Ready with Red / Severe health and ERROR events, until the next operation
  succeeds. DeleteEnvironmentConfiguration deletes the draft.
- DescribeConfigurationSettings returns the deployed set (`DeploymentStatus: deployed`), then the
  draft (`pending` or `failed`) if there is one, also for an environment that accepts no change
  (stuck). Unlike AWS it lists only options that were set, not every option of the platform
  with its default: an option never set is absent, not its default value.
- DescribeEnvironmentResources names the environment's load balancer (its ARN, as AWS names an
  Application Load Balancer), taken from the environment's `emulator:load-balancer` tag.

Control tags on an environment (CreateEnvironment Tags or UpdateTagsForResource):
- `emulator:stuck=true`: the incident. Updating / Red / Severe, and every write fails.
- `emulator:update-seconds=N`: how long a write keeps it Updating, in seconds, whatever the
  delays mode and never scaled (default: the operation's figure in delays.py).
- `emulator:start-seconds=N`: how long RestartAppServer and SwapEnvironmentCNAMEs leave it
  Ready before it turns Updating, likewise (default: `eb.accepted-to-updating` in delays.py).
- `emulator:deploy-fails=true|OPTION`: an UpdateEnvironment accepted while tagged fails to
  deploy (`true`: every one; `OPTION`: one that sets or removes an option of that OptionName).
- `emulator:health=Green|Yellow|Red|Grey`: forces its health.

moto maps an action to a method by its own snake_case rule: SwapEnvironmentCNAMEs is
`swap_environment_cnam_es`.
"""

import calendar
import re
import threading
import time
import uuid
from datetime import datetime, timezone

import delays
import moto_eb_properties
from moto.core.responses import ActionResult, EmptyResult
from moto.elasticbeanstalk.exceptions import InvalidParameterValueError
from moto.elasticbeanstalk.models import EBBackend
from moto.elasticbeanstalk.responses import EBResponse
from moto.elbv2.models import elbv2_backends

# Option namespaces whose change replaces every instance: "Configuration changes that modify the
# launch configuration or VPC settings require terminating all instances in your environment and
# replacing them" (EB developer guide, "Configuration changes").
REPLACING_NAMESPACES = ("aws:autoscaling:launchconfiguration", "aws:ec2:instances", "aws:ec2:vpc")
HEALTH_STATUS = {"Green": "Ok", "Yellow": "Warning", "Red": "Severe", "Grey": "Unknown"}
# DescribeEvents' Severity, lowest first: "only those with the specified severity or higher".
SEVERITIES = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
# "This action returns the most recent 1,000 events" (DescribeEvents).
MAX_RECORDS = 1000

# Event messages. Where AWS shows them (the EB developer guide's `eb setenv`, `eb config` and
# `eb swap` examples, botocore's DescribeEvents example) they are its words; the rest are
# assumptions (docs/aws-behaviour.md says which).
UPDATE_STARTING = "Environment update is starting."
UPDATING = "Updating environment {env}'s configuration settings."
UPDATE_DEPLOYED = "Successfully deployed new configuration to environment."
UPDATE_COMPLETED = "Environment update completed successfully."
DEPLOYMENT_FAILED = (
    ("ERROR", "Instance deployment failed. For details, see 'eb-engine.log'."),
    ("ERROR", "Failed to deploy configuration."),
    ("ERROR", "The environment was reverted to the previous configuration setting."),
)
RESTART_STARTING = "restartAppServer is starting."
RESTARTED = "Restarted application server on all ec2 instances."
SWAP_STARTING = "swapEnvironmentCNAMEs is starting."
SWAPPING = "Swapping CNAMEs for environments '{source}' and '{destination}'."
SWAPPED = "Completed swapping CNAMEs for environments '{source}' and '{destination}'."

# Requests are served on several threads; every lazy transition and every write holds this.
_lock = threading.RLock()


def _utc(epoch):
    """A moment as moto keeps dates (naive UTC)."""
    return datetime.fromtimestamp(epoch, timezone.utc).replace(tzinfo=None)


def _epoch(value):
    """Seconds since the epoch of a date parameter (aware, or naive UTC)."""
    if value.tzinfo is None:
        return calendar.timegm(value.timetuple()) + value.microsecond / 1e6
    return value.timestamp()


def _events(backend):
    """The event log of a region (kept on its backend)."""
    if not hasattr(backend, "_standin_events"):
        backend._standin_events = []
    return backend._standin_events


def _log(env, at, request_id, severity, message):
    _events(env.application.backend).append({
        "EventDate": _utc(at),
        "Message": message,
        "ApplicationName": env.application_name,
        "EnvironmentName": env.environment_name,
        "RequestId": request_id,
        "Severity": severity,
        "_at": at,
    })


def _finish(env, op):
    """The operation `op` ends, at its end time: events, the draft deployed or failed."""
    at = op["ends"]
    env.date_updated = _utc(at)
    env.abortable_operation_in_progress = False
    draft = op.get("draft")
    if draft is not None and op["fails"]:
        draft["status"], draft["updated"] = "failed", _utc(at)
        env._degraded = True
        for severity, message in DEPLOYMENT_FAILED:
            _log(env, at, op["request"], severity, message)
        return
    if draft is not None:
        env._settings, env._deployed_at = draft["settings"], _utc(at)
        if getattr(env, "_draft", None) is draft:
            env._draft = None
    env._degraded = False
    for message in op["done"]:
        _log(env, at, op["request"], "INFO", message)


def _refresh(env):
    """Moves the environment to the state its tags, its operation and the clock say."""
    with _lock:
        tags = env.tags or {}
        if tags.get("emulator:stuck") == "true":
            env.status, env.health, env.health_status = "Updating", "Red", "Severe"
            return env
        op, now = getattr(env, "_op", None), time.time()
        if op and not op["started"] and now >= op["starts"]:
            op["started"] = True
            env.date_updated = _utc(op["starts"])
        if op and now >= op["ends"]:
            _finish(env, op)
            env._op = op = None
        env.status = "Updating" if op and op["started"] else "Ready"
        forced = tags.get("emulator:health")
        if forced in HEALTH_STATUS:
            env.health, env.health_status = forced, HEALTH_STATUS[forced]
        elif getattr(env, "_degraded", False):
            env.health, env.health_status = "Red", "Severe"
        elif env.status == "Ready":
            env.health, env.health_status = "Green", "Ok"
        return env


def _settings(env):
    """The deployed configuration set."""
    if not hasattr(env, "_settings"):
        env._settings = {}
    return env._settings


def _find(backend, name=None, env_id=None):
    for app in backend.applications.values():
        for env in app.environments.values():
            if (name and env.environment_name == name) or (env_id and env.environment_id == env_id):
                return _refresh(env)
    if name:
        raise InvalidParameterValueError(f"No Environment found for EnvironmentName = '{name}'.")
    raise InvalidParameterValueError(f"No Environment found for EnvironmentId = '{env_id}'.")


def _require_ready(env):
    # An operation accepted but not yet started (a restart's or swap's first moment) shows Ready
    # and still holds the environment.
    if env.status != "Ready" or getattr(env, "_op", None):
        raise InvalidParameterValueError(
            f"Environment named {env.environment_name} is in an invalid state for this operation. Must be Ready."
        )


def _tagged_seconds(env, tag, operation):
    tagged = (env.tags or {}).get(tag)
    return float(tagged) if tagged is not None else delays.seconds(operation)


def update_seconds(env, operation):
    """How long `operation` (a delays.py name) keeps `env` Updating: its tag, else the figure."""
    return _tagged_seconds(env, "emulator:update-seconds", operation)


def start_seconds(env):
    """How long a restart or swap leaves `env` Ready after the call: its tag, else the figure."""
    return _tagged_seconds(env, "emulator:start-seconds", "eb.accepted-to-updating")


def update_operation(option_settings, options_to_remove):
    """The delays.py name of an UpdateEnvironment that sets and removes these options."""
    changed = (option_settings or []) + (options_to_remove or [])
    if any(o.get("Namespace") in REPLACING_NAMESPACES for o in changed):
        return "eb.update-environment.replace-instances"
    return "eb.update-environment"


def deploy_fails(env, changed):
    """Whether an UpdateEnvironment changing these options fails to deploy, decided when it is
    accepted: the `emulator:deploy-fails` tag is `true`, or an OptionName the request changes."""
    wanted = (env.tags or {}).get("emulator:deploy-fails")
    return bool(wanted) and (wanted == "true" or any(o.get("OptionName") == wanted for o in changed))


def _request_id(response):
    """The RequestId `response` answers with (see `_enrich_response`)."""
    if not getattr(response, "_standin_request_id", None):
        response._standin_request_id = str(uuid.uuid4())
    return response._standin_request_id


def _enrich_response(self, headers, body):
    """Answers with the RequestId the operation's events carry, in the `x-amzn-RequestId` header
    and the body's ResponseMetadata. (moto's own draws a fresh one after the handler ran, and its
    greedy pattern would swallow the events' RequestId elements.)"""
    if "status" in headers:
        headers["status"] = str(headers["status"])
    request_id = _request_id(self)
    headers["x-amzn-requestid"] = request_id
    if isinstance(body, str):
        body = re.sub(r"(?<=<ResponseMetadata><RequestId>)[^<]*(?=</RequestId>)", request_id, body)
    return headers, body


def _start(env, request_id, kind, operation, lag=0.0, **rest):
    """Starts an operation on `env`: Ready `lag` seconds more, then Updating for its delay."""
    now = time.time()
    starts = now + lag
    env._op = {"request": request_id, "kind": kind, "starts": starts, "started": False,
               "ends": starts + update_seconds(env, operation), "fails": False, "done": [], **rest}
    _refresh(env)
    return now


def _create_environment(original):
    def create_environment(self):
        result = original(self)
        app = self.elasticbeanstalk_backend.applications[self._get_param("ApplicationName")]
        env = app.environments[self._get_param("EnvironmentName")]
        tier = self._get_param("Tier") or {}
        if tier.get("Name") == "Worker":
            env.tier = {"Name": "Worker", "Type": "SQS/HTTP", "Version": "1.0"}
        else:
            prefix = self._get_param("CNAMEPrefix") or env.environment_name
            env.cname = f"{prefix}.{env.region}.elasticbeanstalk.com"
        env.environment_id = "e-" + format(abs(hash(env.environment_arn)) % 36**10, "x")
        env.status, env.health, env.health_status = "Ready", "Green", "Ok"
        for o in self._get_param("OptionSettings", []) or []:
            _settings(env)[(o["Namespace"], o["OptionName"])] = o.get("Value", "")
        env._deployed_at = env.date_created
        _refresh(env)
        return result

    return create_environment


def _describe_environments(original):
    def describe_environments(self):
        return [_refresh(env) for env in original(self)]

    return describe_environments


def describe_environments(self):
    """Answers only the environments asked for, as AWS does (moto ignores the filters, and the
    aws CLI's `wait environment-updated` relies on them)."""
    names = self._get_param("EnvironmentNames") or []
    ids = self._get_param("EnvironmentIds") or []
    envs = [
        env
        for env in self.elasticbeanstalk_backend.describe_environments()
        if (not names or env.environment_name in names) and (not ids or env.environment_id in ids)
    ]
    return ActionResult({"Environments": envs})


def update_environment(self):
    with _lock:
        env = _find(self.elasticbeanstalk_backend, self._get_param("EnvironmentName"), self._get_param("EnvironmentId"))
        _require_ready(env)
        option_settings = self._get_param("OptionSettings", []) or []
        options_to_remove = self._get_param("OptionsToRemove", []) or []
        moto_eb_properties.refuse_oversized(_settings(env), option_settings, options_to_remove)
        settings = dict(_settings(env))
        for o in option_settings:
            settings[(o["Namespace"], o["OptionName"])] = o.get("Value", "")
        for o in options_to_remove:
            settings.pop((o["Namespace"], o["OptionName"]), None)
        request_id = _request_id(self)
        now = time.time()
        # A new update's draft replaces a failed one: an environment has one draft at a time.
        env._draft = {"settings": settings, "status": "pending", "created": _utc(now), "updated": _utc(now)}
        env.abortable_operation_in_progress = True
        _start(env, request_id, "update", update_operation(option_settings, options_to_remove),
               draft=env._draft, fails=deploy_fails(env, option_settings + options_to_remove),
               done=[UPDATE_DEPLOYED, UPDATE_COMPLETED])
        for message in (UPDATE_STARTING, UPDATING.format(env=env.environment_name)):
            _log(env, now, request_id, "INFO", message)
        return ActionResult(env)


def swap_environment_cnam_es(self):
    with _lock:
        backend = self.elasticbeanstalk_backend
        source = _find(backend, self._get_param("SourceEnvironmentName"), self._get_param("SourceEnvironmentId"))
        destination = _find(backend, self._get_param("DestinationEnvironmentName"), self._get_param("DestinationEnvironmentId"))
        _require_ready(source)
        _require_ready(destination)
        source.cname, destination.cname = destination.cname, source.cname
        request_id = _request_id(self)
        names = {"source": source.environment_name, "destination": destination.environment_name}
        # The swap's events are the source environment's (assumption: one stream, as `eb swap` shows).
        now = _start(source, request_id, "swap", "eb.swap-environment-cnames", start_seconds(source),
                     done=[SWAPPED.format(**names)])
        _start(destination, request_id, "swap", "eb.swap-environment-cnames", start_seconds(destination))
        for message in (SWAP_STARTING, SWAPPING.format(**names)):
            _log(source, now, request_id, "INFO", message)
        return EmptyResult()


def restart_app_server(self):
    with _lock:
        env = _find(self.elasticbeanstalk_backend, self._get_param("EnvironmentName"), self._get_param("EnvironmentId"))
        _require_ready(env)
        request_id = _request_id(self)
        now = _start(env, request_id, "restart", "eb.restart-app-server", start_seconds(env), done=[RESTARTED])
        _log(env, now, request_id, "INFO", RESTART_STARTING)
        return EmptyResult()


def _configuration_set(env, settings, status, created, updated):
    return {
        "SolutionStackName": env.solution_stack_name,
        "ApplicationName": env.application_name,
        "EnvironmentName": env.environment_name,
        "DeploymentStatus": status,
        "DateCreated": created,
        "DateUpdated": updated,
        "OptionSettings": [{"Namespace": ns, "OptionName": name, "Value": value}
                           for (ns, name), value in sorted(settings.items())],
    }


def describe_configuration_settings(self):
    env = _find(self.elasticbeanstalk_backend, self._get_param("EnvironmentName"))
    sets = [_configuration_set(env, _settings(env), "deployed", env.date_created,
                               getattr(env, "_deployed_at", env.date_created))]
    draft = getattr(env, "_draft", None)
    if draft:
        sets.append(_configuration_set(env, draft["settings"], draft["status"], draft["created"], draft["updated"]))
    return ActionResult({"ConfigurationSettings": sets})


def delete_environment_configuration(self):
    with _lock:
        env = _find(self.elasticbeanstalk_backend, self._get_param("EnvironmentName"))
        env._draft = None
        return EmptyResult()


def _matches(event, params):
    """Whether `event` passes DescribeEvents' filters (`params`: name -> value given)."""
    for name in ("ApplicationName", "EnvironmentName", "RequestId", "VersionLabel", "TemplateName", "PlatformArn"):
        if params.get(name) is not None and event.get(name) != params[name]:
            return False
    if params.get("Severity") and SEVERITIES.index(event["Severity"]) < SEVERITIES.index(params["Severity"]):
        return False
    if params.get("StartTime") and event["_at"] < _epoch(params["StartTime"]):
        return False
    return not (params.get("EndTime") and event["_at"] >= _epoch(params["EndTime"]))


def describe_events(self):
    """Events matching the filters, the most recent first, MaxRecords (default 1,000) a page."""
    backend = self.elasticbeanstalk_backend
    with _lock:
        envs = backend.describe_environments()
        log = list(_events(backend))
    params = {name: self._get_param(name) for name in (
        "ApplicationName", "EnvironmentName", "RequestId", "VersionLabel", "TemplateName", "PlatformArn",
        "Severity", "StartTime", "EndTime")}
    env_id = self._get_param("EnvironmentId")
    if env_id:
        params["EnvironmentName"] = next((e.environment_name for e in envs if e.environment_id == env_id), "")
    if params["Severity"] and params["Severity"] not in SEVERITIES:
        raise InvalidParameterValueError(f"Invalid Severity: {params['Severity']}")
    matching = [e for e in sorted(reversed(log), key=lambda e: e["_at"], reverse=True) if _matches(e, params)]
    size = self._get_param("MaxRecords") or MAX_RECORDS
    token = self._get_param("NextToken") or "0"
    if not token.isdigit() or not 1 <= int(size) <= MAX_RECORDS:
        raise InvalidParameterValueError("Invalid NextToken or MaxRecords")
    first = int(token)
    page = [{k: v for k, v in e.items() if k != "_at" and v is not None} for e in matching[first:first + int(size)]]
    result = {"Events": page}
    if first + int(size) < len(matching):
        result["NextToken"] = str(first + int(size))
    return ActionResult(result)


def describe_environment_resources(self):
    env = _find(self.elasticbeanstalk_backend, self._get_param("EnvironmentName"), self._get_param("EnvironmentId"))
    balancers = []
    name = (env.tags or {}).get("emulator:load-balancer")
    if name:
        elbv2 = elbv2_backends[self.current_account][env.region]
        for lb in elbv2.load_balancers.values():
            if lb.name == name:
                balancers.append({"Name": lb.arn})
    return ActionResult(
        {
            "EnvironmentResources": {
                "EnvironmentName": env.environment_name,
                "AutoScalingGroups": [],
                "Instances": [],
                "LaunchConfigurations": [],
                "LaunchTemplates": [],
                "LoadBalancers": balancers,
                "Triggers": [],
                "Queues": [],
            }
        }
    )


def install():
    """Applies every patch; idempotent."""
    if getattr(EBResponse, "_standin_extended", False):
        return
    EBResponse.create_environment = _create_environment(EBResponse.create_environment)
    EBBackend.describe_environments = _describe_environments(EBBackend.describe_environments)
    EBResponse.describe_environments = describe_environments
    EBResponse.update_environment = update_environment
    EBResponse.swap_environment_cnam_es = swap_environment_cnam_es
    EBResponse.restart_app_server = restart_app_server
    EBResponse.describe_configuration_settings = describe_configuration_settings
    EBResponse.delete_environment_configuration = delete_environment_configuration
    EBResponse.describe_events = describe_events
    EBResponse.describe_environment_resources = describe_environment_resources
    EBResponse._enrich_response = _enrich_response
    EBResponse._standin_extended = True
