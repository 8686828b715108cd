"""EC2 instances as a Run Command script meets them: a root shell, and one worker service.

Each instance runs one systemd service (tag `emulator:service`, default `queue-worker`) whose
environment is what the instance's .env held when the service last started: the parameters
under its `emulator:env-path` (names relative to the path), as of its launch until a script
starts it again (`systemctl restart`). That is what systemd does with a unit's
`EnvironmentFile=` (systemd.exec(5)): the file is read when the unit starts, and the process
keeps that environment (proc(5): /proc/PID/environ is "the initial environment that was set
when the currently executing program was started"). The process is real (`systemctl`), so a
script reading /proc/PID/environ reads exactly that.

A script runs in a real `sh`, as the SSM agent runs AWS-RunShellScript's commands: as the
agent's child, with the agent's environment (PATH; no variable of any service), in a directory
of the instance's own, with `systemctl` being this directory's `systemctl`. The shell runs on this
machine, as the emulator's user: so by default only scripts that act on the emulated instance
alone run (`systemctl` on its service, `true`, and standin's own check of a worker's settings);
any other (a playbook's `php artisan queue:restart`, or worse) is not run here and ends
Success with no output, as a command the instance knows nothing about. Tests, whose scripts
are their own, set STANDIN_EMULATOR_SCRIPTS=any to run every script.
"""

import atexit
import fcntl
import os
import re
import sys
import shlex
import shutil
import subprocess
import tempfile
import threading

from moto.ec2.models import ec2_backends
from moto.ssm.models import ssm_backends

DEFAULT_SERVICE = "queue-worker"
# Longest a script may run here: far below Run Command's own timeout (AWS-RunShellScript's
# executionTimeout defaults to 3600 s); a test's scripts take milliseconds.
SCRIPT_SECONDS = 60
HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = "standin-instances-"

_root = None
_keepalive = None  # (read end every service process holds, write end only the emulator holds)
_keepalive_inode = None
_locks = {}
_guard = threading.Lock()


def _sweep():
    """Removes the directories of emulators that are gone: one killed (as the tests stop theirs)
    cannot clean up after itself."""
    for name in os.listdir(tempfile.gettempdir()):
        pid = name[len(PREFIX):].split("-", 1)[0]
        if not (name.startswith(PREFIX) and pid.isdigit()):
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(tempfile.gettempdir(), name), ignore_errors=True)
        except OSError:
            pass


def _setup():
    """The instances' directory, the `systemctl` on their PATH and the keep-alive pipe, once."""
    global _root, _keepalive
    with _guard:
        if _root is None:
            _sweep()
            _root = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
            atexit.register(shutil.rmtree, _root, True)
            os.mkdir(os.path.join(_root, "bin"))
            os.symlink(os.path.join(HERE, "systemctl"), os.path.join(_root, "bin", "systemctl"))
            _keepalive = _pipe()
        elif not _intact():
            # A closed end makes every service's `cat` read end-of-file: all workers would stop
            # at once (the flake of crash::a_killed_run_resumes_..., "queue-worker is not
            # running" on every instance right after a restart). Say so, and serve on.
            print(f"emulator: the services' keep-alive pipe {_keepalive} was closed or replaced by "
                  "someone; every emulated service has stopped; a new pipe serves from now on",
                  file=sys.stderr, flush=True)
            _keepalive = _pipe()
        return _root


def _pipe():
    """The keep-alive pipe, its ends moved to high descriptor numbers: a library that closes a
    descriptor twice closes whatever took its low number since, which must never be this pipe.
    The write end is never inherited: when the emulator ends, every service's `cat` reads
    end-of-file and ends too."""
    global _keepalive_inode
    low = os.pipe()
    high = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 900) for fd in low)
    for fd in low:
        os.close(fd)
    os.set_inheritable(high[0], False)
    _keepalive_inode = os.fstat(high[0]).st_ino
    return high


def _intact():
    """Whether both ends of the keep-alive pipe are still the pipe made."""
    try:
        return all(os.fstat(fd).st_ino == _keepalive_inode for fd in _keepalive)
    except OSError:
        return False


def settings(account_id, region, path, as_of=None):
    """What the instance's .env holds: every parameter under `path` (name relative to it), at
    its version current at `as_of` (a naive UTC datetime, as moto keeps them), or now."""
    if not path:
        return {}
    found = {}
    for name, versions in ssm_backends[account_id][region]._parameters.items():
        if not name.startswith(path):
            continue
        held = [v for v in versions if as_of is None or v.last_modified_date <= as_of]
        if held:
            found[name[len(path):]] = held[-1].decrypt(held[-1].value)
    return found


def _instance(account_id, region, instance_id):
    try:
        return ec2_backends[account_id][region].get_instance(instance_id)
    except Exception:
        return None


def _shell_env(directory):
    """The SSM agent's environment, as a script's shell inherits it, plus what `systemctl`
    needs to find the instance."""
    return {
        "PATH": f"{os.path.join(_root, 'bin')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": directory,
        "STANDIN_INSTANCE_DIR": directory,
        "STANDIN_KEEPALIVE_FD": str(_keepalive[0]),
    }


def _write_env(directory, values):
    """The .env, as the words `env` takes (systemctl starts the service with them), after what
    systemd gives every service (systemd.exec(5): PATH, fixed for the system manager)."""
    words = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"]
    words += [f"{k}={v}" for k, v in values.items() if "=" not in k and "\0" not in k + v]
    with open(os.path.join(directory, "env.args"), "w") as f:
        f.write(" ".join(shlex.quote(w) for w in words))


def _sh(directory, script):
    """(exit code, stdout, stderr) of `script` in `sh`, in the instance's directory."""
    try:
        done = subprocess.run(
            ["sh", "-c", script], cwd=directory, env=_shell_env(directory), pass_fds=(_keepalive[0],),
            stdin=subprocess.DEVNULL, capture_output=True, timeout=SCRIPT_SECONDS, start_new_session=True)
    except subprocess.TimeoutExpired as e:
        return 124, (e.stdout or b"").decode("utf-8", "replace"), f"timed out after {SCRIPT_SECONDS} s\n"
    return done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")


def _directory(account_id, region, instance_id, tags):
    """The instance's directory; its service is started the first time, with the .env as it
    was when the instance launched."""
    directory = os.path.join(_setup(), f"{account_id}-{region}-{instance_id}")
    if not os.path.isdir(directory):
        os.mkdir(directory)
        with open(os.path.join(directory, "service"), "w") as f:
            f.write(tags.get("emulator:service", DEFAULT_SERVICE))
        instance = _instance(account_id, region, instance_id)
        launched = getattr(instance, "launch_time", None)
        _write_env(directory, settings(account_id, region, tags.get("emulator:env-path"), launched))
        _sh(directory, "systemctl start \"$(cat service)\"")
    return directory


# The lines of a script that may run on this machine by default: `systemctl` on a unit, `true`,
# and the shape of standin's check of a worker's settings (src/steps/worker_env.rs `script`),
# which reads /proc and prints digests.
_UNIT = r"[A-Za-z0-9@._-]+"
_SAFE = [re.compile(p) for p in (
    rf"(sudo )?systemctl [a-z-]+( (-p|--value|--property[= ]MainPID|MainPID|{_UNIT}))*",
    r"true|:",
    rf"pid=\$\(systemctl show -p MainPID {_UNIT}\); pid=\$\{{pid#MainPID=\}}",
    rf"if \[ -z \"\$pid\" \] \|\| \[ \"\$pid\" = 0 \] \|\| \[ ! -r /proc/\$pid/environ \]; then echo \"{_UNIT} is not running\" >&2; exit 3; fi",
    r"salt=[0-9a-f]+",
    r"for key in [A-Za-z_][A-Za-z0-9_ ]*; do",
    r"  if grep -qz \"\^\$key=\" /proc/\$pid/environ; then",
    r"    printf '%s %s\\n' \"\$key\" \"\$\(\{ printf '%s\\n' \"\$salt\"; grep -z -m 1 \"\^\$key=\" /proc/\$pid/environ \| tr -d '\\000'; \} \| sha256sum \| cut -c 1-64\)\"",
    r"  else printf '%s -\\n' \"\$key\"; fi",
    r"done",
)]


def acts_on_the_instance_only(script):
    """Whether every line of `script` is one the emulated instance alone is affected by."""
    return all(any(p.fullmatch(line) for p in _SAFE) for line in script.splitlines() if line.strip())


def run(account_id, region, instance_id, tags, script):
    """Runs `script` on the instance as Run Command's AWS-RunShellScript does: (exit code,
    stdout, stderr). The .env holds the parameters under the instance's env path as they are
    now, for a service started by the script."""
    with _guard:
        lock = _locks.setdefault((account_id, region, instance_id), threading.Lock())
    with lock:
        directory = _directory(account_id, region, instance_id, tags)
        _write_env(directory, settings(account_id, region, tags.get("emulator:env-path")))
        if os.environ.get("STANDIN_EMULATOR_SCRIPTS") != "any" and not acts_on_the_instance_only(script):
            print(f"emulator: not run on this machine (set STANDIN_EMULATOR_SCRIPTS=any to): {script!r}",
                  file=sys.stderr, flush=True)
            return 0, "", ""
        return _sh(directory, script)
