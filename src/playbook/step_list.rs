//! `steps:`: each step's common fields (`id`, `kind`, `description`, `timeout`, `account`),
//! then the kind's own through the kind registry, and `parallel:` groups of steps.

use std::collections::HashMap;

use serde_yaml::{Mapping, Value};

use super::checker::{backticked, nearest, Checker};
use super::locate::{Pos, YamlPath};
use super::plain::{key_name, shown};
use super::{valid_id, StepDef, DEFAULT_ACCOUNT, STEP_FIELDS};
use crate::steps;

pub(super) fn steps(c: &mut Checker, steps: Option<Value>) -> Option<Vec<StepDef>> {
    let path = YamlPath::default().key("steps");
    let items = match steps {
        Some(Value::Sequence(items)) if !items.is_empty() => items,
        Some(Value::Sequence(_)) | None => {
            c.report(
                &path,
                "a playbook needs at least one step under `steps:`",
                Some("`standin kinds` lists the step kinds".into()),
            );
            return None;
        }
        Some(_) => {
            c.report(
                &path,
                "`steps` must be a list",
                Some("start each step with `- id: ...`".into()),
            );
            return None;
        }
    };
    let mut seen: HashMap<String, Pos> = HashMap::new();
    let mut defs = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let at = path.index(i);
        let Value::Mapping(fields) = item else {
            c.report(
                &at,
                "a step is a mapping with `id`, `kind` and the kind's fields",
                None,
            );
            continue;
        };
        if fields.contains_key("parallel") {
            defs.extend(group(c, fields, &at, &mut seen));
        } else if let Some(def) = step(c, fields, &at, &mut seen) {
            defs.push(def);
        }
    }
    Some(defs)
}

/// A `parallel:` group: its members, each marked with the group's name (its `id`, or the
/// members' ids joined by `+`).
fn group(
    c: &mut Checker,
    mut fields: Mapping,
    at: &YamlPath,
    seen: &mut HashMap<String, Pos>,
) -> Vec<StepDef> {
    let name = fields
        .remove("id")
        .and_then(|value| checked_id(c, value, &at.key("id"), seen, "group"));
    let members_at = at.key("parallel");
    let members = match fields.remove("parallel") {
        Some(Value::Sequence(items)) if items.len() >= 2 => items,
        _ => {
            c.report(
                &members_at,
                "`parallel` must list at least two steps",
                Some("write `parallel:` followed by `- id: ...` steps, indented under it".into()),
            );
            return Vec::new();
        }
    };
    if let Some(key) = fields.keys().next().map(key_name) {
        c.report(
            &at.key(&key),
            format!("unknown field `{key}` of a parallel group"),
            Some("a group has `parallel:` (its steps) and an optional `id:`".into()),
        );
    }
    let mut defs = Vec::new();
    for (j, item) in members.into_iter().enumerate() {
        let at = members_at.index(j);
        let fields = match item {
            Value::Mapping(fields) if fields.contains_key("parallel") => {
                c.report(
                    &at,
                    "parallel groups do not nest",
                    Some("list the steps of both groups in one `parallel:`".into()),
                );
                continue;
            }
            Value::Mapping(fields) => fields,
            _ => {
                c.report(
                    &at,
                    "a step is a mapping with `id`, `kind` and the kind's fields",
                    None,
                );
                continue;
            }
        };
        let Some(def) = step(c, fields, &at, seen) else {
            continue;
        };
        if !def.kind.in_parallel {
            c.report(
                &at.key("kind"),
                format!("a `{}` step cannot run in a parallel group: it waits for a person before the steps after it", def.kind.name),
                Some(format!("put the `{}` step before the group", def.kind.name)),
            );
        }
        defs.push(def);
    }
    let name = name.unwrap_or_else(|| {
        defs.iter()
            .map(|d| d.id.as_str())
            .collect::<Vec<_>>()
            .join("+")
    });
    for def in &mut defs {
        def.group = Some(name.clone());
    }
    defs
}

fn step(
    c: &mut Checker,
    mut fields: Mapping,
    at: &YamlPath,
    seen: &mut HashMap<String, Pos>,
) -> Option<StepDef> {
    let id = match fields.remove("id") {
        Some(value) => checked_id(c, value, &at.key("id"), seen, "step"),
        None => {
            c.report(
                at,
                "missing field `id`",
                Some("add `id: some-name`, unique in the playbook".into()),
            );
            None
        }
    };
    let kind = match fields.remove("kind") {
        Some(Value::String(name)) => {
            let found = steps::find_kind(&name);
            if found.is_none() {
                let hint = nearest(&name, steps::KINDS.iter().map(|k| k.name)).map_or_else(
                    || "`standin kinds` lists the step kinds".to_owned(),
                    |n| format!("did you mean `{n}`? `standin kinds` lists them all"),
                );
                c.report(
                    &at.key("kind"),
                    format!("unknown kind `{name}`"),
                    Some(hint),
                );
            }
            found
        }
        Some(other) => {
            c.report(
                &at.key("kind"),
                format!("`kind` must be a string, found `{}`", shown(&other)),
                None,
            );
            None
        }
        None => {
            c.report(
                at,
                "missing field `kind`",
                Some("`standin kinds` lists the step kinds".into()),
            );
            None
        }
    };
    let description = fields
        .remove("description")
        .and_then(|v| c.decode(&at.key("description"), v, steps::fields_of::<String>, None));
    let timeout = match fields.remove("timeout") {
        None => None,
        Some(Value::String(text)) => match steps::duration::parse(&text) {
            Ok(d) => Some(d),
            Err(e) => {
                c.report(
                    &at.key("timeout"),
                    format!("invalid timeout: {e}"),
                    Some("write a duration such as `90s`, `5m` or `1h`".into()),
                );
                None
            }
        },
        Some(other) => {
            c.report(
                &at.key("timeout"),
                format!("invalid timeout `{}`", shown(&other)),
                Some("write a duration with its unit, such as `90s` or `5m`".into()),
            );
            None
        }
    };
    let account = fields
        .remove("account")
        .and_then(|v| step_account(c, v, &at.key("account")));
    let kind = kind?;
    let common = format!("common step fields are {}", backticked(STEP_FIELDS));
    let step = c.decode(at, Value::Mapping(fields), kind.parse, Some(common));
    // A step that calls no AWS API acts in no account: saying one would mislead the reader
    // (an `http.check` is made from where standin runs, whatever the account).
    if let (Some(account), Some(step)) = (&account, &step) {
        let needs = step.needs();
        if needs.plan.is_empty() && needs.run.is_empty() {
            c.report(
                &at.key("account"),
                format!(
                    "a `{}` step calls no AWS API: `account: {account}` means nothing here",
                    kind.name
                ),
                Some("remove `account:` from this step".into()),
            );
        }
    }
    Some(StepDef {
        id: id?,
        kind,
        description,
        timeout,
        group: None,
        account,
        step: step?,
    })
}

/// A step's `account:`, one `accounts:` declares (`default`: the playbook's `aws:`, kept as
/// `None`).
fn step_account(c: &mut Checker, value: Value, at: &YamlPath) -> Option<String> {
    let known = || {
        let mut names = vec![DEFAULT_ACCOUNT.to_owned()];
        names.extend(c.accounts.iter().cloned());
        names
    };
    match value {
        Value::String(name) if name == DEFAULT_ACCOUNT => None,
        Value::String(name) if c.accounts.contains(&name) => Some(name),
        other => {
            let names = known();
            let hint = match &other {
                Value::String(name) => nearest(name, names.iter().map(String::as_str))
                    .map(|n| format!("did you mean `{n}`?")),
                _ => None,
            }
            .unwrap_or_else(|| {
                format!(
                    "name an account of `accounts:` ({})",
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
            c.report(
                at,
                format!("unknown account `{}`", shown(&other)),
                Some(hint),
            );
            None
        }
    }
}

/// A step's or group's id (`what`), when it is valid and not used before.
fn checked_id(
    c: &mut Checker,
    value: Value,
    at: &YamlPath,
    seen: &mut HashMap<String, Pos>,
    what: &str,
) -> Option<String> {
    match value {
        Value::String(id) if valid_id(&id) => {
            let pos = c.locator.find(at);
            if let Some(first) = seen.insert(id.clone(), pos) {
                c.report(
                    at,
                    format!(
                        "duplicate {what} id `{id}` (first used at line {})",
                        first.line
                    ),
                    Some(
                        "give every step (and group) its own id; the journal and `status` refer to steps by id"
                            .into(),
                    ),
                );
            }
            Some(id)
        }
        other => {
            c.report(
                at,
                format!("invalid {what} id `{}`", shown(&other)),
                Some("use letters, digits, `-` and `_`, e.g. `repoint-dns`".into()),
            );
            None
        }
    }
}
