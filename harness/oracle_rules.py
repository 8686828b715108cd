"""The oracle's constraints: a request's input, already read off the wire into Python values
(oracle_wire.py), held to its botocore shape. Every rule AWS's published models state for an
input is checked here: required members, enum values, string/blob/list/map lengths, Java
regex patterns, number ranges, and unions (exactly one member set), recursively.

Patterns in botocore's models are Java regular expressions that AWS matches against the whole
value (IAM refuses the user name `analysts/some.one@example.com` although `[\\w+=,.@-]+` finds
a match in it). `java_pattern` translates what Python's `re` reads differently or cannot
compile; a pattern it still cannot compile is left unchecked and listed in `UNCHECKED`.
"""

import json
import os
import re
import sys
import tempfile
import threading
import unicodedata

# Java's general categories, as unions of Python's two-letter ones.
CATEGORIES = {
    "L": ("Lu", "Ll", "Lt", "Lm", "Lo"),
    "M": ("Mn", "Mc", "Me"),
    "N": ("Nd", "Nl", "No"),
    "P": ("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"),
    "S": ("Sm", "Sc", "Sk", "So"),
    "Z": ("Zs", "Zl", "Zp"),
    "C": ("Cc", "Cf", "Cs", "Co", "Cn"),
}
# Java's POSIX classes (US-ASCII only, as in java.util.regex.Pattern without UNICODE_CHARACTER_CLASS).
POSIX = {
    "Lower": "a-z", "Upper": "A-Z", "ASCII": "\\x00-\\x7f", "Alpha": "a-zA-Z", "Digit": "0-9",
    "Alnum": "a-zA-Z0-9", "Punct": "!-/:-@\\[-`{-~", "Graph": "!-~", "Print": " -~",
    "Blank": " \\t", "Cntrl": "\\x00-\\x1f\\x7f", "XDigit": "0-9a-fA-F", "Space": " \\t\\n\\x0b\\f\\r",
}
CLASS_ESCAPES = set("wdsWDS")

_by_category = {}
_ranges_lock = threading.Lock()


def temp_cache(name, build):
    """`build()` (JSON data), kept in the temp directory under `name`, which names everything
    the data depends on (versions): built once per machine, read in milliseconds after."""
    path = os.path.join(tempfile.gettempdir(), f"standin-oracle-{name}-{os.getuid()}.json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        pass
    data = build()
    partial = f"{path}.{os.getpid()}"
    with open(partial, "w") as f:
        json.dump(data, f)
    os.replace(partial, path)
    return data


def _build_categories():
    by_category = {}
    category = unicodedata.category
    start, current = 0, category(chr(0))
    for cp in range(1, sys.maxunicode + 2):
        c = category(chr(cp)) if cp <= sys.maxunicode else None
        if c != current:
            by_category.setdefault(current, []).append((start, cp - 1))
            start, current = cp, c
    return by_category


def _categories():
    """Every code point's general category as ranges of code points (of this Python's Unicode
    version), when a non-ASCII value first meets a pattern with `\\p{..}`."""
    with _ranges_lock:
        if not _by_category:
            _by_category.update(temp_cache(f"unicode-{unicodedata.unidata_version}", _build_categories))
        return _by_category


def _ascii_categories():
    by_category = {}
    for cp in range(128):
        by_category.setdefault(unicodedata.category(chr(cp)), []).append((cp, cp))
    return by_category


def _category_ranges(name, negated, ascii_only):
    """`\\p{NAME}` (or `\\P{NAME}`, every other code point) as the body of a Python
    character class; only its ASCII part when `ascii_only`."""
    if name in POSIX and not negated:
        return POSIX[name]
    name = name[2:] if name.startswith("Is") and name[2:] in CATEGORIES else name
    wanted = CATEGORIES.get(name, (name,))
    if not all(len(c) == 2 and c[0] in CATEGORIES for c in wanted):
        raise re.error(f"unsupported class \\{'P' if negated else 'p'}{{{name}}}")
    by_category = _ascii_categories() if ascii_only else _categories()
    return "".join(f"\\U{start:08x}" if start == end else f"\\U{start:08x}-\\U{end:08x}"
                   for c, spans in by_category.items() if (c in wanted) != negated for start, end in spans)


def java_pattern(pattern, ascii_only=False):
    """A Java regex as one Python's `re` reads the same way (with `re.ASCII`, since Java's
    `\\w`, `\\d`, `\\s` are ASCII): `\\p{..}` classes expanded, UTF-16 surrogate pairs
    joined into code points, a `-` after a class escape in a character class made literal,
    `\\z` as `\\Z`. With `ascii_only`, the classes keep their ASCII part: the same answer
    for an ASCII value, and far cheaper to compile. Raises `re.error` for what it cannot
    translate."""
    out, i, depth = [], 0, 0
    after_class_escape = False
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            if e in "pP":
                if pattern[i + 2:i + 3] == "{":
                    end = pattern.index("}", i)
                    name, i = pattern[i + 3:end], end + 1
                else:
                    name, i = pattern[i + 2], i + 3
                ranges = _category_ranges(name, e == "P", ascii_only)
                out.append(ranges if depth else f"[{ranges}]")
                after_class_escape = True
                continue
            if e == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", pattern[i + 2:i + 6]):
                high = int(pattern[i + 2:i + 6], 16)
                low = pattern[i + 6:i + 12]
                if 0xD800 <= high <= 0xDBFF and re.fullmatch(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}", low):
                    cp = 0x10000 + ((high - 0xD800) << 10) + (int(low[2:], 16) - 0xDC00)
                    out.append(f"\\U{cp:08x}")
                    i += 12
                else:
                    out.append(pattern[i:i + 6])
                    i += 6
                after_class_escape = False
                continue
            if e == "x" and pattern[i + 2:i + 3] == "{":
                end = pattern.index("}", i)
                out.append(f"\\U{int(pattern[i + 3:end], 16):08x}")
                i = end + 1
                after_class_escape = False
                continue
            out.append("\\Z" if e == "z" else pattern[i:i + 2])
            after_class_escape = e in CLASS_ESCAPES
            i += 2
            continue
        if depth and c == "-" and after_class_escape and pattern[i + 1:i + 2] != "]":
            out.append("\\-")
        elif c == "[" and not depth:
            depth = 1
            out.append(c)
            # A `]` or `^]` right after `[` is a literal in both dialects.
            if pattern[i + 1:i + 2] == "^":
                out.append("^")
                i += 1
            if pattern[i + 1:i + 2] == "]":
                out.append("\\]")
                i += 1
        elif c == "[" and depth:
            raise re.error("nested character class (Java union/intersection)")
        elif c == "&" and depth and pattern[i + 1:i + 2] == "&":
            raise re.error("character class intersection")
        elif c in "|~&" and depth:
            out.append("\\" + c)  # Python reads `||`, `~~`, `&&` in a class as future set operations
        elif c == "]" and depth:
            depth = 0
            out.append(c)
        else:
            out.append(c)
        after_class_escape = False
        i += 1
    return re.compile("".join(out), re.ASCII)


class JavaPattern:
    """A model's pattern, matched against whole values: ASCII values (nearly all) by its
    ASCII-only translation, others by the full one, compiled when first needed."""

    def __init__(self, pattern):
        self.pattern = pattern
        self.ascii = java_pattern(pattern, ascii_only=True)
        self.full = None

    def fullmatch(self, value):
        if value.isascii():
            return self.ascii.fullmatch(value)
        if self.full is None:
            self.full = java_pattern(self.pattern)
        return self.full.fullmatch(value)


_compiled = {}
# pattern -> why it is not checked (Python cannot read it even translated).
UNCHECKED = {}


def compiled(pattern):
    """The pattern, translated once; None (and listed in UNCHECKED, said once on stderr) when
    it cannot be checked."""
    if pattern not in _compiled:
        try:
            _compiled[pattern] = JavaPattern(pattern)
        except (re.error, ValueError) as e:
            _compiled[pattern] = None
            UNCHECKED[pattern] = str(e)
            print(f"oracle: pattern left unchecked ({e}): {pattern}", file=sys.stderr, flush=True)
    return _compiled[pattern]


def join(path, name):
    """A member's path under its structure's."""
    return f"{path}.{name}" if path else name


# A value the reader could not read (reported there): present, but never checked further.
BAD = type("Bad", (), {"__repr__": lambda self: "BAD"})()

ENUM_SHOWN = 12  # enum values named in a violation (EC2's InstanceType has over a thousand)
INT_BOUNDS = {"integer": (-2**31, 2**31 - 1), "long": (-2**63, 2**63 - 1)}


def _number(n):
    return int(n) if float(n).is_integer() else n


class Checker:
    """Walks a parsed input against its shape; `report(path, rule, constraint, value,
    sensitive)` is called for every broken rule."""

    def __init__(self, report):
        self.report = report

    def check(self, shape, value, path="", sensitive=False):
        if value is BAD:
            return
        sensitive = sensitive or bool(shape.metadata.get("sensitive"))
        kind = shape.type_name
        if kind == "structure":
            if not shape.is_document_type:
                self._structure(shape, value, path, sensitive)
        elif kind == "list":
            self._size(shape, len(value), value, path, sensitive)
            for i, item in enumerate(value, 1):
                if item is not None:
                    self.check(shape.member, item, f"{path}.{i}", sensitive)
        elif kind == "map":
            self._size(shape, len(value), value, path, sensitive)
            for key, item in value.items():
                self.check(shape.key, key, f"{path}{{{key}}}(key)", sensitive)
                if item is not None:
                    self.check(shape.value, item, f"{path}{{{key}}}", sensitive)
        elif kind == "string":
            self._string(shape, value, path, sensitive)
        elif kind == "blob":
            self._size(shape, len(value), value, path, sensitive)
        elif kind in ("integer", "long", "float", "double"):
            self._range(shape, value, path, sensitive)

    def _structure(self, shape, value, path, sensitive):
        for name in shape.required_members:
            if value.get(name) is None:
                self.report(join(path, name), "required", "Member must not be null", None, False)
        present = [name for name, item in value.items() if item is not None]
        if shape.metadata.get("union") and len(present) != 1:
            self.report(path, "union", f"Exactly one member must be set, not {len(present)}", None, False)
        for name in present:
            self.check(shape.members[name], value[name], join(path, name), sensitive)

    def _size(self, shape, size, value, path, sensitive):
        self._within("length", "length", size, shape.metadata.get("min"), shape.metadata.get("max"), value, path,
                     sensitive)

    def _within(self, rule, what, measured, low, high, value, path, sensitive):
        """Reports `measured` (a length, or the value itself) outside `low`..`high`."""
        if low is not None and measured < low:
            self.report(path, rule, f"Member must have {what} greater than or equal to {_number(low)}", value,
                        sensitive)
        if high is not None and measured > high:
            self.report(path, rule, f"Member must have {what} less than or equal to {_number(high)}", value,
                        sensitive)

    def _string(self, shape, value, path, sensitive):
        if shape.enum and value not in shape.enum:
            listed = ", ".join(shape.enum[:ENUM_SHOWN]) + (", ..." if len(shape.enum) > ENUM_SHOWN else "")
            self.report(path, "enum", f"Member must satisfy enum value set: [{listed}]", value, sensitive)
        # Smithy's length trait counts a string's Unicode scalar values.
        self._size(shape, len(value), value, path, sensitive)
        pattern = shape.metadata.get("pattern")
        if pattern is not None:
            regex = compiled(pattern)
            if regex is not None and regex.fullmatch(value) is None:
                self.report(path, "pattern", f"Member must satisfy regular expression pattern: {pattern}",
                            value, sensitive)

    def _range(self, shape, value, path, sensitive):
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        bounds = INT_BOUNDS.get(shape.type_name, (None, None))
        low = bounds[0] if low is None else low
        high = bounds[1] if high is None else high
        if value == value:  # NaN has no place in any range
            self._within("range", "value", value, low, high, value, path, sensitive)
