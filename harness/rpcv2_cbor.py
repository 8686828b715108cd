"""Smithy RPC v2 CBOR, the wire of AWS services whose SDKs speak it: the AWS SDK for Rust's Health
client (`aws-sdk-health` 1.125) does, where boto3 speaks the same service's JSON 1.1.

A request is `POST /service/{targetPrefix}/operation/{Operation}` with `smithy-protocol:
rpc-v2-cbor` and a CBOR map of the input's members as its body; an answer carries the same
header, `Content-Type: application/cbor` and a CBOR map; an error answer a map with `__type`
(and `message`). Timestamps are CBOR tag 1 (epoch seconds), blobs byte strings
(https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html).

`decode` reads a body with botocore's own CBOR reader (imported when first used); `encode` writes
plain Python values (dict, list, str, bytes, int, float, bool, None, and datetime as tag 1) and
needs nothing but the standard library, so the proxy can answer in CBOR too.
"""

import datetime
import re
import struct

PROTOCOL = "smithy-rpc-v2-cbor"  # botocore's name of the protocol
HEADER = "rpc-v2-cbor"  # the `smithy-protocol` header's value
CONTENT_TYPE = "application/cbor"
ROUTE = re.compile(r"/service/([^/]+)/operation/([^/]+)")


class Epoch(float):
    """A timestamp as decoded: CBOR tag 1's epoch seconds, told apart from a plain number."""


def decode(body):
    """The value a CBOR body holds ({} for an empty body); a tag-1 timestamp is an `Epoch`.
    ValueError when the body is not one well-formed CBOR item."""
    if not body:
        return {}
    from botocore.parsers import RpcV2CBORParser, ResponseParserError

    parser = RpcV2CBORParser(timestamp_parser=Epoch)
    stream = parser.get_peekable_stream_from_bytes(body)
    try:
        value = parser.parse_data_item(stream)
    except (ResponseParserError, UnicodeDecodeError, TypeError, struct.error) as e:
        raise ValueError(f"the body is not well-formed CBOR: {e}") from None
    if stream.read(1):
        raise ValueError("the body holds more than one CBOR item")
    return value


def encode(value):
    """CBOR bytes of a plain Python value (definite lengths, floats as doubles)."""
    out = bytearray()
    _item(out, value)
    return bytes(out)


def error_body(code, message=None):
    """The body of an error answer: `__type` (the bare error code, which the SDKs read whether
    or not a namespace precedes it) and `message` when there is one."""
    return encode({"__type": code} if message is None else {"__type": code, "message": message})


def _head(out, major, n):
    if n < 24:
        out.append(major << 5 | n)
    else:
        size = next(s for s in (1, 2, 4, 8) if n < 1 << (8 * s))
        out.append(major << 5 | {1: 24, 2: 25, 4: 26, 8: 27}[size])
        out += n.to_bytes(size, "big")


def _item(out, value):
    if value is None:
        out.append(0xF6)
    elif isinstance(value, bool):
        out.append(0xF5 if value else 0xF4)
    elif isinstance(value, int):
        _head(out, 0, value) if value >= 0 else _head(out, 1, -1 - value)
    elif isinstance(value, float):
        out.append(0xFB)
        out += struct.pack(">d", value)
    elif isinstance(value, datetime.datetime):
        out.append(0xC1)  # tag 1: epoch seconds, to the millisecond
        _item(out, round(value.timestamp(), 3))
    elif isinstance(value, (bytes, bytearray)):
        _head(out, 2, len(value))
        out += value
    elif isinstance(value, str):
        data = value.encode("utf-8")
        _head(out, 3, len(data))
        out += data
    elif isinstance(value, (list, tuple)):
        _head(out, 4, len(value))
        for item in value:
            _item(out, item)
    elif isinstance(value, dict):
        _head(out, 5, len(value))
        for key, item in value.items():
            _item(out, key)
            _item(out, item)
    else:
        raise TypeError(f"no CBOR for {type(value).__name__}")
