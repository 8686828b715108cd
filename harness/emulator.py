"""Starts moto's server with standin's extensions, optionally seeded, on a local port.

    python harness/emulator.py serve [--port 0] [--seed incident|forgotten|other|none] [--host 127.0.0.1]
                                     [--delays instant|realistic] [--time-scale X]
                                     [--ssm-describe-lag S] [--ssm-put-rate R] [--ssm-put-burst B]

Prints exactly one line on stdout once the world is seeded:
`READY http://HOST:PORT edge=HOST:PORT ca=PATH`: the AWS endpoint, then the emulated world's
edge (HTTP and HTTPS on one port, see edge.py; `http.check` reaches it with `via:`), then the
absolute path of the CA certificate that signs the edge's TLS certificates (trust it to reach
https:// URLs through the edge). All logs go to stderr. Exits on SIGTERM/SIGINT, and when its parent process dies, so a crashed
test never leaves a server behind.

`--delays realistic` makes changes take about as long as on AWS (Route 53 PENDING before INSYNC,
Elastic Beanstalk Updating, Run Command InProgress), each delay multiplied by `--time-scale`;
`instant` (the default) keeps the short test delays. The environment variables
STANDIN_EMULATOR_DELAYS and STANDIN_EMULATOR_TIME_SCALE set them when the flags are absent.
Every figure is in delays.py.

`--ssm-describe-lag`, `--ssm-put-rate` and `--ssm-put-burst` set how far DescribeParameters lags
writes and PutParameter's token bucket (STANDIN_EMULATOR_SSM_DESCRIBE_LAG, _SSM_PUT_RATE and
_SSM_PUT_BURST when absent); defaults and sources in knobs.py.

Every request passes the oracle (oracle.py) first: one AWS would refuse for its form is
answered as AWS answers it, printed on stderr and listed at `GET /__oracle/violations`.
"""

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import delays  # noqa: E402
import knobs  # noqa: E402
import leaks  # noqa: E402
import moto_account  # noqa: E402
import moto_acm  # noqa: E402
import moto_eb  # noqa: E402
import moto_eb_iam  # noqa: E402
import moto_elbv2  # noqa: E402
import moto_elbv2_rules  # noqa: E402
import moto_health  # noqa: E402
import moto_iam_credentials  # noqa: E402
import moto_iam_quarantine  # noqa: E402
import moto_iam_root  # noqa: E402
import moto_iam_simulate  # noqa: E402
import moto_route53  # noqa: E402
import moto_run_command  # noqa: E402
import moto_s3_checksums  # noqa: E402
import moto_s3_lock  # noqa: E402
import moto_ssm  # noqa: E402
import moto_sts_presigned  # noqa: E402
import oracle  # noqa: E402
import seed  # noqa: E402
from edge import start_edge  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402


def free_port(host):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def parse_args(argv=None, environ=None):
    """The command line, with `delays` and `time_scale` resolved (flag, else environment
    variable, else default); a bad value is a usage error."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the emulator")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--seed", choices=["incident", "forgotten", "other", "none"], default="incident")
    serve.add_argument("--delays", choices=delays.MODES, default=None,
                       help=f"how long changes take (default: ${delays.MODE_VARIABLE}, else instant)")
    serve.add_argument("--time-scale", default=None, metavar="X",
                       help=f"multiplies every realistic delay (default: ${delays.SCALE_VARIABLE}, else 1.0)")
    knobs.add_arguments(serve)
    args = parser.parse_args(argv)
    try:
        args.delays, args.time_scale = delays.resolve(args.delays, args.time_scale, environ)
        args.knobs = knobs.resolve({name: getattr(args, name) for name in knobs.KNOBS}, environ)
    except ValueError as e:
        serve.error(str(e))
    return args


def main():
    args = parse_args()
    delays.configure(args.delays, args.time_scale)
    if args.delays != "instant":
        print(f"emulator: {delays.describe()}", file=sys.stderr, flush=True)
    elif args.time_scale != 1.0:
        print(f"emulator: delays instant: the time scale {args.time_scale:g} applies to realistic delays only",
              file=sys.stderr, flush=True)

    knobs.configure(args.knobs)
    print(f"emulator: {knobs.describe()}", file=sys.stderr, flush=True)

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto_account.install()
    moto_acm.install()
    moto_eb.install()
    moto_eb_iam.install()
    moto_elbv2.install()
    moto_elbv2_rules.install()
    moto_health.install()
    moto_iam_credentials.install()
    moto_iam_quarantine.install()
    moto_iam_root.install()
    moto_iam_simulate.install()
    moto_route53.install()
    moto_run_command.install()
    moto_s3_lock.install()
    moto_s3_checksums.install()
    moto_ssm.install()
    moto_sts_presigned.install()
    leaks.install()
    oracle.install()
    port = args.port or free_port(args.host)
    server = ThreadedMotoServer(ip_address=args.host, port=port, verbose=False)
    server.start()
    endpoint = f"http://{args.host}:{port}"
    if args.seed == "incident":
        seed.seed_incident(endpoint)
    elif args.seed == "forgotten":
        seed.seed_forgotten(endpoint)
    elif args.seed == "other":
        seed.seed_other(endpoint)
    edge, edge_addr = start_edge(endpoint, host=args.host)
    print(f"READY {endpoint} edge={edge_addr} ca={edge.ca_path}", flush=True)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    parent = os.getppid()
    while not stop.wait(0.5):
        if os.getppid() != parent:
            break
    edge.shutdown()
    edge.server_close()  # also removes the edge's CA directory
    server.stop()



def spawn(seed="none"):
    """Starts an emulator in a child process, for a self-test: (the process, its AWS endpoint).
    Stop it with `terminate()`, `wait()` and `stdout.close()`."""
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "serve", "--port", "0", "--seed", seed],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = child.stdout.readline().split()
    assert line and line[0] == "READY", f"emulator did not start: {line}"
    return child, line[1]

if __name__ == "__main__":
    main()
