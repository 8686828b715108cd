"""The AWS managed policies AWS attaches to an IAM user whose access key it found exposed:
`AWSCompromisedKeyQuarantine`, `...V2` and `...V3` (`arn:aws:iam::aws:policy/NAME`, path `/`).
Sources: docs/aws-behaviour.md, "Doctor's reads".

moto has AWS's managed policies only with MOTO_IAM_LOAD_MANAGED_POLICIES=true, which costs each
account about 0.6 s on its first request (1,582 policies); so every account gets just these
three, with the documents and dates of moto's own copy of AWS's catalogue
(`moto/iam/aws_managed_policies.py`), read once. They attach, list (ListAttachedUserPolicies,
ListAttachedRolePolicies, ListPolicies with Scope AWS) and read (GetPolicy, GetPolicyVersion)
as any AWS managed policy in moto. With the variable set, moto's full catalogue is used as is.
"""

import functools
import json

from moto.iam.models import AWSManagedPolicy, IAMBackend

NAMES = ("AWSCompromisedKeyQuarantine", "AWSCompromisedKeyQuarantineV2", "AWSCompromisedKeyQuarantineV3")

@functools.cache
def data():
    """{name: AWS's record of the policy} from moto's catalogue, decoding only these entries."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data as text

    decoder, found = json.JSONDecoder(), {}
    for name in NAMES:
        key = json.dumps(name) + ":"
        start = text.index(key) + len(key)
        while text[start].isspace():
            start += 1
        found[name] = decoder.raw_decode(text, start)[0]
    return found


def install():
    """Every IAMBackend created from now on has the three policies. Idempotent."""
    if getattr(IAMBackend, "_standin_quarantine", False):
        return
    moto_init_aws_policies = IAMBackend._init_aws_policies

    def init_aws_policies(self):
        policies = moto_init_aws_policies(self)
        if not policies:  # moto loaded none: MOTO_IAM_LOAD_MANAGED_POLICIES is not set
            policies = [AWSManagedPolicy.from_data(name, self.account_id, self.region_name, record)
                        for name, record in data().items()]
        return policies

    IAMBackend._init_aws_policies = init_aws_policies
    IAMBackend._standin_quarantine = True
