//! Guards: assertions about the state a plan leads to, checked when planning and again right
//! before each mutation, so a run stops before the change that would break them.
//!
//! A playbook's `guards:` are its own (docs/playbook.md). Two more are built in and always on,
//! because they are the mistakes that wipe a production database during a swap; a human can
//! overrule one by name (`--force-guard NAME`), never by accident.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_yaml::Value;

use crate::aws::{eb, route53, ssm};
use crate::playbook::Playbook;
use crate::steps::{self, Action, Change, Ctx, FieldError, Kind, Resource, Shown};

/// The built-in guards: name and what each refuses.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        STAGING_DB,
        "a production parameter or property would hold a staging database host",
    ),
    (
        SEVERE,
        "production traffic would go to an environment whose health is Severe",
    ),
];
const STAGING_DB: &str = "staging-db-in-production";
const SEVERE: &str = "severe-target";

/// Name tokens that mark production and staging (in paths, environment and host names).
const PRODUCTION: &[&str] = &["prod", "production", "prd", "live"];
const STAGING: &[&str] = &["staging", "stage", "stg"];

/// One `guards:` entry, checked.
#[derive(Debug)]
pub struct Guard {
    pub name: String,
    subject: Subject,
    condition: Condition,
}

#[derive(Debug)]
enum Subject {
    One {
        resource: Resource,
        /// Hosted zone of a record (records are read by zone).
        zone: Option<String>,
    },
    /// This key (parameter base name or property) in every place the plan changes.
    Touched(String),
}

#[derive(Debug)]
enum Condition {
    Equals(Operand),
    NotEquals(Operand),
    Matches(Regex),
    NotMatches(Regex),
    Exists(bool),
}

#[derive(Debug)]
enum Operand {
    Text(String),
    Value(Resource),
}

/// The fields of a guard as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    parameter: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    property: Option<String>,
    #[serde(default)]
    record: Option<String>,
    #[serde(default, rename = "type")]
    rtype: Option<String>,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    touched: Option<String>,
    #[serde(default)]
    equals: Option<Value>,
    #[serde(default)]
    not_equals: Option<Value>,
    #[serde(default)]
    matches: Option<String>,
    #[serde(default)]
    not_matches: Option<String>,
    #[serde(default)]
    exists: Option<bool>,
}

const SUBJECT_HINT: &str = "give one of `parameter: NAME`, `environment: ENV` with `property: NAME`, `record: NAME` with `type:` and `zone:`, or `touched: KEY`";
const CONDITION_HINT: &str =
    "give one of `equals`, `not_equals`, `matches`, `not_matches` (regular expressions) or `exists`";

/// Parses one `guards:` entry; errors carry the path below the entry.
pub fn parse(value: Value) -> Result<Guard, FieldError> {
    let f: Fields = steps::fields_of(value)?;
    let subject = subject(&f)?;
    let condition = condition(&f)?;
    if let (Subject::One { resource, .. }, Condition::Equals(_) | Condition::NotEquals(_)) =
        (&subject, &condition)
    {
        if matches!(resource, Resource::Record { .. }) {
            return Err(FieldError::at(
                "record",
                "a record guard takes `exists`, `matches` or `not_matches`",
            )
            .hint("records are compared as their answer text, e.g. `matches: shop-staging`"));
        }
    }
    let name = f
        .name
        .clone()
        .unwrap_or_else(|| describe(&subject, &condition));
    Ok(Guard {
        name,
        subject,
        condition,
    })
}

fn subject(f: &Fields) -> Result<Subject, FieldError> {
    let given = [
        f.parameter.is_some(),
        f.property.is_some() || f.environment.is_some(),
        f.record.is_some(),
        f.touched.is_some(),
    ]
    .iter()
    .filter(|g| **g)
    .count();
    if given != 1 {
        let message = if given == 0 {
            "a guard needs a subject"
        } else {
            "a guard has exactly one subject"
        };
        return Err(FieldError::new(Vec::new(), message).hint(SUBJECT_HINT));
    }
    let one = |resource| Subject::One {
        resource,
        zone: None,
    };
    Ok(
        match (
            &f.parameter,
            &f.environment,
            &f.property,
            &f.record,
            &f.touched,
        ) {
            (Some(name), ..) => one(Resource::Parameter(name.clone())),
            (_, Some(env), Some(name), ..) => one(Resource::property(env, name)),
            (_, None, Some(_), ..) => {
                return Err(FieldError::at("property", "`property` needs `environment`"))
            }
            (_, Some(_), None, ..) => {
                return Err(FieldError::at(
                    "environment",
                    "`environment` needs `property`",
                ))
            }
            (.., Some(record), _) => {
                let (Some(rtype), Some(zone)) = (&f.rtype, &f.zone) else {
                    return Err(
                        FieldError::at("record", "a record guard needs `type` and `zone`").hint(
                            "e.g. `record: app.example.com`, `type: CNAME`, `zone: example.com`",
                        ),
                    );
                };
                Subject::One {
                    resource: Resource::record(
                        &route53::fqdn(record),
                        &rtype.to_ascii_uppercase(),
                        None,
                    ),
                    zone: Some(zone.clone()),
                }
            }
            (.., Some(key)) => Subject::Touched(key.clone()),
            _ => unreachable!("exactly one subject was counted"),
        },
    )
}

fn condition(f: &Fields) -> Result<Condition, FieldError> {
    let regex = |field: &str, text: &str| {
        Regex::new(text).map_err(|e| {
            // The regex crate's message draws the pattern over several lines; keep its verdict.
            let text = e.to_string();
            let why = text
                .lines()
                .last()
                .unwrap_or_default()
                .trim_start_matches("error: ");
            FieldError::at(field, format!("invalid regular expression: {why}"))
                .hint("see https://docs.rs/regex for the syntax")
        })
    };
    let mut found = Vec::new();
    if let Some(v) = &f.equals {
        found.push(Condition::Equals(operand("equals", v)?));
    }
    if let Some(v) = &f.not_equals {
        found.push(Condition::NotEquals(operand("not_equals", v)?));
    }
    if let Some(r) = &f.matches {
        found.push(Condition::Matches(regex("matches", r)?));
    }
    if let Some(r) = &f.not_matches {
        found.push(Condition::NotMatches(regex("not_matches", r)?));
    }
    if let Some(e) = f.exists {
        found.push(Condition::Exists(e));
    }
    match found.len() {
        1 => Ok(found.pop().expect("one")),
        0 => Err(FieldError::new(Vec::new(), "a guard needs a condition").hint(CONDITION_HINT)),
        _ => Err(
            FieldError::new(Vec::new(), "a guard has exactly one condition")
                .hint("write two guards to assert two things"),
        ),
    }
}

/// `equals: "text"` or `equals: {parameter: NAME}` / `{environment: ENV, property: NAME}`.
fn operand(field: &str, value: &Value) -> Result<Operand, FieldError> {
    let bad = || {
        FieldError::at(field, "expected a text value or another resource")
            .hint("e.g. `equals: \"false\"` or `equals: {parameter: /shop/prod/DB_HOST}`")
    };
    match value {
        Value::String(text) => Ok(Operand::Text(text.clone())),
        Value::Bool(_) | Value::Number(_) => Err(FieldError::at(field, "values compare as text")
            .hint(format!(
                "quote it: `{field}: \"{}\"`",
                serde_yaml::to_string(value).unwrap_or_default().trim()
            ))),
        Value::Mapping(map) => {
            let text = |key: &str| map.get(key).and_then(Value::as_str);
            match (
                text("parameter"),
                text("environment"),
                text("property"),
                map.len(),
            ) {
                (Some(name), None, None, 1) => Ok(Operand::Value(Resource::Parameter(name.into()))),
                (None, Some(env), Some(name), 2) => {
                    Ok(Operand::Value(Resource::property(env, name)))
                }
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

fn describe(subject: &Subject, condition: &Condition) -> String {
    let what = match subject {
        Subject::One { resource, .. } => resource.to_string(),
        Subject::Touched(key) => format!("{key} wherever the plan changes things"),
    };
    let how = match condition {
        Condition::Equals(o) => format!("equals {}", operand_text(o)),
        Condition::NotEquals(o) => format!("does not equal {}", operand_text(o)),
        Condition::Matches(r) => format!("matches /{r}/"),
        Condition::NotMatches(r) => format!("does not match /{r}/"),
        Condition::Exists(true) => "exists".into(),
        Condition::Exists(false) => "does not exist".into(),
    };
    format!("{what} {how}")
}

fn operand_text(o: &Operand) -> String {
    match o {
        Operand::Text(t) => format!("\"{t}\""),
        Operand::Value(r) => r.to_string(),
    }
}

/// A guard's verdict on a plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GuardResult {
    pub guard: String,
    pub builtin: bool,
    pub passed: bool,
    /// A failed built-in guard overruled with `--force-guard`.
    #[serde(default)]
    pub forced: bool,
    /// Why it failed (or, when it passed, what it saw).
    pub message: String,
}

impl GuardResult {
    /// True when the guard stops the run.
    pub fn blocks(&self) -> bool {
        !self.passed && !self.forced
    }
}

/// The state a plan leads to: the last planned value of each resource it changes. Everything
/// else is read live when a guard asks.
pub struct Predicted<'a> {
    values: HashMap<String, Option<Shown>>,
    changed: Vec<&'a Change>,
}

impl<'a> Predicted<'a> {
    pub fn new(changes: impl IntoIterator<Item = &'a Change>) -> Self {
        let mut values = HashMap::new();
        let mut changed = Vec::new();
        for c in changes {
            if matches!(c.action, Action::Check | Action::Run) {
                continue;
            }
            values.insert(c.resource.to_string(), c.after.clone());
            if c.action != Action::Keep {
                changed.retain(|earlier: &&Change| earlier.resource != c.resource);
                changed.push(c);
            }
        }
        Self { values, changed }
    }

    /// The planned value, else the live one. `Err` says why it cannot be known.
    async fn value(
        &self,
        ctx: &Ctx,
        resource: &Resource,
        zone: Option<&str>,
    ) -> Result<Option<Shown>, String> {
        if let Some(planned) = self.values.get(&resource.to_string()) {
            return Ok(planned.clone());
        }
        read(ctx, resource, zone).await
    }

    /// Every parameter path and environment the plan changes.
    fn locations(&self) -> BTreeSet<(bool, String)> {
        self.changed
            .iter()
            .filter_map(|c| match &c.resource {
                Resource::Parameter(_) => Some((true, c.resource.location()?.to_owned())),
                Resource::Property { environment, .. } => Some((false, environment.clone())),
                _ => None,
            })
            .collect()
    }
}

/// Reads a resource's live value as plans show it.
async fn read(ctx: &Ctx, resource: &Resource, zone: Option<&str>) -> Result<Option<Shown>, String> {
    let failed = |e: crate::aws::AwsError| format!("cannot read {resource}: {e}");
    match resource {
        Resource::Parameter(name) => Ok(ssm::get(&ctx.aws.ssm, name)
            .await
            .map_err(failed)?
            .map(|p| steps::shown_param(&p))),
        Resource::Property { environment, name } => {
            let client = &ctx.aws.elasticbeanstalk;
            let Some(env) = eb::describe(client, environment).await.map_err(failed)? else {
                return Ok(None);
            };
            let props = eb::properties(client, &env).await.map_err(failed)?;
            Ok(props.get(name).map(|v| Shown::Plain(v.clone())))
        }
        Resource::Cname(environment) => Ok(eb::describe(&ctx.aws.elasticbeanstalk, environment)
            .await
            .map_err(failed)?
            .and_then(|e| e.cname)
            .map(Shown::Plain)),
        Resource::Record {
            name,
            rtype,
            set_id,
        } => {
            let zone = zone.ok_or_else(|| format!("{resource}: no zone to read it from"))?;
            let Some(zone) = route53::find_zone(&ctx.aws.route53, zone)
                .await
                .map_err(failed)?
            else {
                return Err(format!("{resource}: no hosted zone {zone}"));
            };
            Ok(
                route53::get_record(&ctx.aws.route53, &zone, name, rtype, set_id.as_deref())
                    .await
                    .map_err(failed)?
                    .map(|r| Shown::Plain(r.describe())),
            )
        }
        Resource::EnvKey { .. } | Resource::Other(_) => {
            Err(format!("{resource} cannot be read by a guard"))
        }
    }
}

/// Checks the playbook's guards and the built-in ones against `state`. A guard that cannot
/// read what it needs fails: guards fail closed.
pub async fn check(
    guards: &[Guard],
    state: &Predicted<'_>,
    ctx: &Ctx,
    forced: &BTreeSet<String>,
) -> Vec<GuardResult> {
    let mut out = Vec::new();
    for guard in guards {
        let failures = evaluate(guard, state, ctx).await;
        out.push(GuardResult {
            guard: guard.name.clone(),
            builtin: false,
            passed: failures.is_empty(),
            forced: false,
            message: failures.join("; "),
        });
    }
    for (name, failures) in [
        (STAGING_DB, staging_db_in_production(state, ctx).await),
        (SEVERE, severe_target(state, ctx).await),
    ] {
        out.push(GuardResult {
            guard: name.to_owned(),
            builtin: true,
            passed: failures.is_empty(),
            forced: !failures.is_empty() && forced.contains(name),
            message: failures.join("; "),
        });
    }
    out
}

async fn evaluate(guard: &Guard, state: &Predicted<'_>, ctx: &Ctx) -> Vec<String> {
    let subjects: Vec<(Resource, Option<&str>, bool)> = match &guard.subject {
        Subject::One { resource, zone } => vec![(resource.clone(), zone.as_deref(), true)],
        // `touched` asserts where the key exists; a place without it has nothing to check.
        Subject::Touched(key) => state
            .locations()
            .into_iter()
            .map(|(is_param, at)| {
                let r = if is_param {
                    Resource::Parameter(format!("{at}/{key}"))
                } else {
                    Resource::property(&at, key)
                };
                (r, None, false)
            })
            .collect(),
    };
    let mut failures = Vec::new();
    for (resource, zone, required) in subjects {
        let value = match state.value(ctx, &resource, zone).await {
            Ok(v) => v,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        if value.is_none() && !required {
            continue;
        }
        if let Err(why) = holds(&guard.condition, &resource, value.as_ref(), state, ctx).await {
            failures.push(why);
        }
    }
    failures
}

/// `Ok` when the condition holds for `resource` planned to hold `value`; else why not.
async fn holds(
    condition: &Condition,
    resource: &Resource,
    value: Option<&Shown>,
    state: &Predicted<'_>,
    ctx: &Ctx,
) -> Result<(), String> {
    let shown = |v: Option<&Shown>| v.map_or_else(|| "nothing".to_owned(), |v| format!("`{v}`"));
    if let Condition::Exists(wanted) = condition {
        return if value.is_some() == *wanted {
            Ok(())
        } else {
            Err(format!(
                "{resource} will {}exist",
                if *wanted { "not " } else { "" }
            ))
        };
    }
    if value.is_some_and(Shown::is_secret) {
        return Err(format!(
            "{resource} is a secret; guards compare plain values only (use `exists`)"
        ));
    }
    // Guards compare values, not how they are shown (a parameter's notes are not its value).
    let text = value.and_then(Shown::text);
    match condition {
        Condition::Equals(o) | Condition::NotEquals(o) => {
            let (other, label) = match o {
                Operand::Text(t) => (Some(t.clone()), format!("\"{}\"", crate::escape::value(t))),
                Operand::Value(r) => {
                    let v = state.value(ctx, r, None).await?;
                    if v.as_ref().is_some_and(Shown::is_secret) {
                        return Err(format!("{r} is a secret; guards compare plain values only"));
                    }
                    let label = format!("{r} ({})", shown(v.as_ref()));
                    (v.as_ref().and_then(Shown::text).map(str::to_owned), label)
                }
            };
            let equal = text == other.as_deref();
            match (condition, equal) {
                (Condition::Equals(_), false) => {
                    Err(format!("{resource} will be {}, not {label}", shown(value)))
                }
                (Condition::NotEquals(_), true) => Err(format!(
                    "{resource} will be {}, the same as {label}",
                    shown(value)
                )),
                _ => Ok(()),
            }
        }
        Condition::Matches(re) | Condition::NotMatches(re) => {
            let hit = text.is_some_and(|t| re.is_match(t));
            match (condition, hit) {
                (Condition::Matches(_), false) => Err(format!(
                    "{resource} will be {}, which does not match /{re}/",
                    shown(value)
                )),
                (Condition::NotMatches(_), true) => Err(format!(
                    "{resource} will be {}, which matches /{re}/",
                    shown(value)
                )),
                _ => Ok(()),
            }
        }
        Condition::Exists(_) => unreachable!("handled above"),
    }
}

/// Whether a key names a database host (or a URL that contains one).
fn is_database_host(key: &str) -> bool {
    let key = key.to_ascii_uppercase();
    [
        "DB_HOST",
        "DATABASE_HOST",
        "DATABASE_URL",
        "DB_URL",
        "PGHOST",
        "MYSQL_HOST",
    ]
    .iter()
    .any(|k| key.ends_with(k))
}

/// The alphanumeric words of a name, lowercased.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
}

fn has_word(text: &str, set: &[&str]) -> bool {
    words(text).any(|w| set.contains(&w.as_str()))
}

/// `location` with its production word replaced by each staging word (`/shop/prod` →
/// `/shop/staging`, `/shop/stage`, `/shop/stg`).
fn staging_twins(location: &str) -> Vec<String> {
    let mut out = Vec::new();
    for prod in PRODUCTION {
        let found = location.match_indices(prod).find(|(i, _)| {
            let before = location[..*i].chars().last();
            let after = location[i + prod.len()..].chars().next();
            !before.is_some_and(|c| c.is_ascii_alphanumeric())
                && !after.is_some_and(|c| c.is_ascii_alphanumeric())
        });
        if let Some((i, _)) = found {
            for stage in STAGING {
                out.push(format!(
                    "{}{stage}{}",
                    &location[..i],
                    &location[i + prod.len()..]
                ));
            }
        }
    }
    out
}

/// Built-in: no production parameter or property may end up holding a staging database host,
/// recognised by a staging word in the host name or by being the value of the same key in the
/// staging twin of its path or environment.
async fn staging_db_in_production(state: &Predicted<'_>, ctx: &Ctx) -> Vec<String> {
    let mut failures = Vec::new();
    for change in &state.changed {
        let resource = &change.resource;
        let (Some(key), Some(location)) = (resource.key_name(), resource.location()) else {
            continue;
        };
        if !is_database_host(key) || !has_word(location, PRODUCTION) {
            continue;
        }
        let Some(host) = change.after.as_ref().and_then(Shown::text) else {
            continue;
        };
        if has_word(host, STAGING) {
            failures.push(format!(
                "{resource} would become `{}`, a staging database host",
                crate::escape::value(host)
            ));
            continue;
        }
        for twin in staging_twins(location) {
            let twin = match resource {
                Resource::Parameter(_) => Resource::Parameter(format!("{twin}/{key}")),
                _ => Resource::property(&twin, key),
            };
            match state.value(ctx, &twin, None).await {
                Ok(Some(v)) if v.text() == Some(host) => {
                    failures.push(format!(
                        "{resource} would become `{}`, the database host of {twin}",
                        crate::escape::value(host)
                    ));
                    break;
                }
                Ok(_) => {}
                Err(e) => failures.push(e),
            }
        }
    }
    failures
}

/// Built-in: no change may send traffic to an Elastic Beanstalk environment whose health is
/// Severe: a record repointed at its CNAME, or a swap that gives it production's CNAME.
async fn severe_target(state: &Predicted<'_>, ctx: &Ctx) -> Vec<String> {
    let client = &ctx.aws.elasticbeanstalk;
    let mut failures = Vec::new();
    let mut targets: BTreeMap<String, Result<Option<eb::Env>, String>> = BTreeMap::new();
    for change in &state.changed {
        let Some(after) = change.after.as_ref().and_then(Shown::text) else {
            continue;
        };
        let found = match &change.resource {
            Resource::Record { .. } => {
                let answer = after.split(" (TTL").next().unwrap_or(after);
                let answer = answer
                    .trim_start_matches("ALIAS ")
                    .trim_end_matches('.')
                    .to_ascii_lowercase();
                if !answer.ends_with(".elasticbeanstalk.com") {
                    continue;
                }
                eb::by_cname(client, &answer).await
            }
            Resource::Cname(env) if has_word(after.split('.').next().unwrap_or(""), PRODUCTION) => {
                eb::describe(client, env).await
            }
            _ => continue,
        };
        targets.insert(
            change.resource.to_string(),
            found.map_err(|e| {
                format!(
                    "cannot read the environment behind {}: {e}",
                    change.resource
                )
            }),
        );
    }
    for (resource, env) in targets {
        match env {
            Ok(Some(env)) if env.is_severe() => failures.push(format!(
                "{resource} would send traffic to environment {}, which is {}",
                env.name,
                env.describe()
            )),
            Ok(_) => {}
            Err(e) => failures.push(e),
        }
    }
    failures
}

/// Warnings about the playbook as a whole: the incident's forgotten step, and workers left
/// with other settings than the web tier.
pub async fn playbook_warnings(pb: &Playbook, state: &Predicted<'_>, ctx: &Ctx) -> Vec<String> {
    let configures = state.changed.iter().any(|c| {
        matches!(
            c.resource,
            Resource::Parameter(_) | Resource::Property { .. }
        )
    });
    let restarts_workers = pb
        .steps
        .iter()
        .any(|s| s.kind.name == <steps::workers_restart::WorkersRestart as Kind>::NAME);
    let mut out = Vec::new();
    if configures && !restarts_workers {
        out.push("the plan changes configuration but restarts no queue workers: workers keep their old settings (database, queue) until restarted; add a `workers.restart` step, or confirm the playbook has no workers".into());
    }
    out.extend(worker_tier_mismatches(state, ctx).await);
    out
}

/// Properties the plan changes on a web-tier environment that a worker-tier environment of the
/// same application holds with another value, after the plan.
async fn worker_tier_mismatches(state: &Predicted<'_>, ctx: &Ctx) -> Vec<String> {
    let client = &ctx.aws.elasticbeanstalk;
    let mut changed: BTreeMap<&str, Vec<(&str, &Shown)>> = BTreeMap::new();
    for c in &state.changed {
        if let (Resource::Property { environment, name }, Some(after)) = (&c.resource, &c.after) {
            changed.entry(environment).or_default().push((name, after));
        }
    }
    let mut out = Vec::new();
    for (name, keys) in changed {
        let web = match eb::describe(client, name).await {
            Ok(Some(env)) if env.tier != "Worker" => env,
            Ok(_) => continue,
            Err(e) => {
                out.push(format!("cannot compare {name} with its workers: {e}"));
                continue;
            }
        };
        let workers = match eb::list(client, Some(&web.application)).await {
            Ok(envs) => envs.into_iter().filter(|e| e.tier == "Worker"),
            Err(e) => {
                out.push(format!("cannot compare {name} with its workers: {e}"));
                continue;
            }
        };
        for worker in workers {
            let props = match eb::properties(client, &worker).await {
                Ok(props) => props,
                Err(e) => {
                    out.push(format!("cannot compare {name} with {}: {e}", worker.name));
                    continue;
                }
            };
            for (key, value) in &keys {
                let planned = state
                    .values
                    .get(&Resource::property(&worker.name, key).to_string());
                let theirs = match planned {
                    Some(v) => v.clone(),
                    None => props.get(*key).map(|v| Shown::Plain(v.clone())),
                };
                if let Some(theirs) = theirs.filter(|t| t != *value) {
                    out.push(format!(
                        "worker environment {} keeps {key}={theirs} while {name} gets {key}={value}: the workers would run with other settings than the web tier; add an `eb.set-env` step for {} if they must match",
                        worker.name, worker.name
                    ));
                }
            }
        }
    }
    out
}
