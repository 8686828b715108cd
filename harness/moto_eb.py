"""Elastic Beanstalk as AWS behaves, where moto 5.2.5 falls short (see ../shared/EMULATOR.md).

moto creates environments with an empty CNAME and Grey health and answers most write calls
with HTTP 500. Patched in-process before the server starts, so the Rust SDK, talking real HTTP,
sees what AWS would show:
- CreateEnvironment gives a CNAME (from CNAMEPrefix, else the name; none for Worker tier),
  Ready / Green / Ok, and keeps its OptionSettings.
- UpdateEnvironment, SwapEnvironmentCNAMEs and RestartAppServer require Ready (the AWS error
  otherwise), put the environment in Updating, and it becomes Ready again after a delay: the
  operation's figure in delays.py (0.5 s each with instant delays, the default; with realistic
  delays an in-place option update 120 s, one replacing instances 300 s, a restart 60 s, a swap
  5 s on both environments, times the time scale), unless the environment's
  `emulator:update-seconds` tag says otherwise. Transitions are lazy: every read first moves
  environments whose time is up.
- Option settings are stored per environment as AWS keeps them, (namespace, option name) ->
  value: environment properties (`aws:elasticbeanstalk:application:environment`) and any other
  namespace alike, capacity (`aws:autoscaling:asg` MinSize/MaxSize, `aws:ec2:instances`
  InstanceTypes, `aws:autoscaling:launchconfiguration` InstanceType) included. UpdateEnvironment's
  OptionSettings set them and its OptionsToRemove remove them, in one request.
- DescribeConfigurationSettings returns the stored option settings, also for an environment that
  accepts no change (stuck). Unlike AWS it lists only options that were set, not every option
  of the platform with its default: an option never set is absent, not its default value.
- DescribeEnvironmentResources names the environment's load balancer (its ARN, as AWS names an
  Application Load Balancer), taken from the environment's `emulator:load-balancer` tag.

Control tags on an environment (CreateEnvironment Tags or UpdateTagsForResource):
- `emulator:stuck=true`: the incident. Updating / Red / Severe, and every write fails.
- `emulator:update-seconds=N`: how long a write keeps it Updating, in seconds, whatever the
  delays mode and never scaled (default: the operation's figure in delays.py).
- `emulator:health=Green|Yellow|Red|Grey`: forces its health.

moto maps an action to a method by its own snake_case rule: SwapEnvironmentCNAMEs is
`swap_environment_cnam_es`.
"""

import time

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


def _refresh(env):
    """Moves the environment to the state its tags and the clock say."""
    tags = env.tags or {}
    if tags.get("emulator:stuck") == "true":
        env.status, env.health, env.health_status = "Updating", "Red", "Severe"
        env._ready_at = 0
        return env
    if env.status == "Updating" and time.time() >= getattr(env, "_ready_at", 0):
        env.status = "Ready"
    forced = tags.get("emulator:health")
    if forced in HEALTH_STATUS:
        env.health, env.health_status = forced, HEALTH_STATUS[forced]
    elif env.status == "Ready":
        env.health, env.health_status = "Green", "Ok"
    return env


def _settings(env):
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
    if env.status != "Ready":
        raise InvalidParameterValueError(
            f"Environment named {env.environment_name} is in an invalid state for this operation. Must be Ready."
        )


def update_seconds(env, operation):
    """How long `operation` (a delays.py name) keeps `env` Updating: its tag, else the figure."""
    tagged = (env.tags or {}).get("emulator:update-seconds")
    return float(tagged) if tagged is not None else delays.seconds(operation)


def update_operation(option_settings, options_to_remove):
    """The delays.py name of an UpdateEnvironment that sets and removes these options."""
    changed = (option_settings or []) + (options_to_remove or [])
    if any(o.get("Namespace") in REPLACING_NAMESPACES for o in changed):
        return "eb.update-environment.replace-instances"
    return "eb.update-environment"


def _start_update(env, operation):
    seconds = update_seconds(env, operation)
    env.status = "Updating"
    env._ready_at = time.time() + seconds


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
    env = _find(self.elasticbeanstalk_backend, self._get_param("EnvironmentName"), self._get_param("EnvironmentId"))
    _require_ready(env)
    moto_eb_properties.refuse_oversized(_settings(env), self._get_param("OptionSettings"), self._get_param("OptionsToRemove"))
    for o in self._get_param("OptionSettings", []) or []:
        _settings(env)[(o["Namespace"], o["OptionName"])] = o.get("Value", "")
    for o in self._get_param("OptionsToRemove", []) or []:
        _settings(env).pop((o["Namespace"], o["OptionName"]), None)
    _start_update(env, update_operation(self._get_param("OptionSettings", []), self._get_param("OptionsToRemove", [])))
    return ActionResult(env)


def swap_environment_cnam_es(self):
    backend = self.elasticbeanstalk_backend
    source = _find(backend, self._get_param("SourceEnvironmentName"), self._get_param("SourceEnvironmentId"))
    destination = _find(backend, self._get_param("DestinationEnvironmentName"), self._get_param("DestinationEnvironmentId"))
    _require_ready(source)
    _require_ready(destination)
    source.cname, destination.cname = destination.cname, source.cname
    _start_update(source, "eb.swap-environment-cnames")
    _start_update(destination, "eb.swap-environment-cnames")
    return EmptyResult()


def restart_app_server(self):
    env = _find(self.elasticbeanstalk_backend, self._get_param("EnvironmentName"), self._get_param("EnvironmentId"))
    _require_ready(env)
    _start_update(env, "eb.restart-app-server")
    return EmptyResult()


def describe_configuration_settings(self):
    env = _find(self.elasticbeanstalk_backend, self._get_param("EnvironmentName"))
    settings = [{"Namespace": ns, "OptionName": name, "Value": value} for (ns, name), value in sorted(_settings(env).items())]
    return ActionResult(
        {
            "ConfigurationSettings": [
                {
                    "SolutionStackName": env.solution_stack_name,
                    "ApplicationName": env.application_name,
                    "EnvironmentName": env.environment_name,
                    "DeploymentStatus": "deployed",
                    "DateCreated": env.date_created,
                    "DateUpdated": env.date_updated,
                    "OptionSettings": settings,
                }
            ]
        }
    )


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
    EBResponse.describe_environment_resources = describe_environment_resources
    EBResponse._standin_extended = True
