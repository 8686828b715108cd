//! `standin plan`: the dry run, optionally saved for `standin run --plan`.

use std::path::Path;

use crate::cli::{Cli, GuardArgs, PlaybookArgs};
use crate::engine::plan::{self, PlanDoc, PLAN_FORMAT};
use crate::error::{Ending, Error};
use crate::report::{self, Format, Terminal};

pub(super) async fn plan(
    cli: &Cli,
    args: &PlaybookArgs,
    out: Option<&Path>,
    guards: &GuardArgs,
) -> Result<Ending, Error> {
    let pb = super::load(args)?;
    pb.warnings_text().iter().for_each(|w| report::warn(w));
    let ctx = super::playbook_context(&pb, false, &Terminal::default()).await;
    let forced = guards.forced();
    let doc = plan::plan_all(&pb, &ctx, &forced).await;
    if let Some(path) = out {
        save(&doc, path)?;
    }
    match cli.output {
        Format::Json => report::print_json(&doc),
        Format::Human => {
            report::outcome(&doc.human());
            if let Some(path) = out {
                report::line(&format!(
                    "Saved to {}; run exactly this plan with: standin run --plan {}",
                    path.display(),
                    path.display()
                ));
            }
        }
    }
    Ok(if doc.runnable() {
        Ending::Done
    } else {
        Ending::Unrunnable
    })
}

/// Saves the plan (see [`super::write_file`]: a half-written plan never runs, and a planted
/// link is never written through).
fn save(doc: &PlanDoc, path: &Path) -> Result<(), Error> {
    super::write_file(path, &doc.document())
        .map_err(|e| Error::Usage(format!("cannot save the plan to {}: {e}", path.display())))
}

/// Reads a saved plan, refusing files that are not one, or of another format.
pub(super) fn load_saved(path: &Path) -> Result<PlanDoc, Error> {
    let bad = |why: String| {
        Error::Usage(format!(
            "{}: not a usable saved plan: {why}",
            path.display()
        ))
    };
    let text =
        crate::input::read_text(path, crate::input::PLAN_CAP).map_err(|e| bad(e.to_string()))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let format = value.get("format");
    if format.is_some_and(|f| f.as_u64().is_none()) {
        return Err(bad(format!(
            "`format` is {}, not a whole number; make a new plan with `standin plan -o FILE`",
            format.expect("checked")
        )));
    }
    match format.and_then(serde_json::Value::as_u64) {
        Some(f) if f == u64::from(PLAN_FORMAT) => {}
        Some(f) if f < u64::from(PLAN_FORMAT) => {
            return Err(bad(format!(
                "plan format {f} was written by an older standin (this one reads format {PLAN_FORMAT}: typed values); make a new plan"
            )))
        }
        Some(f) => {
            return Err(bad(format!(
                "plan format {f} was written by a newer standin (this one reads format {PLAN_FORMAT}); use that standin, or make a new plan"
            )))
        }
        None => {
            return Err(bad(
                "no `format` field; make it with `standin plan -o FILE`".into(),
            ))
        }
    }
    serde_json::from_value(value).map_err(|e| bad(e.to_string()))
}
