//! What a journal says about a run: each step's state, and what a rollback must undo.
//! `status`, `rollback` and the run's own rollback stack all read runs through this view.

use serde::Serialize;
use serde_json::Value;

use super::record::{DrillSpec, FailedStep, Held, Outcome, Principal, Record, StepRef};
use super::source::Source;
use super::timeline::Timeline;
use crate::config::{Accounts, AwsSettings};
use crate::steps::{Change, Drift};

/// Where a step stands according to the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
    /// Not reached.
    NotStarted,
    /// Its undo record was journaled but no outcome: the process stopped mid-change.
    InDoubt,
    /// Its intent was journaled but no outcome, and its kind changes nothing (a pause, a
    /// gate, a question): it stopped while waiting, and `resume` runs it again.
    #[serde(rename = "stopped-while-waiting")]
    StoppedWaiting,
    Applied,
    /// Nothing to change.
    Unchanged,
    /// Failed; whatever part of it happened is still to be undone.
    Failed,
    Undone,
    /// Its undo failed or was refused (drift): a human must look.
    UndoFailed,
}

impl StepState {
    /// Applied or found unchanged: `resume` skips it.
    pub fn is_done(self) -> bool {
        matches!(self, Self::Applied | Self::Unchanged)
    }

    fn needs_undo(self) -> bool {
        matches!(
            self,
            Self::InDoubt | Self::StoppedWaiting | Self::Applied | Self::Failed | Self::UndoFailed
        )
    }
}

/// One step of a run.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub id: String,
    pub kind: String,
    /// The parallel group it ran in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The account of the run's `accounts` it acts in; none: the run's `aws`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub state: StepState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo_error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub restored: Vec<String>,
    /// The aws CLI lines that do its failed undo by hand (none for drift: a human decides).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_hand: Vec<String>,
    /// What changed since the run, when that is why its undo was refused.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<Drift>,
    #[serde(skip)]
    pub undo: Option<Value>,
    /// What the step's intent said it would change (resume compares it with live state).
    #[serde(skip)]
    pub changes: Vec<Change>,
    /// Where in the journal the step last moved (intent, outcome): steps of a parallel group
    /// are undone in the reverse of the order they ended in.
    #[serde(skip)]
    moved: usize,
    /// Its kind changes nothing (see `Kind::CHANGES_NOTHING`).
    #[serde(skip)]
    changes_nothing: bool,
}

/// A run as its journal tells it.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    pub run_id: String,
    pub playbook: String,
    pub file: String,
    pub started: String,
    /// Who ran it: `user@host`.
    #[serde(skip)]
    pub by: Option<String>,
    /// Whom it acted as in AWS, per account.
    #[serde(skip)]
    pub principals: Vec<Principal>,
    /// What its plan warned of.
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// The SHA-256 of its plan document.
    #[serde(skip)]
    pub plan_sha256: Option<String>,
    #[serde(skip)]
    pub aws: AwsSettings,
    #[serde(skip)]
    pub accounts: Accounts,
    #[serde(skip)]
    pub source: Option<Source>,
    pub steps: Vec<StepView>,
    /// `None` while running, or when the process died before finishing.
    pub outcome: Option<Outcome>,
    /// A rollback started and has not finished (the process died or was aborted during it).
    pub rolling_back: bool,
    /// The step that stopped the run (it failed, or a signal stopped the run in it), and
    /// why: as its latest end, or its rollback's start, says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<FailedStep>,
    /// The latest rollback's undone steps, in the order it undid them.
    #[serde(skip)]
    pub undone: Vec<String>,
    /// The latest rollback's steps left to a human (their undo failed or was refused), in order.
    #[serde(skip)]
    pub left: Vec<String>,
    /// When `standin resume` took the run over, each time.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resumed: Vec<String>,
    /// Set for a drill: what it measures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drill: Option<DrillSpec>,
    /// A drill's snapshot of what its steps touch.
    #[serde(skip)]
    pub snapshot: Vec<Held>,
    /// A drill held the promoted state (its `soaked` record is written).
    #[serde(skip)]
    pub soaked: bool,
    /// A drill verified its restore.
    #[serde(skip)]
    pub verified: bool,
    /// Where a drill stands (`None` for a run): what `status` says plainly, so that a drill
    /// killed mid-soak never reads as a success while production's traffic is on the stand-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drill_stage: Option<DrillStage>,
    /// When each part of it happened.
    #[serde(skip)]
    pub timeline: Timeline,
    /// How many records were folded after the start record.
    #[serde(skip)]
    folded: usize,
}

/// Where a drill stands, by its journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DrillStage {
    /// Its steps are running (or its process died while they did).
    Promoting,
    /// Its steps ran: the promoted state is in place (soaking, or its process died before
    /// putting it back).
    Promoted,
    /// Its rollback started and did not finish.
    Restoring,
    /// Put back, or a human must act (`rollback-incomplete`), and not verified yet.
    Restored,
    /// Put back and verified against its snapshot: finished.
    Verified,
    /// Stopped by a signal with changes in place, before its soak.
    Stopped,
}

impl RunView {
    /// The aws CLI lines that do `step`'s undo by hand, in the account it acted in (see
    /// [`crate::steps::by_hand_in`]).
    pub fn by_hand(&self, step: &StepView, undo: &dyn crate::steps::Undo) -> Vec<String> {
        let (name, settings) = match &step.account {
            None => (crate::config::DEFAULT_ACCOUNT, &self.aws),
            Some(name) => match self.accounts.get(name) {
                Some(settings) => (name.as_str(), settings),
                None => return Vec::new(),
            },
        };
        crate::steps::by_hand_in(undo, name, settings)
    }

    /// Folds the records. The first must be the start record.
    pub fn from_records(records: &[Record]) -> Option<Self> {
        let Some(Record::Start {
            run_id,
            playbook,
            file,
            aws,
            accounts,
            source,
            steps,
            drill,
            by,
            principals,
            warnings,
            plan_sha256,
            at,
            ..
        }) = records.first()
        else {
            return None;
        };
        let mut view = Self {
            run_id: run_id.clone(),
            playbook: playbook.clone(),
            file: file.clone(),
            started: at.clone(),
            by: by.clone(),
            principals: principals.clone(),
            warnings: warnings.clone(),
            plan_sha256: plan_sha256.clone(),
            aws: aws.clone(),
            accounts: accounts.clone(),
            source: source.clone(),
            steps: steps.iter().map(StepView::new).collect(),
            outcome: None,
            rolling_back: false,
            stopped_at: None,
            undone: Vec::new(),
            left: Vec::new(),
            resumed: Vec::new(),
            drill: drill.clone(),
            snapshot: Vec::new(),
            soaked: false,
            verified: false,
            drill_stage: None,
            timeline: Timeline::new(at),
            folded: 0,
        };
        view.drill_stage = view.drill.as_ref().map(|_| view.stage());
        for record in &records[1..] {
            view.push(record);
        }
        Some(view)
    }

    /// Folds the next record of the run.
    pub fn push(&mut self, record: &Record) {
        self.folded += 1;
        self.fold(record, self.folded);
        self.timeline.push(record);
        self.drill_stage = self.drill.as_ref().map(|_| self.stage());
    }

    fn step(&mut self, id: &str) -> Option<&mut StepView> {
        self.steps.iter_mut().find(|s| s.id == id)
    }

    fn fold(&mut self, record: &Record, at: usize) {
        if let Record::Intent { step, .. }
        | Record::Applied { step, .. }
        | Record::Failed { step, .. } = record
        {
            if let Some(s) = self.step(step) {
                s.moved = at;
            }
        }
        match record {
            Record::Intent {
                step,
                undo,
                changes,
                ..
            } => {
                if let Some(s) = self.step(step) {
                    s.changes.clone_from(changes);
                    let state = if s.changes_nothing {
                        StepState::StoppedWaiting
                    } else {
                        StepState::InDoubt
                    };
                    self.set(step, state, Some(undo.clone()), None);
                }
            }
            Record::Applied { step, undo, .. } => {
                self.set(step, StepState::Applied, Some(undo.clone()), None)
            }
            Record::Unchanged { step, .. } => self.set(step, StepState::Unchanged, None, None),
            Record::Failed {
                step, undo, error, ..
            } => {
                self.set(step, StepState::Failed, undo.clone(), Some(error.clone()));
            }
            Record::Undone { step, restored, .. } => {
                if let Some(s) = self.step(step) {
                    s.state = StepState::Undone;
                    s.undo_error = None;
                    s.by_hand.clear();
                    s.drift.clear();
                    s.restored.clone_from(restored);
                    self.undone.push(step.clone());
                }
            }
            Record::UndoFailed {
                step,
                error,
                by_hand,
                drift,
                ..
            } => {
                if let Some(s) = self.step(step) {
                    s.state = StepState::UndoFailed;
                    s.undo_error = Some(error.clone());
                    s.by_hand.clone_from(by_hand);
                    s.drift.clone_from(drift);
                    self.left.push(step.clone());
                }
            }
            Record::Finished {
                outcome, failed, ..
            } => {
                // A rollback's end keeps what stopped the run (said when it started).
                if failed.is_some() || !self.rolling_back {
                    self.stopped_at.clone_from(failed);
                }
                self.outcome = Some(*outcome);
                self.rolling_back = false;
            }
            Record::RollbackStarted { failed, .. } => {
                self.outcome = None;
                self.rolling_back = true;
                self.stopped_at.clone_from(failed);
                self.undone.clear();
                self.left.clear();
            }
            Record::Resumed { at } => {
                self.outcome = None;
                self.stopped_at = None;
                self.resumed.push(at.clone());
            }
            Record::Snapshot { resources, .. } => self.snapshot.clone_from(resources),
            Record::Soaked { .. } => self.soaked = true,
            Record::Verified { .. } => self.verified = true,
            Record::Start { .. } => {}
        }
    }

    fn stage(&self) -> DrillStage {
        match self.outcome {
            _ if self.rolling_back => DrillStage::Restoring,
            _ if self.verified => DrillStage::Verified,
            None => DrillStage::Promoting,
            Some(Outcome::Succeeded) => DrillStage::Promoted,
            Some(Outcome::Stopped) => DrillStage::Stopped,
            Some(Outcome::RolledBack | Outcome::RollbackIncomplete) => DrillStage::Restored,
        }
    }

    fn set(&mut self, id: &str, state: StepState, undo: Option<Value>, error: Option<String>) {
        if let Some(s) = self.step(id) {
            s.state = state;
            if undo.is_some() {
                s.undo = undo;
            }
            s.error = error;
        }
    }

    /// Whether `resume` can continue the run: it stopped (or is still running) before the
    /// end, no rollback began, and no step failed part way (its undo record must stand: only
    /// `rollback` may act on it).
    pub fn resumable(&self) -> bool {
        matches!(self.outcome, None | Some(Outcome::Stopped))
            && !self.rolling_back
            && self.failed_step().is_none()
    }

    /// A step that failed and may have changed something, if any.
    pub fn failed_step(&self) -> Option<&StepView> {
        self.steps
            .iter()
            .find(|s| s.state == StepState::Failed && s.undo.is_some())
    }

    /// Steps to undo, the last to end first: the rollback stack. (In order, steps end in
    /// the order they are listed; in a parallel group, in whatever order they finished.)
    pub fn rollback_stack(&self) -> impl Iterator<Item = &StepView> {
        let mut stack: Vec<&StepView> = self.steps.iter().filter(|s| s.needs_undo()).collect();
        stack.sort_by_key(|s| std::cmp::Reverse(s.moved));
        stack.into_iter()
    }
}

impl StepView {
    /// Whether the step may have changed something not undone yet (a step that failed before
    /// journaling an undo record changed nothing).
    pub fn needs_undo(&self) -> bool {
        self.state.needs_undo() && self.undo.is_some()
    }

    fn new(step: &StepRef) -> Self {
        Self {
            id: step.id.clone(),
            kind: step.kind.clone(),
            group: step.group.clone(),
            account: step.account.clone(),
            state: StepState::NotStarted,
            error: None,
            undo_error: None,
            restored: Vec::new(),
            by_hand: Vec::new(),
            drift: Vec::new(),
            undo: None,
            changes: Vec::new(),
            moved: 0,
            changes_nothing: crate::steps::find_kind(&step.kind).is_some_and(|k| k.changes_nothing),
        }
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;

    use super::*;
    use crate::aws::cli::Line;
    use crate::steps::{Ctx, StepError, Undo};

    /// An undo done by hand with one aws CLI line, or none.
    struct ByHand(bool);

    #[async_trait]
    impl Undo for ByHand {
        async fn undo(&self, _ctx: &Ctx, _force: bool) -> Result<Vec<String>, StepError> {
            Ok(Vec::new())
        }

        fn by_hand(&self, aws: &AwsSettings) -> Vec<String> {
            if self.0 {
                vec![Line::new(aws, "ssm", "delete-parameter").text()]
            } else {
                Vec::new()
            }
        }
    }

    fn view(aws: AwsSettings, accounts: Accounts) -> RunView {
        let step = |id: &str, account: Option<&str>| StepRef {
            id: id.into(),
            kind: "ssm.put-parameters".into(),
            group: None,
            account: account.map(str::to_owned),
        };
        RunView::from_records(&[Record::Start {
            format: super::super::record::FORMAT,
            run_id: "r".into(),
            playbook: "p".into(),
            file: "p.yaml".into(),
            aws,
            accounts,
            source: None,
            steps: vec![step("own", None), step("net", Some("network"))],
            drill: None,
            by: None,
            principals: Vec::new(),
            warnings: Vec::new(),
            plan_sha256: None,
            at: "2026-11-30T00:00:00Z".into(),
        }])
        .expect("a start record")
    }

    /// `by_hand` in `undo-failed` is optional: a journal written before it reads with none.
    #[test]
    fn lines_by_hand_are_read_back_from_undo_failed_records_old_and_new() {
        let read = |line: &str| serde_json::from_str::<Record>(line).expect("a record");
        let old = read(
            r#"{"record":"undo-failed","step":"own","error":"denied","at":"2026-11-30T00:00:01Z"}"#,
        );
        let new = read(
            r#"{"record":"undo-failed","step":"net","error":"denied","by_hand":["aws ssm delete-parameter"],"at":"2026-11-30T00:00:02Z"}"#,
        );
        let mut v = view(AwsSettings::default(), Accounts::default());
        v.push(&old);
        v.push(&new);
        assert!(v.steps[0].by_hand.is_empty());
        assert_eq!(v.steps[1].by_hand, ["aws ssm delete-parameter"]);
        assert!(serde_json::to_string(&old)
            .unwrap()
            .find("by_hand")
            .is_none());
    }

    #[test]
    fn lines_by_hand_act_as_each_step_s_account_and_its_role() {
        let role = |arn: &str| AwsSettings {
            role_arn: Some(arn.into()),
            ..AwsSettings::default()
        };
        let accounts: Accounts = [(
            "network".to_owned(),
            role("arn:aws:iam::111111111111:role/dns"),
        )]
        .into_iter()
        .collect();
        // The playbook's own account behind a role too: its lines get a profile as well.
        let v = view(
            role("arn:aws:iam::123456789012:role/self"),
            accounts.clone(),
        );
        let own = v.by_hand(&v.steps[0], &ByHand(true));
        assert_eq!(own[1], "aws configure set role_arn arn:aws:iam::123456789012:role/self --profile=standin-default");
        assert_eq!(
            own.last().unwrap(),
            "aws ssm delete-parameter --profile=standin-default"
        );
        let net = v.by_hand(&v.steps[1], &ByHand(true));
        assert_eq!(
            net.last().unwrap(),
            "aws ssm delete-parameter --profile=standin-network"
        );
        // Nothing to do by hand: no profile to set up either.
        assert!(v.by_hand(&v.steps[1], &ByHand(false)).is_empty());
        // Without a role, the lines are as they always were.
        let plain = view(AwsSettings::default(), accounts);
        assert_eq!(
            plain.by_hand(&plain.steps[0], &ByHand(true)),
            ["aws ssm delete-parameter"]
        );
    }

    /// A report made from the records a drill holds and one made later from its journal are
    /// the same document: every time journaled reads back as the very number written
    /// (serde_json's default parser may miss the last bit: the `float_roundtrip` feature).
    #[test]
    fn times_read_back_exactly() {
        for i in 1..20_000u32 {
            let secs = f64::from(i) * 0.000_287_631_5 + f64::from(i).sqrt() / 3.0;
            let line = serde_json::to_string(&serde_json::json!({ "secs": secs })).unwrap();
            let back: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(back["secs"].as_f64(), Some(secs), "{line}");
        }
    }
}
