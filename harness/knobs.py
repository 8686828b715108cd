"""Parameter Store's consistency and throughput, as knobs set once when the emulator starts.

    emulator.py serve [--ssm-describe-lag SECONDS] [--ssm-put-rate PER_SECOND] [--ssm-put-burst N]

or, when a flag is absent, the environment variables below (so a test harness that starts the
emulator sets them without changing its command line); a flag wins over its variable. A bad
value is a usage error. moto_ssm.py reads them:

- `ssm-describe-lag`: DescribeParameters answers from the store as it was this many seconds
  ago, while GetParameter(s) and GetParameterHistory see every write at once. 0 turns it off.
- `ssm-put-rate`, `ssm-put-burst`: PutParameter takes a token from a bucket holding at most
  `burst` tokens, refilled at `rate` per second; with none left it is refused with
  ThrottlingException "Rate exceeded". A rate of 0 turns the bucket off.

Where each default comes from is in DEFAULTS and in docs/aws-behaviour.md ("Parameter Store").
"""

import os
from dataclasses import dataclass

import delays


@dataclass(frozen=True)
class Knob:
    flag: str
    variable: str
    default: float
    help: str


KNOBS = {
    # AWS publishes no figure. An AWS SDK maintainer on a DescribeParameters that did not list
    # a parameter just put: "reading from it might take an extra second" (aws/aws-sdk-js#4349);
    # other AWS services document "typically less than a few seconds". 2 s is long enough that
    # any read right after a write sees the stale view, short enough for a test to wait out.
    "ssm_describe_lag": Knob("--ssm-describe-lag", "STANDIN_EMULATOR_SSM_DESCRIBE_LAG", 2.0,
                             "seconds DescribeParameters lags writes (0: none)"),
    # AWS publishes no PutParameter quota; users report AWS Support's answer: "the TPS for
    # PutParameter Action is only 3 TPS with standard throughput and max 10 TPS with higher
    # throughput" (github-aws-runners/terraform-aws-github-runner#2944).
    "ssm_put_rate": Knob("--ssm-put-rate", "STANDIN_EMULATOR_SSM_PUT_RATE", 3.0,
                         "PutParameter calls per second, refilled (0: no throttling)"),
    # Not published either: 44 PutParameter calls sent at once by one user, with the JS SDK's
    # three attempts each over a second or two, landed exactly 20 (sudolabs-io/aws-ssm-cli#503):
    # about 15 at once plus the refill. An assumption.
    "ssm_put_burst": Knob("--ssm-put-burst", "STANDIN_EMULATOR_SSM_PUT_BURST", 15.0,
                          "PutParameter calls accepted at once before the rate applies"),
}

_values = {name: knob.default for name, knob in KNOBS.items()}


def parse(name, value):
    """A knob's value from text: a finite number >= 0 (a burst of at least 1)."""
    number = delays.non_negative(value, KNOBS[name].flag)
    if name == "ssm_put_burst" and number < 1:
        raise ValueError(f"{KNOBS[name].flag} must be at least 1, not {value!r}")
    return number


def add_arguments(parser):
    for name, knob in KNOBS.items():
        parser.add_argument(knob.flag, dest=name, default=None, metavar="X",
                            help=f"{knob.help} (default: ${knob.variable}, else {knob.default:g})")


def resolve(given, environ=None):
    """Every knob's value: `given[name]` (a flag, None when absent), else its environment
    variable, else its default. Raises ValueError for a value it cannot use."""
    environ = os.environ if environ is None else environ
    out = {}
    for name, knob in KNOBS.items():
        value = given.get(name)
        if value is None:
            value = environ.get(knob.variable) or knob.default
        out[name] = parse(name, value)
    return out


def configure(values):
    """Sets the knobs (a dict as `resolve` returns) for the emulator's lifetime."""
    _values.update({name: parse(name, value) for name, value in values.items()})


def value(name):
    return _values[name]


def describe():
    """One line for the log."""
    rate = value("ssm_put_rate")
    bucket = f"{rate:g}/s, burst {value('ssm_put_burst'):g}" if rate else "off"
    return f"parameter store: DescribeParameters lags writes by {value('ssm_describe_lag'):g} s, PutParameter bucket {bucket}"
