//! `standin plan`: the dry run, optionally saved for `standin run --plan`.

use std::path::Path;

use crate::cli::{Cli, GuardArgs, PlaybookArgs};
use crate::engine::plan::{self, PlanDoc, PLAN_FORMAT};
use crate::error::{exit, Error};
use crate::report::{self, Format, Terminal};

pub(super) async fn plan(
    cli: &Cli,
    args: &PlaybookArgs,
    out: Option<&Path>,
    guards: &GuardArgs,
) -> Result<u8, Error> {
    let pb = super::load(args)?;
    let ctx = super::context(&pb.aws, false, &Terminal::default()).await;
    let forced = guards.forced();
    let doc = plan::plan_all(&pb, &ctx, &forced).await;
    if let Some(path) = out {
        save(&doc, path)?;
    }
    match cli.output {
        Format::Json => report::print_json(&doc),
        Format::Human => {
            print!("{}", doc.human());
            if let Some(path) = out {
                println!(
                    "Saved to {}; run exactly this plan with: standin run --plan {}",
                    path.display(),
                    path.display()
                );
            }
        }
    }
    Ok(if doc.runnable() {
        exit::SUCCESS
    } else {
        exit::ROLLED_BACK
    })
}

/// Writes the plan atomically (temporary file, then rename), so a half-written plan never runs.
fn save(doc: &PlanDoc, path: &Path) -> Result<(), Error> {
    let failed = |e: std::io::Error| {
        Error::Usage(format!("cannot save the plan to {}: {e}", path.display()))
    };
    let tmp = path.with_extension("tmp");
    let text = serde_json::to_string_pretty(doc).expect("plans serialize");
    std::fs::write(&tmp, text + "\n").map_err(failed)?;
    std::fs::rename(&tmp, path).map_err(failed)
}

/// Reads a saved plan, refusing files that are not one, or of another format.
pub(super) fn load_saved(path: &Path) -> Result<PlanDoc, Error> {
    let bad = |why: String| {
        Error::Usage(format!(
            "{}: not a usable saved plan: {why}",
            path.display()
        ))
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    match value.get("format").and_then(serde_json::Value::as_u64) {
        Some(f) if f == u64::from(PLAN_FORMAT) => {}
        Some(f) => {
            return Err(bad(format!(
                "plan format {f}; this standin reads format {PLAN_FORMAT}; make a new plan"
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
