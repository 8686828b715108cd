"""The oracle's readers: an HTTP request, as it came over the wire, read into its operation's
input (Python values keyed by the model's member names) the way AWS reads it in the service's
protocol: `json` (a JSON body), `smithy-rpc-v2-cbor` (a CBOR body, read as JSON is but for its
byte strings and tag-1 timestamps; rpcv2_cbor.py), `query` and `ec2` (form parameters: `Name.member.N`,
`Name.entry.N.key`, `Name.N` for ec2 and flattened lists, `locationName`/`queryName`), and
`rest-xml` (the request URI's labels, query string, headers and an XML body). Each reader is the
inverse of botocore's serializer for that protocol (botocore/serialize.py).

A member the model does not have, or a value of the wrong type, is reported through
`report(path, rule, constraint, value, sensitive)` and read as `BAD`, which the constraint
checks (oracle_rules.py) skip. Paths name members as the model does: `ChangeBatch.Changes.1.
ResourceRecordSet.TTL` (list items from 1, as AWS's messages count them), `Item{LockID}` for a
map's value.
"""

import base64
import binascii
import datetime
import email.utils
import json
import math
import re
import xml.etree.ElementTree as ElementTree
from urllib.parse import parse_qsl, unquote

from oracle_rules import BAD, join
from rpcv2_cbor import Epoch

ISO8601 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?", re.IGNORECASE)
INTEGER = re.compile(r"-?\d+")


class Wire:
    """A request's parts: method, raw path (still percent-encoded), query pairs, headers by
    lowercase name, body bytes."""

    def __init__(self, method, path, query, headers, body):
        self.method, self.path, self.query, self.headers, self.body = method, path, query, headers, body


class Reader:
    """Reads values off the wire for one request; `report` receives what is wrong."""

    def __init__(self, report):
        self.report = report
        self.binary = False  # reading a CBOR body (`cbor`), not a JSON one

    def bad(self, path, constraint, value, sensitive):
        self.report(path, "type", constraint, value, sensitive)
        return BAD

    def unknown(self, path):
        self.report(path, "unknown", "Member is not in the operation's input model", None, False)

    # ---- scalars written as text (query, ec2, rest-xml URI / query string / headers / body) ----

    def text(self, shape, text, path, sensitive, timestamp_format):
        sensitive = sensitive or bool(shape.metadata.get("sensitive"))
        kind = shape.type_name
        if kind == "string":
            return text
        if kind in ("integer", "long"):
            if INTEGER.fullmatch(text):
                return int(text)
            return self.bad(path, f"Member must be an {kind}", text, sensitive)
        if kind in ("float", "double"):
            try:
                return float(text)
            except ValueError:
                return self.bad(path, f"Member must be a {kind}", text, sensitive)
        if kind == "boolean":
            if text in ("true", "false"):
                return text == "true"
            return self.bad(path, "Member must be true or false", text, sensitive)
        if kind == "blob":
            return self.base64(text, path, sensitive)
        if kind == "timestamp":
            return self.timestamp(shape, text, path, sensitive, timestamp_format)
        return self.bad(path, f"Member of type {kind} cannot be written as text", text, sensitive)

    def base64(self, text, path, sensitive):
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return self.bad(path, "Member must be base64-encoded", text, sensitive)

    def timestamp(self, shape, value, path, sensitive, default_format):
        form = shape.serialization.get("timestampFormat", default_format)
        if form == "unixtimestamp":
            try:
                if isinstance(value, bool):
                    raise ValueError
                number = float(value)
                if math.isfinite(number):
                    return datetime.datetime.fromtimestamp(number, datetime.timezone.utc)
            except (TypeError, ValueError, OverflowError, OSError):
                pass
            return self.bad(path, "Member must be a timestamp in epoch seconds", value, sensitive)
        if isinstance(value, str):
            if form == "iso8601" and ISO8601.fullmatch(value):
                text = value.upper().replace("Z", "+00:00")
                if "." in text:  # Python reads at most 6 fraction digits
                    head, _, tail = text.partition(".")
                    digits = re.match(r"\d+", tail).group(0)
                    text = f"{head}.{digits[:6].ljust(6, '0')}{tail[len(digits):]}"
                try:
                    return datetime.datetime.fromisoformat(text)
                except ValueError:
                    pass
            if form == "rfc822":
                try:
                    return email.utils.parsedate_to_datetime(value)
                except (TypeError, ValueError):
                    pass
        return self.bad(path, f"Member must be a timestamp ({form})", value, sensitive)

    # ---- json and smithy-rpc-v2-cbor ----

    def cbor(self, shape, value):
        """As `json`, for a body rpcv2_cbor.decode read: a blob is a byte string, a timestamp a
        tag-1 `Epoch`."""
        self.binary = True
        try:
            return self.json(shape, value)
        finally:
            self.binary = False

    def json(self, shape, value, path="", sensitive=False):
        sensitive = sensitive or bool(shape.metadata.get("sensitive"))
        kind = shape.type_name
        if kind == "structure" and shape.is_document_type:
            return value
        if kind == "structure":
            if not isinstance(value, dict):
                return self.bad(path, "Member must be a JSON object", value, sensitive)
            names = {m.serialization.get("name", n): n for n, m in shape.members.items()}
            out = {}
            for key, item in value.items():
                name = names.get(key)
                if name is None:
                    self.unknown(join(path, key))
                elif item is not None:
                    out[name] = self.json(shape.members[name], item, join(path, name), sensitive)
            return out
        if kind == "list":
            if not isinstance(value, list):
                return self.bad(path, "Member must be a JSON array", value, sensitive)
            sparse = shape.metadata.get("sparse")
            return [None if item is None and sparse else self.json(shape.member, item, f"{path}.{i}", sensitive)
                    for i, item in enumerate(value, 1)]
        if kind == "map":
            if not isinstance(value, dict):
                return self.bad(path, "Member must be a JSON object", value, sensitive)
            return {key: self.json(shape.value, item, f"{path}{{{key}}}", sensitive) for key, item in value.items()}
        if kind == "string":
            if isinstance(value, str):
                return value
            return self.bad(path, "Member must be a string", value, sensitive)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            return self.bad(path, "Member must be a boolean", value, sensitive)
        if kind in ("integer", "long"):
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            return self.bad(path, f"Member must be an {kind}", value, sensitive)
        if kind in ("float", "double"):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            if value in ("NaN", "Infinity", "-Infinity"):
                return float(value)
            return self.bad(path, f"Member must be a {kind}", value, sensitive)
        if kind == "blob" and self.binary:
            if isinstance(value, bytes):
                return value
            return self.bad(path, "Member must be a byte string", value, sensitive)
        if kind == "blob":
            if isinstance(value, str):
                return self.base64(value, path, sensitive)
            return self.bad(path, "Member must be a base64 string", value, sensitive)
        if kind == "timestamp" and self.binary:
            if isinstance(value, Epoch):  # whatever the shape's timestampFormat says
                return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
            return self.bad(path, "Member must be a timestamp (CBOR tag 1)", value, sensitive)
        if kind == "timestamp":
            return self.timestamp(shape, value, path, sensitive, "unixtimestamp")
        return self.bad(path, f"Member of type {kind} is not read from JSON", value, sensitive)

    # ---- query and ec2 ----

    def query(self, shape, params, ec2):
        """The input from form parameters (Action and Version removed); parameters that no
        member reads are reported unknown."""
        used = set()
        value = _Query(self, params, used, ec2).structure(shape, "", "", False)
        for key in sorted(set(params) - used):
            self.unknown(key)
        return value

    # ---- rest-xml ----

    def rest_xml(self, operation, wire, labels):
        """The input from a REST request that matched `operation`'s URI (`labels`: the
        template's labels, decoded), its body XML."""
        return self.rest(operation, wire, labels, self.xml_body)

    def rest_json(self, operation, wire, labels):
        """As `rest_xml`, for the rest-json protocol: the body is one JSON object of the
        members not bound to the URI, the query string or headers (EventBridge Scheduler)."""
        return self.rest(operation, wire, labels, self.json_body)

    def rest(self, operation, wire, labels, read_body):
        shape = operation.input_shape
        out = {}
        if shape is None:
            return out
        query = {}
        for key, item in wire.query:
            query.setdefault(key, []).append(item)
        for key, _ in route_literals(operation):
            query.pop(key, None)
        # The Smithy models the SDKs are generated from carry `?x-id=OPERATION` in S3's URIs;
        # botocore's JSON drops it. AWS takes it for the operation it names.
        if query.get("x-id") == [operation.name]:
            query.pop("x-id")
        headers = wire.headers
        body_members = []
        rest_map = None
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            where = member.serialization.get("name", name)
            sensitive = bool(member.metadata.get("sensitive"))
            if location == "uri":
                if where in labels:
                    out[name] = self.text(member, labels[where], name, sensitive, "iso8601")
            elif location == "querystring":
                if member.type_name == "map":
                    rest_map = (name, member)
                elif where in query:
                    values = query.pop(where)
                    if member.type_name == "list":
                        out[name] = [self.text(member.member, v, f"{name}.{i}", sensitive, "iso8601")
                                     for i, v in enumerate(values, 1)]
                    else:
                        out[name] = self.text(member, values[-1], name, sensitive, "iso8601")
            elif location == "header":
                if where.lower() in headers:
                    out[name] = self.header(member, headers[where.lower()], name, sensitive)
            elif location == "headers":
                prefix = where.lower()
                found = {k[len(prefix):]: v for k, v in headers.items() if k.startswith(prefix)}
                if found:
                    out[name] = found
            else:
                body_members.append(name)
        if rest_map is not None:
            name, member = rest_map
            if query:
                out[name] = {k: v if member.value.type_name == "list" else v[-1] for k, v in query.items()}
                query = {}
        for key in sorted(query):
            self.unknown(f"?{key}")
        out.update(read_body(shape, body_members, wire.body))
        return out

    def json_body(self, shape, body_members, body):
        """The members of a rest-json body: a JSON object, or the one payload member."""
        if not body.strip():
            return {}
        try:
            value = json.loads(body)
        except ValueError:
            return self.bad("", "The body must be JSON", body.decode("utf-8", "replace")[:80], False)
        payload = shape.serialization.get("payload")
        if payload:
            return {payload: self.json(shape.members[payload], value, payload)}
        if not isinstance(value, dict):
            return self.bad("", "The body must be a JSON object", value, False)
        names = {shape.members[n].serialization.get("name", n): n for n in body_members}
        out = {}
        for key, item in value.items():
            name = names.get(key)
            if name is None:
                self.unknown(key)
            elif item is not None:
                out[name] = self.json(shape.members[name], item, name)
        return out

    def header(self, shape, text, path, sensitive):
        if shape.type_name == "list":
            items = [m.group(1).replace('\\"', '"') if m.group(1) is not None else m.group(2).strip()
                     for m in re.finditer(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^,]*))\s*(?:,|$)', text) if m.group(0)]
            return [self.text(shape.member, item, f"{path}.{i}", sensitive, "rfc822")
                    for i, item in enumerate(items, 1)]
        if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
            try:
                return json.loads(base64.b64decode(text, validate=True))
            except (binascii.Error, ValueError):
                return self.bad(path, "Member must be base64-encoded JSON", text, sensitive)
        return self.text(shape, text, path, sensitive, "rfc822")

    def xml_body(self, shape, body_members, body):
        payload = shape.serialization.get("payload")
        if payload is not None:
            member = shape.members[payload]
            if member.type_name in ("blob", "string"):
                if not body:
                    return {}
                return {payload: body if member.type_name == "blob" else body.decode("utf-8", "replace")}
            if not body.strip():
                return {}
            root = self.xml_root(body, member.serialization.get("name", payload), member)
            return {} if root is None else {payload: self.xml(member, root, payload, False)}
        if not body.strip():
            return {}
        if not body_members:
            self.report("(body)", "unknown", "The operation takes no body", None, False)
            return {}
        root = self.xml_root(body, shape.serialization.get("name", shape.name), shape)
        if root is None:
            return {}
        value = self.xml(shape, root, "", False, only=body_members)
        return {} if value is BAD else value

    def xml_root(self, body, name, shape):
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError as e:
            self.report("(body)", "malformed", f"The body is not well-formed XML: {e}", None, False)
            return None
        namespace = shape.serialization.get("xmlNamespace")
        uri = namespace.get("uri") if isinstance(namespace, dict) else namespace
        expected = f"{{{uri}}}{name}" if uri else name
        if root.tag != expected:
            self.report("(body)", "malformed", f"The body's root element must be {expected}, not {root.tag}",
                        None, False)
            return None
        return root

    def xml(self, shape, elem, path, sensitive, only=None):
        sensitive = sensitive or bool(shape.metadata.get("sensitive"))
        kind = shape.type_name
        if kind == "structure":
            return self._xml_structure(shape, elem, path, sensitive, only)
        if kind == "list":
            name = shape.member.serialization.get("name", "member")
            items = []
            for child in elem:
                if _local(child.tag) == name:
                    items.append(self.xml(shape.member, child, f"{path}.{len(items) + 1}", sensitive))
                else:
                    self.unknown(join(path, _local(child.tag)))
            return items
        if kind == "map":
            return self._xml_entries(shape, [c for c in elem if _local(c.tag) == "entry"], path, sensitive)
        if len(elem):
            return self.bad(path, f"Member must be a {kind}, not an element with children", None, sensitive)
        return self.text(shape, elem.text or "", path, sensitive, "iso8601")

    def _xml_structure(self, shape, elem, path, sensitive, only):
        out, seen = {}, set()
        names = {}
        for name in only if only is not None else shape.members:
            member = shape.members[name]
            if member.serialization.get("xmlAttribute"):
                where = member.serialization.get("name", name)
                attribute = next((v for k, v in elem.attrib.items() if _local(k) == _local(where)), None)
                if attribute is not None:
                    out[name] = self.text(member, attribute, join(path, name), sensitive, "iso8601")
                continue
            names[member.serialization.get("name", name)] = name
        grouped = {}
        for child in elem:
            grouped.setdefault(_local(child.tag), []).append(child)
        for tag, children in grouped.items():
            name = names.get(tag)
            if name is None:
                self.unknown(join(path, tag))
                continue
            seen.add(name)
            member = shape.members[name]
            flat = member.serialization.get("flattened")
            if member.type_name == "list" and flat:
                out[name] = [self.xml(member.member, c, f"{join(path, name)}.{i}", sensitive)
                             for i, c in enumerate(children, 1)]
            elif member.type_name == "map" and flat:
                out[name] = self._xml_entries(member, children, join(path, name), sensitive)
            else:
                out[name] = self.xml(member, children[-1], join(path, name), sensitive)
        return out

    def _xml_entries(self, shape, entries, path, sensitive):
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out = {}
        for entry in entries:
            key = next((c.text or "" for c in entry if _local(c.tag) == key_name), None)
            value = next((c for c in entry if _local(c.tag) == value_name), None)
            if key is None:
                self.report(path, "required", "A map entry must have a key", None, False)
                continue
            out[key] = None if value is None else self.xml(shape.value, value, f"{path}{{{key}}}", sensitive)
        return out


def _local(tag):
    return tag.rsplit("}", 1)[-1]


class _Query:
    """Reads `query`/`ec2` form parameters into a shape, marking each parameter it reads."""

    def __init__(self, reader, params, used, ec2):
        self.reader, self.params, self.used, self.ec2 = reader, params, used, ec2

    def name(self, shape, default):
        if self.ec2:
            if "queryName" in shape.serialization:
                return shape.serialization["queryName"]
            if "name" in shape.serialization:
                name = shape.serialization["name"]
                return name[0].upper() + name[1:]
            return default
        return shape.serialization.get("name", default)

    def under(self, prefix):
        """Whether any parameter lies under `prefix` (is it, or starts with `prefix.`)."""
        dotted = prefix + "."
        return any(k == prefix or k.startswith(dotted) for k in self.params)

    def indexes(self, prefix):
        """The N of every `prefix.N...` parameter, in order."""
        found = set()
        dotted = prefix + "."
        for key in self.params:
            if key.startswith(dotted):
                head = key[len(dotted):].split(".", 1)[0]
                if head.isdigit():
                    found.add(int(head))
        return sorted(found)

    def value(self, shape, key, path, sensitive):
        kind = shape.type_name
        if kind == "structure":
            return self.structure(shape, key, path, sensitive)
        if kind == "list":
            return self.list(shape, key, path, sensitive)
        if kind == "map":
            return self.map(shape, key, path, sensitive)
        self.used.add(key)
        return self.reader.text(shape, self.params[key], path, sensitive, "iso8601")

    def structure(self, shape, prefix, path, sensitive):
        sensitive = sensitive or bool(shape.metadata.get("sensitive"))
        out = {}
        for name, member in shape.members.items():
            key = join(prefix, self.name(member, name))
            if self.under(key):
                out[name] = self.value(member, key, join(path, name), sensitive)
        return out

    def list(self, shape, prefix, path, sensitive):
        sensitive = sensitive or bool(shape.metadata.get("sensitive"))
        if self.params.get(prefix) == "" and not self.ec2:
            self.used.add(prefix)  # the query protocol's empty list: `Name=`
            return []
        if self.ec2:
            items = prefix
        elif shape.serialization.get("flattened"):
            items = prefix
            if shape.member.serialization.get("name"):
                items = ".".join(prefix.split(".")[:-1] + [self.name(shape.member, "")])
        else:
            items = f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        return [self.value(shape.member, f"{items}.{i}", f"{path}.{n}", sensitive)
                for n, i in enumerate(self.indexes(items), 1)]

    def map(self, shape, prefix, path, sensitive):
        sensitive = sensitive or bool(shape.metadata.get("sensitive"))
        entries = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        key_name = self.name(shape.key, "key")
        value_name = self.name(shape.value, "value")
        out = {}
        for i in self.indexes(entries):
            key_param = f"{entries}.{i}.{key_name}"
            if key_param not in self.params:
                self.reader.report(f"{path}.{i}", "required", "A map entry must have a key", None, False)
                continue
            self.used.add(key_param)
            key = self.params[key_param]
            value_param = f"{entries}.{i}.{value_name}"
            out[key] = (self.value(shape.value, value_param, f"{path}{{{key}}}", sensitive)
                        if self.under(value_param) else None)
        return out


# ---- REST routes ----

def route_literals(operation):
    """The query literals of an operation's requestUri: [(key, value or None)]."""
    _, _, query = operation.http["requestUri"].partition("?")
    literals = []
    for part in filter(None, query.split("&")):
        key, eq, value = part.partition("=")
        literals.append((key, value if eq else None))
    return literals


class Routes:
    """A REST service's operations by method and requestUri template. Of the routes a request
    matches, the one whose required query-string and header members it all carries wins, then
    the one with the most query literals and literal characters (S3's GetObject and ListParts
    share `GET /{Bucket}/{Key+}`; ListParts requires `uploadId`)."""

    def __init__(self, service):
        self.routes = []
        for name in service.operation_names:
            operation = service.operation_model(name)
            template = operation.http["requestUri"].partition("?")[0]
            labels, pattern = [], ""
            for literal, label in re.findall(r"([^{]*)(?:\{([^}]*)\})?", template):
                pattern += re.escape(literal)
                if label:
                    labels.append(label.rstrip("+"))
                    pattern += "(.+)" if label.endswith("+") else "([^/]+)"
            if len(pattern) > 1 and pattern.endswith("/"):
                pattern = pattern[:-1]
            literals = route_literals(operation)
            required = []
            shape = operation.input_shape
            for member_name in shape.required_members if shape is not None else ():
                member = shape.members[member_name]
                location = member.serialization.get("location")
                if location in ("querystring", "header"):
                    required.append((location, member.serialization.get("name", member_name)))
            specificity = (len(literals), len(re.sub(r"\{[^}]*\}", "", template)))
            self.routes.append((operation.http["method"], re.compile(pattern + "/?"), labels, literals, required,
                                specificity, operation))

    def match(self, wire):
        """(operation, labels) of the best route the request matches, or None."""
        query = dict(wire.query)
        best = None
        for method, regex, labels, literals, required, specificity, operation in self.routes:
            if method != wire.method:
                continue
            found = regex.fullmatch(wire.path)
            if found is None:
                continue
            if not all(key in query and (value is None or query[key] == value) for key, value in literals):
                continue
            complete = all((where in query) if location == "querystring" else (where.lower() in wire.headers)
                           for location, where in required)
            rank = (complete, len(required) if complete else 0, specificity)
            if best is None or rank > best[0]:
                best = (rank, operation, {n: unquote(v) for n, v in zip(labels, found.groups())})
        return None if best is None else best[1:]


def parse_query(text):
    """Form or URL query parameters as (key, value) pairs, blank values kept."""
    return parse_qsl(text, keep_blank_values=True)
