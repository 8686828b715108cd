//! serde's messages in the operator's words.
//!
//! serde and serde_yaml describe a bad field in Rust's terms: "unit value", "a Value::Tagged
//! enum", "untagged enum OneOrMany", "field identifier", "as u128". The operator needs the
//! field's name, what is wrong with what they wrote and what to write instead. Messages that
//! already say that ("unknown field `x`", "missing field `x`", "invalid type: string \"soon\",
//! expected i64") pass through unchanged.

use std::fmt::Write as _;

use serde_yaml::{Mapping, Value};

use super::locate::YamlPath;
use crate::steps::FieldError;

/// The longest value quoted in a message, in characters: a value may be a whole nested
/// structure, and the message must stay readable.
const SHOWN: usize = 60;

/// `e`, the error from decoding `value` (found at `at`) with `parse`, in the operator's words,
/// and the path it is at. `parse` is called again on edited copies of `value` where serde says
/// what it expected only when shown something else.
pub fn explain<T>(
    e: FieldError,
    value: &Value,
    at: &YamlPath,
    parse: impl Fn(Value) -> Result<T, FieldError>,
) -> (YamlPath, FieldError) {
    let (path, found) = walk(at, value, &e.path);
    // Errors from a kind's own checks may name a field that is not written.
    let Some(found) = found else {
        return (path, e);
    };
    let below = e.path.clone();
    let again = |edit: &dyn Fn(&mut Value)| {
        let mut copy = value.clone();
        node_mut(&mut copy, &below).map(edit)?;
        parse(copy).err()
    };
    let e = reword(e, found, &path.to_string(), again);
    (walk(at, value, &e.path).0, e)
}

/// `e` in plain words. `found` is the value at its path, `full` that path, and `again` gives
/// the error, if any, once an edit has changed the value there.
fn reword(
    e: FieldError,
    found: &Value,
    full: &str,
    again: impl Fn(&dyn Fn(&mut Value)) -> Option<FieldError>,
) -> FieldError {
    let name = field_name(full);
    if let Some(message) = out_of_range(name, &e.message) {
        return FieldError::new(e.path, message);
    }
    let name = if name.is_empty() { full } else { name };
    if e.message.ends_with("expected field identifier") {
        // A key that is not text, e.g. `7: x`. As text, serde's message lists the fields.
        let Value::Mapping(map) = found else { return e };
        let Some(key) = map.keys().find(|k| !k.is_string()).map(key_name) else {
            return e;
        };
        return again(&stringify_keys)
            .filter(|again| again.message.starts_with("unknown field"))
            .unwrap_or_else(|| {
                let message = format!("unknown field `{key}`");
                FieldError::new([e.path, vec![key]].concat(), message)
            });
    }
    let expected = match e.message.split_once(", expected ") {
        _ if e.message.contains("untagged enum") => takes(&again, &e.path),
        Some((_, "a Value::Tagged enum" | "variant identifier")) => takes(&again, &e.path),
        Some((_, struct_name)) if struct_name.starts_with("struct ") => Some("a mapping".into()),
        Some((_, expected)) if found.is_null() => Some(expected.to_owned()),
        _ => return e,
    };
    let wrong = if found.is_null() {
        format!("`{name}` is empty")
    } else {
        format!("`{name}` is `{}`", shown(found))
    };
    let message = match expected {
        Some(expected) => format!("{wrong}; expected {expected}"),
        None => format!("{wrong}; docs/playbook.md says what it takes"),
    };
    FieldError { message, ..e }
}

/// What the field at `path` takes, for errors where serde does not say: an enum's variants
/// (serde lists them when shown an unknown one), or else each kind of value it accepts in place
/// of the one written. `again` gives the error once the value there is edited.
fn takes(
    again: impl Fn(&dyn Fn(&mut Value)) -> Option<FieldError>,
    path: &[String],
) -> Option<String> {
    let samples = [
        ("text", Value::from("x")),
        ("a number", Value::from(1)),
        ("`true` or `false`", Value::Bool(true)),
        ("a list", Value::Sequence(vec![Value::from("x")])),
        (
            "a mapping",
            Value::Mapping(Mapping::from_iter([(Value::from("x"), Value::from("x"))])),
        ),
    ];
    let mut kinds = Vec::new();
    for (kind, sample) in samples {
        match again(&|v: &mut Value| *v = sample.clone()) {
            Some(e) if e.path == path => {
                if let Some(variants) = e.message.strip_prefix("unknown variant `x`, expected ") {
                    return Some(variants.to_owned());
                }
            }
            _ => kinds.push(kind),
        }
    }
    match kinds.split_last() {
        None => None,
        Some((last, [])) => Some((*last).to_owned()),
        Some((last, rest)) => Some(format!("{} or {last}", rest.join(", "))),
    }
}

/// "`ttl` 9999999999999999999 is too large: at most 9223372036854775807" for serde's "invalid
/// value: integer `N`, expected i64".
fn out_of_range(name: &str, message: &str) -> Option<String> {
    let (number, rest) = message
        .strip_prefix("invalid value: integer `")?
        .split_once("`, expected ")?;
    let (min, max): (i128, i128) = match rest {
        "i8" => (i8::MIN.into(), i8::MAX.into()),
        "i16" => (i16::MIN.into(), i16::MAX.into()),
        "i32" => (i32::MIN.into(), i32::MAX.into()),
        "i64" => (i64::MIN.into(), i64::MAX.into()),
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        "u64" => (0, u64::MAX.into()),
        _ => return None,
    };
    Some(if number.starts_with('-') {
        format!("{} is too small: at least {min}", subject(name, number))
    } else {
        format!("{} is too large: at most {max}", subject(name, number))
    })
}

/// A YAML syntax error as a message and a hint. serde_yaml's `Value` holds numbers of up to 64
/// bits, so a longer integer is a syntax error there ("steps[0].ttl: invalid type: integer `N`
/// as u128, expected any YAML value"): it is said as what it is.
pub fn syntax(message: &str) -> (String, String) {
    let big = message
        .split_once(": invalid type: integer `")
        .and_then(|(path, rest)| Some((path, rest.split_once("` as ")?.0)));
    if let Some((path, number)) = big {
        let size = if number.starts_with('-') {
            "small"
        } else {
            "large"
        };
        return (
            format!("{} is too {size}", subject(field_name(path), number)),
            "no field takes a number of this size; check the digits".into(),
        );
    }
    let hint = if message.starts_with("control characters") {
        "delete the character there (an editor may not show it)"
    } else {
        "check indentation, colons and quoting around this place"
    };
    (format!("invalid YAML: {message}"), hint.into())
}

/// "`ttl` 99999", or the number alone when the field's name is lost.
fn subject(name: &str, number: &str) -> String {
    if name.is_empty() {
        number.to_owned()
    } else {
        format!("`{name}` {number}")
    }
}

/// A field as the operator knows it: its path below the step or guard it is in
/// (`steps[0].targets.Role` is `targets.Role`), or from the top for the other fields. Empty
/// for a whole step or guard.
fn field_name(path: &str) -> &str {
    match path.split_once(']') {
        Some((_, rest)) => rest.strip_prefix('.').unwrap_or(rest),
        None => path,
    }
}

/// A mapping key as text: a string as written, anything else as [`shown`].
pub fn key_name(key: &Value) -> String {
    key.as_str().map_or_else(|| shown(key), str::to_owned)
}

/// A value on one line, as YAML's flow style writes it, cut after [`SHOWN`] characters.
pub fn shown(value: &Value) -> String {
    let mut out = String::new();
    flow(value, &mut out);
    if out.chars().count() <= SHOWN {
        return out;
    }
    let mut cut: String = out.chars().take(SHOWN - 1).collect();
    cut.push('…');
    cut
}

fn flow(value: &Value, out: &mut String) {
    // Past the cut nothing shows: stop early, whatever the size of the value.
    if out.len() > 4 * SHOWN {
        return;
    }
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => {
            // Quoted when it would read as something else, as in `version: "1"`.
            let quote = !matches!(serde_yaml::from_str(s), Ok(Value::String(read)) if read == *s);
            if quote {
                out.push('"');
            }
            for ch in s.chars() {
                if ch.is_control() || (quote && ch == '"') {
                    out.extend(ch.escape_default());
                } else {
                    out.push(ch);
                }
            }
            if quote {
                out.push('"');
            }
        }
        Value::Sequence(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(item, out);
            }
            out.push(']');
        }
        Value::Mapping(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(key, out);
                out.push_str(": ");
                flow(item, out);
            }
            out.push('}');
        }
        Value::Tagged(tagged) => {
            let _ = write!(out, "{} ", tagged.tag);
            flow(&tagged.value, out);
        }
    }
}

/// Replaces every key of a mapping that is not a string by its [`key_name`].
fn stringify_keys(value: &mut Value) {
    if let Value::Mapping(map) = value {
        *map = std::mem::take(map)
            .into_iter()
            .map(|(key, item)| (Value::String(key_name(&key)), item))
            .collect();
    }
}

/// Where serde's path `below` (keys, and indexes in decimal) leads from `value`, found at
/// `at`: the path, and the node if it is written. Whether `7` is an index or a key depends on
/// what it is in.
fn walk<'a>(at: &YamlPath, value: &'a Value, below: &[String]) -> (YamlPath, Option<&'a Value>) {
    below
        .iter()
        .fold((at.clone(), Some(value)), |(path, node), seg| match node {
            Some(Value::Sequence(items)) => match seg.parse() {
                Ok(index) => (path.index(index), items.get(index)),
                Err(_) => (path.key(seg), None),
            },
            Some(Value::Mapping(map)) => (path.key(seg), map.get(seg.as_str())),
            _ => (path.key(seg), None),
        })
}

/// The node at `path`, as [`walk`] finds it.
fn node_mut<'a>(value: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |v, seg| match v {
        Value::Sequence(items) => items.get_mut(seg.parse::<usize>().ok()?),
        Value::Mapping(map) => map.get_mut(seg.as_str()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fields_below_their_step() {
        assert_eq!(field_name("steps[0].targets.Role"), "targets.Role");
        assert_eq!(
            field_name("steps[3].expect_env.keys[1]"),
            "expect_env.keys[1]"
        );
        assert_eq!(field_name("aws.region"), "aws.region");
        assert_eq!(field_name("steps[0]"), "");
    }

    #[test]
    fn shows_values_on_one_line_and_cuts_them() {
        let v: Value = serde_yaml::from_str("{b: [1, 2], c: \"x\\ny\", d: ~, e: \"1\"}").unwrap();
        assert_eq!(shown(&v), "{b: [1, 2], c: \"x\\ny\", d: null, e: \"1\"}");
        let long: Value = serde_yaml::from_str(&format!("[{}]", "1, ".repeat(100))).unwrap();
        let cut = shown(&long);
        assert_eq!(cut.chars().count(), SHOWN);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn says_how_far_out_of_range_a_number_is() {
        assert_eq!(
            out_of_range(
                "ttl",
                "invalid value: integer `9999999999999999999`, expected i64"
            )
            .unwrap(),
            "`ttl` 9999999999999999999 is too large: at most 9223372036854775807"
        );
        assert_eq!(
            out_of_range("status", "invalid value: integer `-1`, expected u16").unwrap(),
            "`status` -1 is too small: at least 0"
        );
        let (message, _) = syntax(
            "steps[0].ttl: invalid type: integer `99999999999999999999999999` as u128, expected any YAML value",
        );
        assert_eq!(message, "`ttl` 99999999999999999999999999 is too large");
    }
}
