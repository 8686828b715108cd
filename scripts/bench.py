"""Benchmark: the same failover done three ways against the local emulator, each from the same
freshly seeded world, at three sizes, with the floor that no tool can beat.

    bash scripts/bench.sh [--sizes small,medium,large] [--runs N] [--json FILE] [--cli-large] [--latency MS]

The ways (scripts/bench/): standin (`plan`, `run --yes`, `rollback --last --yes` of
failover.yaml), a bash script of aws CLI calls (failover_awscli.sh), a boto3 script written
with care (failover_boto3.py), and the floor (floor.py: the fewest calls, warm clients,
in-process). The world and the failover are world.py's.

Per size it prints wall time (median of --runs direct runs, each in a fresh emulator), peak
memory (max RSS of the process and the children it waited for, from wait4 in launch.py), API
calls by action (one more run through harness/proxy.py's counting proxy), and ratios. After every run
the world is dumped and must be exactly what the failover should leave (and after standin's
rollback, the seeded world again): a difference stops the benchmark. Timings are figures
only; nothing is asserted about them.

Every service is read once before a way is timed (world.warm): the emulator's first call to a
service loads its model and backend, which AWS does not make anyone wait for.

The emulator answers in about a millisecond and one call at a time; AWS takes tens of
milliseconds a round trip and answers many at once. `--latency MS` puts the proxy in front of
every run (timed ones too) and holds each call MS milliseconds before forwarding it, so what
a way keeps in flight at once shows as it would against AWS.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timezone

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "harness"))
sys.path.insert(0, os.path.join(ROOT, "scripts", "bench"))
import floor  # noqa: E402
import world  # noqa: E402
from oracle import say_violations  # noqa: E402
from proxy import start_proxy  # noqa: E402

STANDIN = os.path.join(ROOT, "target", "release", "standin")
PLAYBOOK = os.path.join(ROOT, "scripts", "bench", "failover.yaml")
BOTO3_SCRIPT = os.path.join(ROOT, "scripts", "bench", "failover_boto3.py")
AWSCLI_SCRIPT = os.path.join(ROOT, "scripts", "bench", "failover_awscli.sh")
LAUNCH = os.path.join(ROOT, "scripts", "bench", "launch.py")
VENV_BIN = os.path.dirname(sys.executable)

ROWS = ["standin plan", "standin run", "standin rollback", "boto3 script", "aws CLI script", "floor (warm boto3)"]
WAYS = ["standin", "boto3", "awscli", "floor"]
# The row each way is compared on: standin's `run` does the failover (it plans again itself).
COMPARED = {"boto3": "boto3 script", "awscli": "aws CLI script", "floor": "floor (warm boto3)"}
# aws processes the CLI script starts besides one put-parameter per parameter: describe-parameters,
# get-parameters-by-path (each paginates inside one process), list-hosted-zones-by-name,
# change-resource-record-sets, wait, send-command, and at least one list-command-invocations.
CLI_FIXED_PROCESSES = 7
DEFAULT_RUNS = {"small": 3, "medium": 3, "large": 1}
# The proxy names REST calls by method and path; the API's names read better, and merge
# botocore's and the Rust SDK's spellings (one sends `.../rrset/`, the other `.../rrset`).
REST_ACTIONS = {
    "route53 GET /2013-04-01/hostedzone/{id}/rrset": "route53:ListResourceRecordSets",
    "route53 POST /2013-04-01/hostedzone/{id}/rrset": "route53:ChangeResourceRecordSets",
    "route53 GET /2013-04-01/hostedzonesbyname": "route53:ListHostedZonesByName",
    "route53 GET /2013-04-01/hostedzone/{id}": "route53:GetHostedZone",
    "route53 GET /2013-04-01/hostedzone": "route53:ListHostedZones",
    "route53 GET /2013-04-01/hostedzonecount": "route53:GetHostedZoneCount",
    "route53 GET /2013-04-01/change/{id}": "route53:GetChange",
}


class WorldMismatch(Exception):
    """A way left another world than the failover should: the benchmark's figures would compare
    different work, so it stops (raised, not asserted, so `python -O` cannot skip it)."""


# -- processes and the emulator ------------------------------------------------------------


def aws_env(endpoint=None):
    """The environment of every child: the emulator's fixed credentials and region, nothing from
    the user's AWS configuration; AWS_ENDPOINT_URL only when given (standin reads it)."""
    env = dict(os.environ, AWS_REGION=world.REGION, AWS_DEFAULT_REGION=world.REGION,
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
               AWS_EC2_METADATA_DISABLED="true", PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


def run_child(args, env):
    """Runs `args` to its end through launch.py: (seconds, peak RSS in MB, stdout). A failure
    raises with the command's stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(suffix=".json") as report:
        code = subprocess.call([sys.executable, "-S", "-I", LAUNCH, report.name, *args], env=env,
                               stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        if code != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(args)} exited {code}:\n{err.read().decode(errors='replace')[-3000:]}")
        with open(report.name) as f:
            figures = json.load(f)
        out.seek(0)
        return figures["seconds"], figures["maxrss_kb"] / 1024, out.read().decode()


@contextmanager
def emulator():
    """A fresh, empty emulator (moto's server with standin's extensions); yields its endpoint.
    Without Parameter Store's lag and PutParameter's token bucket (harness/knobs.py): every way
    is timed on the calls it makes, not on AWS's quotas, and the seed is listed at once."""
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "harness", "emulator.py"), "serve",
                             "--port", "0", "--seed", "none", "--ssm-describe-lag", "0", "--ssm-put-rate", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield line.split()[1]
        say_violations(line.split()[1])
    finally:
        proc.terminate()
        proc.wait()


@contextmanager
def counting(endpoint):
    """The counting proxy in front of `endpoint`, holding each call LATENCY seconds; yields
    (address, counts)."""
    slow = [{"action": "*", "fault": "slow", "seconds": LATENCY}] if LATENCY else []
    server, address, counts = start_proxy(endpoint, faults=slow)
    try:
        yield address, counts
    finally:
        server.shutdown()
        server.server_close()


# -- one way, one world ----------------------------------------------------------------------


class Probe:
    """Where one way sends its calls and what it reports: each phase's wall time and peak RSS
    and, when counting, its calls (the proxy's counts, cleared for the next phase). Checks the
    world, through the emulator directly, whenever the way says its failover is done."""

    def __init__(self, emulator_endpoint, expected, seeded, proxy=None):
        self.emulator = emulator_endpoint
        self.endpoint, self.counts = proxy if proxy else (emulator_endpoint, None)
        self.expected, self.seeded = expected, seeded
        self.results = {}
        self.plan = None  # standin's plan (JSON), for the count of changed resources

    def reset(self):
        """Forgets the calls so far (a warm-up's)."""
        if self.counts is not None:
            self.counts.clear()

    def phase(self, row, seconds, rss_mb):
        calls = None
        if self.counts is not None:
            calls = Counter()
            for action, n in self.counts.items():
                calls[api_name(action)] += n
            self.counts.clear()
        self.results[row] = {"wall": seconds, "rss_mb": rss_mb, "calls": calls}

    def check_failover(self, who):
        """The world must be exactly what the failover leaves."""
        check_world(who, self.expected, world.dump(self.emulator))

    def check_restored(self, who):
        """Parameters and records must be as seeded again (the restart cannot be undone)."""
        now = world.dump(self.emulator)
        check_world(who, dict(self.seeded, commands=now["commands"]), now)


def check_world(who, expected, actual):
    diffs = world.differences(expected, actual)
    if diffs:
        raise WorldMismatch(f"{who} did not leave the expected world:\n" + "\n".join(diffs))


def standin_way(probe):
    """plan, run, rollback; the world is checked after the run and after the rollback."""
    env = aws_env(probe.endpoint)
    with tempfile.TemporaryDirectory(prefix="standin-bench-") as state:
        base = [STANDIN, "--state", state]
        seconds, rss, out = run_child(base + ["plan", "--output", "json", PLAYBOOK], env)
        probe.phase("standin plan", seconds, rss)
        probe.plan = json.loads(out)
        seconds, rss, _ = run_child(base + ["run", "--yes", "--output", "json", PLAYBOOK], env)
        probe.phase("standin run", seconds, rss)
        probe.check_failover("standin run")
        seconds, rss, _ = run_child(base + ["rollback", "--last", "--yes", "--output", "json"], env)
        probe.phase("standin rollback", seconds, rss)
        probe.check_restored("standin rollback")


def boto3_way(probe):
    seconds, rss, _ = run_child([sys.executable, BOTO3_SCRIPT, probe.endpoint], aws_env())
    probe.phase("boto3 script", seconds, rss)
    probe.check_failover("the boto3 script")


def awscli_way(probe):
    seconds, rss, _ = run_child(["bash", AWSCLI_SCRIPT, probe.endpoint], aws_env())
    probe.phase("aws CLI script", seconds, rss)
    probe.check_failover("the aws CLI script")


def floor_way(probe):
    """In-process: clients made and connected (their warm-up calls not counted) before the clock."""
    clients = floor.Floor(probe.endpoint)
    clients.warm()
    probe.reset()
    start = time.perf_counter()
    clients.failover()
    probe.phase("floor (warm boto3)", time.perf_counter() - start, None)
    probe.check_failover("the floor")


WAY_FUNCTIONS = {"standin": standin_way, "boto3": boto3_way, "awscli": awscli_way, "floor": floor_way}


# Each call's wait in the proxy (--latency), in seconds; 0: calls go to the emulator directly.
LATENCY = 0.0


def once(way, size, reference, counted):
    """Runs `way` once in a fresh world of `size`; returns its Probe. `reference` holds the
    seeded and expected dumps of the size, taken from the first world. With --latency every
    run goes through the proxy, which holds each call that long before forwarding it."""
    with emulator() as endpoint:
        world.seed(endpoint, size)
        world.warm(endpoint)
        if not reference:
            reference["seeded"] = world.dump(endpoint)
            reference["expected"] = world.expected_after(reference["seeded"], size)
        if counted or LATENCY:
            with counting(endpoint) as proxy:
                probe = Probe(endpoint, reference["expected"], reference["seeded"], proxy)
                WAY_FUNCTIONS[way](probe)
        else:
            probe = Probe(endpoint, reference["expected"], reference["seeded"])
            WAY_FUNCTIONS[way](probe)
        return probe


# -- a size: runs, counts, figures ----------------------------------------------------------


def api_name(action):
    """The proxy's name of a call as the API names it (REST_ACTIONS), else as the proxy does."""
    return REST_ACTIONS.get(action.rstrip("/"), action)


def is_read(action):
    """Reads: JSON/query actions named Get*, List*, Describe*; REST calls with GET or HEAD."""
    if ":" in action.split(" ")[0]:
        return action.split(":", 1)[1].startswith(("Get", "List", "Describe"))
    return action.split(" ")[1] in ("GET", "HEAD")


def bench_size(size, runs, ways, skip_cli):
    """Every way at `size`: `runs` timed runs (ways interleaved, so a slow spell of the machine
    hits them alike), then one counted run each. Returns the size's figures."""
    reference, rows, plan = {}, {row: {"wall": [], "rss_mb": [], "calls": None} for row in ROWS}, None
    timed_ways = [w for w in ways if not (w == "awscli" and skip_cli)]
    for n in range(runs):
        for way in timed_ways:
            progress(f"{size.name}: {way} run {n + 1}/{runs}")
            for row, result in once(way, size, reference, counted=False).results.items():
                rows[row]["wall"].append(result["wall"])
                if result["rss_mb"] is not None:
                    rows[row]["rss_mb"].append(result["rss_mb"])
    for way in timed_ways:
        progress(f"{size.name}: {way} counted through the proxy")
        probe = once(way, size, reference, counted=True)
        for row, result in probe.results.items():
            rows[row]["calls"] = dict(result["calls"])
        plan = probe.plan or plan
    return summarize(size, rows, plan)


def summarize(size, rows, plan):
    """Medians, read/write splits, ratios and the standin run's reads per changed resource."""
    figures = {"size": vars(size), "rows": {}, "ratios": {}}
    for row, data in rows.items():
        if not data["wall"]:
            continue
        calls = data["calls"] or {}
        reads = sum(n for action, n in calls.items() if is_read(action))
        figures["rows"][row] = {
            "runs": len(data["wall"]), "wall_s": data["wall"], "wall_median_s": statistics.median(data["wall"]),
            "rss_mb": data["rss_mb"], "rss_max_mb": max(data["rss_mb"]) if data["rss_mb"] else None,
            "calls": calls, "calls_total": sum(calls.values()), "reads": reads, "writes": sum(calls.values()) - reads,
        }
    run = figures["rows"].get("standin run")
    for way, row in COMPARED.items():
        other = figures["rows"].get(row)
        if run and other:
            figures["ratios"][way] = {
                "wall": run["wall_median_s"] / other["wall_median_s"],
                "calls": run["calls_total"] / other["calls_total"] if other["calls_total"] else None,
                "rss": run["rss_max_mb"] / other["rss_max_mb"] if other["rss_max_mb"] else None,
            }
    if run and plan:
        summary = plan["summary"]
        changed = summary["add"] + summary["change"] + summary["remove"] + size.workers
        figures["changed_resources"] = changed
        figures["reads_per_changed_resource"] = run["reads"] / changed
    return figures


def cli_estimate(size, measured):
    """The aws CLI script's time at `size`, from the largest size it ran at: one `aws` process per
    parameter plus CLI_FIXED_PROCESSES, each as long as there."""
    if not measured:
        return "—, skipped at large (--cli-large runs it)"
    src_size, seconds = measured
    each = seconds / (src_size.parameters + CLI_FIXED_PROCESSES)
    processes = size.parameters + CLI_FIXED_PROCESSES
    return (f"—, ~{processes:,} aws calls × {each:.2f} s each ≈ {processes * each / 60:.0f} min estimated "
            f"(from {src_size.name}); skipped, --cli-large runs it")


# -- the binary ------------------------------------------------------------------------------


def binary_figures(samples=20):
    """The release binary's size, and the median wall time of `--version` and `validate`."""
    env = aws_env()

    def median_of(args):
        return statistics.median(run_child(args, env)[0] for _ in range(samples))

    version = run_child([STANDIN, "--version"], env)[2].strip()
    return {"path": os.path.relpath(STANDIN, ROOT), "version": version, "size_mb": os.path.getsize(STANDIN) / 1e6,
            "samples": samples, "version_median_s": median_of([STANDIN, "--version"]),
            "validate_median_s": median_of([STANDIN, "validate", PLAYBOOK])}


def machine():
    """What the figures were measured on."""
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    except OSError:
        pass
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": git("rev-parse", "--short", "HEAD"),
            "uncommitted_changes": bool(git("status", "--porcelain", "--untracked-files=no")),
            "cores": os.cpu_count(), "cpu": cpu, "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "awscli": aws_cli_version(),
            "rss_floor_mb": run_child(["true"], aws_env())[1]}


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def aws_cli_version():
    out = subprocess.run([os.path.join(VENV_BIN, "aws"), "--version"], capture_output=True, text=True)
    return (out.stdout or out.stderr).split(" ")[0]


# -- output ----------------------------------------------------------------------------------


def fmt_seconds(s):
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def fmt_ratio(r):
    return "—" if r is None else f"{r:.2f}×"


def print_header(info, binary):
    print("standin benchmark: the same failover three ways, each from a freshly seeded emulator world")
    print(f"  {info['date']}, commit {info['commit']}{' + uncommitted changes' if info['uncommitted_changes'] else ''}; "
          f"{info['cores']} cores ({info['cpu']}), {info['os']}; local emulator (moto server); "
          f"Python {info['python']}, {info['awscli']}")
    print(f"  {binary['version']}: release binary {binary['path']} {binary['size_mb']:.1f} MB; "
          f"`--version` {fmt_seconds(binary['version_median_s'])}, `validate {os.path.relpath(PLAYBOOK, ROOT)}` "
          f"{fmt_seconds(binary['validate_median_s'])} (medians of {binary['samples']})")
    print(f"  peak RSS: max over the process and its children, through scripts/bench/launch.py, which "
          f"puts its own {info['rss_floor_mb']:.1f} MB under every figure (`true` shows that)")
    if LATENCY:
        print(f"  latency: every call of every way waits {LATENCY * 1000:g} ms in harness/proxy.py before the "
              f"emulator answers it, as a round trip to AWS does; calls in flight at once wait at once")


def print_size(figures):
    size = figures["size"]
    print()
    print(f"{size['name']}: {world.describe(world.SIZES[size['name']])}")
    print(f"  {'':20} {'wall (median)':>13} {'min–max':>17} {'runs':>4} {'API calls':>9} {'reads':>6} {'writes':>6} {'peak RSS':>9}")
    for row in ROWS:
        r = figures["rows"].get(row)
        if r is None:
            reason = figures.get("skipped", {}).get(row)
            if reason:
                print(f"  {row:20} {reason}")
            continue
        spread = f"{fmt_seconds(min(r['wall_s']))}–{fmt_seconds(max(r['wall_s']))}" if r["runs"] > 1 else ""
        rss = f"{r['rss_max_mb']:.1f} MB" if r["rss_max_mb"] is not None else "in-process"
        print(f"  {row:20} {fmt_seconds(r['wall_median_s']):>13} {spread:>17} {r['runs']:>4} "
              f"{r['calls_total']:>9} {r['reads']:>6} {r['writes']:>6} {rss:>9}")
    for way, label in (("boto3", "boto3"), ("awscli", "aws CLI"), ("floor", "floor")):
        ratio = figures["ratios"].get(way)
        if ratio:
            rss = f", peak RSS {fmt_ratio(ratio['rss'])}" if ratio["rss"] is not None else ""
            print(f"  standin run ÷ {label + ':':9} wall {fmt_ratio(ratio['wall'])}, calls {fmt_ratio(ratio['calls'])}{rss}")
    if "reads_per_changed_resource" in figures:
        run = figures["rows"]["standin run"]
        print(f"  standin run: {figures['reads_per_changed_resource']:.2f} reads per changed resource "
              f"({run['reads']} reads / {figures['changed_resources']} resources: "
              f"{figures['changed_resources'] - 1 - size['workers']} parameters, 1 record, {size['workers']} workers)")
    print_actions(figures)


def print_actions(figures):
    """API calls per action, one column per way that was counted."""
    rows = [row for row in ROWS if row in figures["rows"]]
    actions = sorted({a for row in rows for a in figures["rows"][row]["calls"]},
                     key=lambda a: (-max(figures["rows"][r]["calls"].get(a, 0) for r in rows), a))
    heads = {"standin plan": "plan", "standin run": "run", "standin rollback": "rollback",
             "boto3 script": "boto3", "aws CLI script": "aws CLI", "floor (warm boto3)": "floor"}
    width = max(len(a) for a in actions) if actions else 10
    print(f"  {'calls by action:':{width + 2}} " + " ".join(f"{heads[r]:>8}" for r in rows))
    for action in actions:
        print(f"    {action:{width}} " + " ".join(f"{figures['rows'][r]['calls'].get(action, 0):>8}" for r in rows))


# -- main ------------------------------------------------------------------------------------


def progress(text):
    """A line on stderr, so stdout holds only the figures."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="small,medium,large", help="comma-separated: small, medium, large")
    parser.add_argument("--runs", type=int, help="timed runs per way and size (default 3; 1 at large)")
    parser.add_argument("--ways", default=",".join(WAYS), help="comma-separated: " + ", ".join(WAYS))
    parser.add_argument("--cli-large", action="store_true", help="also run the aws CLI script at large (long)")
    parser.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    parser.add_argument("--binary", default=STANDIN, help="the standin binary (default: the release build)")
    parser.add_argument("--latency", type=float, default=0, metavar="MS",
                        help="hold every call MS milliseconds in the proxy, as a round trip to AWS takes "
                             "(default 0: the emulator's own speed, no proxy in timed runs)")
    args = parser.parse_args(argv)
    if args.latency < 0:
        parser.error("--latency must be at least 0")
    args.sizes = args.sizes.split(",")
    args.ways = args.ways.split(",")
    for name in args.sizes:
        if name not in world.SIZES:
            parser.error(f"unknown size {name!r}")
    for name in args.ways:
        if name not in WAYS:
            parser.error(f"unknown way {name!r}")
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv):
    global STANDIN, LATENCY
    args = parse_args(argv)
    STANDIN = os.path.abspath(args.binary)
    LATENCY = args.latency / 1000
    info, binary = machine(), binary_figures()
    report = {"machine": info, "binary": binary, "latency_ms": args.latency, "sizes": {}}
    print_header(info, binary)
    cli_measured = None
    for name in args.sizes:
        size = world.SIZES[name]
        skip_cli = name == "large" and not args.cli_large
        started = time.monotonic()
        figures = bench_size(size, args.runs or DEFAULT_RUNS[name], args.ways, skip_cli)
        if skip_cli and "awscli" in args.ways:
            figures["skipped"] = {"aws CLI script": cli_estimate(size, cli_measured)}
        elif "aws CLI script" in figures["rows"]:
            cli_measured = (size, figures["rows"]["aws CLI script"]["wall_median_s"])
        figures["bench_seconds"] = time.monotonic() - started
        report["sizes"][name] = figures
        print_size(figures)
        sys.stdout.flush()
        progress(f"{name}: done in {figures['bench_seconds']:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except WorldMismatch as e:
        sys.exit(f"bench: FAILED, the ways did not do the same failover: {e}")
