//! Step kinds. Each kind lives in its own file and is registered by one line in [`KINDS`];
//! the engine sees steps only through the traits below and never names an AWS service.
//!
//! The life of a step: [`Step::plan`] reads live state and returns the changes it would make plus
//! a [`Mutation`]; the engine journals the mutation's undo record, then calls
//! [`Mutation::apply`]; the undo record, read back from the journal, becomes an [`Undo`] that puts
//! the previous state back and refuses when someone changed it since (drift).

pub mod alb_add_certificate;
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
pub mod http_check;
mod limits;
pub mod lock_url;
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

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use self::resource::Resource;
pub use self::value::{ParamValue, Secretish, Value};
use crate::aws::{Accounts, AwsError, Clients};
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

/// A registered kind, type-erased for the registry.
pub struct KindDef {
    pub name: &'static str,
    pub summary: &'static str,
    /// See [`Kind::DOC`].
    pub doc: &'static str,
    /// See [`Kind::EXAMPLE`].
    pub example: &'static str,
    /// See [`Journaled::SHAPES`].
    pub undo_shapes: &'static [(&'static str, &'static str)],
    /// The names of its fields, in the order the kind declares them (empty when its fields are
    /// an enum): the schema's are sorted.
    pub field_order: fn() -> &'static [&'static str],
    /// See [`Kind::GATE`].
    pub gate: bool,
    /// See [`Kind::CHANGES_NOTHING`].
    pub changes_nothing: bool,
    /// See [`Kind::IN_PARALLEL`].
    pub in_parallel: bool,
    /// See [`Kind::WAITS_ON_DNS`].
    pub waits_on_dns: bool,
    /// See [`Kind::RESTARTS_WORKERS`].
    pub restarts_workers: bool,
    /// Builds the step from its own fields (the common fields already removed).
    pub parse: fn(serde_yaml::Value) -> Result<Box<dyn Step>, FieldError>,
    /// Reads an undo record back from the journal.
    pub load_undo: fn(serde_json::Value) -> Result<Box<dyn Undo>, serde_json::Error>,
    /// The JSON Schema of the kind's own fields (an object schema).
    pub schema: fn(&mut schemars::SchemaGenerator) -> schemars::Schema,
}

const fn def<K: Kind>() -> KindDef {
    KindDef {
        name: K::NAME,
        summary: K::SUMMARY,
        doc: K::DOC,
        example: K::EXAMPLE,
        undo_shapes: <K::Undo as Journaled>::SHAPES,
        field_order: field_order::<K>,
        gate: K::GATE,
        changes_nothing: K::CHANGES_NOTHING,
        in_parallel: K::IN_PARALLEL,
        waits_on_dns: K::WAITS_ON_DNS,
        restarts_workers: K::RESTARTS_WORKERS,
        parse: parse_kind::<K>,
        load_undo: load_undo::<K::Undo>,
        schema: K::json_schema,
    }
}

fn parse_kind<K: Kind>(fields: serde_yaml::Value) -> Result<Box<dyn Step>, FieldError> {
    let step: K = fields_of(fields)?;
    step.check()?;
    Ok(Box::new(step))
}

/// The names of `T`'s fields in the order it declares them, as serde's derive hands them to a
/// deserializer; empty for an enum or a map.
pub(crate) fn field_order<'de, T: serde::Deserialize<'de>>() -> &'static [&'static str] {
    struct Names(&'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for &mut Names {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(
            self,
            _: V,
        ) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom(
                "only the names of the fields are asked for",
            ))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = fields;
            self.deserialize_any(visitor)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }
    let mut names = Names(&[]);
    let _ = T::deserialize(&mut names);
    names.0
}

/// Deserializes a mapping of fields, locating the first problem by its path.
pub(crate) fn fields_of<T: DeserializeOwned>(fields: serde_yaml::Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(fields).map_err(|e| {
        let path = e
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                _ => None,
            })
            .collect();
        FieldError::new(path, e.into_inner().to_string())
    })
}

fn load_undo<U: Undo + DeserializeOwned + 'static>(
    record: serde_json::Value,
) -> Result<Box<dyn Undo>, serde_json::Error> {
    Ok(Box::new(serde_json::from_value::<U>(record)?))
}

/// A problem with a step's fields, located by its path below the step (e.g. `["alias", "dns_name"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: Vec<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl FieldError {
    pub fn new(path: Vec<String>, message: impl Into<String>) -> Self {
        Self {
            path,
            message: message.into(),
            hint: None,
        }
    }

    pub fn at(field: &str, message: impl Into<String>) -> Self {
        Self::new(vec![field.to_owned()], message)
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
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

/// The undo record of kinds that change nothing reversible (gates, restarts): undo says why
/// there is nothing to do.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct NoUndo {
    pub note: String,
}

impl Journaled for NoUndo {
    const SHAPES: &'static [(&'static str, &'static str)] =
        &[("", r#"`{"note": "..."}`: nothing to undo"#)];
}

#[async_trait]
impl Undo for NoUndo {
    async fn undo(&self, _ctx: &Ctx, _force: bool) -> Result<Vec<String>, StepError> {
        Ok(vec![format!("nothing to undo: {}", self.note)])
    }

    fn by_hand(&self, _aws: &AwsSettings) -> Vec<String> {
        Vec::new()
    }
}

/// Kinds whose apply is one action with no undo implement this; [`irreversible`] makes it a
/// mutation.
#[async_trait]
pub trait Act: Send + Sync + 'static {
    async fn act(&self, ctx: &Ctx) -> Result<(), StepError>;
}

/// A mutation that performs `act` and journals `note` as its (empty) undo.
pub fn irreversible(act: impl Act, note: impl Into<String>) -> Box<dyn Mutation> {
    Box::new(ActMutation {
        act,
        undo: NoUndo { note: note.into() },
    })
}

struct ActMutation<A> {
    act: A,
    undo: NoUndo,
}

#[async_trait]
impl<A: Act> Mutation for ActMutation<A> {
    fn undo_record(&self) -> serde_json::Value {
        serde_json::to_value(&self.undo).expect("a note serializes")
    }

    async fn apply(&mut self, ctx: &Ctx) -> Result<(), StepError> {
        self.act.act(ctx).await
    }
}

/// A step that only gates or acts: one plan line, no undo.
pub fn one_line(
    action: Action,
    resource: Resource,
    now: Option<String>,
    wanted: impl Into<String>,
    mutation: Box<dyn Mutation>,
) -> Prepared {
    Prepared {
        changes: vec![Change {
            action,
            resource,
            before: now.map(Value::note),
            after: Some(Value::note(wanted)),
        }],
        warnings: Vec::new(),
        mutation,
    }
}

/// Why a step (or its undo) failed; always names the resource.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("{resource}: {source}")]
    Aws {
        resource: String,
        #[source]
        source: AwsError,
    },
    #[error("{resource}: {message}")]
    Failed { resource: String, message: String },
    #[error("changed since the run, not overwritten: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Drift(Vec<Drift>),
    /// A wait ended by a stop request (a signal), not a failure. `landed`: the step's change
    /// (or action) was made before the wait; only its settling was not waited for.
    #[error("{resource}: stopped waiting, as asked")]
    Interrupted { resource: String, landed: bool },
}

impl StepError {
    pub fn aws(resource: impl fmt::Display) -> impl FnOnce(AwsError) -> Self {
        let resource = resource.to_string();
        move |source| {
            if source.is_interrupted() {
                Self::Interrupted {
                    resource,
                    landed: false,
                }
            } else {
                Self::Aws { resource, source }
            }
        }
    }

    /// A wait in `resource` that a stop ended.
    pub fn interrupted(
        resource: impl fmt::Display,
    ) -> impl FnOnce(crate::stop::Interrupted) -> Self {
        let resource = resource.to_string();
        move |_| Self::Interrupted {
            resource,
            landed: false,
        }
    }

    /// This error, from a wait that came after the step's change was accepted: a stop that
    /// ended it leaves the change made (so `resume` does not make it again).
    #[must_use]
    pub fn after_change(self) -> Self {
        match self {
            Self::Interrupted { resource, .. } => Self::Interrupted {
                resource,
                landed: true,
            },
            other => other,
        }
    }

    pub fn failed(resource: impl fmt::Display, message: impl Into<String>) -> Self {
        Self::Failed {
            resource: resource.to_string(),
            message: message.into(),
        }
    }
}

/// A resource that no longer holds what standin wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    pub resource: String,
    /// What standin wrote (and expects to find).
    pub expected: String,
    /// What is there now.
    pub found: String,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} holds {} (standin wrote {})",
            self.resource,
            crate::escape::value(&self.found),
            crate::escape::value(&self.expected)
        )
    }
}
