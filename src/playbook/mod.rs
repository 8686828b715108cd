//! Playbooks: YAML in, checked steps out, with no AWS call. Every problem is reported at once,
//! each with `file:line:col`, what is wrong and how to fix it.
//!
//! Stages: serde_yaml reads the text (syntax errors carry their own position); `vars` are
//! resolved and substituted; the header (`header.rs`) and each step's common fields
//! (`step_list.rs`) are checked, each problem kept by [`checker::Checker`]; each kind checks its own
//! fields. Positions of later problems come from [`locate::Locator`];
//! serde's messages are put in the operator's words by [`plain`].

mod checker;
pub mod docs;
pub mod guard;
mod header;
mod interpolate;
mod lint;
mod locate;
mod plain;
mod production;
mod schema;
mod step_list;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_yaml::Value;

pub(crate) use self::checker::nearest;
use self::checker::Checker;
use self::guard::Guard;
use self::header::check;
use self::locate::Locator;
pub use self::locate::{Pos, YamlPath};
pub use self::production::{Coverage, Ignore, Production};
pub use self::schema::schema;
pub use crate::config::{Accounts, AwsSettings, StateBlock, DEFAULT_ACCOUNT};
use crate::steps::{KindDef, Step};

/// The only playbook format version this build reads.
pub const VERSION: u64 = 1;

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
    /// How often a drill must pass (`standin doctor` warns when the last is older).
    pub drill_every: Option<Duration>,
    /// Where runs' evidence is uploaded (`evidence:`).
    pub evidence: Option<EvidenceTarget>,
    /// What production is, where the steps do not say it.
    pub production: Production,
    /// Parts of production the plan's coverage leaves out on purpose.
    pub coverage: Coverage,
    /// What is valid but risky (credentials in a URL), located, for `validate` and `plan`.
    pub warnings: Vec<Problem>,
}

/// Where a run's evidence goes, and how long S3 Object Lock keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceTarget {
    pub to: crate::config::EvidenceUrl,
    pub retain: Option<Duration>,
    pub mode: Option<crate::config::RetainMode>,
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
    /// Coverage findings this step covers (`covers:`), by id.
    pub covers: Vec<String>,
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

/// Whether `id` is a valid step or group id: letters, digits, `-` and `_` (the journal holds
/// read ids to it too).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
}
