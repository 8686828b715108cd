//! `report.md`: a drill or run for a ticket or a wiki: outcome, recovery time against its
//! target, the steps with their durations, what changed and was restored, and warnings.

use super::document::{span, RunReport};

/// The document, as Markdown.
pub fn render(doc: &RunReport) -> String {
    let mut out = format!(
        "# standin {} of {}: {}\n\n",
        doc.kind,
        code(&doc.playbook),
        doc.outcome.words()
    );
    if let Some(reason) = &doc.reason {
        out.push_str(&format!("**Why:** {}\n\n", cell(reason)));
    }
    out.push_str("| | |\n|---|---|\n");
    let r = &doc.recovery;
    let recovery = match (r.took(), r.judged(), r.target_secs) {
        (Some(took), Some(s), Some(t)) => format!(
            "{} (target {}: {})",
            cell(&took),
            span(t),
            if s <= t { "met" } else { "**missed**" }
        ),
        (Some(took), _, None) => cell(&took),
        _ => "not reached".to_owned(),
    };
    let t = &doc.timings;
    for (k, v) in [
        ("Run", cell(&doc.run_id)),
        ("Playbook file", cell(&doc.file)),
        ("Run by", cell(doc.run_by().as_deref().unwrap_or("-"))),
        ("Started", cell(&doc.started)),
        ("Ended", cell(&doc.ended)),
        ("Exit code", doc.exit_code.to_string()),
        (
            "Time to recovery",
            match &r.gate {
                Some(g) => format!("gate {}: {recovery}", code(g)),
                None => recovery,
            },
        ),
        ("Steps", span(t.steps_secs)),
        ("DNS wait", span(t.dns_wait_secs)),
        (
            "Time to restore",
            t.restore_secs.map_or("-".to_owned(), span),
        ),
        ("Total", span(t.total_secs)),
    ] {
        out.push_str(&format!("| {k} | {v} |\n"));
    }
    let earlier: Vec<String> = doc
        .trend
        .iter()
        .map(|p| {
            format!(
                "{}: {}",
                cell(&p.started),
                p.judged().map_or("not reached".to_owned(), span)
            )
        })
        .collect();
    if doc.trend.len() > 1 {
        out.push_str(&format!(
            "\n**Recovery time across drills** (oldest first): {}\n",
            earlier.join("; ")
        ));
    }
    out.push_str("\n## Steps\n\n| # | Step | Kind | State | Start | Duration | Error |\n|---|---|---|---|---|---|---|\n");
    for (i, s) in doc.steps.iter().enumerate() {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            i + 1,
            code(&s.id),
            cell(&s.kind_shown()),
            state(s.state),
            s.start_secs
                .map_or("-".to_owned(), |x| format!("+{}", span(x))),
            s.secs.map_or("-".to_owned(), span),
            s.error.as_deref().map_or(String::new(), cell)
        ));
    }
    out.push_str("\n## What changed\n\n");
    let mut any = false;
    for s in &doc.steps {
        for c in &s.changes {
            any = true;
            out.push_str(&format!(
                "- {} {} {}: {} → {}\n",
                code(&s.id),
                cell(&c.sign),
                cell(&c.resource),
                c.before.as_deref().map_or("(absent)".to_owned(), cell),
                c.after.as_deref().map_or("(absent)".to_owned(), cell)
            ));
        }
    }
    if !any {
        out.push_str("Nothing.\n");
    }
    if !doc.undo.is_empty() {
        out.push_str("\n## Restored\n\n");
        for u in &doc.undo {
            match &u.error {
                Some(e) => {
                    out.push_str(&format!(
                        "- {}: **not undone**: {}\n",
                        code(&u.step),
                        cell(e)
                    ));
                    for line in &u.by_hand {
                        out.push_str(&format!("  - by hand: {}\n", code(line)));
                    }
                }
                None => {
                    for line in &u.restored {
                        out.push_str(&format!("- {}: {}\n", code(&u.step), cell(line)));
                    }
                }
            }
        }
    }
    if let Some(soak) = &doc.soak {
        out.push_str(&format!(
            "\n## Soak\n\nHeld {} with {} check(s) of the gates: {}.\n",
            span(soak.secs),
            soak.checks,
            match (&soak.broken, soak.stopped) {
                (Some(broken), _) => cell(broken),
                (None, true) => "every check passed until a signal ended it early".to_owned(),
                (None, false) => "every check passed".to_owned(),
            }
        ));
    }
    if let Some(v) = &doc.verify {
        out.push_str("\n## Restore verification\n\n");
        if v.differences.is_empty() {
            out.push_str(&format!(
                "All {} resources hold what they held before the drill.\n",
                v.checked
            ));
        } else {
            out.push_str(&format!(
                "{} of {} resources differ:\n\n| Resource | Before | Now |\n|---|---|---|\n",
                v.differences.len(),
                v.checked
            ));
            for d in &v.differences {
                out.push_str(&format!(
                    "| {} | {} | {} |\n",
                    cell(&d.resource),
                    d.before.as_deref().map_or("(absent)".to_owned(), cell),
                    d.after.as_deref().map_or("(absent)".to_owned(), cell)
                ));
            }
        }
    }
    if !doc.warnings.is_empty() {
        out.push_str("\n## Warnings\n\n");
        for w in &doc.warnings {
            out.push_str(&format!("- {}\n", cell(w)));
        }
    }
    if let Some(evidence) = &doc.evidence {
        out.push_str(&evidence_section(doc, evidence));
    }
    out
}

/// The evidence, and which of its fields answers which question that SOC 2 (A1.3), ISO/IEC
/// 27001:2022 (A.5.30) and DORA (Art. 11, 12) ask of a recovery test: a map, not advice.
fn evidence_section(doc: &RunReport, e: &crate::evidence::Evidence) -> String {
    let digest = |d: &Option<String>| d.as_deref().map_or("-".to_owned(), code);
    let journal = match &e.journal {
        Some(j) => format!(
            "{} lines, last line SHA-256 {}{}",
            j.lines,
            code(&j.last_sha256),
            j.broken
                .as_ref()
                .map(|b| format!(" (**the chain breaks at {}**)", cell(b)))
                .unwrap_or_default()
        ),
        None => "not read".to_owned(),
    };
    let mut out = String::from("\n## Evidence\n\n| | |\n|---|---|\n");
    for (k, v) in [
        ("Playbook SHA-256", digest(&e.playbook_sha256)),
        ("Plan SHA-256", digest(&e.plan_sha256)),
        ("Journal", journal),
        ("Run by", cell(doc.run_by().as_deref().unwrap_or("-"))),
        (
            "Approvals",
            if e.approvals.is_empty() {
                "none asked for".to_owned()
            } else {
                e.approvals
                    .iter()
                    .map(|a| cell(&format!("{a} (step {})", a.step)))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        ),
    ] {
        out.push_str(&format!("| {k} | {v} |\n"));
    }
    out.push_str(&format!(
        "\nCheck it with `standin verify-evidence {}`: the journal's hash chain, the plan and the playbook against the digests above, and this report's `evidence` against the journal.\n",
        cell(&doc.run_id)
    ));
    out.push_str(
        "\n| Question a control asks | Controls | Answered by (`report.json`) |\n|---|---|---|\n",
    );
    for (question, controls, fields) in [
        (
            "What was tested?",
            "SOC 2 A1.3; ISO/IEC 27001 A.5.30; DORA Art. 11(6)",
            "`playbook`, `evidence.playbook_sha256`, `evidence.plan_sha256`, `steps`",
        ),
        (
            "When, by whom, approved by whom?",
            "SOC 2 A1.3, CC8.1; DORA Art. 11(6)",
            "`started`, `ended`, `evidence.run_by` (OS user, AWS principal per account), `evidence.approvals`",
        ),
        (
            "With what result, against which objective?",
            "SOC 2 A1.3; ISO/IEC 27001 A.5.30; DORA Art. 11(6), 12",
            "`outcome`, `recovery`, `evidence.drill` (recovery against `rto_target`, restore verified)",
        ),
        (
            "Is the record unaltered?",
            "SOC 2 A1.3 (evidence of operation)",
            "`evidence.journal` (hash chain tip), checked by `standin verify-evidence`",
        ),
        (
            "Is it tested regularly?",
            "ISO/IEC 27001 A.5.30; DORA Art. 11(6) (at least yearly)",
            "`trend`, `standin history`, `drill_every:` (`standin doctor`)",
        ),
    ] {
        out.push_str(&format!("| {question} | {controls} | {fields} |\n"));
    }
    out.push_str("\nThe table says which field answers which question; whether it satisfies a control is for your auditor (this is not legal advice).\n");
    out
}

fn state(s: crate::engine::view::StepState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Text that stays inside its table cell or line and cannot become markup: pipes, line
/// breaks, HTML and Markdown's emphasis, code and link characters are escaped; control
/// characters are written as `\u{..}`.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Text as a code span, shown exactly as it is: escapes and entities mean nothing inside one,
/// so only what would end the span (a backtick: the fence is longer than any run inside),
/// a table's cell (`|`, which GFM reads even there) or a line, and control characters, are
/// dealt with.
fn code(text: &str) -> String {
    let mut inner = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => inner.push_str("\\|"),
            '\n' | '\r' => inner.push(' '),
            c if c.is_control() => inner.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => inner.push(c),
        }
    }
    let longest = inner.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if inner.starts_with('`') || inner.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{inner}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::{cell, code};

    #[test]
    fn a_value_cannot_break_out_of_its_cell() {
        assert_eq!(cell("a|b\nc<script>"), "a\\|b c&lt;script&gt;");
        assert_eq!(cell("`x` *y* [z](u)"), "\\`x\\` \\*y\\* \\[z\\](u)");
    }

    #[test]
    fn a_code_span_shows_its_text_as_it_is() {
        assert_eq!(code("a<b>&c_d"), "`a<b>&c_d`");
        assert_eq!(code("x`y"), "``x`y``");
        assert_eq!(code("`y"), "`` `y ``");
        assert_eq!(code("a|b"), "`a\\|b`");
    }
}
