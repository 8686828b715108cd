//! `steps:`: each step's common fields ([`Common`]: `id`, `kind`, `description`, `timeout`,
//! `account`), then the kind's own through the kind registry, and `parallel:` groups of steps.

use std::collections::HashMap;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use super::checker::{backticked, nearest, Checker};
use super::locate::{Pos, YamlPath};
use super::plain::{key_name, shown};
use super::schema;
use super::{valid_id, StepDef, DEFAULT_ACCOUNT};
use crate::steps::{self, duration};

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

/// The fields every step has, beside its kind's own. The parser decodes them one at a time
/// (each bad field a problem of its own) and the schema adds them to each kind's; their doc
/// comments are its hover text.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Common {
    #[schemars(schema_with = "step_id")]
    id: Option<String>,
    // The schema has one entry per kind, whose `kind` names it and says what it does.
    #[schemars(with = "String")]
    kind: Option<String>,
    /// Shown in plans and reports.
    description: Option<String>,
    /// Bound on the whole step: plan, change and waits (default 15m).
    #[serde(default)]
    #[schemars(schema_with = "duration::schema")]
    timeout: Option<String>,
    /// The account of `accounts:` the step acts in (default: the playbook's `aws:`).
    #[serde(default)]
    #[schemars(schema_with = "account_name")]
    account: Option<String>,
    /// Parts of production the plan's coverage names that this step takes care of, by the
    /// finding's id (`events:default/nightly`): a `confirm` that asks a person to retarget a
    /// rule standin cannot change, say. The plan no longer lists them.
    #[serde(default)]
    covers: Vec<String>,
}

fn step_id(_: &mut SchemaGenerator) -> Schema {
    schema::id("the step's id")
}

fn account_name(_: &mut SchemaGenerator) -> Schema {
    schema::id("the account of `accounts:` the step acts in")
}

fn step(
    c: &mut Checker,
    fields: Mapping,
    at: &YamlPath,
    seen: &mut HashMap<String, Pos>,
) -> Option<StepDef> {
    let names = steps::field_order::<Common>();
    let (common, own): (Mapping, Mapping) = fields
        .into_iter()
        .partition(|(key, _)| names.contains(&key_name(key).as_str()));
    let (has_id, has_kind) = (common.contains_key("id"), common.contains_key("kind"));
    let what = "common step fields";
    let Common {
        id,
        kind,
        description,
        timeout,
        account,
        covers,
    } = c.fields(at, common, what)?;
    let id = match id {
        Some(id) => checked_id(c, Value::from(id), &at.key("id"), seen, "step"),
        None if !has_id => {
            c.report(
                at,
                "missing field `id`",
                Some("add `id: some-name`, unique in the playbook".into()),
            );
            None
        }
        None => None,
    };
    let kind = match kind {
        Some(name) => {
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
        None if !has_kind => {
            c.report(
                at,
                "missing field `kind`",
                Some("`standin kinds` lists the step kinds".into()),
            );
            None
        }
        None => None,
    };
    let timeout = timeout.and_then(|text| match steps::duration::parse(&text) {
        Ok(d) => Some(d),
        Err(e) => {
            c.report(
                &at.key("timeout"),
                format!("invalid timeout: {e}"),
                Some("write a duration such as `90s`, `5m` or `1h`".into()),
            );
            None
        }
    });
    let account = account.and_then(|name| step_account(c, name, &at.key("account")));
    let kind = kind?;
    let common = format!("{what} are {}", backticked(names));
    let step = c.decode(at, Value::Mapping(own), kind.parse, Some(common));
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
        covers,
        step: step?,
    })
}

/// A step's `account:`, one `accounts:` declares (`default`: the playbook's `aws:`, kept as
/// `None`).
fn step_account(c: &mut Checker, name: String, at: &YamlPath) -> Option<String> {
    match name {
        name if name == DEFAULT_ACCOUNT => None,
        name if c.accounts.contains(&name) => Some(name),
        name => {
            let mut names = vec![DEFAULT_ACCOUNT.to_owned()];
            names.extend(c.accounts.iter().cloned());
            let hint = nearest(&name, names.iter().map(String::as_str))
                .map(|n| format!("did you mean `{n}`?"))
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
                format!("unknown account `{}`", shown(&Value::from(name))),
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
