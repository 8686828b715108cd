//! Playbooks: YAML in, checked steps out, with no AWS call. Every problem is reported at once,
//! each with `file:line:col`, what is wrong and how to fix it.
//!
//! Stages: serde_yaml reads the text (syntax errors carry their own position); `vars` are
//! resolved and substituted; the header and each step's common fields are checked here; each
//! kind checks its own fields. Positions of later problems come from [`locate::Locator`];
//! serde's messages are put in the operator's words by [`plain`].

pub mod docs;
pub mod guard;
mod interpolate;
mod lint;
mod locate;
mod plain;
mod schema;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_yaml::{Mapping, Value};

use self::guard::Guard;
use self::locate::Locator;
pub use self::locate::{Pos, YamlPath};
use self::plain::{key_name, shown};
pub use self::schema::schema;
pub use crate::config::{Accounts, AwsSettings, StateBlock, DEFAULT_ACCOUNT};
use crate::steps::{self, FieldError, KindDef, Step};

/// The only playbook format version this build reads.
pub const VERSION: u64 = 1;

const TOP_FIELDS: &[&str] = &[
    "version",
    "name",
    "description",
    "aws",
    "accounts",
    "state",
    "vars",
    "guards",
    "recovery",
    "rto_target",
    "steps",
];
const STEP_FIELDS: &[&str] = &["id", "kind", "description", "timeout", "account"];

/// A checked playbook, ready to plan.
pub struct Playbook {
    pub path: PathBuf,
    pub name: String,
    pub description: Option<String>,
    pub aws: AwsSettings,
    /// Other accounts steps act in, by name (`account:` of a step).
    pub accounts: Accounts,
    /// Where runs are kept, unless `--state` / `--lock` say otherwise.
    pub state: Option<StateBlock>,
    /// The playbook's own assertions (the built-in guards are always added).
    pub guards: Vec<Guard>,
    pub steps: Vec<StepDef>,
    /// The file as read: saved plans record its digest.
    pub text: String,
    /// Names of the variables given with `--var`.
    pub overridden: BTreeSet<String>,
    /// Their values, only for comparing with a digest (they may be secrets: never shown).
    pub given: Given,
    /// The id of the gate step whose pass means production is back: drills measure the time
    /// to it.
    pub recovery: Option<String>,
    /// The recovery time objective a drill is held to.
    pub rto_target: Option<Duration>,
    /// What is valid but risky (credentials in a URL), located, for `validate` and `plan`.
    pub warnings: Vec<Problem>,
}

/// The `--var` values a playbook was loaded with. A saved plan or a journal keeps a salted
/// digest of them, never them: the same playbook with other values acts on other resources.
pub struct Given(BTreeMap<String, String>);

impl Given {
    /// The salted digest of the values by name, as a JSON object in name order (a later
    /// `--var` of a name wins, as it does for the playbook): JSON keeps `a=1\nb=2` one value.
    pub fn digest(&self, salt: &str) -> String {
        let text = serde_json::to_string(&self.0).unwrap_or_default();
        crate::digest::salted(salt, &text)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One step: the fields every kind has, and the kind's own step.
pub struct StepDef {
    pub id: String,
    pub kind: &'static KindDef,
    pub description: Option<String>,
    /// Bound on the whole step (plan, apply and waits).
    pub timeout: Option<Duration>,
    /// The `parallel:` group the step belongs to: its members are next to each other in
    /// `steps` and run at once.
    pub group: Option<String>,
    /// The account of `accounts:` the step acts in; `None`: the playbook's `aws:`.
    pub account: Option<String>,
    pub step: Box<dyn Step>,
}

/// A rejected playbook: every problem found, in file order.
#[derive(Debug, thiserror::Error)]
pub struct Invalid {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

/// One problem, where it is, and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self
            .problems
            .iter()
            .map(|p| p.located(&self.file, ""))
            .collect();
        f.write_str(&shown.join("\n"))
    }
}

impl Problem {
    /// `FILE:LINE:COL: {prefix}MESSAGE`, and its hint on the next line.
    fn located(&self, file: &Path, prefix: &str) -> String {
        let mut out = format!(
            "{}:{}:{}: {prefix}{}",
            file.display(),
            self.pos.line,
            self.pos.col,
            self.message
        );
        if let Some(hint) = &self.hint {
            out.push_str(&format!("\n  hint: {hint}"));
        }
        out
    }
}

impl Playbook {
    /// Its warnings, located as errors are (`FILE:LINE:COL: warning: ...`).
    pub fn warnings_text(&self) -> Vec<String> {
        self.warnings
            .iter()
            .map(|w| w.located(&self.path, "warning: "))
            .collect()
    }
}

/// Collects problems with their positions while a playbook is checked.
struct Checker {
    locator: Locator,
    problems: Vec<Problem>,
    /// The names `accounts:` declares, for the steps' `account:`.
    accounts: Vec<String>,
}

impl Checker {
    fn report(&mut self, path: &YamlPath, message: impl Into<String>, hint: Option<String>) {
        self.problems.push(Problem {
            pos: self.locator.find(path),
            message: message.into(),
            hint,
        });
    }

    /// Decodes `value` (found at `at`) with `parse`, or reports why not in plain words;
    /// `unknown_hint` helps with unknown fields of `value` itself when the message offers no
    /// nearer name.
    fn decode<T>(
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

/// Reads and checks a playbook. `overrides` are `--var NAME=VALUE` pairs; each must name a
/// variable the playbook declares, so a typo cannot silently leave a default in place.
pub fn load(path: &Path, overrides: &[(String, String)]) -> Result<Playbook, Invalid> {
    let invalid = |problem: Problem| Invalid {
        file: path.to_owned(),
        problems: vec![problem],
    };
    let text = crate::input::read_text(path, crate::input::PLAYBOOK_CAP).map_err(|e| {
        invalid(Problem {
            pos: Pos::START,
            message: format!("cannot read the playbook: {e}"),
            hint: Some("check the path".into()),
        })
    })?;
    // A byte order mark is not content (serde_yaml refuses one before a key) and editors do not
    // show it, so columns count from after it.
    let source = text.strip_prefix('\u{feff}').unwrap_or(&text);
    if let Some((offset, c)) = source
        .char_indices()
        .find(|(_, c)| matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}'))
    {
        return Err(invalid(Problem {
            pos: Pos::of_offset(source, offset),
            message: format!(
                "U+{:04X} breaks lines for some YAML readers and not for editors, so what a reviewer reads is not what runs",
                u32::from(c)
            ),
            hint: Some(r"use ordinary line breaks (`\n`); write the character as `\u{85}` inside a double-quoted string if it is meant".into()),
        }));
    }
    if let Some(pos) = locate::too_deep(source) {
        return Err(invalid(Problem {
            pos,
            message: format!("nested more than {} levels deep", locate::MAX_DEPTH),
            hint: Some("a playbook nests a few levels: steps, their fields, maps of values".into()),
        }));
    }
    let doc: Value =
        serde_yaml::from_str(source).map_err(|e| invalid(syntax_problem(source, &e)))?;
    let locator = Locator::new(source);
    let warnings = lint::credentials(&doc, &locator);
    let mut checker = Checker {
        locator,
        problems: Vec::new(),
        accounts: Vec::new(),
    };
    let playbook = check(&mut checker, doc, path, overrides);
    match playbook {
        Some(mut p) if checker.problems.is_empty() => {
            p.text = text;
            p.warnings = warnings;
            Ok(p)
        }
        _ => {
            checker.problems.sort_by_key(|p| p.pos);
            Err(Invalid {
                file: path.to_owned(),
                problems: checker.problems,
            })
        }
    }
}

/// What serde_yaml found wrong in the text, located inside it.
fn syntax_problem(source: &str, e: &serde_yaml::Error) -> Problem {
    let full = e.to_string();
    // The message ends with where: " at line L column C", or " at position N" (a byte offset)
    // for bytes that are not YAML text, which serde_yaml gives no line for.
    let offset = full
        .rsplit_once(" at position ")
        .and_then(|(message, n)| Some((message, n.parse().ok()?)));
    let (message, pos) = match offset {
        Some((message, n)) => (message, Pos::of_offset(source, n)),
        None => (
            full.split(" at line ").next().unwrap_or(&full),
            e.location().map_or(Pos::START, |l| Pos {
                line: l.line(),
                col: l.column(),
            }),
        ),
    };
    let (message, hint) = plain::syntax(message);
    Problem {
        pos: pos.min(Pos::end_of(source)),
        message,
        hint: Some(hint),
    }
}

fn check(
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

fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
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

fn steps(c: &mut Checker, steps: Option<Value>) -> Option<Vec<StepDef>> {
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

/// Whether `id` is a valid step or group id: letters, digits, `-` and `_` (the journal holds
/// read ids to it too).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
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
