//! Evidence that a run or drill happened as its reports say, for an auditor (SOC 2 A1.3,
//! ISO/IEC 27001:2022 A.5.30, DORA Art. 11 and 12 ask for a record of what was tested, by whom,
//! when, with what result, not edited since): the digests of the playbook and the plan, the
//! journal's hash chain ([`crate::engine::chain`]), who ran it and who approved it. Each
//! report carries it ([`Evidence`], `report.json`'s `evidence`); [`verify`] checks a run's
//! files against it (`standin verify-evidence`).

pub mod verify;

use serde::{Deserialize, Serialize};

use crate::engine::chain;
use crate::engine::record::Principal;
use crate::engine::timeline::Verify;
use crate::engine::view::RunView;
use crate::steps::approval::{Approval, Approvals};
use crate::steps::Kind;

/// The `evidence` of a report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evidence {
    /// The SHA-256 of the playbook file's text as it ran (absent in journals that predate it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbook_sha256: Option<String>,
    /// The SHA-256 of the plan document it was held to (`plan.json` beside the journal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
    /// The journal's hash chain as the report was written (absent when the journal could not
    /// be read then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<Sealed>,
    pub run_by: RunBy,
    /// Every answer counted at the run's `approval` steps: approvals and denials, each by
    /// the principal STS proved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<Answered>,
    /// A drill's measured recovery against its target, and its restore's verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill: Option<DrillEvidence>,
}

/// The journal, as far as a report covers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// Its lines when the report was written.
    pub lines: usize,
    /// The SHA-256 of its last line: the chain's tip, which covers every line before it.
    pub last_sha256: String,
    /// Where the chain breaks, if it does (a journal written before lines were chained
    /// breaks at line 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken: Option<String>,
}

impl Sealed {
    /// The seal of a journal's bytes; `None` for a journal with no complete line.
    pub fn of(bytes: &[u8]) -> Option<Self> {
        let last_sha256 = chain::tip(bytes)?;
        let lines = bytes.iter().filter(|b| **b == b'\n').count();
        Some(Self {
            lines,
            last_sha256,
            broken: chain::verify(bytes).err().map(|b| b.to_string()),
        })
    }
}

/// Who ran it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunBy {
    /// `user@host` of the process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_user: Option<String>,
    /// The AWS principal it acted as in each account, as STS said.
    pub principals: Vec<Principal>,
}

/// What a drill measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrillEvidence {
    /// Recovery as clients saw it, in seconds (`None`: not reached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_secs: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_secs: Option<f64>,
    /// Whether recovery met the target (`None`: no target, or not reached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub met: Option<bool>,
    /// Whether every resource the drill touched was verified as it was before (`None`: the
    /// restore was not verified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<bool>,
    /// Resources the restore verification compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_checked: Option<usize>,
}

/// An answer counted at an `approval` step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answered {
    pub step: String,
    /// `approve` or `deny`.
    pub decision: String,
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub at: String,
}

impl std::fmt::Display for Answered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.decision == "deny" {
            "denied"
        } else {
            "approved"
        };
        write!(f, "{verb} by {}", self.arn)?;
        if let Some(user) = &self.os_user {
            write!(f, " ({user})")?;
        }
        write!(f, " at {}", self.at)?;
        if let Some(reason) = &self.reason {
            write!(f, ": {reason}")?;
        }
        Ok(())
    }
}

/// The answers counted at each `approval` step of a run, from the step's journaled record.
pub fn approvals(view: &RunView) -> Vec<Answered> {
    let mut out = Vec::new();
    for step in view.steps.iter().filter(|s| s.kind == Approval::NAME) {
        let Some(record) = step
            .undo
            .clone()
            .and_then(|u| serde_json::from_value::<Approvals>(u).ok())
        else {
            continue;
        };
        out.extend(record.approvals.into_iter().map(|g| Answered {
            step: step.id.clone(),
            decision: "approve".into(),
            arn: g.arn,
            os_user: g.os_user,
            reason: None,
            at: g.at,
        }));
        out.extend(record.denied.map(|d| Answered {
            step: step.id.clone(),
            decision: "deny".into(),
            arn: d.arn,
            os_user: None,
            reason: d.reason,
            at: d.at,
        }));
    }
    out
}

/// A drill's recovery as its report judges it: clients' time, the target, whether met.
#[derive(Debug, Clone, Copy)]
pub struct Recovered {
    pub secs: Option<f64>,
    pub target_secs: Option<f64>,
    pub met: Option<bool>,
}

impl Evidence {
    /// The evidence a journal's fold gives, with a drill's measures as its report judged
    /// them; the seal comes from the journal's bytes ([`Sealed::of`]).
    pub fn of(view: &RunView, recovery: Recovered, verify: Option<&Verify>) -> Self {
        Self {
            playbook_sha256: view.source.as_ref().map(|s| s.sha256.clone()),
            plan_sha256: view.plan_sha256.clone(),
            journal: None,
            run_by: RunBy {
                os_user: view.by.clone(),
                principals: view.principals.clone(),
            },
            approvals: approvals(view),
            drill: view.drill.as_ref().map(|_| DrillEvidence {
                recovery_secs: recovery.secs,
                target_secs: recovery.target_secs,
                met: recovery.met,
                restored: verify.map(|v| v.differences.is_empty()),
                restore_checked: verify.map(|v| v.checked),
            }),
        }
    }
}
