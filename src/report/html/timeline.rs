//! The timeline of `report.html`: one SVG row per step, then the soak and each undo, drawn to
//! scale on one time axis, with the markers of the RTO target, recovery and clients' recovery
//! across the rows. Apart from the page (`mod.rs`) because it is the report's geometry: where
//! each bar and line goes, and how text is placed so that it fits.

use std::fmt::Write as _;

use super::{
    clients, escape, secs, state_words, CLIENTS_STROKE, FAILED_FILL, RECOVERY_STROKE, SOAK_FILL,
    STEP_FILL, TARGET_STROKE, UNDO_FILL,
};
use crate::engine::view::StepState;
use crate::report::document::{span, RunReport, StepReport};

/// The timeline's geometry (SVG user units, drawn 1:1 in a page up to 1100px wide).
pub(super) const WIDTH: f64 = 1100.0;
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

/// Whether a step's bar is drawn as failed.
fn failed(step: &StepReport) -> bool {
    step.state == StepState::Failed || step.error.is_some()
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
pub(super) fn tick_step(total: f64) -> f64 {
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
pub(super) fn timeline(out: &mut String, r: &RunReport) {
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

#[cfg(test)]
mod tests {
    use super::super::render;
    use super::super::tests::{attrs, report};
    use super::*;

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
}
