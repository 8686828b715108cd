//! `report.html`: one self-contained page (inline CSS and SVG, no script, nothing fetched) with
//! the outcome, a timeline of the steps (with the moments production and its clients were
//! back) and the trend of recovery times as clients saw them.
//!
//! Every text of the report goes through [`escape`]. The chart colours below are fixed and used
//! nowhere else on the page: tests/report_html.rs screenshots the page in a headless browser and
//! counts their pixels (it reads the values from this file), so a colour that changes here
//! changes there by itself, and a colour reused elsewhere would break its counts.

use std::fmt::Write as _;

use super::document::{span, RunReport, StepReport, TrendPoint, Verdict};
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

/// The timeline's geometry (SVG user units, drawn 1:1 in a page up to 1100px wide).
const WIDTH: f64 = 1100.0;
/// Right edge of the row labels (anchored at their end).
const LABEL_X: f64 = 236.0;
/// Left edge of the plot: time zero.
const PLOT_X0: f64 = 248.0;
/// Width of the plot: the whole time span; the 90 units right of it hold the bars' durations.
const PLOT_W: f64 = 762.0;
/// Above the first row: the markers' labels, one line each.
const HEAD_H: f64 = 61.0;
const ROW_H: f64 = 28.0;
/// A bar is thinner than its row so that bars never touch.
const BAR_H: f64 = 18.0;
/// The narrowest bar drawn, so that a step of a few milliseconds is still seen.
const MIN_BAR_W: f64 = 3.0;
/// Below the last row: the time axis.
const AXIS_H: f64 = 30.0;
/// The widest a character of the chart's text is drawn (12px sans-serif), to place text so
/// that it fits.
const TEXT_CHAR_W: f64 = 7.5;
/// Longest row label, in characters (the full text is in the tooltip and the tables).
const LABEL_CHARS: usize = 32;
/// Drills shown in the trend chart (the latest).
const MAX_TREND: usize = 40;

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

/// At most `max` characters of a text, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max - 1).collect();
        short.push('…');
        short
    }
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

/// Whether a step's bar is drawn as failed.
fn failed(step: &StepReport) -> bool {
    step.state == StepState::Failed || step.error.is_some()
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

/// The time axis of the timeline.
struct Scale {
    total: f64,
}

impl Scale {
    fn x(&self, t: f64) -> f64 {
        PLOT_X0 + secs(t).min(self.total) / self.total * PLOT_W
    }
}

/// A round step between ticks, for about six ticks over `total` seconds.
fn tick_step(total: f64) -> f64 {
    const STEPS: [f64; 16] = [
        0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0,
        3600.0,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| total / s <= 7.0)
        .unwrap_or_else(|| (total / 7.0 / 3600.0).ceil() * 3600.0)
}

/// One labelled row of the timeline; its bar (if any) is drawn by the caller.
fn row_label(out: &mut String, y: f64, label: &str, tooltip: &str, dim: bool) {
    let class = if dim { " class=\"dim\"" } else { "" };
    let _ = writeln!(
        out,
        "<text x=\"{LABEL_X}\" y=\"{:.1}\" text-anchor=\"end\"{class}>{}<title>{}</title></text>",
        y + ROW_H / 2.0 + 4.0,
        escape(&cut(label, LABEL_CHARS)),
        escape(tooltip),
    );
}

/// A bar of the timeline.
struct Bar<'a> {
    start: f64,
    length: f64,
    fill: &'a str,
    /// Its `class` (`bar step applied`, `bar soak`, `bar undo`).
    class: &'a str,
    /// Its `data-step`.
    step: Option<&'a str>,
    tooltip: &'a str,
    /// The text after it (its duration).
    after: &'a str,
    after_class: &'a str,
}

/// A bar in the row at `y`, with its text after it.
fn bar(out: &mut String, scale: &Scale, y: f64, b: &Bar) {
    let Bar {
        start,
        length,
        fill,
        class,
        step,
        tooltip,
        after,
        after_class,
    } = *b;
    let x = scale.x(start);
    let w = (scale.x(secs(start) + secs(length)) - x).max(MIN_BAR_W);
    let data = step.map_or(String::new(), |s| format!(" data-step=\"{}\"", escape(s)));
    let _ = writeln!(
        out,
        "<rect class=\"{class}\"{data} x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{BAR_H}\" \
         fill=\"{fill}\" shape-rendering=\"crispEdges\"><title>{}</title></rect>",
        y + (ROW_H - BAR_H) / 2.0,
        escape(tooltip),
    );
    let class = if after_class.is_empty() {
        String::new()
    } else {
        format!(" class=\"{after_class}\"")
    };
    // After the bar where it fits before the chart's edge; else before the bar, ending where
    // it starts (a bar that ends late started early enough to leave room), so that no text
    // runs out of the drawing.
    let wide = after.chars().count() as f64 * TEXT_CHAR_W;
    let (at, anchor) = if x + w + 5.0 + wide <= WIDTH {
        (x + w + 5.0, "")
    } else {
        ((x - 5.0).max(wide), " text-anchor=\"end\"")
    };
    let _ = writeln!(
        out,
        "<text x=\"{at:.1}\" y=\"{:.1}\"{anchor}{class}>{}</text>",
        y + ROW_H / 2.0 + 4.0,
        escape(after),
    );
}

/// The timeline: one row per step, then the soak, then each undo; the recovery marker and the
/// RTO target across them.
fn timeline(out: &mut String, r: &RunReport) {
    let ends = r
        .steps
        .iter()
        .filter_map(|s| Some(secs(s.start_secs?) + secs(s.secs.unwrap_or(0.0))))
        .chain(r.soak.iter().map(|s| secs(s.start_secs) + secs(s.secs)))
        .chain(r.undo.iter().map(|u| secs(u.start_secs) + secs(u.secs)))
        .chain(r.recovery.secs.map(secs));
    let own = ends.fold(0.0, f64::max);
    // A target far beyond the drill would squeeze every bar to a sliver: it is drawn only
    // when it fits within twice the drill's own length, and named above the chart otherwise.
    let target = r.recovery.target_secs.map(secs);
    let drawn_target = target.filter(|t| *t <= own * 2.0);
    // Clients' recovery likewise (a TTL of minutes after a drill of seconds).
    let clients = clients(r);
    let drawn_clients = clients.filter(|c| *c <= own * 2.0);
    let total = [drawn_target, drawn_clients]
        .into_iter()
        .flatten()
        .fold(own, f64::max);
    let scale = Scale {
        total: if total > 0.0 { total } else { 1.0 },
    };
    let rows = r.steps.len() + usize::from(r.soak.is_some()) + r.undo.len();
    let bottom = HEAD_H + ROW_H * rows as f64;
    let height = bottom + AXIS_H;
    let _ = writeln!(
        out,
        "<svg class=\"timeline\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" \
         role=\"img\" aria-label=\"timeline of the steps, the soak and the rollback\">"
    );
    // Zebra rows, then the grid and its axis.
    for i in (0..rows).filter(|i| i % 2 == 1) {
        let _ = writeln!(
            out,
            "<rect x=\"0\" y=\"{:.1}\" width=\"{WIDTH}\" height=\"{ROW_H}\" fill=\"#f7fafc\"/>",
            HEAD_H + ROW_H * i as f64
        );
    }
    let step = tick_step(scale.total);
    let mut t = 0.0;
    while t <= scale.total + 1e-9 {
        let x = scale.x(t);
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{HEAD_H}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#e2e8f0\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"dim\">{}</text>",
            bottom + 4.0,
            bottom + 20.0,
            span(t)
        );
        t += step;
    }
    let mut y = HEAD_H;
    for s in &r.steps {
        let tooltip = format!("{} ({}): {}", s.id, s.kind, state_words(s.state));
        let Some(start) = s.start_secs else {
            row_label(out, y, &s.id, &tooltip, true);
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"dim\">{}</text>",
                PLOT_X0 + 4.0,
                y + ROW_H / 2.0 + 4.0,
                state_words(s.state)
            );
            y += ROW_H;
            continue;
        };
        row_label(out, y, &s.id, &tooltip, false);
        let length = s.secs.unwrap_or(0.0);
        let (fill, after, after_class) = if failed(s) {
            (FAILED_FILL, format!("{} failed", span(secs(length))), "bad")
        } else {
            (STEP_FILL, span(secs(length)), "")
        };
        let kebab = state_words(s.state).replace([' ', '(', ')'], "-");
        bar(
            out,
            &scale,
            y,
            &Bar {
                start,
                length,
                fill,
                class: &format!("bar step {kebab}"),
                step: Some(&s.id),
                tooltip: &format!(
                    "{tooltip}, {} from {}",
                    span(secs(length)),
                    span(secs(start))
                ),
                after: &after,
                after_class,
            },
        );
        y += ROW_H;
    }
    if let Some(soak) = &r.soak {
        let mut after = format!("{} · {} checks", span(secs(soak.secs)), soak.checks);
        if soak.broken.is_some() {
            after.push_str(" · broken");
        }
        let tooltip = match &soak.broken {
            Some(why) => format!("soak: broken: {why}"),
            None => format!("soak: held, {} checks passed", soak.checks),
        };
        row_label(out, y, "soak", &tooltip, false);
        let class = if soak.broken.is_some() { "bad" } else { "" };
        bar(
            out,
            &scale,
            y,
            &Bar {
                start: soak.start_secs,
                length: soak.secs,
                fill: SOAK_FILL,
                class: "bar soak",
                step: None,
                tooltip: &tooltip,
                after: &after,
                after_class: class,
            },
        );
        y += ROW_H;
    }
    for u in &r.undo {
        let label = format!("undo · {}", u.step);
        let (after, class) = match &u.error {
            Some(_) => (format!("{} undo failed", span(secs(u.secs))), "bad"),
            None => (span(secs(u.secs)), ""),
        };
        let tooltip = match &u.error {
            Some(e) => format!("undo of {}: failed: {e}", u.step),
            None => format!("undo of {}: {}", u.step, u.restored.join("; ")),
        };
        row_label(out, y, &label, &tooltip, false);
        bar(
            out,
            &scale,
            y,
            &Bar {
                start: u.start_secs,
                length: u.secs,
                fill: UNDO_FILL,
                class: "bar undo",
                step: Some(&u.step),
                tooltip: &tooltip,
                after: &after,
                after_class: class,
            },
        );
        y += ROW_H;
    }
    // The markers, over the bars, from just above the first row; their labels above them, one
    // line each, so that no line crosses a label.
    let rows = (HEAD_H - 6.0, bottom);
    if let Some(target) = target {
        Marker::TARGET.draw(out, &scale, rows, target, drawn_target.is_some());
    }
    if let Some(rec) = r.recovery.secs {
        Marker::RECOVERY.draw(out, &scale, rows, rec, true);
    }
    if let Some(c) = clients {
        Marker::CLIENTS.draw(out, &scale, rows, c, drawn_clients.is_some());
    }
    out.push_str("</svg>\n");
}

/// A moment marked across the timeline's rows (the RTO target, recovery, clients' recovery),
/// with its label above the rows on a line of its own.
struct Marker<'a> {
    /// Its `class`, after `marker`.
    class: &'a str,
    stroke: &'a str,
    /// The target is dashed; the moments are solid, with crisp edges.
    dashed: bool,
    /// The baseline of its label.
    label_y: u32,
    label_class: &'a str,
    /// Its label, before the time.
    label: &'a str,
}

impl Marker<'_> {
    const TARGET: Self = Self {
        class: "target",
        stroke: TARGET_STROKE,
        dashed: true,
        label_y: 32,
        label_class: "tgt",
        label: "RTO target",
    };
    const RECOVERY: Self = Self {
        class: "recovery",
        stroke: RECOVERY_STROKE,
        dashed: false,
        label_y: 15,
        label_class: "rec",
        label: "recovery",
    };
    const CLIENTS: Self = Self {
        class: "clients",
        stroke: CLIENTS_STROKE,
        dashed: false,
        label_y: 49,
        label_class: "cli",
        label: "clients back",
    };

    /// Draws the line at `at` seconds from `rows` (top, bottom), its label beside it; or,
    /// when the chart stops short of it (`drawn` false), only names it at the right edge.
    fn draw(&self, out: &mut String, scale: &Scale, rows: (f64, f64), at: f64, drawn: bool) {
        let Self {
            class,
            stroke,
            label_y,
            label_class,
            label,
            ..
        } = self;
        let at = secs(at);
        if !drawn {
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{label_y}\" text-anchor=\"end\" class=\"{label_class}\">{label} {} (beyond the chart) &#8594;</text>",
                PLOT_X0 + PLOT_W,
                span(at)
            );
            return;
        }
        let x = scale.x(at);
        let (side, tx) = if x > PLOT_X0 + PLOT_W * 0.7 {
            ("end", x + 1.5)
        } else {
            ("start", x - 1.5)
        };
        let style = if self.dashed {
            "stroke-width=\"2\" stroke-dasharray=\"6 4\""
        } else {
            "stroke-width=\"3\" shape-rendering=\"crispEdges\""
        };
        let (top, bottom) = rows;
        let _ = writeln!(
            out,
            "<line class=\"marker {class}\" data-secs=\"{at:.3}\" x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" \
             y2=\"{bottom:.1}\" stroke=\"{stroke}\" {style}/>\
             <text x=\"{tx:.1}\" y=\"{label_y}\" text-anchor=\"{side}\" class=\"{label_class}\">{label} {}</text>",
            span(at)
        );
    }
}

/// The trend: one bar per drill of the playbook (the latest [`MAX_TREND`]), this one
/// highlighted, the RTO target across.
fn trend(out: &mut String, r: &RunReport) {
    const H: f64 = 230.0;
    const X0: f64 = 70.0;
    const X1: f64 = 1080.0;
    const TOP: f64 = 24.0;
    const BASE: f64 = 196.0;
    let all = &r.trend;
    if all.is_empty() {
        out.push_str("<p class=\"note\">No drill of this playbook has been recorded yet.</p>\n");
        return;
    }
    if all.len() < 2 {
        out.push_str("<p class=\"note\">first drill of this playbook</p>\n");
    }
    let points: &[TrendPoint] = &all[all.len().saturating_sub(MAX_TREND)..];
    if points.len() < all.len() {
        let _ = writeln!(
            out,
            "<p class=\"note\">the latest {} of {} drills</p>",
            points.len(),
            all.len()
        );
    }
    let highest = points
        .iter()
        .filter_map(|p| p.judged().map(secs))
        .fold(0.0, f64::max);
    // As on the timeline: a target far above every drill is named, not drawn.
    let far = r.recovery.target_secs.map(secs);
    let target = far.filter(|t| *t <= highest * 3.0);
    let top = target.map_or(highest, |t| highest.max(t));
    let top = if top > 0.0 { top * 1.15 } else { 1.0 };
    let y_of = |s: f64| BASE - secs(s).min(top) / top * (BASE - TOP);
    let _ = writeln!(
        out,
        "<svg class=\"trend\" width=\"{WIDTH}\" height=\"{H}\" viewBox=\"0 0 {WIDTH} {H}\" role=\"img\" \
         aria-label=\"recovery time of each drill\">"
    );
    let step = tick_step(top);
    let mut t = 0.0;
    while t <= top + 1e-9 {
        let y = y_of(t);
        let _ = writeln!(
            out,
            "<line x1=\"{X0}\" y1=\"{y:.1}\" x2=\"{X1}\" y2=\"{y:.1}\" stroke=\"#e2e8f0\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"dim\">{}</text>",
            X0 - 6.0,
            y + 4.0,
            span(t)
        );
        t += step;
    }
    let slot = (X1 - X0) / points.len() as f64;
    let w = (slot * 0.6).clamp(4.0, 48.0);
    for (i, p) in points.iter().enumerate() {
        let cx = X0 + slot * (i as f64 + 0.5);
        let current = p.run_id == r.run_id;
        let mut tooltip = format!(
            "{} ({}): {}, recovery {}",
            p.run_id,
            p.started,
            p.outcome.words(),
            p.recovery_secs
                .map_or("not reached".to_owned(), |s| span(secs(s)))
        );
        if let Some(c) = p.clients_secs {
            let _ = write!(tooltip, ", {} for clients", span(secs(c)));
        }
        match p.judged() {
            Some(s) => {
                let y = y_of(s);
                let (fill, class) = if current {
                    (TREND_CURRENT_FILL, "trend-point current")
                } else {
                    (TREND_FILL, "trend-point")
                };
                let _ = writeln!(
                    out,
                    "<rect class=\"{class}\" data-run=\"{}\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" \
                     height=\"{:.1}\" fill=\"{fill}\" shape-rendering=\"crispEdges\"><title>{}</title></rect>",
                    escape(&p.run_id),
                    cx - w / 2.0,
                    (BASE - y).max(1.0),
                    escape(&tooltip)
                );
                if slot >= 48.0 || current {
                    let _ = writeln!(
                        out,
                        "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                        y - 5.0,
                        span(secs(s))
                    );
                }
            }
            None => {
                let _ = writeln!(
                    out,
                    "<text class=\"dim\" data-run=\"{}\" x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}<title>{}</title></text>",
                    escape(&p.run_id),
                    BASE - 5.0,
                    if slot >= 90.0 { "not reached" } else { "—" },
                    escape(&tooltip)
                );
            }
        }
        // Under the bar: this drill, or when there is room the start to the minute.
        let under = if current {
            Some("this drill".to_owned())
        } else if slot >= 90.0 {
            Some(p.started.replace('T', " ").chars().take(16).collect())
        } else {
            None
        };
        if let Some(under) = under {
            let _ = writeln!(
                out,
                "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"dim\">{}</text>",
                BASE + 18.0,
                escape(&under)
            );
        }
    }
    let _ = writeln!(
        out,
        "<line x1=\"{X0}\" y1=\"{BASE}\" x2=\"{X1}\" y2=\"{BASE}\" stroke=\"#a0aec0\"/>"
    );
    if let (Some(far), None) = (far, target) {
        let _ = writeln!(
            out,
            "<text x=\"{X1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"tgt\">RTO target {} (far above) &#8593;</text>",
            TOP,
            span(far)
        );
    }
    if let Some(target) = target {
        let y = y_of(target);
        let _ = writeln!(
            out,
            "<line class=\"target\" x1=\"{X0}\" y1=\"{y:.1}\" x2=\"{X1}\" y2=\"{y:.1}\" stroke=\"{TARGET_STROKE}\" \
             stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{X1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"tgt\">RTO target {}</text>",
            y - 6.0,
            span(target)
        );
    }
    out.push_str("</svg>\n");
}

/// A table cell's text, or `–` for none.
fn or_none(value: Option<&str>) -> String {
    value.map_or_else(|| "–".to_owned(), escape)
}

fn tables(out: &mut String, r: &RunReport) {
    out.push_str(
        "<section id=\"steps\">\n<h2>Steps</h2>\n<table>\n<thead><tr><th>step</th><th>kind</th>\
         <th>state</th><th>start</th><th>duration</th><th>error</th></tr></thead>\n<tbody>\n",
    );
    for s in &r.steps {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"error\">{}</td></tr>",
            escape(&s.id),
            escape(&s.kind_shown()),
            state_words(s.state),
            s.start_secs.map_or("–".to_owned(), |t| span(secs(t))),
            s.secs.map_or("–".to_owned(), |t| span(secs(t))),
            s.error.as_deref().map_or(String::new(), escape),
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");

    out.push_str("<section id=\"changes\">\n<h2>Changes</h2>\n");
    if r.steps.iter().all(|s| s.changes.is_empty()) {
        out.push_str("<p class=\"note\">No step recorded a change.</p>\n");
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>step</th><th></th><th>resource</th><th>before → after</th>\
             </tr></thead>\n<tbody>\n",
        );
        for s in &r.steps {
            for c in &s.changes {
                let values = match (&c.before, &c.after) {
                    (None, None) => String::new(),
                    (before, after) => format!(
                        "{} → {}",
                        or_none(before.as_deref()),
                        or_none(after.as_deref())
                    ),
                };
                let _ = writeln!(
                    out,
                    "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{values}</td></tr>",
                    escape(&s.id),
                    escape(&c.sign),
                    escape(&c.resource),
                );
            }
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");

    out.push_str("<section id=\"undo\">\n<h2>Rollback</h2>\n");
    if r.undo.is_empty() {
        out.push_str("<p class=\"note\">Nothing was undone.</p>\n");
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>step</th><th>start</th><th>duration</th><th>restored</th>\
             <th>error</th></tr></thead>\n<tbody>\n",
        );
        for u in &r.undo {
            let restored: Vec<String> = u.restored.iter().map(|l| escape(l)).collect();
            let by_hand: String = u
                .by_hand
                .iter()
                .map(|l| format!("<br>by hand: <code>{}</code>", escape(l)))
                .collect();
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td>{}</td><td class=\"error\">{}{by_hand}</td></tr>",
                escape(&u.step),
                span(secs(u.start_secs)),
                span(secs(u.secs)),
                restored.join("<br>"),
                u.error.as_deref().map_or(String::new(), escape),
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");

    if let Some(v) = &r.verify {
        out.push_str("<section id=\"verify\">\n<h2>Restore verified against the snapshot</h2>\n");
        if v.differences.is_empty() {
            let _ = writeln!(
                out,
                "<p>{} resources checked: every one holds what it held before.</p>",
                v.checked
            );
        } else {
            let _ = writeln!(
                out,
                "<p>{} of {} resources checked differ from the snapshot.</p>\n<table>\n<thead><tr>\
                 <th>resource</th><th>before the drill</th><th>now</th></tr></thead>\n<tbody>",
                v.differences.len(),
                v.checked
            );
            for d in &v.differences {
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&d.resource),
                    d.before
                        .as_deref()
                        .map_or_else(|| "(did not exist)".to_owned(), escape),
                    d.after
                        .as_deref()
                        .map_or_else(|| "(does not exist)".to_owned(), escape),
                );
            }
            out.push_str("</tbody>\n</table>\n");
        }
        out.push_str("</section>\n");
    }

    out.push_str("<section id=\"warnings\">\n<h2>Warnings</h2>\n");
    if r.warnings.is_empty() {
        out.push_str("<p class=\"note\">None.</p>\n");
    } else {
        out.push_str("<ul>\n");
        for w in &r.warnings {
            let _ = writeln!(out, "<li>{}</li>", escape(w));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<script>alert(1)</script>";

    /// A drill: three steps ran (the last applied then undone), one not reached, a soak, two
    /// undos, a recovery at 42s against a 60s target, and an earlier drill.
    fn report() -> RunReport {
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
    fn attrs(html: &str, start: &str, name: &str) -> Vec<String> {
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
    fn one_bar_per_reached_step_then_the_soak_and_each_undo() {
        let html = render(&report());
        assert_eq!(html.matches("<rect class=\"bar step ").count(), 3);
        assert_eq!(
            attrs(&html, "<rect class=\"bar step ", "data-step"),
            ["snapshot", "repoint", "prod-healthy"]
        );
        assert_eq!(
            attrs(&html, "<rect class=\"bar step ", "fill"),
            [STEP_FILL; 3]
        );
        assert_eq!(
            attrs(&html, "<rect class=\"bar soak\"", "fill"),
            [SOAK_FILL]
        );
        assert_eq!(
            attrs(&html, "<rect class=\"bar undo\"", "data-step"),
            ["repoint", "snapshot"]
        );
        assert_eq!(
            attrs(&html, "<rect class=\"bar undo\"", "fill"),
            [UNDO_FILL; 2]
        );
        // The step not reached has a row and no bar.
        assert!(html.contains(">later<title>"));
        assert!(html.contains(">not reached</text>"));
        // Bars are where their times say: the second starts where the first ends.
        let x = attrs(&html, "<rect class=\"bar step ", "x");
        let w = attrs(&html, "<rect class=\"bar step ", "width");
        let end: f64 = x[0].parse::<f64>().unwrap() + w[0].parse::<f64>().unwrap();
        assert!(
            (end - x[1].parse::<f64>().unwrap()).abs() < 0.2,
            "{x:?} {w:?}"
        );
    }

    #[test]
    fn a_failed_step_is_red() {
        let mut r = report();
        r.steps[2].state = StepState::Failed;
        r.steps[2].error = Some("timed out".into());
        let html = render(&r);
        assert_eq!(
            attrs(&html, "<rect class=\"bar step ", "fill"),
            [STEP_FILL, STEP_FILL, FAILED_FILL]
        );
        assert!(html.contains("7.0s failed"));
    }

    #[test]
    fn the_recovery_marker_is_where_recovery_was() {
        let r = report();
        // The plot spans from zero to the latest end: the last undo's, at 112s.
        let total = 112.0;
        let html = render(&r);
        let x: f64 = attrs(&html, "<line class=\"marker recovery\"", "x1")[0]
            .parse()
            .unwrap();
        assert!((x - (PLOT_X0 + 42.0 / total * PLOT_W)).abs() < 0.1, "{x}");
        let target: f64 = attrs(&html, "<line class=\"marker target\"", "x1")[0]
            .parse()
            .unwrap();
        assert!(
            (target - (PLOT_X0 + 60.0 / total * PLOT_W)).abs() < 0.1,
            "{target}"
        );
        assert!(html.contains("stroke-dasharray"));
        assert!(html.contains(">recovery 42.0s</text>"));
        assert!(html.contains(">RTO target 1m 00s</text>"));
        // Proportional: twice the time, twice as far from zero.
        let mut later = r.clone();
        later.recovery.secs = Some(84.0);
        let html = render(&later);
        let x2: f64 = attrs(&html, "<line class=\"marker recovery\"", "x1")[0]
            .parse()
            .unwrap();
        assert!(
            ((x2 - PLOT_X0) - 2.0 * (x - PLOT_X0)).abs() < 0.2,
            "{x} {x2}"
        );
    }

    #[test]
    fn clients_recovery_is_marked_when_dns_caches_make_it_later() {
        let mut r = report();
        r.recovery.clients_secs = Some(102.0);
        r.recovery.cached = Some(crate::steps::clients::Follow {
            record: "app.example.com. CNAME".into(),
            within_secs: 60,
            why: crate::steps::clients::Why::Ttl,
        });
        let html = render(&r);
        let x: f64 = attrs(&html, "<line class=\"marker clients\"", "x1")[0]
            .parse()
            .unwrap();
        assert!((x - (PLOT_X0 + 102.0 / 112.0 * PLOT_W)).abs() < 0.1, "{x}");
        assert_eq!(
            attrs(&html, "<line class=\"marker clients\"", "stroke"),
            [CLIENTS_STROKE]
        );
        assert!(html.contains(">clients back 1m 42s</text>"));
        assert!(html.contains("<strong>1m 42s</strong> for clients (app.example.com. CNAME: TTL 60s before the change)"));
        // Far beyond the drill: named, not drawn (the bars keep their width).
        r.recovery.clients_secs = Some(4000.0);
        let html = render(&r);
        assert!(!html.contains("marker clients"));
        assert!(html.contains("clients back 66m 40s (beyond the chart)"));
        // No later than the gate (no record changed): one marker only.
        r.recovery.clients_secs = r.recovery.secs;
        let html = render(&r);
        assert!(!html.contains("marker clients") && !html.contains("clients back"));
        assert!(!html.contains("</strong> for clients"));
    }

    #[test]
    fn without_recovery_or_target_there_is_no_marker() {
        let mut r = report();
        r.recovery.secs = None;
        r.recovery.target_secs = None;
        r.recovery.met = None;
        let html = render(&r);
        assert!(!html.contains("marker recovery"));
        assert!(!html.contains("marker target"));
        assert!(html.contains("<strong>not reached</strong>"));
    }

    #[test]
    fn the_trend_has_a_bar_per_drill_and_highlights_this_one() {
        let html = render(&report());
        assert_eq!(
            attrs(&html, "<rect class=\"trend-point", "fill"),
            [TREND_FILL, TREND_CURRENT_FILL]
        );
        assert!(!html.contains("first drill of this playbook"));
        let mut first = report();
        first.trend.remove(0);
        let html = render(&first);
        assert!(html.contains("first drill of this playbook"));
        assert_eq!(
            attrs(&html, "<rect class=\"trend-point", "fill"),
            [TREND_CURRENT_FILL]
        );
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
