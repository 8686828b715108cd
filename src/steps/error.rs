//! How a step goes wrong: a problem with its fields ([`FieldError`], at validate), and its
//! plan, change or undo failing ([`StepError`]), drift ([`Drift`]) among them. Apart from the
//! traits (`mod.rs`) because every kind and the engine name these errors, whatever a step is.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::aws::AwsError;

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

/// A resource that no longer holds what standin wrote (journaled with its `undo-failed`, so
/// a leftover reads the same from the journal as from the run that met it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
