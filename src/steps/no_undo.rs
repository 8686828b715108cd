//! Kinds with no undo (gates, waits, questions, restarts): the record they journal
//! ([`NoUndo`]), the mutation made from their one action ([`irreversible`]) and their one plan
//! line ([`one_line`]). Apart from the traits (`mod.rs`) because it is what those kinds share,
//! built on the traits like any kind.

use async_trait::async_trait;
use serde::Serialize;

use super::{Action, Change, Ctx, Journaled, Mutation, Prepared, Resource, StepError, Undo, Value};
use crate::config::AwsSettings;

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
