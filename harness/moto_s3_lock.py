"""S3 Object Lock as AWS documents it, where moto 5.2.5 differs. Sources, measurements and
assumptions: docs/aws-behaviour.md, "S3 Object Lock and checksums (evidence files)".

moto already: creates a bucket with Object Lock (versioning on), answers
GetObjectLockConfiguration (404 ObjectLockConfigurationNotFoundError without Object Lock),
keeps a PutObject's mode and retain-until date (HeadObject, GetObject show them), refuses lock
headers on a bucket without Object Lock (400 InvalidRequest), applies a bucket's default
retention to a new version, refuses DeleteObject of a locked version (403 AccessDenied).

What this module changes, each because moto answered otherwise:
- GetObjectRetention: moto has none (500). Answered: the version's mode and date; 404
  NoSuchObjectLockConfiguration for a version without one.
- PutObjectRetention: moto let anyone shorten, change or remove any retention (and answered 500
  for a version that does not exist). Now, as the Object Lock user guide says: an active
  COMPLIANCE retention may only be extended; an active GOVERNANCE retention may be extended by
  anyone, shortened or removed only with `x-amz-bypass-governance-retention: true` by a caller
  allowed `s3:BypassGovernanceRetention`.
- DeleteObject of a version: moto took any value of the bypass header as `true` and never asked
  for `s3:BypassGovernanceRetention`.
- PutObjectLockConfiguration: moto refused a bucket holding objects ("Bucket needs to be
  empty"); AWS: "You can enable Object Lock for new or existing buckets". A DefaultRetention
  needs a Mode and a positive Days or Years, not both (moto stored a mode without a period).
  GetObjectLockConfiguration answers the period that was set (moto: Days and Years both, the
  unset one 0).
- PutObject: a mode without a date or a date without a mode, or a date not in the future, is
  refused (moto stored it; a DeleteObject of a version with a mode and no date answered 500).

Callers are checked the way moto_eb_iam.py checks them: an IAM user's (or assumed role's) key
against its identity policies; any other key (the `testing` key) is not checked.
"""

import datetime

import xmltodict
from moto.core.responses import ActionResult
from moto.s3.exceptions import InvalidBucketState, MissingKey, MissingVersion
from moto.s3.models import S3Backend
from moto.s3.responses import S3Response

import moto_eb_iam
from proxy import aws_error

MODES = ("GOVERNANCE", "COMPLIANCE")
# The message AWS's DeleteObjects gives a locked version (moto's test of it, run against AWS:
# getmoto/moto tests/test_s3/test_s3_lock.py, `test_locked_object_governance_mode`).
LOCKED = "Access Denied because object protected by object lock."


class Refused(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _answer(refused):
    return aws_error("s3", refused.status, refused.code, refused.message, "s3", {}, b"")


def _guarded(method):
    """A served S3Response method whose Refused become S3's error answer."""
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Refused as refused:
            return _answer(refused)
    return guarded


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def parse_date(text):
    """An ISO 8601 date-time as the SDKs send it (`...Z`, fractions, offsets); naive is UTC."""
    when = datetime.datetime.fromisoformat(text.strip())
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def _future(text):
    try:
        when = parse_date(text)
    except ValueError:
        raise Refused(400, "InvalidArgument", f"The retain until date {text!r} is not a date")
    if when <= _now():
        # Wording: what S3-compatible servers tested against AWS answer (assumption).
        raise Refused(400, "InvalidArgument", "The retain until date must be in the future!")
    return when


def active(key):
    """(mode, retain-until) of a version's retention while it protects it, else None."""
    if key.lock_mode in MODES and key.lock_until and parse_date(key.lock_until) > _now():
        return key.lock_mode, parse_date(key.lock_until)
    return None


def may_bypass(response, bucket, key_name):
    """`x-amz-bypass-governance-retention: true` sent, and the caller allowed
    s3:BypassGovernanceRetention on the object (a key of no IAM principal is not checked)."""
    if response.headers.get("x-amz-bypass-governance-retention", "").strip().lower() != "true":
        return False
    caller = moto_eb_iam._caller(response)
    if caller is None:
        return True
    return moto_eb_iam.decide(caller.policies, "s3:BypassGovernanceRetention",
                              f"arn:aws:s3:::{bucket}/{key_name}") == "allow"


def _version(response):
    """The version a key-level request names (its `versionId`, else the current one)."""
    key_name = response.parse_key_name()
    version_id = response._get_param("versionId")
    key = response.backend.get_object(response.bucket_name, key_name, version_id=version_id)
    if key is None:
        raise MissingVersion(key=key_name, version_id=version_id) if version_id else MissingKey(key=key_name)
    return key_name, key


def _lock_enabled(response):
    if not response.backend.get_bucket(response.bucket_name).object_lock_enabled:
        # Wording for the retention calls: as S3 words it there (versity/versitygw#1751).
        raise Refused(400, "InvalidRequest", "Bucket is missing Object Lock Configuration")


def get_object_retention(self):
    _lock_enabled(self)
    key, not_modified = self._get_key()
    if not_modified:
        return 304, {}, "Not Modified"
    if key.lock_mode not in MODES:
        raise Refused(404, "NoSuchObjectLockConfiguration",
                      "The specified object does not have a ObjectLock configuration")
    self.data["Action"] = "GetObjectRetention"
    status, headers, body = self.serialized(ActionResult(
        {"Retention": {"Mode": key.lock_mode, "RetainUntilDate": parse_date(key.lock_until)}}))
    if key.version_id != "null":
        headers["x-amz-version-id"] = key.version_id
    return status, headers, body


def put_object_retention(self):
    """PutObjectRetention held to the retention modes' rules (module docstring)."""
    _lock_enabled(self)
    key_name, key = _version(self)
    try:
        retention = (xmltodict.parse(self.body) or {}).get("Retention") or {}
    except Exception:  # noqa: BLE001 - any unreadable body is S3's MalformedXML
        raise Refused(400, "MalformedXML", "The XML you provided was not well-formed or did not validate "
                                           "against our published schema")
    mode, until = retention.get("Mode"), retention.get("RetainUntilDate")
    if bool(mode) != bool(until):
        raise Refused(400, "MalformedXML", "The XML you provided was not well-formed or did not validate "
                                           "against our published schema")
    new_until = _future(until) if until else None
    current = active(key)
    if current:
        old_mode, old_until = current
        shortened = new_until is None or new_until < old_until
        if old_mode == "COMPLIANCE" and (mode != "COMPLIANCE" or shortened):
            raise Refused(403, "AccessDenied", LOCKED)
        if old_mode == "GOVERNANCE" and shortened and not may_bypass(self, self.bucket_name, key_name):
            raise Refused(403, "AccessDenied", LOCKED)
    key.lock_mode, key.lock_until = (mode, until) if mode else (None, None)
    headers = {}
    if key.version_id != "null":
        headers["x-amz-version-id"] = key.version_id
    return 200, headers, ""


def delete_object(original):
    def delete(self):
        version_id = self._get_param("versionId")
        if version_id:
            key_name = self.parse_key_name()
            key = self.backend.get_object(self.bucket_name, key_name, version_id=version_id)
            if key is not None and hasattr(key, "lock_mode"):  # a delete marker has no lock
                if key.lock_legal_status == "ON":
                    raise Refused(403, "AccessDenied", LOCKED)
                current = active(key)
                if current and (current[0] == "COMPLIANCE" or not may_bypass(self, self.bucket_name, key_name)):
                    raise Refused(403, "AccessDenied", LOCKED)
        return original(self)
    return delete


def key_put(original):
    """PutObject's lock headers: both or neither, the date in the future."""
    def put(self, query, key_name):
        if not set(query) & {"retention", "legal-hold", "tagging", "acl", "uploadId"}:
            mode = self.headers.get("x-amz-object-lock-mode")
            until = self.headers.get("x-amz-object-lock-retain-until-date")
            if bool(mode) != bool(until):
                # Wording: as S3-compatible servers tested against AWS answer (assumption).
                raise Refused(400, "InvalidArgument",
                              "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
            if until:
                _future(until)
        return original(self, query, key_name)
    return put


def key_get(original):
    def get(self, query, key_name):
        if "retention" in query:
            self._set_action("KEY", "GET", query)
            self._authenticate_and_authorize_s3_action(bucket_name=self.bucket_name, key_name=key_name)
            return get_object_retention(self)
        return original(self, query, key_name)
    return get


def put_object_lock_configuration(self, bucket_name, lock_enabled, mode=None, days=None, years=None):
    """moto's, without "Bucket needs to be empty", and a DefaultRetention held to the model."""
    bucket = self.get_bucket(bucket_name)
    if not bucket.is_versioned:
        raise InvalidBucketState("Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
    if mode and (bool(days) == bool(years) or (days or 0) < 0 or (years or 0) < 0):
        # "The DefaultRetention settings require both a mode and a period"; "Days or Years but
        # you must select one" (botocore model). The error code is an assumption.
        raise Refused(400, "MalformedXML", "The XML you provided was not well-formed or did not validate "
                                           "against our published schema")
    if lock_enabled:
        bucket.object_lock_enabled = True
        bucket.versioning_status = "Enabled"
    bucket.default_lock_mode = mode
    bucket.default_lock_days = days or 0
    bucket.default_lock_years = years or 0


def get_object_lock_configuration(original):
    """moto answers Days and Years both; AWS, the one set."""
    def get(self, bucket_name):
        enabled, mode, days, years = original(self, bucket_name)
        return enabled, mode, days or None, years or None
    return get


def install():
    """Applies every patch; idempotent."""
    if getattr(S3Response, "_standin_object_lock", False):
        return
    S3Response._key_response_get = _guarded(key_get(S3Response._key_response_get))
    S3Response._key_response_put = _guarded(key_put(S3Response._key_response_put))
    S3Response.put_object_retention = _guarded(put_object_retention)
    S3Response.delete_object = _guarded(delete_object(S3Response.delete_object))
    S3Response._bucket_response_put = _guarded(S3Response._bucket_response_put)
    S3Backend.put_object_lock_configuration = put_object_lock_configuration
    S3Backend.get_object_lock_configuration = get_object_lock_configuration(S3Backend.get_object_lock_configuration)
    S3Response._standin_object_lock = True
