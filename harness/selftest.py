"""What the self-tests share: an emulator of their own (`emulator.py serve` on a free port,
its READY line read), started with the default (instant) delays unless told otherwise, and
stopped with its output closed."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def start_emulator(seed="incident", env=None, stderr=subprocess.DEVNULL):
    """(the process, the READY line's words: `READY`, endpoint, `edge=...`, `ca=...`). With
    `env` None, the default (instant) delays, whatever the environment says; its stderr goes
    to `stderr` (a file, to read the emulator's log)."""
    if env is None:
        env = {k: v for k, v in os.environ.items() if k not in ("STANDIN_EMULATOR_DELAYS", "STANDIN_EMULATOR_TIME_SCALE")}
    emulator = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "emulator.py"), "serve", "--port", "0", "--seed", seed],
        stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
    ready = emulator.stdout.readline().split()
    assert ready and ready[0] == "READY", f"emulator did not start: {ready}"
    return emulator, ready


def stop_emulator(emulator):
    emulator.terminate()
    emulator.wait()
    emulator.stdout.close()
