"""Every delay the emulator adds before a change is done, in one place.

Two modes, chosen once when the emulator starts (`emulator.py serve --delays MODE --time-scale X`,
or the environment variables STANDIN_EMULATOR_DELAYS / STANDIN_EMULATOR_TIME_SCALE; a flag wins
over its variable):

- `instant` (the default): what the emulator has always done, so every existing test keeps its
  timing: a Route 53 change is INSYNC at once, an Elastic Beanstalk write keeps the environment
  Updating 0.5 s (a restart or swap turns Updating 0.3 s after the call), a Run Command
  invocation is listed 0.1 s after SendCommand and InProgress 0.2 s. The time scale does not apply.
- `realistic`: about as long as AWS takes (REALISTIC below), each figure multiplied by the time
  scale: `--delays realistic --time-scale 0.01` makes the 40 s Route 53 propagation 0.4 s.

The control tags `emulator:update-seconds` and `emulator:start-seconds` (EB environment) and
`emulator:command-seconds` (EC2 instance) still win over the mode's figure, in either mode, and are taken as written: seconds
of wall-clock time, never scaled.

The service modules (moto_route53.py, moto_eb.py, moto_run_command.py) ask `seconds(name)`
when a change starts, so a change keeps the delay it started with.
"""

import math
import os

MODES = ("instant", "realistic")
MODE_VARIABLE = "STANDIN_EMULATOR_DELAYS"
SCALE_VARIABLE = "STANDIN_EMULATOR_TIME_SCALE"

# Today's figures: fast enough for tests, long enough to see the in-between state once.
INSTANT = {
    "route53.change": 0.0,
    "eb.update-environment": 0.5,
    "eb.update-environment.replace-instances": 0.5,
    "eb.restart-app-server": 0.5,
    "eb.swap-environment-cnames": 0.5,
    "eb.accepted-to-updating": 0.3,
    "ssm.command": 0.2,
    "ssm.dispatch": 0.1,
}

# About as long as AWS takes, in seconds of real time (before the time scale).
REALISTIC = {
    # ChangeResourceRecordSets answers PENDING; GetChange answers PENDING until INSYNC. The
    # Route 53 developer guide ("Editing records"): "Changes generally propagate to all Route 53
    # name servers within 60 seconds." Observed changes usually turn INSYNC in 30-60 s; 40 s is
    # typical. The record itself is listed at once (ListResourceRecordSets), as on AWS.
    "route53.change": 40.0,
    # UpdateEnvironment that changes option settings in place (environment properties, Auto
    # Scaling MinSize/MaxSize, load balancer settings): Elastic Beanstalk propagates the change
    # to the affected resources ("Configuration changes" in the EB developer guide) and, for
    # environment properties, restarts the application on every instance. AWS gives no figure;
    # such updates are commonly 1.5-3 minutes of Updating.
    "eb.update-environment": 120.0,
    # UpdateEnvironment that modifies the launch configuration or VPC settings (instance type,
    # `aws:autoscaling:launchconfiguration`, `aws:ec2:instances`, `aws:ec2:vpc`): "require
    # terminating all instances in your environment and replacing them" (same page), in rolling
    # batches of new instances that must launch and pass health checks. Commonly 5+ minutes.
    "eb.update-environment.replace-instances": 300.0,
    # RestartAppServer: "Causes the environment to restart the application container server
    # running on each Amazon EC2 instance" (EB API reference); no figure given, commonly about
    # a minute of Updating.
    "eb.restart-app-server": 60.0,
    # SwapEnvironmentCNAMEs, on both environments: the EB CLI's `eb swap` example shows
    # "swapEnvironmentCNAMEs is starting" at 21:05:25 and "Completed swapping CNAMEs" at
    # 21:05:30 (EB developer guide, "eb swap"): about 5 s.
    "eb.swap-environment-cnames": 5.0,
    # RestartAppServer and SwapEnvironmentCNAMEs: the environment still shows Ready this long
    # after the call before it turns Updating (the operation is accepted, its workflow not yet
    # begun). AWS documents no figure; assumption: about 2 s.
    "eb.accepted-to-updating": 2.0,
    # SendCommand: each invocation InProgress this long once it starts (delivery to the SSM
    # agent, running a short script such as `systemctl restart ...`, reporting back). AWS gives
    # no figure; a short AWS-RunShellScript usually shows Success after 20-30 s.
    "ssm.command": 25.0,
    # SendCommand until Run Command lists an invocation: ListCommandInvocations answers an empty
    # list "if I sleep for a second it works" (aws/aws-cli#3546, where AWS called the API
    # eventually consistent), GetCommandInvocation answers InvocationDoesNotExist without "a
    # sleep timer of 0.5-1 second" (boto/boto3#2701; botocore's CommandExecuted waiter retries
    # on it). Tag targets are reached over time; `emulator:resolve-seconds` spreads them.
    "ssm.dispatch": 1.0,
}

_mode = "instant"
_scale = 1.0


def parse_mode(value):
    mode = (value or "").strip().lower()
    if mode not in MODES:
        raise ValueError(f"delays must be one of {', '.join(MODES)}, not {value!r}")
    return mode


def non_negative(value, what):
    """`value` as a finite number >= 0; `what` names it in the error (a flag, "time scale")."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, not {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{what} must be a finite number >= 0, not {value!r}")
    return number


def parse_scale(value):
    return non_negative(value, "time scale")


def resolve(mode=None, scale=None, environ=None):
    """(mode, scale) from the flags given (None when absent), else the environment variables,
    else the defaults (`instant`, 1.0). Raises ValueError for a value it cannot use."""
    environ = os.environ if environ is None else environ
    if mode is None:
        mode = environ.get(MODE_VARIABLE) or "instant"
    if scale is None:
        scale = environ.get(SCALE_VARIABLE) or 1.0
    return parse_mode(mode), parse_scale(scale)


def configure(mode="instant", scale=1.0):
    """Sets the mode and time scale for every delay asked from now on."""
    global _mode, _scale
    _mode, _scale = parse_mode(mode), parse_scale(scale)


def mode():
    return _mode


def scale():
    return _scale


def seconds(name):
    """How long the change `name` (a key of the tables above) takes now, in seconds."""
    if _mode == "realistic":
        return REALISTIC[name] * _scale
    return INSTANT[name]


def describe():
    """One line for the log: the mode and what each delay comes to."""
    if _mode == "instant":
        return "delays: instant"
    figures = ", ".join(f"{name} {seconds(name):g} s" for name in REALISTIC)
    return f"delays: realistic, time scale {_scale:g}: {figures}"
