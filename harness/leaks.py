"""What the tests scan for leaked secrets, served by the emulator over HTTP: every Run Command
invocation's output, and every SecureString value Parameter Store holds (every version, in every
account and region). Test harness only: AWS has no such thing.

    GET /moto-api/standin/run-command-outputs
        [{"account", "region", "command_id", "instance_id", "stdout", "stderr"}, ...]
    GET /moto-api/standin/secure-strings
        [{"account", "region", "name", "version", "value"}, ...]
"""

import moto_run_command
import standin_api
from moto.ssm.models import ssm_backends


def secure_strings():
    """Every version of every SecureString, decrypted."""
    found = []
    for account_id, regions in list(ssm_backends.items()):
        for region, backend in list(regions.items()):
            for name, versions in list(backend._parameters.items()):
                for v in list(versions):
                    if v.parameter_type == "SecureString":
                        found.append({"account": account_id, "region": region, "name": name,
                                      "version": v.version, "value": v.decrypt(v.value)})
    return found


def install():
    """Adds the endpoints to moto's own API (before the server answers its first request)."""
    standin_api.route("run-command-outputs", GET=lambda _: moto_run_command.outputs())
    standin_api.route("secure-strings", GET=lambda _: secure_strings())
