//! `ssm.edit-env-file`: where an account keeps the whole `.env` in one parameter, set and unset
//! keys inside it, keeping every other line, its order and its comments. Undo restores the
//! parameter's previous version (the shared `ssm.*` undo).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Deserialize;

use super::params::{self, Wanted};
use super::{
    check_set_unset, Action, Change, Ctx, FieldError, Kind, Prepared, Shown, Step, StepError,
};
use crate::aws::ssm::{self, Param};
use crate::iam::{arn, Needs};

/// Fields of an `ssm.edit-env-file` step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditEnvFile {
    /// The parameter holding the `.env` text, e.g. `/shop/staging/env`.
    parameter: String,
    /// Keys to set (added at the end when absent).
    #[serde(default)]
    set: BTreeMap<String, String>,
    /// Keys to remove.
    #[serde(default)]
    unset: Vec<String>,
}

impl Kind for EditEnvFile {
    const NAME: &'static str = "ssm.edit-env-file";
    const SUMMARY: &'static str =
        "set/unset keys inside a parameter holding a whole .env file, keeping order and comments";
    type Undo = params::ParamsUndo;

    fn check(&self) -> Result<(), FieldError> {
        check_set_unset(&self.set, &self.unset, "KEY")?;
        let valid = |k: &str| {
            k.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if let Some(key) = self.set.keys().chain(&self.unset).find(|k| !valid(k)) {
            return Err(FieldError::at("set", format!("`{key}` is not a .env key"))
                .hint("keys are letters, digits and `_`, not starting with a digit"));
        }
        Ok(())
    }
}

/// One key's change: its value before and after (`None`: absent).
type KeyChange = (String, Option<String>, Option<String>);

/// The key a `.env` line defines, with the text before its value (`export KEY=`).
fn split_line(line: &str) -> Option<(&str, &str, &str)> {
    let body = line.trim_start();
    let body = body.strip_prefix("export ").unwrap_or(body);
    let (key, value) = body.split_once('=')?;
    let key = key.trim();
    let valid = !key.is_empty()
        && !key.starts_with('#')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| (key, &line[..line.len() - value.len()], value))
}

/// A value as a loader reads it: unquoted, inline comment dropped.
fn read_value(raw: &str) -> String {
    let raw = raw.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = raw.strip_prefix(quote).and_then(|r| r.strip_suffix(quote)) {
            return if quote == '"' {
                inner.replace("\\\"", "\"").replace("\\\\", "\\")
            } else {
                inner.to_owned()
            };
        }
    }
    raw.split(" #").next().unwrap_or(raw).trim().to_owned()
}

/// A value as it must be written so loaders read it back unchanged.
fn write_value(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| !c.is_whitespace() && !matches!(c, '#' | '"' | '\'' | '\\' | '$' | '`'));
    if plain {
        value.to_owned()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Applies the edit to `text`; returns the new text and each key's change.
fn edit(text: &str, set: &BTreeMap<String, String>, unset: &[String]) -> (String, Vec<KeyChange>) {
    let mut out = Vec::new();
    let mut seen: BTreeMap<String, Option<String>> = BTreeMap::new();
    for line in text.lines() {
        match split_line(line) {
            Some((key, _, value)) if unset.iter().any(|k| k == key) => {
                seen.entry(key.to_owned())
                    .or_insert_with(|| Some(read_value(value)));
            }
            Some((key, prefix, value)) if set.contains_key(key) => {
                let old = read_value(value);
                let new = &set[key];
                out.push(if old == *new {
                    line.to_owned()
                } else {
                    format!("{prefix}{}", write_value(new))
                });
                seen.entry(key.to_owned()).or_insert(Some(old));
            }
            _ => out.push(line.to_owned()),
        }
    }
    for (key, value) in set {
        if !seen.contains_key(key) {
            out.push(format!("{key}={}", write_value(value)));
            seen.insert(key.clone(), None);
        }
    }
    let changes = set
        .iter()
        .map(|(k, v)| (k.clone(), seen.get(k).cloned().flatten(), Some(v.clone())))
        .chain(
            unset
                .iter()
                .map(|k| (k.clone(), seen.get(k).cloned().flatten(), None)),
        )
        .collect();
    let mut text_out = out.join("\n");
    if text.ends_with('\n') || text.is_empty() {
        text_out.push('\n');
    }
    (text_out, changes)
}

#[async_trait]
impl Step for EditEnvFile {
    fn needs(&self) -> Needs {
        let name = vec![arn::parameter(&self.parameter)];
        Needs {
            plan: params::read_grants(&["ssm:GetParameter"], name.clone()),
            run: params::write_grants(name),
        }
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError> {
        let current = ssm::get(&ctx.aws.ssm, &self.parameter)
            .await
            .map_err(StepError::aws(&self.parameter))?
            .ok_or_else(|| {
                StepError::failed(
                    &self.parameter,
                    "no such parameter (create it first, e.g. with ssm.put-parameters)",
                )
            })?;
        let (text, keys) = edit(&current.value, &self.set, &self.unset);
        let secure = current.is_secure();
        let version = current.version;
        let changes = keys
            .into_iter()
            .map(|(key, before, after)| {
                let action = match (&before, &after) {
                    (b, a) if b == a => Action::Keep,
                    (None, Some(_)) => Action::Add,
                    (Some(_), None) => Action::Remove,
                    _ => Action::Modify,
                };
                let shown = |v: Option<String>, version: i64| {
                    v.map(|v| {
                        if secure {
                            Shown::sensitive(version)
                        } else {
                            Shown::Plain(v)
                        }
                    })
                };
                let next = if action == Action::Keep {
                    version
                } else {
                    version + 1
                };
                Change {
                    action,
                    resource: format!("{} {key}", self.parameter).into(),
                    before: shown(before, version),
                    after: shown(after, next),
                }
            })
            .collect();
        let desired = Param {
            value: text,
            ..current.clone()
        };
        let mut prepared = params::prepare(
            ctx,
            vec![Wanted {
                current: Some(current),
                desired,
            }],
        )
        .await?;
        prepared.changes = changes;
        Ok(prepared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn keeps_order_comments_and_untouched_lines() {
        let text =
            "# shop\nAPP_ENV=staging\nexport DB_HOST=\"staging-db\" \nQUEUE=q # old\nDEBUG=true\n";
        let (out, changes) = edit(
            text,
            &map(&[("DB_HOST", "prod db"), ("NEW", "1"), ("QUEUE", "q")]),
            &["DEBUG".into()],
        );
        assert_eq!(
            out,
            "# shop\nAPP_ENV=staging\nexport DB_HOST=\"prod db\"\nQUEUE=q # old\nNEW=1\n"
        );
        assert_eq!(
            changes,
            [
                (
                    "DB_HOST".into(),
                    Some("staging-db".into()),
                    Some("prod db".into())
                ),
                ("NEW".into(), None, Some("1".into())),
                ("QUEUE".into(), Some("q".into()), Some("q".into())),
                ("DEBUG".into(), Some("true".into()), None),
            ]
        );
    }

    #[test]
    fn quotes_what_a_loader_would_misread() {
        assert_eq!(write_value("a b"), "\"a b\"");
        assert_eq!(write_value("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(read_value(&write_value("say \"hi\" #1")), "say \"hi\" #1");
        assert_eq!(write_value("plain"), "plain");
    }
}
