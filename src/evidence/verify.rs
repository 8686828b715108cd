//! `standin verify-evidence`'s checks, on the files of one run: the journal's hash chain, the
//! plan document and the playbook against the digests its start record names, and a report's
//! `evidence` against the journal. Each check says what it compared; the first line or file
//! that does not match is named.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::engine::chain;
use crate::engine::record::{self, Record};

/// The files of one run, as found (`None`: not there).
#[derive(Debug, Default)]
pub struct Files {
    pub journal: Option<Vec<u8>>,
    pub plan: Option<Vec<u8>>,
    pub report: Option<Vec<u8>>,
    pub playbook: Option<Vec<u8>>,
}

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Ok,
    Failed,
    /// Nothing to check it against (a file not given, a journal older than the digest).
    Skipped,
}

/// One check: which file, how it ended, and what was compared.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub file: &'static str,
    pub status: Status,
    pub detail: String,
}

/// Everything checked for one run.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// No check failed, and the journal's chain was checked.
    pub verified: bool,
    pub checks: Vec<Check>,
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Checks the files of one run.
pub fn verify(files: &Files) -> Verdict {
    let mut checks = Vec::new();
    let mut check = |file, status, detail: String| {
        checks.push(Check {
            file,
            status,
            detail,
        })
    };
    let Some(journal) = &files.journal else {
        check(
            "journal.jsonl",
            Status::Failed,
            "no journal found: without it nothing can be verified".into(),
        );
        return finish(None, checks);
    };
    match chain::verify(journal) {
        Ok(intact) => check(
            "journal.jsonl",
            Status::Ok,
            format!(
                "{} lines, each linked to the one before; the last line's SHA-256 is {}",
                intact.lines, intact.tip
            ),
        ),
        Err(b) => check("journal.jsonl", Status::Failed, b.to_string()),
    }
    let start = record::parse("journal.jsonl", journal)
        .ok()
        .and_then(|records| records.into_iter().next());
    let Some(Record::Start {
        run_id,
        source,
        plan_sha256,
        ..
    }) = start
    else {
        check(
            "journal.jsonl",
            Status::Failed,
            "line 1: not a start record, so there is nothing to check the other files against"
                .into(),
        );
        return finish(None, checks);
    };
    let playbook_sha256 = source.map(|s| s.sha256);
    // The plan the journal names must be there; a playbook is checked when given.
    digest(
        &mut check,
        ("plan.json", true),
        files.plan.as_deref(),
        plan_sha256.as_deref(),
        "the plan document",
    );
    digest(
        &mut check,
        ("playbook", false),
        files.playbook.as_deref(),
        playbook_sha256.as_deref(),
        "the playbook",
    );
    let chained = journal
        .split(|b| *b == b'\n')
        .nth(1)
        .is_some_and(|line| line.windows(7).any(|w| w == br#""prev":"#));
    match &files.report {
        None => check("report.json", Status::Skipped, "not given".into()),
        Some(bytes) => {
            let expected = Start {
                run_id: &run_id,
                plan_sha256: plan_sha256.as_deref(),
                playbook_sha256: playbook_sha256.as_deref(),
                chained,
            };
            let (status, detail) = report(bytes, journal, &expected);
            check("report.json", status, detail);
        }
    }
    finish(Some(run_id), checks)
}

fn finish(run_id: Option<String>, checks: Vec<Check>) -> Verdict {
    let verified = checks.iter().all(|c| c.status != Status::Failed)
        && checks
            .iter()
            .any(|c| c.file == "journal.jsonl" && c.status == Status::Ok);
    Verdict {
        run_id,
        verified,
        checks,
    }
}

/// Compares a file's SHA-256 with the one the start record names; a `required` file whose
/// digest the start record names must be there.
fn digest(
    check: &mut impl FnMut(&'static str, Status, String),
    (file, required): (&'static str, bool),
    bytes: Option<&[u8]>,
    named: Option<&str>,
    what: &str,
) {
    match (bytes, named) {
        (None, Some(named)) if required => check(
            file,
            Status::Failed,
            format!("missing: the journal's start record names {what} by its SHA-256 {named}, and it is not here"),
        ),
        (None, _) => check(file, Status::Skipped, "not given".into()),
        (Some(_), None) => check(
            file,
            Status::Skipped,
            format!("the journal names no digest of {what} (written by an older standin)"),
        ),
        (Some(bytes), Some(named)) => {
            let found = sha256(bytes);
            if found == named {
                check(
                    file,
                    Status::Ok,
                    format!("SHA-256 {found}, as the journal's start record names"),
                );
            } else {
                check(
                    file,
                    Status::Failed,
                    format!("SHA-256 {found}, but the journal's start record names {named}: this is not {what} the run was held to"),
                );
            }
        }
    }
}

/// What the start record says, for the report's check.
struct Start<'a> {
    run_id: &'a str,
    plan_sha256: Option<&'a str>,
    playbook_sha256: Option<&'a str>,
    /// The journal's lines are chained: it was written by a build whose reports carry
    /// `evidence`.
    chained: bool,
}

/// A report's `evidence` against the journal: the same run and digests, and the line it
/// sealed is the journal's line of that number.
fn report(bytes: &[u8], journal: &[u8], start: &Start<'_>) -> (Status, String) {
    let failed = |detail: String| (Status::Failed, detail);
    let doc: Value = match serde_json::from_slice(bytes) {
        Ok(doc) => doc,
        Err(e) => return failed(format!("not JSON ({e})")),
    };
    if doc.get("run_id").and_then(Value::as_str) != Some(start.run_id) {
        return failed(format!(
            "it is the report of run {}, not of run {}",
            doc.get("run_id").unwrap_or(&Value::Null),
            start.run_id
        ));
    }
    let Some(evidence) = doc.get("evidence") else {
        if start.chained {
            return failed("it carries no `evidence`, which every report of a chained journal has: it was removed".into());
        }
        return (
            Status::Skipped,
            "it carries no `evidence` (written by an older standin)".into(),
        );
    };
    for (field, named) in [
        ("plan_sha256", start.plan_sha256),
        ("playbook_sha256", start.playbook_sha256),
    ] {
        let said = evidence.get(field).and_then(Value::as_str);
        if said != named {
            return failed(format!(
                "its evidence.{field} is {}, but the journal's start record names {}",
                said.unwrap_or("absent"),
                named.unwrap_or("none")
            ));
        }
    }
    let sealed = evidence.get("journal");
    let (Some(lines), Some(tip)) = (
        sealed.and_then(|s| s.get("lines")).and_then(Value::as_u64),
        sealed
            .and_then(|s| s.get("last_sha256"))
            .and_then(Value::as_str),
    ) else {
        if start.chained {
            return failed("its evidence seals no journal: `evidence.journal` was removed, or the journal could not be read when the report was written".into());
        }
        return (
            Status::Skipped,
            "its evidence seals no journal (the journal could not be read when it was written)"
                .into(),
        );
    };
    let journal_lines: Vec<&[u8]> = match journal.strip_suffix(b"\n") {
        Some(complete) => complete.split(|b| *b == b'\n').collect(),
        None => journal.split(|b| *b == b'\n').collect(),
    };
    let sealed_lines = usize::try_from(lines).unwrap_or(usize::MAX);
    if sealed_lines == 0 || sealed_lines > journal_lines.len() {
        return failed(format!(
            "line {}: missing: the report sealed {lines} lines, the journal has {}",
            journal_lines.len() + 1,
            journal_lines.len()
        ));
    }
    let line = journal_lines[sealed_lines - 1];
    if chain::link(line) != tip {
        return failed(format!(
            "line {sealed_lines}: not the line the report sealed (its SHA-256 was {tip}): the journal's end was changed"
        ));
    }
    let after = journal_lines.len() - sealed_lines;
    (
        Status::Ok,
        if after == 0 {
            format!("same run and digests; it sealed the journal's {lines} lines")
        } else {
            format!("same run and digests; it sealed the journal's first {lines} lines, and {after} were written after it")
        },
    )
}
