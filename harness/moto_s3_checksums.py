"""An object's integrity headers as S3 checks them, where moto 5.2.5 differs. Sources,
measurements and assumptions: docs/aws-behaviour.md, "S3 Object Lock and checksums (evidence
files)".

- A PutObject with Object Lock parameters (its own, or the bucket's default retention) and no
  integrity header is refused 400 `InvalidRequest`, as AWS answers (moto: a code of its own,
  `MissingUploadObjectWithObjectLockHeaders`). An `x-amz-checksum-ALG` value header counts as
  AWS's message says ("Content-MD5 OR x-amz-checksum- HTTP header is required"): sent without
  `x-amz-sdk-checksum-algorithm`, it names the algorithm (moto refused it, and ignored the value).
- Content-MD5 and the `x-amz-checksum-ALG` value (a header, or the aws-chunked trailer named by
  `x-amz-trailer`) are checked against the body moto decoded: a mismatch is 400 `BadDigest` and
  nothing is stored (moto stored any body under any checksum, and echoed the wrong one).
  CRC32, SHA1, SHA256, SHA512 and MD5 are checked; CRC32C, CRC64NVME and the XXHASH ones, which
  the standard library cannot compute, are not.

Applies to key-level PUTs that carry a body (PutObject, UploadPart, the subresource PUTs), not to
CopyObject.
"""

import base64
import hashlib
import re
import zlib

from moto.s3 import exceptions as s3_exceptions
from moto.s3.responses import S3Response

import moto_s3_lock

REQUIRED = "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters"
# x-amz-checksum-* headers that carry no checksum value.
NOT_VALUES = ("x-amz-checksum-type", "x-amz-checksum-algorithm", "x-amz-checksum-mode")
DIGESTS = {
    "CRC32": lambda body: zlib.crc32(body).to_bytes(4, "big"),
    "SHA1": lambda body: hashlib.sha1(body).digest(),
    "SHA256": lambda body: hashlib.sha256(body).digest(),
    "SHA512": lambda body: hashlib.sha512(body).digest(),
    "MD5": lambda body: hashlib.md5(body).digest(),
}


def _invalid_request(self):
    # moto raises this for a lock without an integrity header; AWS's words, quoted from its answer
    # in supabase/storage#423 (400 InvalidRequest).
    s3_exceptions.S3ClientError.__init__(self, "InvalidRequest", REQUIRED)


def _trailer(raw, name):
    """The value of trailer `name` at the end of an aws-chunked body, or None."""
    found = re.search(rb"\r\n" + re.escape(name.encode()) + rb":([A-Za-z0-9+/=]+)\r\n", raw[-2048:])
    return found.group(1).decode() if found else None


def check(response):
    """Raises moto_s3_lock.Refused (BadDigest, InvalidDigest) when the body is not what its
    integrity headers say; names an `x-amz-checksum-ALG` header's algorithm for moto."""
    headers = response.headers
    body = response.body if isinstance(response.body, bytes) else (response.body or "").encode()
    md5 = headers.get("Content-MD5")
    if md5:
        try:
            digest = base64.b64decode(md5, validate=True)
        except ValueError:
            digest = b""
        if len(digest) != 16:
            raise moto_s3_lock.Refused(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
        if digest != hashlib.md5(body).digest():
            raise moto_s3_lock.Refused(400, "BadDigest",
                                       "The Content-MD5 you specified did not match what we received.")
    trailer = (headers.get("x-amz-trailer") or "").strip().lower()
    values = {name[len("x-amz-checksum-"):].upper(): value for name, value in headers.items()
              if name.lower().startswith("x-amz-checksum-") and name.lower() not in NOT_VALUES}
    if trailer.startswith("x-amz-checksum-"):
        value = _trailer(response.raw_body or b"", trailer)
        if value:
            values[trailer[len("x-amz-checksum-"):].upper()] = value
    if values and not headers.get("x-amz-sdk-checksum-algorithm"):
        # The value header names its algorithm; moto reads it from this header only.
        response.normalized_request.environ["HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM"] = next(iter(values))
    for algorithm, value in values.items():
        if algorithm in DIGESTS and base64.b64encode(DIGESTS[algorithm](body)).decode() != value.strip():
            raise moto_s3_lock.Refused(400, "BadDigest",
                                       f"The {algorithm} you specified did not match the calculated checksum.")


def key_put(original):
    def put(self, query, key_name):
        if "x-amz-copy-source" not in self.headers:
            check(self)
        return original(self, query, key_name)
    return put


def install():
    """Applies every patch (after moto_s3_lock's, whose Refused it answers); idempotent."""
    moto_s3_lock.install()
    if getattr(S3Response, "_standin_checksums", False):
        return
    s3_exceptions.MissingUploadObjectWithObjectLockHeaders.__init__ = _invalid_request
    # Inside moto_s3_lock's guard: its Refused become S3's error answer.
    S3Response._key_response_put = moto_s3_lock._guarded(key_put(S3Response._key_response_put))
    S3Response._standin_checksums = True
