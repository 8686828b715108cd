"""Elastic Beanstalk writes checked against the caller's IAM policies, as AWS does.

On AWS, UpdateEnvironment, RestartAppServer and SwapEnvironmentCNAMEs run with the caller's
permissions on the services underneath (CloudFormation, Auto Scaling, EC2, ELB, the
`elasticbeanstalk-<region>-<account>` S3 bucket). moto checks none of that, and its own IAM
enforcement is no oracle (see ../shared/EMULATOR.md), so this module evaluates the caller's
policies itself. The table below, and its sources, are explained in docs/playbook.md ("Least privilege").

- Who calls: the access key in the SigV4 `Authorization` header (`Credential=AKID/...`), looked
  up in moto's IAM backend. A key of an IAM user (or of a role assumed through moto's STS) is
  checked; any other key (the `testing` key every other test uses) is not, so nothing changes
  for them.
- What is checked: the Elastic Beanstalk action on the environment ARN(s), then every
  underlying action of TABLE (plus EXTRAS for the options the request sets or removes) on the
  ARNs Elastic Beanstalk would touch for that environment: its stack `awseb-<env-id>-stack`,
  its Auto Scaling group `awseb-<env-id>-stack-AWSEBAutoScalingGroup-...`, its load balancer
  and target group `awseb-AWSEB-...` (web tier only), the bucket `elasticbeanstalk-<region>-
  <account>`, ...
- How: identity-based policies only (user inline + attached, its groups' inline + attached;
  a role's inline + attached). An explicit Deny wins, else an Allow must match. Action and
  NotAction match with `*`/`?`, case-insensitively; Resource and NotResource with `*`/`?`,
  case-sensitively. Conditions are NOT evaluated: a statement applies as if its condition held
  (so AWS's managed policies, whose PassRole/RunInstances statements carry conditions, grant
  here). Policy variables, permission boundaries, SCPs and resource policies are ignored.
  The evaluator (`evaluate`, `user_policies`, `role_policies`, `group_policies`) is shared with
  moto_iam_simulate.py, which answers IAM SimulatePrincipalPolicy with the same decisions.
- Refusal, as AWS answers (HTTP 403, query-protocol XML error):
  - missing Elastic Beanstalk action: `AccessDenied`, "User: ARN is not authorized to perform:
    elasticbeanstalk:UpdateEnvironment on resource: ENV-ARN because no identity-based policy
    allows the elasticbeanstalk:UpdateEnvironment action";
  - missing underlying action: `InsufficientPrivilegesException` (the error AWS models for
    UpdateEnvironment), same sentence naming e.g. cloudformation:UpdateStack and the stack ARN.
  An explicit Deny says "... with an explicit deny in an identity-based policy" instead.
  AWS refuses some of these synchronously and reports others later as environment events
  (the update then fails); here every refusal is synchronous and nothing changes.
"""

import json
import re
import uuid

import moto_eb
from moto.elasticbeanstalk.responses import EBResponse
from moto.iam.exceptions import NotFoundException
from moto.iam.models import get_account_id_from, iam_backends
from moto.sts.models import sts_backends

# Underlying actions per Elastic Beanstalk write: (actions, resource kind). Kinds are resolved
# per environment by _arns(); "*" is for actions without resource-level permissions.
CFN_READS = [
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackResource",
    "cloudformation:DescribeStackResources",
]
FIND_INSTANCES = [
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "ec2:DescribeInstances",
]
TABLE = {
    "UpdateEnvironment": [
        (CFN_READS + [
            "cloudformation:DescribeStackEvents",
            "cloudformation:GetTemplate",
            "cloudformation:ListStackResources",
            "cloudformation:UpdateStack",
        ], "stack"),
        (["autoscaling:SuspendProcesses", "autoscaling:ResumeProcesses"], "asg"),
        (FIND_INSTANCES + [
            "autoscaling:DescribeScalingActivities",
            "autoscaling:DescribeLaunchConfigurations",
            "ec2:DescribeAccountAttributes",
            "ec2:DescribeAddresses",
            "ec2:DescribeImages",
            "ec2:DescribeKeyPairs",
            "ec2:DescribeLaunchTemplates",
            "ec2:DescribeLaunchTemplateVersions",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
            "elasticloadbalancing:DescribeLoadBalancers",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth",
            "elasticloadbalancing:DescribeInstanceHealth",
            "elasticbeanstalk:CreateStorageLocation",
        ], "*"),
        (["s3:CreateBucket", "s3:GetBucketLocation", "s3:GetBucketPolicy", "s3:ListBucket"], "bucket"),
        (["s3:GetObject", "s3:GetObjectAcl", "s3:PutObject", "s3:PutObjectAcl", "s3:DeleteObject"], "objects"),
    ],
    "RestartAppServer": [
        (CFN_READS, "stack"),
        (FIND_INSTANCES, "*"),
    ],
    "SwapEnvironmentCNAMEs": [
        (CFN_READS, "stack"),
        (["elasticloadbalancing:DescribeLoadBalancers"], "*"),
    ],
}

# UpdateEnvironment: more, depending on the option settings it changes.
INSTANCE_REPLACEMENT = [
    (["autoscaling:UpdateAutoScalingGroup", "autoscaling:TerminateInstanceInAutoScalingGroup"], "asg"),
    (["ec2:CreateLaunchTemplateVersion"], "launch-template"),
    (["ec2:RunInstances", "ec2:CreateTags"], "*"),
    (["ec2:TerminateInstances"], "instance"),
    (["iam:PassRole"], "instance-role"),
    (["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"], "targetgroup"),
]
EXTRAS = {  # (namespace, option name) -> grants
    ("aws:autoscaling:asg", "MinSize"): [(["autoscaling:UpdateAutoScalingGroup"], "asg")],
    ("aws:autoscaling:asg", "MaxSize"): [(["autoscaling:UpdateAutoScalingGroup"], "asg")],
    ("aws:autoscaling:launchconfiguration", "InstanceType"): INSTANCE_REPLACEMENT,
    ("aws:ec2:instances", "InstanceTypes"): INSTANCE_REPLACEMENT,
    ("aws:autoscaling:launchconfiguration", "IamInstanceProfile"): INSTANCE_REPLACEMENT,
}
DEFAULT_INSTANCE_ROLE = "aws-elasticbeanstalk-ec2-role"


def example_policy():
    """The table as a least-privilege policy, with the resource patterns AWS's own managed
    policies use (AdministratorAccess-AWSElasticBeanstalk). The self-test grants it."""
    patterns = {
        "stack": ["arn:aws:cloudformation:*:*:stack/awseb-*"],
        "asg": ["arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/awseb-*"],
        "bucket": ["arn:aws:s3:::elasticbeanstalk-*"],
        "objects": ["arn:aws:s3:::elasticbeanstalk-*/*"],
        "launch-template": ["arn:aws:ec2:*:*:launch-template/*"],
        "instance": ["arn:aws:ec2:*:*:instance/*"],
        "instance-role": ["arn:aws:iam::*:role/aws-elasticbeanstalk-ec2-role"],
        "targetgroup": ["arn:aws:elasticloadbalancing:*:*:targetgroup/awseb-*"],
        "*": ["*"],
    }
    grants = [g for rows in TABLE.values() for g in rows] + [g for rows in EXTRAS.values() for g in rows]
    by_kind = {}
    for actions, kind in grants:
        by_kind.setdefault(kind, set()).update(actions)
    statements = [
        {"Effect": "Allow", "Action": sorted(actions), "Resource": patterns[kind]}
        for kind, actions in sorted(by_kind.items())
    ]
    statements.append({
        "Effect": "Allow",
        "Action": ["elasticbeanstalk:" + a for a in sorted(TABLE)],
        "Resource": ["arn:aws:elasticbeanstalk:*:*:environment/*/*"],
    })
    return {"Version": "2012-10-17", "Statement": statements}


# --- who is calling ---------------------------------------------------------------------

CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")


class Policy:
    """One identity-based policy of a principal: its document, and where it comes from (the
    `SourcePolicyId`/`SourcePolicyType` moto_iam_simulate reports; the text, for positions)."""

    def __init__(self, document, source_id="", source_type=""):
        self.document = _document(document)
        self.source_id, self.source_type = source_id, source_type
        self._raw = document

    @property
    def text(self):
        """The document as stored (what AWS counts lines and columns in)."""
        return self._raw if isinstance(self._raw, str) else json.dumps(self._raw, indent=4)


class Caller:
    def __init__(self, arn, policies):
        self.arn = arn
        self.policies = policies  # [Policy]

    @property
    def documents(self):
        return [p.document for p in self.policies]


def _document(doc):
    return json.loads(doc) if isinstance(doc, str) else doc


def _inline(policies, source_type):
    """Inline policies ({name: document}) of a user, group or role."""
    return [Policy(doc, name, source_type) for name, doc in policies.items()]


def _managed(policies):
    """Attached managed policies ({arn: policy}): each one's default version."""
    out = []
    for policy in policies.values():
        default = [v for v in policy.versions if v.is_default] or policy.versions[-1:]
        kind = "aws-managed" if ":iam::aws:policy/" in policy.arn else "user-managed"
        out.append(Policy(default[0].document, policy.name, kind))
    return out


def group_policies(group):
    return _inline(group.policies, "group") + _managed(group.managed_policies)


def user_policies(iam, user):
    """A user's identity-based policies: its own (inline, attached), then its groups'."""
    policies = _inline(user.policies, "user") + _managed(user.managed_policies)
    for group in iam.get_groups_for_user(user.name):
        policies += group_policies(group)
    return policies


def role_policies(role):
    return _inline(role.policies, "role") + _managed(role.managed_policies)


def _caller(response):
    """The IAM user (or assumed role) behind the request's access key; None for any other key."""
    match = CREDENTIAL.search(response.headers.get("Authorization") or "")
    if not match:
        return None
    access_key = match.group(1)
    account = get_account_id_from(access_key)
    for partition, iam in iam_backends[account].items():
        key = iam.access_keys.get(access_key)
        if key is None:
            continue
        if getattr(key, "role_arn", None):
            try:
                role = iam.get_role_by_arn(key.role_arn)
            except NotFoundException:  # moto's STS lets one assume a role that does not exist
                return None
            session = sts_backends[account][partition].get_assumed_role_from_access_key(access_key)
            return Caller(session.arn if session else role.arn, role_policies(role))
        if key.user_name:
            user = iam.get_user(key.user_name)
            return Caller(user.arn, user_policies(iam, user))
    return None


# --- policy evaluation (shared with moto_iam_simulate) -----------------------------------

def _listed(statement, key):
    value = statement.get(key, [])
    return [value] if isinstance(value, str) else list(value)


def _wildcard(pattern, value, ignore_case):
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _applies(statement, action, resource):
    if "Action" in statement:
        action_ok = any(_wildcard(p, action, True) for p in _listed(statement, "Action"))
    else:
        action_ok = not any(_wildcard(p, action, True) for p in _listed(statement, "NotAction"))
    if "Resource" in statement:
        resource_ok = any(_wildcard(p, resource, False) for p in _listed(statement, "Resource"))
    else:
        resource_ok = not any(_wildcard(p, resource, False) for p in _listed(statement, "NotResource"))
    return action_ok and resource_ok  # Condition ignored on purpose (module docstring)


def statements(document):
    """A policy document's statements, as a list (a lone statement object included)."""
    found = document.get("Statement", []) if isinstance(document, dict) else []
    return [found] if isinstance(found, dict) else list(found)


def evaluate(policies, action, resource):
    """The verdict on `action` on `resource` under these policies ([Policy] or documents), and
    the statements that decide it, as [(policy, statement index)]: ("deny", the matching Deny
    statements) when one applies (an explicit Deny wins), else ("allow", the matching Allow
    statements), else (None, []) for an implicit deny."""
    denies, allows = [], []
    for policy in policies:
        if not isinstance(policy, Policy):
            policy = Policy(policy)
        for index, statement in enumerate(statements(policy.document)):
            if _applies(statement, action, resource):
                if statement.get("Effect") == "Deny":
                    denies.append((policy, index))
                elif statement.get("Effect") == "Allow":
                    allows.append((policy, index))
    if denies:
        return "deny", denies
    return ("allow", allows) if allows else (None, [])


def decide(policies, action, resource):
    """"deny" (explicit), "allow", or None (implicit deny)."""
    return evaluate(policies, action, resource)[0]


# --- what Elastic Beanstalk touches -----------------------------------------------------

def _arns(env, option_settings=()):
    """The ARNs of the environment's underlying resources, named as Elastic Beanstalk names
    them; the random parts are derived from the environment so they are stable."""
    region, account = env.region, env.environment_arn.split(":")[4]
    stack = f"awseb-{env.environment_id}-stack"
    uid = uuid.uuid5(uuid.NAMESPACE_URL, env.environment_arn)
    tag, suffix = uid.hex[:12].upper(), uid.hex[:16]
    bucket = f"elasticbeanstalk-{region}-{account}"
    # The role passed to new instances: the instance profile being set, else the current one
    # (EB's default profile and role share the name aws-elasticbeanstalk-ec2-role).
    profile = ("aws:autoscaling:launchconfiguration", "IamInstanceProfile")
    asked = [o.get("Value") for o in option_settings if (o.get("Namespace"), o.get("OptionName")) == profile]
    role = (asked or [moto_eb._settings(env).get(profile)])[-1]
    arns = {
        "stack": f"arn:aws:cloudformation:{region}:{account}:stack/{stack}/{uid}",
        "asg": f"arn:aws:autoscaling:{region}:{account}:autoScalingGroup:{uid}:"
               f"autoScalingGroupName/{stack}-AWSEBAutoScalingGroup-{tag}",
        "bucket": f"arn:aws:s3:::{bucket}",
        "objects": f"arn:aws:s3:::{bucket}/resources/environments/{env.environment_id}/_runtime/config",
        "launch-template": f"arn:aws:ec2:{region}:{account}:launch-template/lt-0{suffix}",
        "instance": f"arn:aws:ec2:{region}:{account}:instance/i-0{suffix}",
        "instance-role": f"arn:aws:iam::{account}:role/{role or DEFAULT_INSTANCE_ROLE}",
        "*": "*",
    }
    if (env.tier or {}).get("Name") != "Worker":  # a Worker environment has no load balancer
        arns["targetgroup"] = f"arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/awseb-AWSEB-{tag}/{suffix}"
    return arns


class Refused(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def _refusal(code, caller, action, resource, verdict):
    on = "" if resource == "*" else f" on resource: {resource}"
    why = ("with an explicit deny in an identity-based policy" if verdict == "deny"
           else f"because no identity-based policy allows the {action} action")
    return Refused(code, f"User: {caller.arn} is not authorized to perform: {action}{on} {why}")


def authorize(caller, eb_action, envs, option_settings=()):
    """Raises Refused unless the caller may perform eb_action on envs, underneath included."""
    action = f"elasticbeanstalk:{eb_action}"
    for env in envs:
        verdict = decide(caller.policies, action, env.environment_arn)
        if verdict != "allow":
            raise _refusal("AccessDenied", caller, action, env.environment_arn, verdict)
    grants = list(TABLE[eb_action])
    for o in option_settings:
        grants += EXTRAS.get((o.get("Namespace"), o.get("OptionName")), [])
    for env in envs:
        arns = _arns(env, option_settings)
        for actions, kind in grants:
            if kind not in arns:  # e.g. no load balancer in a Worker environment
                continue
            for underlying in actions:
                verdict = decide(caller.policies, underlying, arns[kind])
                if verdict != "allow":
                    raise _refusal("InsufficientPrivilegesException", caller, underlying, arns[kind], verdict)


def _error(code, message):
    """The query-protocol error body AWS sends (and both botocore and the Rust SDK parse)."""
    body = (
        '<ErrorResponse xmlns="http://elasticbeanstalk.amazonaws.com/docs/2010-12-01/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{_xml(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return body, {"status": 403, "Content-Type": "text/xml"}


def _xml(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _guard(eb_action, original, environments):
    """Wraps a served EBResponse method: authorize first (as AWS does, before state checks)."""
    def method(self):
        caller = _caller(self)
        if caller is not None:
            try:
                envs = environments(self)
                # A removed option gets its default back: as much a change as setting it.
                changed = (self._get_param("OptionSettings", []) or []) + (self._get_param("OptionsToRemove", []) or [])
                authorize(caller, eb_action, envs, changed)
            except Refused as refused:
                return _error(refused.code, refused.message)
        return original(self)

    return method


def _one(self):
    return [moto_eb._find(self.elasticbeanstalk_backend, self._get_param("EnvironmentName"), self._get_param("EnvironmentId"))]


def _both(self):
    backend = self.elasticbeanstalk_backend
    return [
        moto_eb._find(backend, self._get_param("SourceEnvironmentName"), self._get_param("SourceEnvironmentId")),
        moto_eb._find(backend, self._get_param("DestinationEnvironmentName"), self._get_param("DestinationEnvironmentId")),
    ]


def install():
    """Wraps moto_eb's write methods (installing moto_eb first if needed); idempotent."""
    moto_eb.install()
    if getattr(EBResponse, "_standin_iam", False):
        return
    EBResponse.update_environment = _guard("UpdateEnvironment", EBResponse.update_environment, _one)
    EBResponse.restart_app_server = _guard("RestartAppServer", EBResponse.restart_app_server, _one)
    EBResponse.swap_environment_cnam_es = _guard("SwapEnvironmentCNAMEs", EBResponse.swap_environment_cnam_es, _both)
    EBResponse._standin_iam = True
