"""IAM's credential report as AWS writes it, and the age of users' access keys. Sources and
assumptions: docs/aws-behaviour.md, "Doctor's reads".

- GenerateCredentialReport takes a snapshot of the account's credentials; a report younger than
  four hours is kept (COMPLETE), else a new one is taken (STARTED). GetCredentialReport answers
  that snapshot (Content base64 CSV, ReportFormat text/csv, GeneratedTime the snapshot's time);
  none yet: 410 `ReportNotPresent`; older than four hours: 410 `ReportExpired`. (moto wrote the
  report afresh at each GetCredentialReport, with GeneratedTime 2015-02-02T20:02:02Z.)
- The first row is always `<root_account>` (moto_iam_root.py): `arn:aws:iam::ACCOUNT:root`,
  `not_supported` for the password columns AWS does not report for root, `password_last_used`
  root's last sign-in or `no_information`, its access keys.
- A user's row: `password_last_used` N/A without a password, `no_information` if never used;
  `password_last_changed` N/A without a password; `password_next_rotation` the change plus the
  password policy's MaxPasswordAge, else N/A; each access key's `last_rotated` its CreateDate,
  `last_used_date`/`_region`/`_service` N/A until it is used; certificates likewise.
  Dates are ISO 8601 (`2026-12-07T21:44:48+00:00`).

Test control (the age of a key is set by AWS alone), by standin_api.py:

    POST /moto-api/standin/access-key-age {"user": "NAME", "days": 120, "account": ...}

makes every access key of the user DAYS old: its CreateDate (ListAccessKeys) and the report's
`access_key_N_last_rotated`.
"""

import datetime

from moto.core.responses import ActionResult
from moto.iam.exceptions import IAMException, ReportNotPresentException
from moto.iam.models import AccessKeyLastUsed, IAMBackend, iam_backends
from moto.iam.responses import IamResponse

import moto_iam_root
import standin_api

LIFETIME = datetime.timedelta(hours=4)  # a report is reused, then expires, after four hours
COLUMNS = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
           "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
           "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
           "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
           "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,"
           "cert_2_active,cert_2_last_rotated")
NA = "N/A"


class ReportExpired(IAMException):
    code = "ReportExpired"


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)  # naive UTC, as moto


def iso(when):
    if when.tzinfo is not None:
        when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return when.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def flag(value):
    return "true" if value else "false"


def _keys(keys):
    """The ten access key columns of the first two keys."""
    out = []
    for key in (list(keys) + [None, None])[:2]:
        if key is None:
            out += ["false", NA, NA, NA, NA]
            continue
        used = key.last_used  # AccessKeyLastUsed; moto lets callers put a datetime there
        when = used.timestamp if isinstance(used, AccessKeyLastUsed) else used
        out += [flag(key.status == "Active"), iso(key.create_date), iso(when) if when else NA,
                getattr(used, "region", None) or NA, getattr(used, "service", None) or NA]
    return out


def _certificates(certificates):
    out = []
    for cert in (list(certificates) + [None, None])[:2]:
        out += ["false", NA] if cert is None else [flag(cert.status == "Active"), iso(cert.upload_date)]
    return out


def root_row(iam):
    root = moto_iam_root.root(iam)
    return [
        "<root_account>", moto_iam_root.root_arn(iam.partition, iam.account_id), iso(root.created), "not_supported",
        iso(root.last_sign_in) if root.last_sign_in else "no_information", "not_supported", "not_supported",
        flag(root.mfa_active), *_keys(root.keys), *_certificates([]),
    ]


def user_row(iam, user):
    changed = getattr(user, "standin_password_changed", user.create_date)
    policy = iam.account_password_policy
    if not user.password:
        last_used = last_changed = next_rotation = NA
    else:
        last_used = iso(user.password_last_used) if user.password_last_used else "no_information"
        last_changed = iso(changed)
        max_age = policy.max_password_age if policy is not None else None
        next_rotation = iso(changed + datetime.timedelta(days=max_age)) if max_age else NA
    return [
        user.name, user.arn, iso(user.create_date), flag(user.password), last_used, last_changed, next_rotation,
        flag(user.mfa_devices), *_keys(user.access_keys), *_certificates(user.signing_certificates.values()),
    ]


def report(iam):
    rows = [COLUMNS.split(","), root_row(iam)] + [user_row(iam, u) for u in list(iam.users.values())]
    return "".join(",".join(row) + "\n" for row in rows)


# ---- IamResponse's operations --------------------------------------------------------------

def generate_credential_report(self):
    taken = getattr(self.backend, "standin_report", None)
    if taken is not None and now() - taken[0] < LIFETIME:
        return ActionResult({"State": "COMPLETE"})
    self.backend.standin_report = (now(), report(self.backend))
    return ActionResult({"State": "STARTED", "Description": "No report exists. Starting a new report generation task"})


def get_credential_report(self):
    taken = getattr(self.backend, "standin_report", None)
    if taken is None:
        raise ReportNotPresentException("Credential report not present")
    if now() - taken[0] >= LIFETIME:
        raise ReportExpired("Credential report expired")
    generated, content = taken
    return ActionResult({"Content": content, "ReportFormat": "text/csv", "GeneratedTime": generated})


# ---- password changes, key ages ------------------------------------------------------------

def _records_password_change(moto_method):
    """CreateLoginProfile and UpdateLoginProfile (when it sets a password) mark the change."""
    def method(self, user_name, password, *args, **kwargs):
        user = moto_method(self, user_name, password, *args, **kwargs)
        if password:
            user.standin_password_changed = now()
        return user

    return method


def set_key_age(body):
    iam = iam_backends[standin_api.account(body)]["aws"]
    user = iam.get_user(body["user"]) if body["user"] in iam.users else None
    if user is None:
        raise standin_api.Refused(f"no user {body['user']!r} in account {iam.account_id}")
    created = now() - datetime.timedelta(days=standin_api.number(body, "days"))
    for key in user.access_keys:
        key.create_date = created
    return {"AccessKeyIds": [k.access_key_id for k in user.access_keys], "CreateDate": iso(created)}


def install():
    """Replaces moto's credential report; records password changes; the control endpoint.
    Idempotent."""
    if getattr(IamResponse, "_standin_credentials", False):
        return
    IamResponse.generate_credential_report = generate_credential_report
    IamResponse.get_credential_report = get_credential_report
    IAMBackend.create_login_profile = _records_password_change(IAMBackend.create_login_profile)
    IAMBackend.update_login_profile = _records_password_change(IAMBackend.update_login_profile)
    IamResponse._standin_credentials = True
    standin_api.route("access-key-age", POST=set_key_age)
