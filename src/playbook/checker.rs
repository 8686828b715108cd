//! Problems found while a playbook is checked, located and put in the operator's words, with
//! a hint: serde's messages, and the nearest name to a typo.

use serde::de::DeserializeOwned;
use serde_yaml::{Mapping, Value};

use super::locate::{Locator, YamlPath};
use super::plain::{self, key_name};
use super::Problem;
use crate::steps::{self, FieldError};

/// Collects problems with their positions while a playbook is checked.
pub(super) struct Checker {
    pub(super) locator: Locator,
    pub(super) problems: Vec<Problem>,
    /// The names `accounts:` declares, for the steps' `account:`.
    pub(super) accounts: Vec<String>,
}

impl Checker {
    pub(super) fn report(
        &mut self,
        path: &YamlPath,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.problems.push(Problem {
            pos: self.locator.find(path),
            message: message.into(),
            hint,
        });
    }

    /// Decodes `value` (found at `at`) with `parse`, or reports why not in plain words;
    /// `unknown_hint` helps with unknown fields of `value` itself when the message offers no
    /// nearer name.
    pub(super) fn decode<T>(
        &mut self,
        at: &YamlPath,
        value: Value,
        parse: impl Fn(Value) -> Result<T, FieldError>,
        unknown_hint: Option<String>,
    ) -> Option<T> {
        let e = match parse(value.clone()) {
            Ok(v) => return Some(v),
            Err(e) => e,
        };
        let (path, e) = plain::explain(e, &value, at, parse);
        let own_field = path.0.len() <= at.0.len() + 1;
        let hint = e.hint.or_else(|| {
            unknown_hint.filter(|_| own_field && e.message.starts_with("unknown field"))
        });
        self.report_serde(&path, e.message, hint);
        None
    }

    /// Decodes the mapping at `at` as `T` one field at a time, so that every bad field is a
    /// problem of its own, and gives `T` of the good ones: `T`'s fields are all optional (a
    /// missing one is for the caller to report, with its own hint). An empty field (`name:`) is
    /// refused, as the schema has it: a field left out is left out. Unknown fields get a hint
    /// naming `T`'s fields when none is near.
    pub(super) fn fields<T: DeserializeOwned>(
        &mut self,
        at: &YamlPath,
        map: Mapping,
        what: &str,
    ) -> Option<T> {
        let known = steps::field_order::<T>();
        let mut good = Mapping::new();
        for (key, value) in map {
            let name = key_name(&key);
            if value.is_null() {
                self.report(
                    &at.key(&name),
                    format!("`{name}` is empty"),
                    Some(format!("give `{name}` a value, or leave the line out")),
                );
                continue;
            }
            let hint = (!known.contains(&name.as_str()))
                .then(|| format!("{what} are {}", backticked(known)));
            let one = Value::Mapping(Mapping::from_iter([(key.clone(), value.clone())]));
            if self.decode(at, one, steps::fields_of::<T>, hint).is_some() {
                good.insert(key, value);
            }
        }
        self.decode(at, Value::Mapping(good), steps::fields_of::<T>, None)
    }

    /// Reports a serde message, pointing unknown fields at the offending key.
    fn report_serde(&mut self, path: &YamlPath, message: String, hint: Option<String>) {
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        if let Some((field, expected)) = unknown_field(&message) {
            let hint = nearest(&field, expected.iter().map(String::as_str))
                .map(|n| format!("did you mean `{n}`?"))
                .or(hint);
            self.report(&path.key(&field), message, hint);
        } else {
            let missing = message
                .strip_prefix("missing field `")
                .and_then(|m| m.split('`').next());
            let hint = hint.or_else(|| match missing {
                Some(field) => Some(format!(
                    "add `{field}:` (docs/playbook.md lists every kind's fields)"
                )),
                None => type_hint(&message),
            });
            self.report(path, message, hint);
        }
    }
}

/// A hint for serde's "invalid type: X, expected Y", from what was expected.
fn type_hint(message: &str) -> Option<String> {
    let expected = message
        .strip_prefix("invalid type: ")?
        .split(", expected ")
        .nth(1)?;
    Some(
        match expected {
            e if e.starts_with('i') || e.starts_with('u') => {
                "this field takes a whole number, without quotes"
            }
            "a string" => "this field takes text; quote it, e.g. \"8080\"",
            "a boolean" => "this field takes `true` or `false`",
            e if e.starts_with("a sequence") => "this field takes a list, e.g. `[A, B]`",
            _ => "check the value's type against docs/playbook.md",
        }
        .to_owned(),
    )
}

/// Splits serde's "unknown field `x`, expected one of `a`, `b`" into the field and the options.
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    let options = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((field.to_owned(), options))
}

/// The candidate closest to `word`, if close enough to be a likely typo.
pub(crate) fn nearest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (word.len().max(c.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

pub(super) fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_likely_typos() {
        assert_eq!(
            nearest("route53.repiont", ["route53.repoint", "ssm.put-parameters"]),
            Some("route53.repoint")
        );
        assert_eq!(nearest("zzz", ["route53.repoint"]), None);
    }

    #[test]
    fn splits_unknown_field_messages() {
        let (field, options) =
            unknown_field("unknown field `zon`, expected one of `zone`, `record`").unwrap();
        assert_eq!(field, "zon");
        assert_eq!(options, ["zone", "record"]);
    }
}
