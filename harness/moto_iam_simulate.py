"""IAM SimulatePrincipalPolicy, which moto 5.2.5 does not implement, answered as AWS answers it.

    iam.simulate_principal_policy(PolicySourceArn=USER_OR_ROLE_ARN, ActionNames=[...], ResourceArns=[...])

The decisions come from the evaluator moto_eb_iam.py uses for Elastic Beanstalk writes
(`moto_eb_iam.evaluate`), so a simulation and a real call agree:

- Policies: the principal's identity-based policies only. A user: its inline and attached
  policies, then those of its groups; a role: its inline and attached policies; a group (AWS
  accepts group ARNs too): its own. An explicit Deny wins, else an Allow must match, else
  `implicitDeny`. Action/NotAction (`*`/`?`, case-insensitive) and Resource/NotResource (`*`/`?`,
  case-sensitive) are matched; Conditions are NOT evaluated (a statement applies as if its
  condition held), so `ContextEntries` is accepted and ignored and `MissingContextValues` is
  always empty. `PolicyInputList`, `PermissionsBoundaryPolicyInputList`, `ResourcePolicy`,
  `ResourceOwner`, `CallerArn`, `ResourceHandlingOption`, SCPs and policy variables are ignored.
- Answer, in the shape of AWS's current model (botocore 1.44): one `EvaluationResults` member per
  action, in request order, with `EvalActionName`, `EvalResourceName`, `EvalDecision`
  (`allowed` | `explicitDeny` | `implicitDeny`), `MatchedStatements`, `MissingContextValues`
  (empty). Without `ResourceArns` (or with just `*`) the action is simulated on `*`:
  `EvalResourceName` is `*` and there are no `ResourceSpecificResults`. With `ResourceArns`, each
  result carries `ResourceSpecificResults`, one per resource in request order (`EvalResourceName`,
  `EvalResourceDecision`, `MatchedStatements`, `MissingContextValues`), an empty
  `EvalDecisionDetails`, and at the top the most restrictive decision across the resources
  (`explicitDeny` > `implicitDeny` > `allowed`) with the union of the statements behind it.
  Read per-resource decisions from `ResourceSpecificResults`: that is what AWS says to rely on.
- Simplified: a top-level `EvalResourceName` on AWS is the ARN template of the action's resource
  type (or `*`); here it is the resource itself when exactly one was given, else `*` (this module
  has no table of resource types). `MatchedStatements` name each statement's policy as
  `SourcePolicyId` (the policy's name) and `SourcePolicyType` (`user` | `group` | `role` for
  inline policies, `user-managed` | `aws-managed` for attached ones); `StartPosition` is the line
  and column (1-based) of the statement's `{` in the policy text as stored, `EndPosition` the
  column just after its `}`: a best effort, AWS's own counting is not documented.
- Pagination: `MaxItems` (default 100) counts EvaluationResults; `IsTruncated` and `Marker` (an
  opaque string, to send back as `Marker`) as on AWS.
- Errors (query-protocol XML, as moto's others): a user/role/group that does not exist, or an
  ARN without the entity's path (`role/NAME` for `role/aws-reserved/sso.amazonaws.com/NAME`, as
  an assumed role's session ARN would suggest): HTTP 404 `NoSuchEntity` "The user with name
  NAME cannot be found." (role/group likewise); an ARN that is
  no IAM user, role or group: 400 `InvalidInput` "Invalid Entity Arn: ARN does not clearly define
  entity type and name."; a missing `PolicySourceArn` or `ActionNames`: 400 `ValidationError`
  "1 validation error detected: Value null at 'policySourceArn' failed to satisfy constraint:
  Member must not be null" (IAM's answer to a missing required member; SDKs normally refuse to
  send such a request at all); a bad `Marker`/`MaxItems`: 400 `InvalidInput`.
"""

import json

import moto_eb_iam
from moto.core.responses import ActionResult
from moto.iam.exceptions import InvalidInput, NotFoundException, ValidationError
from moto.iam.models import iam_backends
from moto.iam.responses import IamResponse

ORDER = {"explicitDeny": 2, "implicitDeny": 1, "allowed": 0}  # most restrictive first
DECISION = {"deny": "explicitDeny", "allow": "allowed", None: "implicitDeny"}


def _required(value, member):
    if not value:
        raise ValidationError(f"1 validation error detected: Value null at '{member}' failed to satisfy "
                              "constraint: Member must not be null")
    return value


# --- the principal ----------------------------------------------------------------------

def principal_policies(arn):
    """The identity-based policies ([moto_eb_iam.Policy]) of the user, role or group `arn`."""
    parts = arn.split(":", 5)
    kind, _, rest = (parts[5] if len(parts) == 6 else "").partition("/")
    name = rest.rsplit("/", 1)[-1]
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or kind not in ("user", "role", "group") or not name:
        raise InvalidInput(f"Invalid Entity Arn: {arn} does not clearly define entity type and name.")
    missing = NotFoundException(f"The {kind} with name {name} cannot be found.")
    account, partition = parts[4], parts[1]
    try:
        iam = iam_backends[account][partition]
    except KeyError:
        raise missing

    def named(entity):
        """The entity, if the ARN names it with its path (`role/PATH/NAME`): an ARN names an
        IAM entity by path and name, and one without the path names none."""
        if entity is None or rest != (entity.path or "/")[1:] + entity.name:
            raise missing
        return entity

    if kind == "user":
        return moto_eb_iam.user_policies(iam, named(iam.users.get(name)))
    if kind == "role":
        return moto_eb_iam.role_policies(named(next((r for r in iam.get_roles() if r.name == name), None)))
    return moto_eb_iam.group_policies(named(iam.groups.get(name)))


# --- where a statement is in its policy's text -------------------------------------------

def _positions(text):
    """[(start, end)] for each statement of a policy text, as ((line, column), (line, column));
    [] when the text cannot be scanned."""
    decoder = json.JSONDecoder()

    def skip(i):
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def where(i):
        line = text.count("\n", 0, i) + 1
        return {"Line": line, "Column": i - (text.rfind("\n", 0, i) + 1) + 1}

    try:
        i = skip(0)
        if text[i] != "{":
            return []
        i = skip(i + 1)
        while text[i] != "}":
            key, i = decoder.raw_decode(text, i)
            i = skip(skip(i) + 1)  # the colon
            value_at = i
            _, i = decoder.raw_decode(text, i)
            if key == "Statement":
                if text[value_at] == "{":
                    return [(where(value_at), where(i))]
                found, j = [], skip(value_at + 1)
                while text[j] != "]":
                    start = j
                    _, j = decoder.raw_decode(text, j)
                    found.append((where(start), where(j)))
                    j = skip(j)
                    if text[j] == ",":
                        j = skip(j + 1)
                return found
            i = skip(i)
            if text[i] == ",":
                i = skip(i + 1)
    except (ValueError, IndexError):
        pass
    return []


def _statement(policy, index, cache):
    """A MatchedStatements member for statement `index` of `policy`."""
    if id(policy) not in cache:
        cache[id(policy)] = _positions(policy.text)
    out = {"SourcePolicyId": policy.source_id, "SourcePolicyType": policy.source_type}
    positions = cache[id(policy)]
    if index < len(positions):
        out["StartPosition"], out["EndPosition"] = positions[index]
    return out


# --- the simulation ---------------------------------------------------------------------

def simulate(policies, actions, resources):
    """[EvaluationResult] (dicts shaped as AWS's model) for each action on the resources
    (None, or just "*": the action on "*")."""
    specific = bool(resources) and resources != ["*"]
    cache, results = {}, []
    for action in actions:
        per_resource = []
        for resource in resources if specific else ["*"]:
            verdict, matched = moto_eb_iam.evaluate(policies, action, resource)
            per_resource.append((resource, DECISION[verdict], matched))
        decision = max((d for _, d, _ in per_resource), key=ORDER.get)
        union = []
        for _, d, matched in per_resource:
            union += [m for m in matched if d == decision and not any(m[0] is u[0] and m[1] == u[1] for u in union)]
        result = {
            "EvalActionName": action,
            "EvalResourceName": resources[0] if specific and len(resources) == 1 else "*",
            "EvalDecision": decision,
            "MatchedStatements": [_statement(p, i, cache) for p, i in union],
            "MissingContextValues": [],
        }
        if specific:
            result["EvalDecisionDetails"] = {}
            result["ResourceSpecificResults"] = [
                {
                    "EvalResourceName": resource,
                    "EvalResourceDecision": d,
                    "MatchedStatements": [_statement(p, i, cache) for p, i in matched],
                    "MissingContextValues": [],
                }
                for resource, d, matched in per_resource
            ]
        results.append(result)
    return results


def simulate_principal_policy(self):
    """IamResponse.simulate_principal_policy (moto parses the query parameters by AWS's model)."""
    arn = _required(self._get_param("PolicySourceArn"), "policySourceArn")
    actions = _required(self._get_param("ActionNames"), "actionNames")
    resources = self._get_param("ResourceArns") or None
    max_items, marker = self._get_param("MaxItems"), self._get_param("Marker")
    try:
        max_items = int(max_items) if max_items is not None else 100
        start = int(marker) if marker else 0
    except ValueError:
        raise InvalidInput("Invalid Marker or MaxItems.")
    if not 1 <= max_items <= 1000 or start < 0:
        raise InvalidInput("Invalid Marker or MaxItems.")
    policies = principal_policies(arn)
    results = simulate(policies, actions[start:start + max_items], resources)
    answer = {"EvaluationResults": results, "IsTruncated": start + max_items < len(actions)}
    if answer["IsTruncated"]:
        answer["Marker"] = str(start + max_items)
    return ActionResult(answer)


def install():
    """Adds SimulatePrincipalPolicy to moto's IAM (moto answers any action IamResponse has a
    method for); idempotent."""
    if getattr(IamResponse, "_standin_simulate", False):
        return
    IamResponse.simulate_principal_policy = simulate_principal_policy
    IamResponse._standin_simulate = True
