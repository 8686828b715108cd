//! Step kinds. Each kind lives in its own file and is registered by one line in [`KINDS`];
//! the engine sees steps only through the traits below and never names an AWS service.
//!
//! The life of a step: [`Step::plan`] reads live state and returns the changes it would make plus
//! a [`Mutation`]; the engine journals the mutation's undo record, then calls
//! [`Mutation::apply`]; the undo record, read back from the journal, becomes an [`Undo`] that puts
//! the previous state back and refuses when someone changed it since (drift).
//!
//! This file holds the traits, the context a step works with and the registry itself; apart
//! are a kind type-erased for the registry (`kind_def.rs`), how steps fail (`error.rs`) and
//! what kinds with no undo share (`no_undo.rs`).

pub mod alb_add_certificate;
pub mod approval;
pub mod clients;
pub mod confirm;
pub mod duration;
mod eb_needs;
mod eb_options;
pub mod eb_restart;
pub mod eb_scale;
pub mod eb_set_env;
pub mod eb_set_options;
mod eb_shared;
pub mod eb_swap_cnames;
pub mod eb_wait_healthy;
mod error;
pub mod http_check;
mod kind_def;
pub(crate) mod limits;
pub mod lock_url;
mod no_undo;
mod params;
pub mod pause;
mod resource;
pub mod route53_repoint;
pub mod ssm_copy_parameters;
pub mod ssm_edit_env_file;
pub mod ssm_put_parameters;
mod value;
mod worker_env;
pub mod workers_restart;

use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use self::error::{Drift, FieldError, StepError};
use self::kind_def::def;
pub use self::kind_def::KindDef;
pub(crate) use self::kind_def::{field_order, fields_of};
pub use self::no_undo::{irreversible, one_line, Act, NoUndo};
pub use self::resource::Resource;
pub use self::value::{ParamValue, Secretish, Value};
use crate::aws::{Accounts, Clients};
use crate::config::AwsSettings;
pub use crate::iam::Needs;
use crate::stop::Waits;

/// Every registered kind: adding a kind means adding its file and one line here.
pub static KINDS: &[KindDef] = &[
    def::<route53_repoint::Repoint>(),
    def::<eb_set_env::SetEnv>(),
    def::<eb_set_options::SetOptions>(),
    def::<eb_scale::Scale>(),
    def::<eb_swap_cnames::SwapCnames>(),
    def::<eb_restart::Restart>(),
    def::<eb_wait_healthy::WaitHealthy>(),
    def::<http_check::HttpCheck>(),
    def::<pause::Pause>(),
    def::<confirm::Confirm>(),
    def::<approval::Approval>(),
    def::<workers_restart::WorkersRestart>(),
    def::<lock_url::LockUrl>(),
    def::<alb_add_certificate::AddCertificate>(),
    def::<ssm_copy_parameters::CopyParameters>(),
    def::<ssm_put_parameters::PutParameters>(),
    def::<ssm_edit_env_file::EditEnvFile>(),
];

/// Whether a name (parameter key, property) looks like it holds a secret.
pub(crate) fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "PRIVATE_KEY",
        "API_KEY",
        "CREDENTIAL",
    ]
    .iter()
    .any(|word| upper.contains(word))
}

/// The checks of every kind with `set:` and `unset:` fields: something to do, and no key in
/// both. `name` is what the keys are called in the hint (`NAME`, `KEY`).
pub(crate) fn check_set_unset(
    set: &std::collections::BTreeMap<String, String>,
    unset: &[String],
    name: &str,
) -> Result<(), FieldError> {
    if set.is_empty() && unset.is_empty() {
        return Err(
            FieldError::at("set", "nothing to set or unset").hint(format!(
                "give `set: {{{name}: value}}` and/or `unset: [{name}]`"
            )),
        );
    }
    match unset.iter().find(|k| set.contains_key(*k)) {
        Some(key) => Err(FieldError::at(
            "unset",
            format!("`{key}` is both set and unset"),
        )),
        None => Ok(()),
    }
}

/// A parameter's value as plans show it (a SecureString only by version).
pub(crate) fn param_value(param: &crate::aws::ssm::Param) -> Value {
    params::show(param, param.version)
}

/// The aws CLI lines that do `undo` by hand in account `name` (reached with `aws`): the
/// profile a role needs first (see [`crate::aws::cli::as_account`]), then the undo's own;
/// none when the undo has nothing to do by hand.
pub fn by_hand_in(undo: &dyn Undo, name: &str, aws: &AwsSettings) -> Vec<String> {
    let (settings, mut lines) = crate::aws::cli::as_account(name, aws);
    let by_hand = undo.by_hand(&settings);
    if by_hand.is_empty() {
        return by_hand;
    }
    lines.extend(by_hand);
    lines
}

/// Looks a kind up by its playbook name.
pub fn find_kind(name: &str) -> Option<&'static KindDef> {
    KINDS.iter().find(|k| k.name == name)
}

/// What steps get to work with.
#[derive(Clone)]
pub struct Ctx {
    /// The clients of the account the step acts in ([`Ctx::on`]).
    pub aws: Clients,
    /// Every account of the playbook (guards read across them).
    pub accounts: Accounts,
    /// How pending changes are polled (Route 53 INSYNC, environment status, commands), and
    /// the stop that ends every wait early.
    pub waits: Waits,
    /// `--yes`: confirmations count as given.
    pub assume_yes: bool,
    /// Asks a human; the terminal implementation pauses progress output while it asks.
    pub prompt: Arc<dyn Prompt>,
    /// Where a run's approvals are asked for and answered (`approval` steps); `None` where
    /// nothing runs (a plan).
    pub desk: Option<approval::SharedDesk>,
    /// The id of the step this context is for ([`Ctx::on`]).
    pub step: Option<String>,
    /// When the step's `timeout:` ends it, while it runs.
    pub deadline: Option<tokio::time::Instant>,
}

impl Ctx {
    /// Starts from every account's clients, acting in the playbook's own.
    pub fn new(
        accounts: Accounts,
        waits: Waits,
        assume_yes: bool,
        prompt: Arc<dyn Prompt>,
    ) -> Self {
        Self {
            aws: accounts.own().clone(),
            accounts,
            waits,
            assume_yes,
            prompt,
            desk: None,
            step: None,
            deadline: None,
        }
    }

    /// The context of a step that acts in `account` (`None`: the playbook's `aws:`).
    pub fn on(&self, step: &str, account: Option<&str>) -> Result<Self, StepError> {
        let clients = self.accounts.get(account).ok_or_else(|| {
            StepError::failed(
                step,
                format!(
                    "no account `{}` among the playbook's `accounts:`",
                    crate::escape::value(account.unwrap_or_default())
                ),
            )
        })?;
        Ok(Self {
            aws: clients.clone(),
            step: Some(step.to_owned()),
            ..self.clone()
        })
    }
}

/// A way to ask a human a yes/no question.
pub trait Prompt: Send + Sync {
    /// `None` when there is no terminal to ask on.
    fn confirm(&self, question: &str) -> Option<bool>;
}

/// A step of a playbook, with its fields parsed and checked.
#[async_trait]
pub trait Step: Send + Sync {
    /// Reads live state and says what would change. Must not mutate anything.
    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError>;

    /// Plans again right before the mutation, for the check that the step still does what
    /// the plan said (`planned`: this step's changes there). Kinds whose plan reads far more
    /// than they write (a whole prefix) re-read only the resources `planned` changes; the
    /// check then compares only changes that are not `Keep`.
    async fn replan(&self, ctx: &Ctx, planned: &[Change]) -> Result<Prepared, StepError> {
        let _ = planned;
        self.plan(ctx).await
    }

    /// The IAM permissions planning, running and undoing this step take. Kinds that call no
    /// AWS API keep the default.
    fn needs(&self) -> Needs {
        Needs::default()
    }

    /// The parameters this step gives the stand-in from production's, when it copies some
    /// (`ssm.copy-parameters`): coverage reads production's parameters there.
    fn copies(&self) -> Option<ParamCopy> {
        None
    }
}

/// Parameters copied from one path prefix to another, as [`Step::copies`] says them.
#[derive(Debug, Clone)]
pub struct ParamCopy {
    /// Both with a trailing `/`.
    pub from: String,
    pub to: String,
    /// Only these names (relative to the prefixes); `None`: all of them.
    pub keys: Option<Vec<String>>,
    pub except: Vec<String>,
    /// The `String` and `StringList` values of both sides as this process's plan read them,
    /// by full name (`None` before a plan): coverage reads them here, not again.
    pub read: Option<std::collections::BTreeMap<String, String>>,
}

impl ParamCopy {
    /// Whether the copy writes `key` (relative to the prefixes) onto the stand-in.
    pub fn copies(&self, key: &str) -> bool {
        self.keys
            .as_ref()
            .is_none_or(|k| k.iter().any(|k| k == key))
            && !self.except.iter().any(|k| k == key)
    }
}

/// The outcome of planning one step: what would change, and the mutation that does it.
pub struct Prepared {
    pub changes: Vec<Change>,
    /// Things the operator should know before applying (e.g. TTLs that delay the effect).
    pub warnings: Vec<String>,
    pub mutation: Box<dyn Mutation>,
}

impl Prepared {
    /// True when applying would change nothing.
    pub fn is_noop(&self) -> bool {
        self.changes.iter().all(|c| c.action == Action::Keep)
    }
}

/// A planned mutation. It may hold secret values in memory; only its undo record is journaled.
#[async_trait]
pub trait Mutation: Send + Sync {
    /// The undo record as it stands now: journaled (fsynced) before `apply`, and again after it
    /// with whatever `apply` learned (e.g. the parameter versions it wrote).
    fn undo_record(&self) -> serde_json::Value;
    /// Performs the change. On error the undo record still describes every write that happened.
    async fn apply(&mut self, ctx: &Ctx) -> Result<(), StepError>;
}

/// An undo record read back from the journal.
#[async_trait]
pub trait Undo: Send + Sync {
    /// Puts back the state from before the step. Unless `force`, refuses (with
    /// [`StepError::Drift`], changing nothing) when a resource no longer holds what the step wrote.
    /// Returns one line per resource saying what it did.
    async fn undo(&self, ctx: &Ctx, force: bool) -> Result<Vec<String>, StepError>;

    /// The aws CLI commands that do this undo by hand, for the recovery report when standin
    /// could not (see [`crate::aws::cli`]).
    fn by_hand(&self, aws: &AwsSettings) -> Vec<String>;

    /// When clients followed the step's change to a DNS record, from the record as it was
    /// before the step: a drill's report adds the time to its recovery. Kinds that change no
    /// record keep the default.
    fn follow(&self) -> Option<clients::Follow> {
        None
    }
}

/// A step kind: its playbook fields (serde, unknown fields denied) and its undo record type.
/// Its fields' JSON Schema comes from the same type that parses them (`standin schema`).
pub trait Kind: Step + DeserializeOwned + schemars::JsonSchema + 'static {
    /// The `kind:` value in playbooks.
    const NAME: &'static str;
    /// One line for `standin kinds` and README's list of kinds.
    const SUMMARY: &'static str;
    /// Its section of docs/playbook.md, in Markdown: what it does, how it is undone, what it
    /// refuses. The table of its fields (from their doc comments) follows the first paragraph.
    const DOC: &'static str;
    /// A typical step of the kind: its own fields, in YAML. The docs show it, with the IAM
    /// actions it needs (from [`Step::needs`]); a test holds that it parses and checks.
    const EXAMPLE: &'static str;
    /// A gate checks and changes nothing: a drill checks it again while it soaks, and a
    /// playbook's `recovery:` names one.
    const GATE: bool = false;
    /// Changes nothing (a wait, a check, a question): a run stopped in it leaves nothing in
    /// doubt, and `resume` simply runs it again. Every gate changes nothing.
    const CHANGES_NOTHING: bool = Self::GATE;
    /// May run in a `parallel:` group. Not a question to a person (`confirm`): the steps
    /// after it wait for the answer.
    const IN_PARALLEL: bool = true;
    /// Its time is waiting for DNS (out a TTL, or for a change to be INSYNC): a drill's report
    /// adds it up as such.
    const WAITS_ON_DNS: bool = false;
    /// Restarts the queue workers: a plan that changes configuration with no such step warns
    /// that the workers keep their old settings.
    const RESTARTS_WORKERS: bool = false;
    /// Moves production's name to the stand-in (a repoint, a CNAME swap): what the records
    /// or CNAMEs it changes pointed at before are production's endpoints, and every other
    /// record that points at one is a part of production the playbook leaves behind
    /// ([`crate::coverage`]).
    const MOVES_PRODUCTION: bool = false;
    /// The journaled undo record.
    type Undo: Undo + Journaled + DeserializeOwned + 'static;
    /// Checks the fields together, without I/O (e.g. "`to` or `alias`, not both").
    fn check(&self) -> Result<(), FieldError> {
        Ok(())
    }
}

/// What an undo record holds, as docs/journal.md shows it: beside the type, so that kinds
/// sharing a record share its description.
pub trait Journaled {
    /// Each shape the record takes: when (`""`: always; e.g. "with `strategy: alb`") and its
    /// JSON with what undo does with it, in Markdown.
    const SHAPES: &'static [(&'static str, &'static str)];
}

/// One resource a step would touch, before and after.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Change {
    pub action: Action,
    /// What is touched, shown e.g. as `app.example.com. CNAME` or `/shop/staging/DB_HOST`.
    pub resource: Resource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// What a change does to its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Add,
    Modify,
    Remove,
    /// Already as wanted.
    Keep,
    /// An action with no undo (a restart).
    Run,
    /// A gate: a wait or a check that fails the run when not met.
    Check,
}

impl Action {
    /// The sign a reviewer expects: `+`, `~`, `-`, `=` unchanged, `!` no undo, `?` gate.
    pub fn sign(self) -> char {
        match self {
            Self::Add => '+',
            Self::Modify => '~',
            Self::Remove => '-',
            Self::Keep => '=',
            Self::Run => '!',
            Self::Check => '?',
        }
    }
}
