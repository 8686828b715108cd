//! What AWS refuses for its form: the limits of the input shapes the steps' fields become
//! (botocore's service models and the AWS documentation their strings cite), in one place, so
//! that `validate` refuses what a playbook's text fixes (each kind's `check`) and the plan
//! refuses, before any change and in the same words, what depends on live state (a
//! parameter's tier, the properties an environment already has). Without them AWS refuses the
//! call in the middle of a run, which then rolls back.
//!
//! One file per service (`ssm.rs`, `eb.rs`, `elb.rs`, `route53.rs`), and `schema.rs`: the same
//! limits as JSON Schema.

use std::fmt;

use super::{FieldError, StepError};

mod eb;
mod elb;
mod route53;
mod schema;
mod ssm;

pub use eb::*;
pub use elb::*;
pub use route53::*;
pub use schema::*;
pub use ssm::*;

/// Why AWS would refuse a value, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub message: String,
    pub hint: String,
}

impl Limit {
    fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// Nothing when the value `fits`, else the limit in these words.
    fn unless(
        fits: bool,
        message: impl FnOnce() -> String,
        hint: impl Into<String>,
    ) -> Result<(), Self> {
        if fits {
            Ok(())
        } else {
            Err(Self::new(message(), hint))
        }
    }

    /// As a problem of the field at `path` below the step (`validate`).
    pub fn at<S: AsRef<str>>(self, path: &[S]) -> FieldError {
        FieldError::new(
            path.iter().map(|s| s.as_ref().to_owned()).collect(),
            self.message,
        )
        .hint(self.hint)
    }

    /// As the plan's refusal of `resource`, before any change.
    pub fn on(self, resource: impl fmt::Display) -> StepError {
        StepError::failed(resource, format!("{} ({})", self.message, self.hint))
    }
}

/// A value for a message: escaped for a terminal, and cut where it is long.
fn shown(value: &str) -> String {
    let cut: String = value.chars().take(60).collect();
    let more = if cut.len() < value.len() { "..." } else { "" };
    format!("`{}{more}`", crate::escape::value(&cut))
}
