//! The top of a playbook: its version, name, `aws:`, `accounts:`, `state:`, `vars:`,
//! `guards:`, `recovery:` and `rto_target:`, checked field by field so that every problem is
//! reported at once; the steps are `step_list.rs`'s.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

use super::checker::{backticked, nearest, Checker};
use super::guard::{self, Guard};
use super::locate::YamlPath;
use super::plain::{key_name, shown};
use super::step_list::steps;
use super::{
    interpolate, valid_id, Accounts, AwsSettings, Given, Playbook, StateBlock, StepDef,
    DEFAULT_ACCOUNT, TOP_FIELDS, VERSION,
};
use crate::steps::{self, FieldError};

pub(super) fn check(
    c: &mut Checker,
    doc: Value,
    path: &Path,
    overrides: &[(String, String)],
) -> Option<Playbook> {
    let root = YamlPath::default();
    let Value::Mapping(mut top) = doc else {
        c.report(
            &root,
            "a playbook is a YAML mapping",
            Some("start with `version: 1`, `name:` and `steps:`".into()),
        );
        return None;
    };
    for key in top.keys() {
        let name = key_name(key);
        if !TOP_FIELDS.contains(&name.as_str()) {
            let hint = nearest(&name, TOP_FIELDS.iter().copied()).map_or_else(
                || format!("top-level fields are {}", backticked(TOP_FIELDS)),
                |n| format!("did you mean `{n}`?"),
            );
            c.report(
                &root.key(&name),
                format!("unknown field `{name}`"),
                Some(hint),
            );
        }
    }
    match top.get("version") {
        Some(v) if v.as_u64() == Some(VERSION) => {}
        Some(v) => c.report(
            &root.key("version"),
            format!("unsupported playbook version {}", shown(v)),
            Some(format!("this standin reads `version: {VERSION}`")),
        ),
        None => c.report(
            &root,
            "missing field `version`",
            Some(format!("add `version: {VERSION}`")),
        ),
    }
    let vars = variables(c, top.remove("vars"), overrides);
    let mut errors = Vec::new();
    let mut rest = Value::Mapping(top);
    interpolate::interpolate(&mut rest, &vars, &root, &mut errors);
    for e in errors {
        c.report(&e.path, e.message, e.hint);
    }
    let Value::Mapping(mut top) = rest else {
        unreachable!("still a mapping")
    };
    let name = match top.remove("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => Some(name),
        Some(_) => {
            c.report(&root.key("name"), "`name` must be a non-empty string", None);
            None
        }
        None => {
            c.report(
                &root,
                "missing field `name`",
                Some("add `name: promote-staging` (used in confirmations and reports)".into()),
            );
            None
        }
    };
    let description = top.remove("description").and_then(|v| {
        c.decode(
            &root.key("description"),
            v,
            steps::fields_of::<String>,
            None,
        )
    });
    let aws = match top.remove("aws") {
        Some(v) => c.decode(&root.key("aws"), v, steps::fields_of::<AwsSettings>, None),
        None => Some(AwsSettings::default()),
    };
    if let Some((field, problem)) = aws.as_ref().and_then(AwsSettings::problem) {
        c.report(&root.key("aws").key(field), problem, None);
    }
    let own = aws.clone().unwrap_or_default();
    let accounts = accounts(c, top.remove("accounts"), &own);
    let state = match top.remove("state") {
        Some(v) => c
            .decode(&root.key("state"), v, steps::fields_of::<StateBlock>, None)
            .map(Some),
        None => Some(None),
    };
    let guards = guard_list(c, top.remove("guards"));
    let rto_target = top.remove("rto_target").and_then(|v| {
        c.decode(
            &root.key("rto_target"),
            v,
            |v| {
                let text: String = steps::fields_of(v)?;
                steps::duration::parse(&text).map_err(|e| FieldError::new(Vec::new(), e))
            },
            None,
        )
    });
    let recovery_value = top.remove("recovery");
    let steps = steps(c, top.remove("steps"));
    let recovery = recovery_value.and_then(|v| recovery_gate(c, v, steps.as_deref()));
    Some(Playbook {
        path: path.to_owned(),
        name: name?,
        description,
        aws: aws?,
        accounts: accounts?,
        state: state?,
        guards,
        steps: steps?,
        text: String::new(),
        overridden: overrides.iter().map(|(name, _)| name.clone()).collect(),
        given: Given(overrides.iter().cloned().collect()),
        recovery,
        rto_target,
        warnings: Vec::new(),
    })
}

/// `accounts:`: settings by name, each like `aws:`. Their names are kept for the steps'
/// `account:` (read after this).
///
/// Each account is `aws:` with its own overrides: what it leaves out (region, profile,
/// endpoint) is taken from `own`, except a role, which is each account's own. An account
/// that then says what `aws:` or another account says is the same place under two names.
fn accounts(c: &mut Checker, value: Option<Value>, own: &AwsSettings) -> Option<Accounts> {
    let at = YamlPath::default().key("accounts");
    let Some(value) = value else {
        return Some(Accounts::new());
    };
    // Steps are checked against the names even when the settings are wrong: one problem, not
    // one more per step that names the account.
    if let Value::Mapping(names) = &value {
        c.accounts = names.keys().map(key_name).collect();
    }
    let accounts: Accounts = c.decode(&at, value, steps::fields_of::<Accounts>, None)?;
    let hint = "name each account with letters, digits, `-` or `_`, and give it `profile`, `region`, `role_arn` (+ `external_id`) or `endpoint_url`";
    for (name, settings) in &accounts {
        let (place, problem) = if name.eq_ignore_ascii_case(DEFAULT_ACCOUNT) {
            (
                at.key(name),
                format!("`{DEFAULT_ACCOUNT}` is the playbook's own account (`aws:`)"),
            )
        } else if !valid_id(name) {
            (
                at.key(name),
                format!("invalid account name `{}`", crate::escape::value(name)),
            )
        } else if *settings == AwsSettings::default() {
            (
                at.key(name),
                format!("account `{name}` has no settings: it would be the playbook's own"),
            )
        } else if let Some((field, problem)) = settings.problem() {
            (at.key(name).key(field), problem)
        } else {
            continue;
        };
        c.report(&place, problem, Some(hint.into()));
    }
    let accounts: Accounts = accounts
        .into_iter()
        .map(|(name, settings)| (name, settings.over(own)))
        .collect();
    let mut seen: Vec<(&str, AwsSettings)> = vec![(DEFAULT_ACCOUNT, own.place())];
    for (name, settings) in &accounts {
        if *settings == AwsSettings::default() {
            continue; // reported above
        }
        let place = settings.place();
        if let Some((other, _)) = seen.iter().find(|(_, s)| *s == place) {
            c.report(
                &at.key(name),
                format!("account `{name}` is the same as `{other}`: with what it leaves to `aws:`, it has the same settings"),
                Some("give it the profile, role or region that sets it apart, or use the other name".into()),
            );
        }
        seen.push((name, place));
    }
    Some(accounts)
}

/// `recovery:` must name a gate step (one whose kind checks, e.g. `http.check`): its pass is
/// the moment production is back.
fn recovery_gate(c: &mut Checker, value: Value, steps: Option<&[StepDef]>) -> Option<String> {
    let at = YamlPath::default().key("recovery");
    let Value::String(id) = value else {
        c.report(
            &at,
            "`recovery` takes the id of a gate step",
            Some("e.g. `recovery: production-answers`".into()),
        );
        return None;
    };
    let steps = steps?;
    let gates: Vec<&str> = steps
        .iter()
        .filter(|s| s.kind.gate)
        .map(|s| s.id.as_str())
        .collect();
    match steps.iter().find(|s| s.id == id) {
        Some(s) if s.kind.gate => Some(id),
        // A step with a problem of its own is left out of `steps`: it may be this one, and
        // its own problem is the one to fix.
        None if !c.problems.is_empty() => None,
        found => {
            let problem = match found {
                Some(s) => format!("step `{id}` is a `{}`, not a gate", s.kind.name),
                None => format!("no step `{id}`"),
            };
            let hint = match nearest(&id, gates.iter().copied()) {
                Some(n) if found.is_none() => format!("did you mean `{n}`?"),
                _ if gates.is_empty() => "add a gate step (`http.check` or `eb.wait-healthy`) that passes when production answers".to_owned(),
                _ => format!("name one of the gates: {}", gates.iter().map(|g| format!("`{g}`")).collect::<Vec<_>>().join(", ")),
            };
            c.report(&at, format!("`recovery`: {problem}"), Some(hint));
            None
        }
    }
}

/// The `vars:` map (strings only), with `--var` overrides applied.
fn variables(
    c: &mut Checker,
    vars: Option<Value>,
    overrides: &[(String, String)],
) -> BTreeMap<String, String> {
    let path = YamlPath::default().key("vars");
    let mut declared = BTreeMap::new();
    match vars {
        None => {}
        Some(Value::Mapping(map)) => {
            for (key, value) in map {
                let named = matches!(key, Value::String(_));
                let key = key_name(&key);
                if !named {
                    c.report(
                        &path.key(&key),
                        format!("variable names are text, found `{key}`"),
                        Some(
                            "name variables like `domain:` and use them as `${vars.domain}`".into(),
                        ),
                    );
                    continue;
                }
                if let Value::String(text) = value {
                    declared.insert(key, text);
                    continue;
                }
                let found = shown(&value);
                let hint = match value {
                    Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => {
                        "a variable is one piece of text, substituted into strings".to_owned()
                    }
                    _ => format!("quote it: `{key}: \"{found}\"`"),
                };
                c.report(
                    &path.key(&key),
                    format!("variable `{key}` must be a string, found `{found}`"),
                    Some(hint),
                );
            }
        }
        Some(_) => c.report(
            &path,
            "`vars` must be a mapping of names to strings",
            Some("e.g. `vars: {domain: example.com}`".into()),
        ),
    }
    for (name, value) in overrides {
        if declared.contains_key(name) {
            declared.insert(name.clone(), value.clone());
        } else {
            let hint = nearest(name, declared.keys().map(String::as_str)).map_or_else(
                || {
                    "declare the variable under `vars:` first, so a typo cannot go unnoticed"
                        .to_owned()
                },
                |n| format!("did you mean `--var {n}=...`?"),
            );
            c.report(
                &path,
                format!("`--var {name}`: the playbook declares no variable `{name}`"),
                Some(hint),
            );
        }
    }
    declared
}

/// The `guards:` list; each entry checked on its own, so every bad one is reported.
fn guard_list(c: &mut Checker, guards: Option<Value>) -> Vec<Guard> {
    let path = YamlPath::default().key("guards");
    let items = match guards {
        None => return Vec::new(),
        Some(Value::Sequence(items)) => items,
        Some(_) => {
            c.report(
                &path,
                "`guards` must be a list",
                Some("start each guard with `- parameter: ...` (docs/playbook.md, Guards)".into()),
            );
            return Vec::new();
        }
    };
    items
        .into_iter()
        .enumerate()
        .filter_map(|(i, item)| c.decode(&path.index(i), item, guard::parse, None))
        .collect()
}
