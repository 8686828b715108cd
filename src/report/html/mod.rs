//! `report.html`: one self-contained page (inline CSS and SVG, no script, nothing fetched) with
//! the outcome, a timeline of the steps (with the moments production and its clients were
//! back) and the trend of recovery times as clients saw them.
//!
//! Every text of the report goes through [`escape`]. The chart colours below are fixed and used
//! nowhere else on the page: tests/report_html.rs screenshots the page in a headless browser and
//! counts their pixels (it reads the values from this file), so a colour that changes here
//! changes there by itself, and a colour reused elsewhere would break its counts.
//!
//! This file holds the page around the charts: its head and stylesheet, the header with the
//! outcome, the colours, and the escaping and words every part uses. The timeline
//! (`timeline.rs`), the trend (`trend.rs`) and the tables (`tables.rs`) are drawn apart.

mod tables;
mod timeline;
mod trend;

use std::fmt::Write as _;

use self::tables::tables;
use self::timeline::timeline;
use self::trend::trend;
use super::document::{span, RunReport, Verdict};
use crate::engine::view::StepState;

/// Fill of a step bar that ran: applied, unchanged, or applied and later undone (blue).
pub const STEP_FILL: &str = "#2b6cb0";
/// Fill of a step bar that failed (red).
pub const FAILED_FILL: &str = "#c53030";
/// Fill of an undo bar of the rollback (purple).
pub const UNDO_FILL: &str = "#805ad5";
/// Fill of the soak bar (green).
pub const SOAK_FILL: &str = "#38a169";
/// Stroke of the vertical recovery marker (amber).
pub const RECOVERY_STROKE: &str = "#d69e2e";
/// Stroke of the vertical marker of clients' recovery, when DNS caches make it later (pink).
pub const CLIENTS_STROKE: &str = "#d53f8c";
/// Stroke of the dashed RTO target lines, in the timeline and in the trend (slate).
pub const TARGET_STROKE: &str = "#334155";
/// Fill of an earlier drill in the trend (teal).
pub const TREND_FILL: &str = "#319795";
/// Fill of this drill in the trend (orange).
pub const TREND_CURRENT_FILL: &str = "#dd6b20";
/// Outcome badge: passed or succeeded.
const BADGE_GOOD: &str = "#276749";
/// Outcome badge: missed its recovery time objective.
const BADGE_WARN: &str = "#b7791f";
/// Outcome badge: anything else.
const BADGE_BAD: &str = "#9b2c2c";

/// The page.
pub fn render(report: &RunReport) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let title = format!("{} {} {}", report.playbook, report.kind, report.run_id);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    header(&mut out, report);
    out.push_str("<section id=\"timeline\">\n<h2>Timeline</h2>\n");
    timeline(&mut out, report);
    out.push_str(
        "</section>\n<section id=\"trend\">\n<h2>Recovery time for clients, drill by drill</h2>\n",
    );
    trend(&mut out, report);
    out.push_str("</section>\n");
    tables(&mut out, report);
    out.push_str("</body>\n</html>\n");
    out
}

const CSS: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1a202c;background:#fff;max-width:1140px;margin:0 auto;padding:16px 20px 40px}
h1{font-size:22px;margin:4px 0 8px}h1 .kind{font-size:14px;font-weight:normal;color:#4a5568;border:1px solid #cbd5e0;border-radius:4px;padding:1px 6px;vertical-align:middle}
h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
.outcome{font-size:16px;margin:6px 0}.badge{display:inline-block;color:#fff;font-weight:600;border-radius:4px;padding:2px 10px;margin-right:8px}
.reason{color:#2d3748}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:10px 0}dl.facts dt{color:#4a5568}dl.facts dd{margin:0;overflow-wrap:anywhere}
.note{color:#4a5568;font-style:italic}
svg{display:block;max-width:100%;height:auto;font-size:12px}
svg text{fill:#1a202c}svg text.dim{fill:#718096;font-style:italic}svg text.bad{fill:#9b2c2c}svg text.rec{fill:#975a16;font-weight:600}svg text.cli{fill:#97266d;font-weight:600}svg text.tgt{fill:#2d3748}
table{border-collapse:collapse;width:100%;margin:6px 0 10px}th,td{border:1px solid #e2e8f0;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#edf2f7;font-weight:600}td{white-space:pre-wrap;overflow-wrap:anywhere}td.num{text-align:right;white-space:nowrap}
td.error{color:#9b2c2c}code{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:13px}
";

/// Text of the report, made safe for HTML text and attribute values: `& < > " '` become
/// entities, and characters that would disguise the text (control characters, bidirectional
/// overrides) are shown escaped as `\u{..}`, as on a terminal (line breaks and tabs stay).
pub fn escape(text: &str) -> String {
    let text = crate::escape::terminal(text);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Seconds as drawn: a value that is not a time (negative, NaN, infinite) is zero.
fn secs(value: f64) -> f64 {
    if value.is_finite() && value > 0.0 {
        value
    } else {
        0.0
    }
}

/// A step's state in words.
fn state_words(state: StepState) -> &'static str {
    match state {
        StepState::NotStarted => "not reached",
        StepState::InDoubt => "in doubt (stopped mid-change)",
        StepState::StoppedWaiting => "stopped while waiting",
        StepState::Applied => "applied",
        StepState::Unchanged => "unchanged",
        StepState::Failed => "failed",
        StepState::Undone => "undone",
        StepState::UndoFailed => "undo failed",
    }
}

/// The badge colour of an outcome.
fn badge(outcome: Verdict) -> (&'static str, &'static str) {
    match outcome {
        Verdict::Passed | Verdict::Succeeded => ("good", BADGE_GOOD),
        Verdict::MissedRto => ("warn", BADGE_WARN),
        _ => ("bad", BADGE_BAD),
    }
}

fn header(out: &mut String, r: &RunReport) {
    let (class, colour) = badge(r.outcome);
    let _ = write!(
        out,
        "<header>\n<h1>{} <span class=\"kind\">{}</span></h1>\n\
         <p class=\"outcome\"><span class=\"badge {class}\" style=\"background:{colour}\">{}</span>",
        escape(&r.playbook),
        escape(&r.kind),
        escape(r.outcome.words()),
    );
    if let Some(reason) = &r.reason {
        let _ = write!(out, "<span class=\"reason\">{}</span>", escape(reason));
    }
    out.push_str("</p>\n<dl class=\"facts\">\n");
    let mut fact = |name: &str, value: &str| {
        let _ = writeln!(out, "<dt>{name}</dt><dd>{value}</dd>");
    };
    fact("recovery", &recovery_words(r));
    fact("run id", &format!("<code>{}</code>", escape(&r.run_id)));
    fact("kind", &escape(&r.kind));
    fact("by", &escape(r.run_by().as_deref().unwrap_or("unknown")));
    if let Some(evidence) = &r.evidence {
        let answers: Vec<String> = evidence
            .approvals
            .iter()
            .map(|a| escape(&format!("{} ({})", a, a.step)))
            .collect();
        if !answers.is_empty() {
            fact("approvals", &answers.join("<br>"));
        }
        if let Some(journal) = &evidence.journal {
            fact(
                "journal",
                &format!(
                    "{} lines, last line SHA-256 <code>{}</code>",
                    journal.lines,
                    escape(&journal.last_sha256)
                ),
            );
        }
    }
    fact("started", &escape(&r.started));
    fact("ended", &escape(&r.ended));
    fact(
        "playbook file",
        &format!("<code>{}</code>", escape(&r.file)),
    );
    fact("exit code", &r.exit_code.to_string());
    let t = &r.timings;
    let mut timings = format!(
        "total {}, steps {}, DNS waits {}",
        span(secs(t.total_secs)),
        span(secs(t.steps_secs)),
        span(secs(t.dns_wait_secs))
    );
    if let Some(restore) = t.restore_secs {
        let _ = write!(timings, ", restore {}", span(secs(restore)));
    }
    fact("time", &timings);
    out.push_str("</dl>\n</header>\n");
}

/// Recovery time against its target, in words (HTML).
fn recovery_words(r: &RunReport) -> String {
    let rec = &r.recovery;
    let mut words = match rec.secs {
        Some(s) => format!("<strong>{}</strong>", span(secs(s))),
        None => "<strong>not reached</strong>".to_owned(),
    };
    if let Some(gate) = &rec.gate {
        let _ = write!(words, " (gate <code>{}</code>)", escape(gate));
    }
    if let (Some(c), Some(cached)) = (clients(r), &rec.cached) {
        let _ = write!(
            words,
            ", <strong>{}</strong> for clients ({})",
            span(c),
            escape(&cached.reason())
        );
    }
    match (rec.target_secs, rec.met) {
        (Some(target), Some(true)) => {
            let _ = write!(words, " against a target of {}: met", span(secs(target)));
        }
        (Some(target), Some(false)) => {
            let _ = write!(words, " against a target of {}: missed", span(secs(target)));
        }
        (Some(target), None) => {
            let _ = write!(words, "; target {}", span(secs(target)));
        }
        (None, _) => words.push_str("; no target set"),
    }
    words
}

/// When clients were back, if DNS caches made it later than the gate's pass.
fn clients(r: &RunReport) -> Option<f64> {
    let gate = secs(r.recovery.secs?);
    r.recovery.clients_secs.map(secs).filter(|c| *c > gate)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<script>alert(1)</script>";

    /// A drill: three steps ran (the last applied then undone), one not reached, a soak, two
    /// undos, a recovery at 42s against a 60s target, and an earlier drill.
    pub(super) fn report() -> RunReport {
        serde_json::from_value(serde_json::json!({
            "report_format": 1,
            "run_id": "r-20240501-1200",
            "kind": "drill",
            "playbook": "promote-staging",
            "file": "playbooks/promote.yaml",
            "by": "ana",
            "started": "2024-05-01T12:00:00Z",
            "ended": "2024-05-01T12:02:10Z",
            "outcome": "passed",
            "exit_code": 0,
            "recovery": {"gate": "prod-healthy", "secs": 42.0, "target_secs": 60.0, "met": true},
            "timings": {"total_secs": 130.0, "steps_secs": 45.0, "dns_wait_secs": 30.0, "restore_secs": 20.0},
            "steps": [
                {"id": "snapshot", "kind": "ssm.put", "state": "applied", "start_secs": 0.0, "secs": 5.0,
                 "changes": [{"sign": "~", "resource": "ssm:/app/db", "before": "old", "after": "new"}]},
                {"id": "repoint", "kind": "route53.repoint", "state": "unchanged", "start_secs": 5.0, "secs": 30.0, "changes": []},
                {"id": "prod-healthy", "kind": "http.check", "state": "undone", "start_secs": 35.0, "secs": 7.0, "changes": []},
                {"id": "later", "kind": "pause", "state": "not-started", "changes": []}
            ],
            "undo": [
                {"step": "repoint", "start_secs": 102.0, "secs": 8.0, "restored": ["route53:app A → 1.2.3.4"]},
                {"step": "snapshot", "start_secs": 110.0, "secs": 2.0, "restored": ["ssm:/app/db"]}
            ],
            "soak": {"start_secs": 42.0, "secs": 60.0, "checks": 6},
            "verify": {"checked": 3, "differences": []},
            "warnings": ["a warning"],
            "trend": [
                {"run_id": "r-20240401-1200", "started": "2024-04-01T12:00:00Z", "outcome": "missed-rto", "recovery_secs": 75.0},
                {"run_id": "r-20240501-1200", "started": "2024-05-01T12:00:00Z", "outcome": "passed", "recovery_secs": 42.0}
            ]
        }))
        .expect("a report")
    }

    /// The value of attribute `name` in every element whose start tag begins with `start`.
    pub(super) fn attrs(html: &str, start: &str, name: &str) -> Vec<String> {
        html.match_indices(start)
            .map(|(i, _)| {
                let tag = &html[i..i + html[i..].find('>').unwrap()];
                let from = tag.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
                tag[from..from + tag[from..].find('"').unwrap()].to_owned()
            })
            .collect()
    }

    /// Every start tag of the page: its name and attributes (a literal `<` in the output is
    /// always a tag, since text is escaped).
    fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
        let mut found = Vec::new();
        let mut rest = html;
        while let Some(i) = rest.find('<') {
            let end = rest[i..].find('>').expect("a closed tag") + i;
            let tag = &rest[i + 1..end];
            rest = &rest[end + 1..];
            if tag.starts_with('/') {
                continue;
            }
            let name_end = tag.find([' ', '/', '\n']).unwrap_or(tag.len());
            let name = tag[..name_end].to_ascii_lowercase();
            let mut attrs = Vec::new();
            let mut a = tag[name_end..].trim_start_matches(['/', ' ']);
            while !a.is_empty() {
                let eq = a.find('=').unwrap_or(a.len());
                let attr = a[..eq].trim().to_ascii_lowercase();
                let after = &a[(eq + 1).min(a.len())..];
                let (value, next) = match after.strip_prefix('"') {
                    Some(v) => {
                        let close = v.find('"').expect("a closed attribute value");
                        (&v[..close], &v[close + 1..])
                    }
                    None => {
                        let stop = after.find(' ').unwrap_or(after.len());
                        (&after[..stop], &after[stop..])
                    }
                };
                attrs.push((attr, value.to_owned()));
                a = next.trim_start_matches(['/', ' ']);
            }
            found.push((name, attrs));
        }
        found
    }

    #[test]
    fn the_badge_says_the_outcome_in_its_colour() {
        let mut r = report();
        assert!(render(&r).contains(&format!("background:{BADGE_GOOD}\">passed</span>")));
        r.outcome = Verdict::MissedRto;
        assert!(render(&r).contains(&format!(
            "background:{BADGE_WARN}\">missed its recovery time objective</span>"
        )));
        r.outcome = Verdict::StepFailed;
        r.reason = Some("step `x` failed: boom".into());
        let html = render(&r);
        assert!(html.contains(&format!("background:{BADGE_BAD}\">")));
        assert!(html.contains("step `x` failed: boom"));
    }

    #[test]
    fn escape_makes_any_text_inert() {
        assert_eq!(escape(HOSTILE), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(escape("a&b \"c\" 'd'"), "a&amp;b &quot;c&quot; &#39;d&#39;");
        // Characters that disguise text are shown, not obeyed.
        assert_eq!(escape("ok\u{202e}kcab"), "ok\\u{202e}kcab");
        assert_eq!(escape("two\nlines"), "two\nlines");
    }

    #[test]
    fn every_text_of_the_report_is_escaped() {
        let mut r = report();
        let evil =
            format!("{HOSTILE}\"><img src=\"https://evil.example/x.png\" onerror='alert(2)'>");
        r.playbook = evil.clone();
        r.run_id = evil.clone();
        r.by = Some(evil.clone());
        r.reason = Some(evil.clone());
        r.recovery.gate = Some(evil.clone());
        for s in &mut r.steps {
            s.id = evil.clone();
            s.kind = evil.clone();
            s.error = Some(evil.clone());
            for c in &mut s.changes {
                c.sign = evil.clone();
                c.resource = evil.clone();
                c.before = Some(evil.clone());
                c.after = Some(evil.clone());
            }
        }
        for u in &mut r.undo {
            u.step = evil.clone();
            u.error = Some(evil.clone());
            u.restored = vec![evil.clone()];
        }
        r.soak.as_mut().unwrap().broken = Some(evil.clone());
        r.verify.as_mut().unwrap().differences = serde_json::from_value(
            serde_json::json!([{"resource": evil, "before": evil, "after": evil}]),
        )
        .unwrap();
        r.warnings = vec![evil.clone()];
        for p in &mut r.trend {
            p.run_id = evil.clone();
            p.started = evil.clone();
        }
        let html = render(&r);
        assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains(&format!("data-step=\"{}\"", escape(&evil))));
        // Only the page's own elements, with no attribute that loads, links or runs anything.
        let allowed = [
            "!doctype", "html", "head", "meta", "title", "style", "body", "header", "h1", "h2",
            "p", "span", "strong", "code", "dl", "dt", "dd", "section", "svg", "rect", "line",
            "text", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "br",
        ];
        for (name, attributes) in tags(&html) {
            assert!(allowed.contains(&name.as_str()), "element <{name}>");
            for (attr, value) in attributes {
                assert!(
                    ![
                        "src",
                        "href",
                        "xlink:href",
                        "srcset",
                        "action",
                        "formaction"
                    ]
                    .contains(&attr.as_str())
                        && !attr.starts_with("on"),
                    "<{name} {attr}=\"{value}\">"
                );
                assert!(!value.contains("url("), "<{name} {attr}=\"{value}\">");
            }
        }
    }

    #[test]
    fn the_page_is_self_contained() {
        let html = render(&report());
        for banned in [
            "<script", "http://", "https://", "src=", "href=", "url(", "@import", "<link", "<img",
        ] {
            assert!(!html.contains(banned), "{banned}");
        }
        assert!(html.contains("Content-Security-Policy"));
    }

    #[test]
    fn the_chart_colours_are_distinct_and_used_nowhere_else() {
        let colours = [
            STEP_FILL,
            FAILED_FILL,
            UNDO_FILL,
            SOAK_FILL,
            RECOVERY_STROKE,
            CLIENTS_STROKE,
            TARGET_STROKE,
            TREND_FILL,
            TREND_CURRENT_FILL,
        ];
        let others = [BADGE_GOOD, BADGE_WARN, BADGE_BAD];
        for (i, c) in colours.iter().chain(&others).enumerate() {
            for d in colours.iter().chain(&others).skip(i + 1) {
                assert_ne!(c, d);
            }
        }
        // Not in the stylesheet: only the chart draws them.
        for c in colours {
            assert!(!CSS.contains(c), "{c}");
        }
    }

    #[test]
    fn odd_numbers_do_not_break_the_page() {
        let mut r = report();
        r.steps[0].secs = Some(f64::NAN);
        r.steps[1].start_secs = Some(-5.0);
        r.recovery.secs = Some(f64::INFINITY);
        r.undo.clear();
        r.soak = None;
        r.trend.clear();
        let html = render(&r);
        assert!(!html.contains("NaN") && !html.contains("inf\""), "{html}");
        assert!(html.contains("No drill of this playbook has been recorded yet."));
    }
}
