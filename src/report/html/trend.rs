//! The trend of `report.html`: one bar per drill of the playbook, its recovery time as clients
//! saw it, this drill highlighted and the RTO target across. Apart from the timeline
//! (`timeline.rs`, whose width and ticks it shares) because it draws the playbook's history,
//! not this run.

use std::fmt::Write as _;

use super::timeline::{tick_step, WIDTH};
use super::{escape, secs, TARGET_STROKE, TREND_CURRENT_FILL, TREND_FILL};
use crate::report::document::{span, RunReport, TrendPoint};

/// Drills shown in the trend chart (the latest).
const MAX_TREND: usize = 40;

/// The trend: one bar per drill of the playbook (the latest [`MAX_TREND`]), this one
/// highlighted, the RTO target across.
pub(super) fn trend(out: &mut String, r: &RunReport) {
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

#[cfg(test)]
mod tests {
    use super::super::render;
    use super::super::tests::{attrs, report};
    use super::*;

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
}
