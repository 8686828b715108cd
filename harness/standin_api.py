"""The emulator's own endpoints, beside moto's `/moto-api/`: what a test reads or sets that AWS
offers no API for (every SecureString decrypted, an account's support plan, a Health event).
Test harness only. Each takes a JSON object (none: `{}`) and answers JSON; a request it cannot
act on is answered 400 `{"error": ...}`, a method it does not serve 405.

    route("secure-strings", GET=lambda body: [...])   # serves GET /moto-api/standin/secure-strings
"""

import json

from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_api._internal import urls

PREFIX = "/moto-api/standin/"
JSON = {"Content-Type": "application/json"}


class Refused(ValueError):
    """What a request to an endpoint got wrong; answered 400 with this message."""


def route(name, **methods):
    """Serves `PREFIX + name`: each keyword an HTTP method, its value a function of the request's
    JSON object returning what to answer. Call before the server answers its first request."""

    def handler(request, full_url, headers):
        act = methods.get(request.method)
        if act is None:
            return 405, JSON, json.dumps({"error": f"{' or '.join(methods)} only"})
        try:
            body = json.loads(request.get_data() or b"{}")
            if not isinstance(body, dict):
                raise Refused("the body must be a JSON object")
            answer = act(body)
        except KeyError as e:
            return 400, JSON, json.dumps({"error": f"missing {e}"})
        except ValueError as e:  # Refused, bad JSON, a value of the wrong form
            return 400, JSON, json.dumps({"error": str(e)})
        return 200, JSON, json.dumps(answer)

    handler.__name__ = "standin_" + name.replace("-", "_")
    urls.url_paths["{0}" + PREFIX + name] = handler


def account(body):
    """The account a request names (`"account"`), else moto's default, the seeded worlds' own."""
    return str(body.get("account") or DEFAULT_ACCOUNT_ID)


def number(body, key):
    """`body[key]` as a number of days (or other count): an int or float >= 0."""
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise Refused(f"{key} must be a number >= 0, not {value!r}")
    return value
