//! Approvals kept in a run's state, beside its journal, so that an approver on any machine
//! that reaches the state can answer (`standin approve`), and the run checks each answer
//! itself: `runs/RUN_ID/approvals/STEP/request.json` (what is asked, by whom, until when),
//! and one file per answer, named by the answerer's principal and written once (so one
//! principal answers once). An answer carries a GetCallerIdentity request presigned with the
//! approver's credentials ([`crate::aws::identity`]): the run sends it to STS and counts the
//! principal STS answers, never the one the file claims. [`StateDesk`] is the run's side
//! (the `approval` step's [`Desk`]); [`file`] is the approver's.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::aws::identity::{self, Proof};
use crate::state::State;
use crate::steps::approval::{Answers, Denial, Desk, Given, Refused};

/// What a run asks for, as the approver sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub run_id: String,
    pub step: String,
    pub playbook: String,
    /// The plan approvers approve: `plan.json` beside the journal has this digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
    pub count: u32,
    /// RFC 3339: after this the run stops waiting.
    pub until: String,
    /// The principals who run it (each account's caller, and the process's own), who cannot
    /// approve it.
    pub runners: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_user: Option<String>,
    pub at: String,
}

/// Approve or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    Approve,
    Deny,
}

/// One approver's answer, as its file holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    pub decision: Decision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub run_id: String,
    pub step: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
    /// Whom the answerer says they are; only [`Answer::proof`] decides.
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_user: Option<String>,
    pub at: String,
    pub proof: Proof,
}

/// The directory of a step's request and answers, under the run's.
pub fn dir(step: &str) -> String {
    format!("approvals/{step}")
}

/// Milliseconds since the epoch, which name the files of each request and answer.
fn millis(at: SystemTime) -> u128 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// A request's file: one per time the run asks (a resumed run asks anew).
pub fn request_file(step: &str, at: SystemTime) -> String {
    format!("{}/request-{:015}.json", dir(step), millis(at))
}

/// The newest request among a step's files (only names as [`request_file`] makes them: a
/// stray `request-zz.json` must not pass for the newest).
pub fn newest_request(names: &[String]) -> Option<&String> {
    names
        .iter()
        .filter(|n| {
            n.strip_prefix("request-")
                .and_then(|rest| rest.strip_suffix(".json"))
                .is_some_and(|millis| {
                    millis.len() == 15 && millis.bytes().all(|b| b.is_ascii_digit())
                })
        })
        .max()
}

/// The start of the names of a principal's answers.
pub fn answer_prefix(arn: &str) -> String {
    let digest = format!("{:x}", Sha256::digest(arn.as_bytes()));
    format!("answer-{}-", &digest[..16])
}

/// An answer's file: named by the principal and when, written once.
pub fn answer_file(step: &str, arn: &str, at: SystemTime) -> String {
    format!(
        "{}/{}{:015}.json",
        dir(step),
        answer_prefix(arn),
        millis(at)
    )
}

/// What a proof is made for: this decision on this plan at this run's step, so that it
/// proves nothing else (the proof signs it: [`identity`]).
pub fn purpose(run_id: &str, step: &str, decision: Decision, plan_sha256: Option<&str>) -> String {
    let decision = match decision {
        Decision::Approve => "approve",
        Decision::Deny => "deny",
    };
    format!(
        "standin-approval:{run_id}/{step}/{decision}/{}",
        plan_sha256.unwrap_or("-")
    )
}

/// Whether two ARNs are one person, as far as an approval goes: the same ARN, or sessions
/// of one assumed role (anyone who may assume it may name a session as they like), except
/// IAM Identity Center's roles (`AWSReservedSSO_*`), whose session names the user.
pub fn same_person(a: &str, b: &str) -> bool {
    fn who(arn: &str) -> &str {
        match arn.split_once(":assumed-role/") {
            Some((_, rest)) if !rest.starts_with("AWSReservedSSO_") => match rest.find('/') {
                Some(end) => &arn[..arn.len() - rest.len() + end],
                None => arn,
            },
            _ => arn,
        }
    }
    who(a) == who(b)
}

/// How one answer file was judged (once for its bytes: a proof expires, its judgement does
/// not; but an answer STS could not be asked about just then is judged again).
#[derive(Clone)]
enum Judged {
    Given(Given),
    Refused(Refused),
    Denied(Denial),
}

/// The run's side: files the request and judges the answers, in the run's state.
pub struct StateDesk {
    state: State,
    run_id: String,
    playbook: String,
    plan_sha256: Option<String>,
    /// Who runs it (each account's caller, and the process's own); empty when STS did not
    /// say, and then no approval can be told apart from the runner's.
    runners: Vec<String>,
    os_user: String,
    /// The configuration whose STS endpoint proofs are sent to.
    config: crate::aws::Config,
    /// How to say things while waiting (the terminal, the chat).
    say: Box<dyn Fn(&str) + Send + Sync>,
    /// Says each request, with how to answer it (the terminal, and a chat as such).
    asked: Box<dyn Fn(&str) + Send + Sync>,
    /// How to tell people to approve (`standin approve RUN_ID --state ...`).
    how: String,
    /// By file: its bytes' SHA-256, and how it was judged.
    judged: Mutex<BTreeMap<String, (String, Judged)>>,
}

/// What a [`StateDesk`] needs.
pub struct Setup {
    pub state: State,
    pub run_id: String,
    pub playbook: String,
    pub plan_sha256: Option<String>,
    pub runners: Vec<String>,
    pub os_user: String,
    pub config: crate::aws::Config,
    pub say: Box<dyn Fn(&str) + Send + Sync>,
    pub asked: Box<dyn Fn(&str) + Send + Sync>,
    pub how: String,
}

impl StateDesk {
    pub fn new(setup: Setup) -> Arc<Self> {
        Arc::new(Self {
            state: setup.state,
            run_id: setup.run_id,
            playbook: setup.playbook,
            plan_sha256: setup.plan_sha256,
            runners: setup.runners,
            os_user: setup.os_user,
            config: setup.config,
            say: setup.say,
            asked: setup.asked,
            how: setup.how,
            judged: Mutex::new(BTreeMap::new()),
        })
    }

    /// Judges one answer's bytes; `None` when STS could not be asked just now.
    async fn judge(&self, step: &str, bytes: &[u8]) -> Option<Judged> {
        let answer_sha256 = format!("{:x}", Sha256::digest(bytes));
        let refused = |arn: Option<String>, why: String| {
            Some(Judged::Refused(Refused {
                arn,
                why,
                answer_sha256: answer_sha256.clone(),
            }))
        };
        let answer: Answer = match serde_json::from_slice(bytes) {
            Ok(answer) => answer,
            Err(e) => return refused(None, format!("not an answer ({e})")),
        };
        let claimed = Some(answer.arn.clone());
        if answer.run_id != self.run_id || answer.step != step {
            return refused(claimed, "made for another run or step".into());
        }
        if answer.plan_sha256 != self.plan_sha256 {
            return refused(claimed, "it answers another plan".into());
        }
        let purpose = purpose(
            &self.run_id,
            step,
            answer.decision,
            self.plan_sha256.as_deref(),
        );
        let proven = match identity::check(&answer.proof, &purpose, &self.config).await {
            Ok(arn) => arn,
            Err(identity::Failed::Unasked(why)) => {
                (self.say)(&format!("cannot check an answer now ({why}); trying again"));
                return None;
            }
            Err(identity::Failed::Refused(why)) => {
                return refused(claimed, format!("its proof of who answered: {why}"))
            }
        };
        if proven != answer.arn {
            return refused(
                Some(proven.clone()),
                format!(
                    "it claims to be {}, STS says otherwise",
                    crate::escape::value(&answer.arn)
                ),
            );
        }
        if self.runners.iter().any(|r| same_person(r, &proven)) {
            return refused(
                Some(proven),
                "the runner cannot approve their own run".into(),
            );
        }
        Some(match answer.decision {
            Decision::Deny => Judged::Denied(Denial {
                arn: proven,
                reason: answer.reason,
                at: answer.at,
            }),
            Decision::Approve => Judged::Given(Given {
                arn: proven,
                os_user: answer.os_user,
                at: answer.at,
                answer_sha256,
            }),
        })
    }
}

#[async_trait]
impl Desk for StateDesk {
    async fn ask(&self, step: &str, count: u32, until: SystemTime) -> Result<(), String> {
        let Some(runner) = self.runners.first() else {
            return Err("STS did not say who is running this run, so no approval can be told apart from the runner's; run again when STS answers".into());
        };
        let request = Request {
            run_id: self.run_id.clone(),
            step: step.to_owned(),
            playbook: self.playbook.clone(),
            plan_sha256: self.plan_sha256.clone(),
            count,
            until: humantime::format_rfc3339_seconds(until).to_string(),
            runners: self.runners.clone(),
            os_user: Some(self.os_user.clone()),
            at: crate::engine::record::now(),
        };
        let bytes = serde_json::to_vec_pretty(&request).expect("a request serializes");
        self.state
            .keep(&self.run_id, &request_file(step, SystemTime::now()), &bytes)
            .await
            .map_err(|e| format!("cannot file the request for approval: {e}"))?;
        let text = format!(
            "waiting for {count} approval{} by another AWS principal than {runner}, until {}; to approve, on any machine that reaches this state: {}",
            if count == 1 { "" } else { "s" },
            request.until,
            self.how
        );
        (self.asked)(&text);
        Ok(())
    }

    async fn answers(&self, step: &str) -> Result<Answers, String> {
        let names = self
            .state
            .kept_in(&self.run_id, &dir(step))
            .await
            .map_err(|e| e.to_string())?;
        let mut answers = Answers::default();
        for name in names.iter().filter(|n| n.starts_with("answer-")) {
            let path = format!("{}/{name}", dir(step));
            let Some(bytes) = self
                .state
                .kept(&self.run_id, &path)
                .await
                .map_err(|e| e.to_string())?
            else {
                continue;
            };
            let digest = format!("{:x}", Sha256::digest(&bytes));
            let known = self
                .judged
                .lock()
                .expect("not poisoned")
                .get(&path)
                .cloned();
            let judged = match known {
                Some((seen, judged)) if seen == digest => judged,
                _ => {
                    let Some(judged) = self.judge(step, &bytes).await else {
                        continue;
                    };
                    self.judged
                        .lock()
                        .expect("not poisoned")
                        .insert(path, (digest, judged.clone()));
                    judged
                }
            };
            match judged {
                Judged::Given(given)
                    if answers
                        .given
                        .iter()
                        .any(|g| same_person(&g.arn, &given.arn)) =>
                {
                    answers.refused.push(Refused {
                        arn: Some(given.arn),
                        why: "this principal answered already".into(),
                        answer_sha256: given.answer_sha256,
                    })
                }
                Judged::Given(given) => answers.given.push(given),
                Judged::Refused(refused) => answers.refused.push(refused),
                Judged::Denied(denial) => {
                    answers.denied.get_or_insert(denial);
                }
            }
        }
        answers.given.sort_by(|a, b| a.at.cmp(&b.at));
        Ok(answers)
    }

    fn say(&self, text: &str) {
        (self.say)(text);
    }
}

/// The approver's side: files `answer` for `step` of the run.
pub async fn file(state: &State, answer: &Answer) -> std::io::Result<bool> {
    let bytes = serde_json::to_vec_pretty(answer).expect("an answer serializes");
    let name = answer_file(&answer.step, &answer.arn, SystemTime::now());
    state.keep(&answer.run_id, &name, &bytes).await
}

#[cfg(test)]
mod tests {
    use super::same_person;

    #[test]
    fn sessions_of_one_role_are_one_person_but_identity_center_users_are_not() {
        let role = "arn:aws:sts::123456789012:assumed-role/ops";
        assert!(same_person(&format!("{role}/alice"), &format!("{role}/x")));
        assert!(!same_person(
            &format!("{role}/alice"),
            "arn:aws:sts::123456789012:assumed-role/other/alice"
        ));
        let sso = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123";
        assert!(!same_person(&format!("{sso}/alice"), &format!("{sso}/bob")));
        assert!(same_person(
            "arn:aws:iam::123456789012:user/bob",
            "arn:aws:iam::123456789012:user/bob"
        ));
        assert!(!same_person(
            "arn:aws:iam::123456789012:user/bob",
            "arn:aws:iam::123456789012:user/bobby"
        ));
    }

    #[test]
    fn only_a_request_file_standin_names_is_the_newest() {
        let names: Vec<String> = [
            "request-001765000000000.json",
            "request-zz.json",
            "answer-x-1.json",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(
            super::newest_request(&names).map(String::as_str),
            Some("request-001765000000000.json")
        );
    }
}
