"""How close a run of the incident playbook comes to its critical path, with the emulator's
realistic delays (Route 53 PENDING, Elastic Beanstalk Updating, Run Command InProgress) scaled
down. The critical path is what no scheduler can beat: the sum, over the playbook's units (a
step, or a `parallel:` group), of the longest step in each. In order, the run would take the
sum of all steps. Prints figures; asserts nothing.

    harness/.venv/bin/python scripts/critical_path.py [--time-scale 0.02] [--runs 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "harness"))
from oracle import say_violations  # noqa: E402

STANDIN = os.environ.get("STANDIN_BIN", os.path.join(ROOT, "target", "release", "standin"))
PLAYBOOK = os.path.join(ROOT, "playbooks", "promote-staging.yaml")


def emulator(scale):
    """A freshly seeded incident world with realistic delays at `scale`."""
    proc = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "harness", "emulator.py"), "serve", "--port", "0",
         "--delays", "realistic", "--time-scale", str(scale)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    _, endpoint, edge, ca = proc.stdout.readline().split()
    return proc, endpoint, edge.removeprefix("edge="), ca.removeprefix("ca=")


def one_run(scale):
    """Runs the incident playbook once; returns (wall seconds of the steps, units) where each
    unit is a list of (step id, seconds the step took)."""
    proc, endpoint, edge, ca = emulator(scale)
    try:
        with tempfile.TemporaryDirectory() as state:
            env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_REGION="us-east-1",
                       AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                       AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
                       AWS_EC2_METADATA_DISABLED="true", SSL_CERT_FILE=ca)
            env.pop("AWS_PROFILE", None)
            out = subprocess.run(
                [STANDIN, "--output", "json", "--state", state, "run", "--yes",
                 "--var", f"edge={edge}", PLAYBOOK],
                env=env, capture_output=True, text=True, check=True,
            )
            report = json.loads(out.stdout)
            path = os.path.join(state, "runs", report["run_id"], "journal.jsonl")
            with open(path) as f:
                records = [json.loads(line) for line in f]
        say_violations(endpoint)
    finally:
        proc.terminate()
        proc.wait()
    took = {r["step"]: r.get("took") or 0.0 for r in records if r["record"] in ("applied", "unchanged")}
    units = []
    for step in records[0]["steps"]:
        member = (step["id"], took.get(step["id"], 0.0))
        if units and step.get("group") and units[-1][0] == step["group"]:
            units[-1][1].append(member)
        else:
            units.append((step.get("group"), [member]))
    return report["secs"], [members for _, members in units]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--time-scale", type=float, default=0.02)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = [one_run(args.time_scale) for _ in range(args.runs)]
    walls = [wall for wall, _ in results]
    critical = [sum(max(t for _, t in unit) for unit in units) for _, units in results]
    in_order = [sum(t for unit in units for _, t in unit) for _, units in results]
    over = [(w / c - 1) * 100 for w, c in zip(walls, critical)]
    print(f"incident playbook, realistic delays x{args.time_scale} (Route 53 40 s -> {40 * args.time_scale:.1f} s, "
          f"EB restart 60 s -> {60 * args.time_scale:.1f} s), release build, {args.runs} runs, medians")
    print(f"  run (all steps)       {statistics.median(walls):7.2f} s")
    print(f"  critical path         {statistics.median(critical):7.2f} s   (longest step of each unit, summed)")
    print(f"  over critical path    {statistics.median(over):7.1f} %   (max {max(over):.1f} %)")
    print(f"  the same steps in order would take {statistics.median(in_order):.2f} s")
    _, units = results[0]
    for unit in units:
        if len(unit) > 1:
            print("  parallel: " + ", ".join(f"{step} {t:.2f} s" for step, t in unit))


if __name__ == "__main__":
    main()
