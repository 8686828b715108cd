"""A presigned request (SigV4 in the query string) names its caller as the Authorization header
does, and STS holds a request to its time window and verifies a presigned request's signature:
what "proving who approves" relies on (an approver presigns GetCallerIdentity, the runner
executes it, as HashiCorp Vault's AWS IAM auth and aws-iam-authenticator do). Sources,
measurements and assumptions: docs/aws-behaviour.md, "STS: proving who approves".

What moto 5.2.5 did, and what this module changes:
- A request without an Authorization header is routed by its body only, so a presigned
  `GET /?Action=GetCallerIdentity&...&X-Amz-Credential=...` went to S3 (it answered
  ListBuckets). It is now routed by its credential scope (`KEY/DATE/REGION/SERVICE/aws4_request`)
  as a header-signed request is.
- The caller was found from the Authorization header only (else a default key): now from a
  presigned request's `X-Amz-Credential` too, so GetCallerIdentity answers the ARN of that key's
  user (or role session, or root), in the region its scope names.
- STS checked no time: now a request (presigned or header-signed) whose `X-Amz-Date` is more than
  15 minutes before or after the emulator's clock is refused, 403 `SignatureDoesNotMatch`, as
  STS words it. STS ignores `X-Amz-Expires`: a presigned STS request lives 15 minutes from its
  `X-Amz-Date`, whatever it says.
- A header that the signature names (`X-Amz-SignedHeaders`, or the Authorization header's
  `SignedHeaders`) but the request does not carry cannot match AWS's signature: 403
  `SignatureDoesNotMatch`.
- moto verified no signature. A presigned STS request's is now recomputed from the request as
  received (method, path, query, the signed headers' values, `Host` included, the body) with the
  secret of the key `X-Amz-Credential` names (`verify`, below): a forged or altered request, one
  sent with another value of a signed header or to another host, is refused 403
  `SignatureDoesNotMatch`; a key the emulator does not know, an inactive one, a role session's
  key without its session token (or with another), 403 `InvalidClientTokenId`; an expired role
  session, 403 `ExpiredToken`.

Known limits: header-signed requests (the Authorization header) are still not verified, in STS
or anywhere (moto believes their key ID); GetSessionToken and GetFederationToken hand out one
fixed example key moto keeps no secret for, so a request presigned with it is refused.
"""

import datetime
import hashlib
import hmac
import re
from urllib.parse import parse_qs, quote, unquote_to_bytes

from moto.core.responses import BaseResponse
from moto.iam.models import iam_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sts.models import sts_backends
from moto.sts.responses import TokenResponse

from proxy import aws_error

WINDOW = datetime.timedelta(minutes=15)
AMZ_DATE = "%Y%m%dT%H%M%SZ"
ALGORITHM = "AWS4-HMAC-SHA256"
MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.")
INVALID_TOKEN = "The security token included in the request is invalid"
EXPIRED_TOKEN = "The security token included in the request is expired"
# What a presigned request carries besides X-Amz-Expires (which STS ignores) and the token.
REQUIRED = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")
# The keys no IAM user holds that the tests sign with (tests/support.rs, harness/emulator.py), and
# their secrets: moto answers them as its default caller.
DEFAULT_KEYS = {"testing": "testing"}


def _credential(query_string):
    """A presigned request's `X-Amz-Credential` (KEY/DATE/REGION/SERVICE/aws4_request), or None."""
    found = parse_qs(query_string or "", keep_blank_values=True).get("X-Amz-Credential")
    return found[0] if found and found[0].count("/") == 4 else None


def _as_header(credential):
    """The Authorization header moto reads a signed request's scope and key from."""
    return f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=presigned"


def infer_service_region_host(original):
    def infer(self, environ, path):
        credential = None if environ.get("HTTP_AUTHORIZATION") else _credential(environ.get("QUERY_STRING"))
        if credential:
            environ = dict(environ, HTTP_AUTHORIZATION=_as_header(credential))
        return original(self, environ, path)
    return infer


def get_access_key(original):
    def get(self):
        if "Authorization" not in self.headers:
            credential = (self.querystring.get("X-Amz-Credential") or [""])[0]
            match = self.access_key_regex.search(_as_header(credential)) if credential.count("/") == 4 else None
            if match:
                return match.group(1)
        return original(self)
    return get


def get_region_from_url(original):
    def get(self, request, full_url):
        credential = None if "Authorization" in request.headers else _credential(request.query_string.decode())
        if credential and not self.region_regex.search(full_url):
            return credential.split("/")[2]
        return original(self, request, full_url)
    return get


def _error(status, code, message):
    return aws_error("query", status, code, message, "sts", {}, b"Version=2011-06-15")


def _refused(message):
    return _error(403, "SignatureDoesNotMatch", message)


# SigV4, as the IAM User Guide's "Create a signed AWS API request" describes it (the query-string
# form: every query parameter but X-Amz-Signature in the canonical query string), checked against
# AWS's signing test suite (harness/test_evidence.py, SigV4Vectors).

def uri_encode(data, safe=""):
    """SigV4's URI encoding: every byte but `A-Za-z0-9-_.~` (and `safe`) as `%XY`, upper-case."""
    return quote(data, safe="-_.~" + safe)


def query_pairs(raw_query):
    """The (name, value) pairs of a query string as received (bytes), decoded as a form is
    (`+` is a space): what the signer encoded. Empty parts are no parameter; `name` alone has
    the value ``."""
    pairs = []
    for part in raw_query.split(b"&"):
        if part:
            name, _, value = part.partition(b"=")
            pairs.append((unquote_to_bytes(name.replace(b"+", b" ")), unquote_to_bytes(value.replace(b"+", b" "))))
    return pairs


def canonical_uri(raw_path):
    """The path as received (bytes), its `.`, `..` and empty segments removed (RFC 3986 5.2.4;
    AWS removes repeated slashes too), then URI-encoded, `/` kept: since the path arrives
    encoded, it is encoded twice, as every service but S3 signs it."""
    segments = []
    for segment in raw_path.split(b"/"):
        if segment == b"..":
            if segments:
                segments.pop()
        elif segment not in (b"", b"."):
            segments.append(segment)
    path = b"/" + b"/".join(segments)
    if segments and raw_path.endswith(b"/"):
        path += b"/"
    return uri_encode(path, safe="/")


def canonical_query(pairs):
    """Each parameter but X-Amz-Signature, name and value URI-encoded, sorted by name then value."""
    return "&".join(f"{name}={value}" for name, value in sorted(
        (uri_encode(name), uri_encode(value)) for name, value in pairs if name != b"X-Amz-Signature"))


def trim_all(value):
    """A header value trimmed, each run of whitespace inside as one space (Trimall)."""
    return re.sub(r"[ \t\r\n]+", " ", value).strip(" ")


def canonical_request(method, raw_path, raw_query, signed_headers, values, body):
    """The canonical request of a query-signed request: `values(name)` lists a header's values
    as received (several for a repeated header), `signed_headers` is X-Amz-SignedHeaders."""
    names = signed_headers.split(";")
    headers = "".join(f"{name.lower()}:{','.join(trim_all(v) for v in values(name.lower()))}\n" for name in names)
    return "\n".join([method.upper(), canonical_uri(raw_path), canonical_query(query_pairs(raw_query)),
                      headers, signed_headers, hashlib.sha256(body).hexdigest()])


def signature(secret, amz_date, scope, creq):
    """The signature of canonical request `creq` dated `amz_date` (X-Amz-Date) in `scope`
    (DATE/REGION/SERVICE/aws4_request): the signing key derived from the secret through the
    scope's date, region and service, applied to the string to sign."""
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _backends(backends):
    """Every backend moto has created of a service, all accounts and partitions."""
    return [backend for account in list(backends.values()) for backend in list(account.values())]


def secret_of(access_key_id, token, now):
    """(secret, None) for a key the emulator knows that may sign now with session token `token`
    (None when the request carries none), else (None, AWS's answer)."""
    invalid = (None, _error(403, "InvalidClientTokenId", INVALID_TOKEN))
    if access_key_id in DEFAULT_KEYS:
        return (DEFAULT_KEYS[access_key_id], None) if token is None else invalid
    key = next((b.access_keys[access_key_id] for b in _backends(iam_backends) if access_key_id in b.access_keys), None)
    if key is None or key.status != "Active":
        return invalid
    session = next((role for b in _backends(sts_backends) for role in list(b.assumed_roles)
                    if role.access_key_id == access_key_id), None)
    if session is None:
        # A long-term key (an IAM user's, root's): no session token goes with it.
        return (key.secret_access_key, None) if token is None else invalid
    if token is None or not hmac.compare_digest(token.encode(), session.session_token.encode()):
        return invalid
    if session.expiration <= now.replace(tzinfo=None):
        return None, _error(403, "ExpiredToken", EXPIRED_TOKEN)
    return session.secret_access_key, None


def _parameters(request):
    """A request's query parameters, decoded, the first of each name."""
    query = {}
    for name, value in query_pairs(request.query_string):
        query.setdefault(name.decode("utf-8", "replace"), value.decode("utf-8", "replace"))
    return query


def verify(request, query, now):
    """AWS's answer to a presigned request (one without an Authorization header whose query has
    X-Amz-Credential) whose signature does not hold, else None. `request` is moto's, `query` its
    parameters."""
    missing = next((name for name in REQUIRED if name not in query), None)
    if missing:
        return _error(400, "IncompleteSignature",
                      f"AWS query-string parameters must include '{missing}'. Re-examine the query-string parameters.")
    credential = query["X-Amz-Credential"].split("/")
    signed = query["X-Amz-SignedHeaders"]
    if (query["X-Amz-Algorithm"] != ALGORITHM or len(credential) != 5 or credential[4] != "aws4_request"
            or credential[1] != query["X-Amz-Date"][:8] or "host" not in signed.lower().split(";")):
        return _refused(MISMATCH)
    secret, refused = secret_of(credential[0], query.get("X-Amz-Security-Token"), now)
    if refused:
        return refused
    creq = canonical_request(
        request.method, request.raw_path.encode("latin-1", "replace"), request.query_string, signed,
        lambda name: [v.encode("latin-1").decode("utf-8", "replace") for v in request.headers.getlist(name)],
        request.get_data())
    expected = signature(secret, query["X-Amz-Date"], "/".join(credential[1:]), creq)
    if not hmac.compare_digest(expected.encode(), query["X-Amz-Signature"].encode()):
        return _refused(MISMATCH)
    return None


def refusal(response, now=None):
    """STS's answer to a request outside its time window, missing a signed header or, presigned,
    whose signature does not hold; else None."""
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    headers = response.headers
    request = response.normalized_request
    query = None
    if "Authorization" in headers:
        date = headers.get("X-Amz-Date")
        found = re.search(r"SignedHeaders=([^,\s]+)", headers.get("Authorization", ""))
        signed = found.group(1) if found else ""
    else:
        query = _parameters(request)
        date = query.get("X-Amz-Date")
        signed = query.get("X-Amz-SignedHeaders", "")
    if date:
        try:
            when = datetime.datetime.strptime(date, AMZ_DATE).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            return _refused(f"Date must be in ISO-8601 'basic format'. Got '{date}'.")
        if when < now - WINDOW:
            return _refused(f"Signature expired: {date} is now earlier than {(now - WINDOW).strftime(AMZ_DATE)} "
                            f"({now.strftime(AMZ_DATE)} - 15 min.)")
        if when > now + WINDOW:
            return _refused(f"Signature not yet current: {date} is still later than "
                            f"{(now + WINDOW).strftime(AMZ_DATE)} ({now.strftime(AMZ_DATE)} + 15 min.)")
    if any(name and name not in headers for name in signed.lower().split(";")):
        return _refused(MISMATCH)
    return verify(request, query, now) if query and "X-Amz-Credential" in query else None


def call_action(original):
    def call(self):
        return refusal(self) or original(self)
    return call


def install():
    """Applies every patch; idempotent."""
    if getattr(TokenResponse, "_standin_presigned", False):
        return
    DomainDispatcherApplication.infer_service_region_host = infer_service_region_host(
        DomainDispatcherApplication.infer_service_region_host)
    BaseResponse.get_access_key = get_access_key(BaseResponse.get_access_key)
    BaseResponse.get_region_from_url = get_region_from_url(BaseResponse.get_region_from_url)
    TokenResponse.call_action = call_action(TokenResponse.call_action)
    TokenResponse._standin_presigned = True
