//! The top of a playbook ([`Header`]): its version, name, `aws:`, `accounts:`, `state:`,
//! `vars:`, `guards:`, `recovery:`, `rto_target:`, `drill_every:`, `production:` and `coverage:`, decoded field by field so that every
//! problem is reported at once, then checked together; the steps are `step_list.rs`'s.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use super::checker::{nearest, Checker};
use super::guard::{self, Guard};
use super::locate::YamlPath;
use super::plain::{key_name, shown};
use super::schema;
use super::step_list::steps;
use super::{
    interpolate, valid_id, Accounts, AwsSettings, Given, Playbook, StateBlock, StepDef,
    DEFAULT_ACCOUNT, VERSION,
};
use crate::steps::{self, duration};

/// A playbook: where it acts, what must hold, and its steps.
// The parser decodes it one field at a time (each bad field a problem of its own), then checks
// the fields together; the JSON Schema's root is made from it, so the schema says what the
// parser reads, and the doc comments are its hover text. Fields whose parts are checked one by
// one, so that every bad variable, guard and step is reported, are taken as written; their
// schema says what those checks accept.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "standin playbook")]
pub(super) struct Header {
    /// The playbook format: 1.
    // Any value: a version this build cannot read is refused saying which one it reads.
    #[schemars(with = "u64", range(min = 1, max = 1))]
    version: Option<Value>,
    /// The playbook's name: confirmations, journals and reports name it.
    #[schemars(with = "String", length(min = 1))]
    name: Option<String>,
    /// What the playbook is for.
    description: Option<String>,
    /// Where and as whom to call AWS. Default: the standard chain (AWS_PROFILE, AWS_REGION,
    /// AWS_ENDPOINT_URL).
    aws: Option<AwsSettings>,
    /// Other accounts steps act in, by name (a step's `account:`), each with settings like
    /// `aws:`: e.g. DNS in a shared networking account reached through `role_arn`.
    #[serde(default)]
    #[schemars(schema_with = "schema::accounts")]
    accounts: Option<Accounts>,
    /// Where runs are kept when no `--state` or `--lock` says otherwise.
    state: Option<StateBlock>,
    /// Variables: names to text, used as `${vars.NAME}` in any string of the playbook;
    /// `--var NAME=VALUE` overrides one.
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    vars: Option<Value>,
    /// Assertions on the state each plan leads to, checked again before each change.
    #[schemars(with = "Option<Vec<guard::Fields>>")]
    guards: Option<Value>,
    /// The id of the gate step whose pass means production is back (drills measure the time
    /// to it).
    recovery: Option<String>,
    /// The recovery time objective a drill is held to.
    #[serde(default)]
    #[schemars(schema_with = "duration::schema")]
    rto_target: Option<String>,
    /// How often the playbook must pass a drill (e.g. `30d`): `standin doctor` warns when
    /// its last passing drill is older, or when it has none.
    #[serde(default)]
    #[schemars(schema_with = "duration::period_schema")]
    drill_every: Option<String>,
    /// Where each run's and drill's reports, journal and plan are uploaded when it ends
    /// (`--evidence` overrides it), and how long S3 Object Lock keeps them.
    evidence: Option<crate::config::EvidenceBlock>,
    /// What production is, where the steps do not say it (the plan's coverage lists each
    /// part of production no step covers).
    production: Option<super::Production>,
    /// Parts of production the plan's coverage leaves out on purpose, each with a reason.
    coverage: Option<super::Coverage>,
    /// The steps, in order; undone in reverse. A `parallel:` entry runs its steps at once.
    #[schemars(schema_with = "schema::step_list")]
    steps: Option<Value>,
}

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
    const WHAT: &str = "top-level fields";
    // `vars` first: they are substituted into the other fields before those are decoded.
    let vars = top
        .remove_entry("vars")
        .and_then(|entry| c.fields::<Header>(&root, Mapping::from_iter([entry]), WHAT))
        .and_then(|h| h.vars);
    let vars = variables(c, vars, overrides);
    let mut errors = Vec::new();
    let mut rest = Value::Mapping(top);
    interpolate::interpolate(&mut rest, &vars, &root, &mut errors);
    for e in errors {
        c.report(&e.path, e.message, e.hint);
    }
    let Value::Mapping(top) = rest else {
        unreachable!("still a mapping")
    };
    // Steps are checked against the account names even when their settings are wrong: one
    // problem, not one more per step that names the account.
    if let Some(Value::Mapping(names)) = top.get("accounts") {
        c.accounts = names.keys().map(key_name).collect();
    }
    let written = |field: &str| top.contains_key(field);
    let (has_version, has_name) = (written("version"), written("name"));
    let header: Header = c.fields(&root, top, WHAT)?;
    match &header.version {
        Some(v) if v.as_u64() == Some(VERSION) => {}
        Some(v) => c.report(
            &root.key("version"),
            format!("unsupported playbook version {}", shown(v)),
            Some(format!("this standin reads `version: {VERSION}`")),
        ),
        None if !has_version => c.report(
            &root,
            "missing field `version`",
            Some(format!("add `version: {VERSION}`")),
        ),
        None => {}
    }
    let name = match header.name {
        Some(name) if !name.trim().is_empty() => Some(name),
        Some(_) => {
            c.report(&root.key("name"), "`name` must be a non-empty string", None);
            None
        }
        None if !has_name => {
            c.report(
                &root,
                "missing field `name`",
                Some("add `name: promote-staging` (used in confirmations and reports)".into()),
            );
            None
        }
        None => None,
    };
    let aws = header.aws.unwrap_or_default();
    if let Some((field, problem)) = aws.problem() {
        c.report(&root.key("aws").key(field), problem, None);
    }
    let accounts = accounts(c, header.accounts.unwrap_or_default(), &aws);
    let guards = guard_list(c, header.guards);
    let rto_target = header.rto_target.and_then(|text| {
        steps::duration::parse(&text)
            .map_err(|e| c.report(&root.key("rto_target"), e, None))
            .ok()
    });
    let drill_every = header.drill_every.and_then(|text| {
        steps::duration::parse_period(&text)
            .map_err(|e| c.report(&root.key("drill_every"), e, None))
            .ok()
    });
    let evidence = header.evidence.and_then(|block| {
        let retain = match block.retain {
            Some(text) => Some(
                steps::duration::parse_retention(&text)
                    .map_err(|e| c.report(&root.key("evidence").key("retain"), e, None))
                    .ok()?,
            ),
            None => None,
        };
        Some(super::EvidenceTarget {
            to: block.to,
            retain,
            mode: block.retain_mode,
        })
    });
    let steps = steps(c, header.steps);
    let production = header.production.unwrap_or_default();
    for (k, endpoint) in production.endpoints.iter().enumerate() {
        if let Err(limit) = steps::limits::domain_name(endpoint) {
            let at = root.key("production").key("endpoints").index(k);
            c.report(&at, limit.message, Some(limit.hint));
        }
    }
    for (k, prefix) in production.parameters.iter().enumerate() {
        let at = root.key("production").key("parameters").index(k);
        if !prefix.starts_with('/') {
            c.report(
                &at,
                format!("`{}` is not a path prefix", crate::escape::value(prefix)),
                Some("write a path such as `/shop/prod/`".into()),
            );
        } else if let Err(limit) = steps::limits::parameter_name(
            prefix.trim_end_matches('/'),
            steps::limits::SHORTEST_ARN_PREFIX,
        ) {
            c.report(&at, limit.message, Some(limit.hint));
        }
    }
    let coverage = header.coverage.unwrap_or_default();
    for (k, ignore) in coverage.ignore.iter().enumerate() {
        let at = root.key("coverage").key("ignore").index(k);
        if ignore.id.trim().is_empty() {
            c.report(
                &at.key("id"),
                "an ignored finding needs its `id`",
                Some("copy the id the plan prints for it".into()),
            );
        }
        if ignore.reason.trim().is_empty() {
            c.report(
                &at.key("reason"),
                "say why this part of production is left out",
                Some("e.g. `reason: served by the CDN, failed over on its own`".into()),
            );
        }
    }
    let recovery = header
        .recovery
        .and_then(|id| recovery_gate(c, id, steps.as_deref()));
    Some(Playbook {
        path: path.to_owned(),
        name: name?,
        description: header.description,
        aws,
        accounts,
        state: header.state,
        guards,
        steps: steps?,
        text: String::new(),
        overridden: overrides.iter().map(|(name, _)| name.clone()).collect(),
        given: Given(overrides.iter().cloned().collect()),
        recovery,
        rto_target,
        drill_every,
        evidence,
        production,
        coverage,
        warnings: Vec::new(),
    })
}

/// `accounts:`: settings by name, each like `aws:`. Their names are kept for the steps'
/// `account:` (read after this).
///
/// Each account is `aws:` with its own overrides: what it leaves out (region, profile,
/// endpoint) is taken from `own`, except a role, which is each account's own. An account
/// that then says what `aws:` or another account says is the same place under two names.
fn accounts(c: &mut Checker, accounts: Accounts, own: &AwsSettings) -> Accounts {
    let at = YamlPath::default().key("accounts");
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
    accounts
}

/// `recovery:` must name a gate step (one whose kind checks, e.g. `http.check`): its pass is
/// the moment production is back.
fn recovery_gate(c: &mut Checker, id: String, steps: Option<&[StepDef]>) -> Option<String> {
    let at = YamlPath::default().key("recovery");
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
