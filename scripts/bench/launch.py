"""Runs a command and reports its wall time and peak memory, from a process small enough not to
distort the memory figure.

    python -S -I scripts/bench/launch.py REPORT_FILE COMMAND [ARG...]

Why a launcher: Linux gives a child's max RSS as at least the RSS of the process that forked
it (the forked copy's pages count until exec, and exec keeps that high-water mark), so a
command started straight from the benchmark, which has boto3 loaded, would show ~80 MB
whatever it used. Started from here (bare Python, no site packages), the inherited mark is
this process's ~7 MB, which `python -S -I scripts/bench/launch.py R true` shows.

The figures are from wait4 on the command: RSS is the max over the command and every
descendant it waited for (a bash script's `aws` processes); seconds run from just before the
fork to the reap. REPORT_FILE gets `{"seconds": S, "maxrss_kb": K, "exit": CODE}`; stdin,
stdout and stderr are the command's; the exit code is the command's.
"""

import json
import os
import sys
import time


def main(report, command):
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    with open(report, "w") as f:
        json.dump({"seconds": seconds, "maxrss_kb": usage.ru_maxrss, "exit": code}, f)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
