"""The account's root user, which moto does not model: its access keys and its last sign-in, kept
per account (and partition) beside moto's IAM, and what AWS answers about them. Sources and
assumptions: docs/aws-behaviour.md, "Doctor's reads".

- A root access key signs requests as moto's users' keys do (the account is found from it, its
  last use recorded); STS GetCallerIdentity with it answers `Arn` `arn:aws:iam::ACCOUNT:root`,
  `UserId` and `Account` the account ID.
- The credential report (moto_iam_credentials.py) opens with the `<root_account>` row: these
  keys, this sign-in.
- Not modelled: IAM's key operations on root's keys (CreateAccessKey without UserName signed by
  root, ListAccessKeys, UpdateAccessKey, DeleteAccessKey), root's MFA, its password.

Test control (AWS offers no API to mint root keys for another caller, nor to sign in), by
standin_api.py:

    POST /moto-api/standin/root-access-key {"account": ...}       # {"AccessKeyId", "SecretAccessKey"}
    POST /moto-api/standin/root-sign-in    {"days_ago": 3, "account": ...}
"""

import datetime

from moto.iam.models import AccessKey, iam_backends
from moto.sts.models import STSBackend

import standin_api

ROOT_KEYS = 2  # root, as any IAM user, has at most two access keys
# When every emulated account was created (an assumption: AWS knows; the emulator has no earlier
# date), so root's user_creation_time comes before every user's.
CREATED = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class Root:
    def __init__(self):
        self.keys = []  # moto AccessKeys, oldest first
        self.last_sign_in = None  # naive UTC, as moto keeps times
        self.mfa_active = False
        self.created = CREATED


def root(iam):
    """The root user of the account an IAMBackend is (created on first use; gone when moto
    resets the backend)."""
    if not hasattr(iam, "standin_root"):
        iam.standin_root = Root()
    return iam.standin_root


def is_root_key(iam, access_key_id):
    return any(k.access_key_id == access_key_id for k in root(iam).keys)


def root_arn(partition, account_id):
    return f"arn:{partition}:iam::{account_id}:root"


def create_access_key(body):
    iam = iam_backends[standin_api.account(body)]["aws"]
    keys = root(iam).keys
    if len(keys) >= ROOT_KEYS:
        raise standin_api.Refused(f"the root user has {ROOT_KEYS} access keys already (AWS's limit)")
    key = AccessKey(user_name=None, prefix="AKIA", account_id=iam.account_id)
    iam.access_keys[key.access_key_id] = key  # how moto finds a key's account and records its use
    keys.append(key)
    return {"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key}


def sign_in(body):
    days = standin_api.number(body, "days_ago")
    when = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(days=days)
    root(iam_backends[standin_api.account(body)]["aws"]).last_sign_in = when
    return {"last_sign_in": when.isoformat() + "Z"}


def install():
    """GetCallerIdentity as root for root's keys, and the control endpoints. Idempotent."""
    if getattr(STSBackend, "_standin_root", False):
        return
    moto_get_caller_identity = STSBackend.get_caller_identity

    def get_caller_identity(self, access_key_id, region):
        if is_root_key(iam_backends[self.account_id][self.partition], access_key_id):
            return self.account_id, root_arn(self.partition, self.account_id), self.account_id
        return moto_get_caller_identity(self, access_key_id, region)

    STSBackend.get_caller_identity = get_caller_identity
    STSBackend._standin_root = True
    standin_api.route("root-access-key", POST=create_access_key)
    standin_api.route("root-sign-in", POST=sign_in)
