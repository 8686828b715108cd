"""What the tests scan for leaked secrets, served by the emulator over HTTP: every Run Command
invocation's output, and every SecureString value Parameter Store holds (every version, in every
account and region). Test harness only: AWS has no such thing.

    GET /moto-api/standin/run-command-outputs
        [{"account", "region", "command_id", "instance_id", "stdout", "stderr"}, ...]
    GET /moto-api/standin/secure-strings
        [{"account", "region", "name", "version", "value"}, ...]
"""

import json

import moto_run_command
from moto.moto_api._internal import urls
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


def _answer(read):
    def handler(request, full_url, headers):
        if request.method != "GET":
            return 405, {}, json.dumps({"error": "GET only"})
        return 200, {"Content-Type": "application/json"}, json.dumps(read())

    handler.__name__ = f"standin_{read.__name__}"
    return handler


def install():
    """Adds the endpoints to moto's own API (before the server answers its first request)."""
    urls.url_paths["{0}/moto-api/standin/run-command-outputs"] = _answer(moto_run_command.outputs)
    urls.url_paths["{0}/moto-api/standin/secure-strings"] = _answer(secure_strings)
