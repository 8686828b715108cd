"""What the self-tests share: an emulator of their own, started with the default (instant)
delays whatever the environment says, and stopped with its output closed."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def start_emulator(seed):
    """Starts emulator.py seeded with `seed`; returns the process and the fields of its READY
    line (`READY`, the endpoint, `edge=...`, `ca=...`)."""
    env = {k: v for k, v in os.environ.items() if k not in ("STANDIN_EMULATOR_DELAYS", "STANDIN_EMULATOR_TIME_SCALE")}
    emulator = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "emulator.py"), "serve", "--port", "0", "--seed", seed],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    ready = emulator.stdout.readline().split()
    assert ready and ready[0] == "READY", f"emulator did not start: {ready}"
    return emulator, ready


def stop_emulator(emulator):
    emulator.terminate()
    emulator.wait()
    emulator.stdout.close()
