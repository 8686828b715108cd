//! The tables of `report.html`, below its charts: the steps, the changes, the rollback, the
//! restore's verification and the warnings, every value as text. Apart from the charts because
//! they say in words, cell by cell, what the charts draw.

use std::fmt::Write as _;

use super::{escape, secs, state_words};
use crate::report::document::{span, RunReport};

/// A table cell's text, or `–` for none.
fn or_none(value: Option<&str>) -> String {
    value.map_or_else(|| "–".to_owned(), escape)
}

pub(super) fn tables(out: &mut String, r: &RunReport) {
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
