//! `approval`: the steps after it wait until other people approve the run, each with their own
//! AWS credentials (`standin approve RUN_ID`, on any machine that reaches the state), so that
//! the switch that puts staging in front of every customer is agreed by two. The runner cannot
//! approve its own run, one principal counts once, a denial or the timeout stops the run
//! there, and `--yes` never answers it. Where requests and answers are kept, and how an
//! answer's principal is proven, is the [`Desk`] a run gives its steps ([`Ctx::desk`]).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    one_line, Action, Ctx, FieldError, Journaled, Kind, Mutation, Prepared, Resource, Step,
    StepError, Undo,
};
use crate::config::AwsSettings;

/// Fields of an `approval` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// How many approvals, each by a different AWS principal than the runner's.
    #[serde(default = "one")]
    count: u32,
}

fn one() -> u32 {
    1
}

/// An approval counted: who gave it, as STS proved, and the digest of their answer's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Given {
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_user: Option<String>,
    pub at: String,
    pub answer_sha256: String,
}

/// An answer not counted, and why (the runner's own, a proof STS refused, another plan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    /// The principal it claims or STS proved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    pub why: String,
    pub answer_sha256: String,
}

/// A denial: who, proven, and why they said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denial {
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub at: String,
}

/// The answers filed for a step so far, each checked.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    pub given: Vec<Given>,
    pub refused: Vec<Refused>,
    pub denied: Option<Denial>,
}

/// Where a run's approvals are asked for and answered.
#[async_trait]
pub trait Desk: Send + Sync {
    /// Files the request for `count` approvals of `step` until `until`, and says how to give
    /// them.
    async fn ask(&self, step: &str, count: u32, until: SystemTime) -> Result<(), String>;
    /// Every answer filed for `step` so far, checked.
    async fn answers(&self, step: &str) -> Result<Answers, String>;
    /// Says what happened while waiting (an approval counted, an answer refused).
    fn say(&self, text: &str);
}

/// A shared [`Desk`].
pub type SharedDesk = Arc<dyn Desk>;

impl Kind for Approval {
    const NAME: &'static str = "approval";
    const SUMMARY: &'static str =
        "wait for other people to approve the run, each with their own AWS credentials";
    const EXAMPLE: &'static str = r#"
count: 1
"#;
    const DOC: &'static str = r#"
Wait until `count` other people approve the run with `standin approve RUN_ID` (or one denies
it with `--deny --reason ...`), each on any machine that reaches the run's state, with their
own AWS credentials, within the step's `timeout:` (the common field; 15 minutes when not
given). Put it first for the whole run, or right before the step that needs a second person
(a repoint); the steps before it run unapproved. The run writes its request beside the
journal (`runs/RUN_ID/approvals/STEP/request-MILLIS.json`) and says how to approve; each
answer is a file there holding a GetCallerIdentity request presigned with the approver's
credentials over the run, the step, the decision and the plan's digest, which the run sends
to STS itself: the principal STS answers is the approver. It must not be one who runs it
(the caller in each account, or the run's own credentials; sessions of one assumed role are
one person, IAM Identity Center's users are not), and counts once. A denial, or too few approvals
before the timeout, fails the step, so the run stops there and rolls back what ran before it
(nothing, when it comes first). `--yes` never answers it; `plan` shows it and does not wait.
The approvals, and the answers not counted with why, are journaled in the step's record and
shown by `status` and every report.
"#;
    const CHANGES_NOTHING: bool = true;
    const IN_PARALLEL: bool = false;
    type Undo = Approvals;

    fn check(&self) -> Result<(), FieldError> {
        if self.count == 0 {
            return Err(FieldError::at("count", "0 approvals is no approval")
                .hint("give `count: 1` or more, or remove the step"));
        }
        if self.count > 10 {
            return Err(FieldError::at("count", "more than 10 approvals")
                .hint("give `count:` from 1 to 10"));
        }
        Ok(())
    }
}

impl Approval {
    fn wanted(&self) -> String {
        format!(
            "wait for {} approval{} by other AWS principals (`standin approve`)",
            self.count,
            if self.count == 1 { "" } else { "s" },
        )
    }
}

#[async_trait]
impl Step for Approval {
    async fn plan(&self, _ctx: &Ctx) -> Result<Prepared, StepError> {
        Ok(one_line(
            Action::Check,
            Resource::Approval,
            None,
            self.wanted(),
            Box::new(Waiting {
                step: self.clone(),
                record: Approvals::default(),
            }),
        ))
    }
}

/// The undo record: approvals change nothing; it keeps who approved and what was refused.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Approvals {
    pub note: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<Given>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refused>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied: Option<Denial>,
}

impl Journaled for Approvals {
    const SHAPES: &'static [(&'static str, &'static str)] = &[(
        "",
        r#"`{"note", "approvals": [{"arn", "os_user", "at", "answer_sha256"}], "refused": [{"arn", "why", "answer_sha256"}], "denied": {"arn", "reason", "at"}}`: who approved (as STS proved), the answers not counted and why, and a denial; nothing to undo"#,
    )];
}

#[async_trait]
impl Undo for Approvals {
    async fn undo(&self, _ctx: &Ctx, _force: bool) -> Result<Vec<String>, StepError> {
        Ok(vec!["nothing to undo: an approval changes nothing".into()])
    }

    fn by_hand(&self, _aws: &AwsSettings) -> Vec<String> {
        Vec::new()
    }
}

/// How often the answers are read while waiting.
const EVERY: Duration = Duration::from_secs(1);

struct Waiting {
    step: Approval,
    record: Approvals,
}

#[async_trait]
impl Mutation for Waiting {
    fn undo_record(&self) -> serde_json::Value {
        let record = Approvals {
            note: "an approval changes nothing".into(),
            ..self.record.clone()
        };
        serde_json::to_value(record).expect("approvals serialize")
    }

    async fn apply(&mut self, ctx: &Ctx) -> Result<(), StepError> {
        let id = ctx.step.as_deref().unwrap_or(Approval::NAME).to_owned();
        let failed = |why: String| StepError::failed(&id, why);
        let desk = ctx.desk.clone().ok_or_else(|| {
            failed("approvals are asked for in a run's state, and this command has none".into())
        })?;
        // The wait ends a moment before the step's timeout would, to say why itself.
        let left = ctx.deadline.map_or(Duration::from_secs(15 * 60), |d| {
            d.saturating_duration_since(tokio::time::Instant::now())
        });
        let until = SystemTime::now() + left.saturating_sub(Duration::from_secs(1));
        desk.ask(&id, self.step.count, until)
            .await
            .map_err(&failed)?;
        let mut said = 0;
        let mut unread: Option<String> = None;
        loop {
            match desk.answers(&id).await {
                Ok(answers) => {
                    for r in &answers.refused[said.min(answers.refused.len())..] {
                        desk.say(&format!(
                            "not counted: {} ({})",
                            r.arn.as_deref().unwrap_or("an answer"),
                            r.why
                        ));
                    }
                    said = answers.refused.len();
                    let new = answers.given.len() > self.record.approvals.len();
                    self.record.approvals = answers.given;
                    self.record.refused = answers.refused;
                    if let Some(denial) = answers.denied {
                        let why = format!(
                            "denied by {}{}",
                            denial.arn,
                            denial
                                .reason
                                .as_deref()
                                .map(|r| format!(": {r}"))
                                .unwrap_or_default()
                        );
                        self.record.denied = Some(denial);
                        return Err(failed(why));
                    }
                    let given = self.record.approvals.len();
                    if new {
                        desk.say(&format!(
                            "approved by {} ({given} of {})",
                            self.record.approvals.last().map_or("", |g| g.arn.as_str()),
                            self.step.count
                        ));
                    }
                    if given >= self.step.count as usize {
                        return Ok(());
                    }
                    unread = None;
                }
                // A state that cannot be read just now (a throttled bucket) is said once and
                // read again: the timeout decides.
                Err(e) => {
                    if unread.as_deref() != Some(e.as_str()) {
                        desk.say(&format!("cannot read the answers: {e}"));
                    }
                    unread = Some(e);
                }
            }
            if SystemTime::now() >= until {
                return Err(failed(format!(
                    "too few approvals before the step's timeout ({} of {} given){}",
                    self.record.approvals.len(),
                    self.step.count,
                    unread
                        .map(|e| format!("; the answers could not be read: {e}"))
                        .unwrap_or_default()
                )));
            }
            ctx.waits
                .stop
                .sleep(EVERY)
                .await
                .map_err(StepError::interrupted(&id))?;
        }
    }
}
