"""Benchmark of `standin plan` on the incident playbook against the local emulator: wall time
and peak memory over several runs, and the AWS round trips of one plan counted by a recording
proxy, per API action and per planned resource. Prints figures; asserts nothing.

    bash scripts/bench.sh [RUNS]
"""

import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness"))
from proxy import start_proxy  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
STANDIN = os.path.join(ROOT, "target", "release", "standin")
PLAYBOOK = os.path.join(ROOT, "playbooks", "promote-staging.yaml")


def main(runs):
    emulator = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "harness", "emulator.py"), "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        _, endpoint, edge = emulator.stdout.readline().split()
        edge = edge.removeprefix("edge=")
        env = dict(
            os.environ,
            AWS_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_CONFIG_FILE="/nonexistent",
            AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
            AWS_EC2_METADATA_DISABLED="true",
        )
        env.pop("AWS_PROFILE", None)
        args = [
            STANDIN, "plan", "--output", "json",
            "--var", "app_check_url=http://app.example.com/health",
            "--var", "staging_check_url=http://staging.example.com/",
            "--var", f"edge={edge}",
            PLAYBOOK,
        ]

        # Round trips: one plan through the recording proxy.
        proxy, address, counts = start_proxy(endpoint)
        out = subprocess.run(args, env=dict(env, AWS_ENDPOINT_URL=address), capture_output=True, text=True, check=True)
        proxy.shutdown()
        plan = json.loads(out.stdout)
        resources = {c["resource"] for s in plan["steps"] for c in s["changes"]}
        calls = sum(counts.values())

        # Time and memory: direct to the emulator.
        walls, peaks = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            child = subprocess.Popen(args, env=dict(env, AWS_ENDPOINT_URL=endpoint), stdout=subprocess.DEVNULL)
            _, status, usage = os.wait4(child.pid, 0)
            walls.append(time.perf_counter() - t0)
            peaks.append(usage.ru_maxrss / 1024)
            assert os.waitstatus_to_exitcode(status) == 0, "plan failed"

        print(f"standin plan: {os.path.relpath(PLAYBOOK, ROOT)} ({len(plan['steps'])} steps, "
              f"{len(resources)} resources, {len(plan['guards'])} guards), release build, local emulator")
        print(f"  wall time   median {statistics.median(walls):.3f}s  min {min(walls):.3f}s  "
              f"max {max(walls):.3f}s  ({runs} runs)")
        print(f"  peak memory median {statistics.median(peaks):.1f} MB  max {max(peaks):.1f} MB (max RSS)")
        print(f"  AWS calls   {calls} for {len(resources)} resources = {calls / len(resources):.2f} per resource")
        for action, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"    {n:3d}  {action}")
    finally:
        emulator.terminate()
        emulator.wait()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
