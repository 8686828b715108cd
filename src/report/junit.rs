//! `junit.xml`: a drill (or run) as a JUnit test suite, for CI systems that show test results:
//! one test case per step, then the soak, the restore's verification and the recovery time
//! objective, each failing with the reason.

use super::document::{span, RunReport, UndoReport};
use crate::engine::view::StepState;

/// One test case: name, seconds, and a failure or a reason it was skipped.
struct Case {
    name: String,
    secs: f64,
    failure: Option<String>,
    skipped: Option<String>,
}

/// The document, as JUnit XML.
pub fn render(doc: &RunReport) -> String {
    let mut cases: Vec<Case> = doc
        .steps
        .iter()
        .map(|s| Case {
            name: format!("step {} ({})", s.id, s.kind),
            secs: s.secs.unwrap_or(0.0),
            failure: s
                .error
                .iter()
                .cloned()
                .chain(
                    doc.undo
                        .iter()
                        .filter(|u| u.step == s.id)
                        .filter_map(UndoReport::failure),
                )
                .reduce(|a, b| format!("{a}\n{b}")),
            skipped: (s.state == StepState::NotStarted).then(|| "not reached".to_owned()),
        })
        .collect();
    if let Some(soak) = &doc.soak {
        cases.push(Case {
            name: "soak: the gates hold".into(),
            secs: soak.secs,
            failure: soak.broken.clone(),
            skipped: None,
        });
    }
    if doc.is_drill() {
        let verify = doc.verify.as_ref();
        cases.push(Case {
            name: "restore verification".into(),
            secs: doc.timings.restore_secs.unwrap_or(0.0),
            failure: verify.filter(|v| !v.differences.is_empty()).map(|v| {
                v.differences
                    .iter()
                    .map(|d| {
                        format!(
                            "{}: before {}, now {}",
                            d.resource,
                            d.before.as_deref().unwrap_or("(absent)"),
                            d.after.as_deref().unwrap_or("(absent)")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
            skipped: verify
                .is_none()
                .then(|| "the restore was not verified".to_owned()),
        });
        let r = &doc.recovery;
        cases.push(Case {
            name: "recovery time objective".into(),
            secs: r.judged().unwrap_or(0.0),
            failure: match (r.took(), r.judged(), r.target_secs) {
                (Some(took), Some(s), Some(t)) if s > t => Some(format!(
                    "recovery took {took}, over the target of {}",
                    span(t)
                )),
                (None, _, Some(_)) => Some("recovery was not reached".to_owned()),
                _ => None,
            },
            skipped: r
                .target_secs
                .is_none()
                .then(|| "the playbook sets no `rto_target`".to_owned()),
        });
    }
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let skipped = cases
        .iter()
        .filter(|c| c.failure.is_none() && c.skipped.is_some())
        .count();
    let suite = xml(&format!("standin {} {}", doc.kind, doc.playbook));
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{suite}\" tests=\"{}\" failures=\"{failures}\" time=\"{:.3}\">\n  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{:.3}\" timestamp=\"{}\">\n    <properties>\n      <property name=\"run_id\" value=\"{}\"/>\n      <property name=\"outcome\" value=\"{}\"/>\n",
        cases.len(),
        doc.timings.total_secs,
        cases.len(),
        doc.timings.total_secs,
        xml(doc.started.trim_end_matches('Z')),
        xml(&doc.run_id),
        xml(doc.outcome.words()),
    );
    // Both recovery times: the gate's, and clients' (DNS caches included).
    for (name, secs) in [
        ("recovery_secs", doc.recovery.secs),
        ("clients_secs", doc.recovery.clients_secs),
    ] {
        if let Some(secs) = secs {
            out.push_str(&format!(
                "      <property name=\"{name}\" value=\"{secs:.3}\"/>\n"
            ));
        }
    }
    // Who approved, and the journal's seal: what an auditor reads from a CI run's artifacts.
    if let Some(evidence) = &doc.evidence {
        for answered in &evidence.approvals {
            out.push_str(&format!(
                "      <property name=\"approval\" value=\"{}\"/>\n",
                xml(&format!("{answered} (step {})", answered.step))
            ));
        }
        if let Some(journal) = &evidence.journal {
            out.push_str(&format!(
                "      <property name=\"journal_last_sha256\" value=\"{}\"/>\n",
                xml(&journal.last_sha256)
            ));
        }
    }
    out.push_str("    </properties>\n");
    let class = xml(&format!("standin.{}", doc.playbook));
    for c in &cases {
        out.push_str(&format!(
            "    <testcase classname=\"{class}\" name=\"{}\" time=\"{:.3}\"",
            xml(&c.name),
            c.secs.max(0.0)
        ));
        match (&c.failure, &c.skipped) {
            (Some(f), _) => out.push_str(&format!(
                ">\n      <failure message=\"{}\" type=\"failure\">{}</failure>\n    </testcase>\n",
                xml(f.lines().next().unwrap_or_default()),
                xml(f)
            )),
            (None, Some(s)) => out.push_str(&format!(
                ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                xml(s)
            )),
            (None, None) => out.push_str("/>\n"),
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Text safe inside XML 1.0 attributes and elements: markup escaped, and characters XML 1.0
/// cannot hold (control characters but tab and line breaks) written as `\u{..}`.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::xml;

    #[test]
    fn markup_and_control_characters_cannot_break_the_document() {
        assert_eq!(
            xml("<a href='x'>&\"\u{1b}[31m\u{0}"),
            "&lt;a href=&apos;x&apos;&gt;&amp;&quot;\\u{1b}[31m\\u{0}"
        );
    }
}
