//! `standin plan`: the dry run, and the planning pass `run` shows before it asks.

use futures_util::{stream, StreamExt};

use crate::cli::{Cli, PlaybookArgs};
use crate::error::{exit, Error};
use crate::playbook::Playbook;
use crate::report::{self, Format, PlanDoc, PlannedStep, Terminal};
use crate::steps::Ctx;

/// At most this many steps are planned at once: enough to hide latency, few enough not to be
/// throttled by the APIs.
const PLAN_CONCURRENCY: usize = 8;

/// Plans every step against live state. Planning only reads, so steps are planned
/// concurrently (bounded); results keep the playbook's order.
pub(super) async fn plan_all(pb: &Playbook, ctx: &Ctx) -> PlanDoc {
    let steps = stream::iter(&pb.steps)
        .map(|def| async move {
            let (changes, warnings, error) = match def.step.plan(ctx).await {
                Ok(p) => (p.changes, p.warnings, None),
                Err(e) => (Vec::new(), Vec::new(), Some(e.to_string())),
            };
            PlannedStep {
                id: def.id.clone(),
                kind: def.kind.name.to_owned(),
                description: def.description.clone(),
                changes,
                warnings,
                error,
            }
        })
        .buffered(PLAN_CONCURRENCY)
        .collect()
        .await;
    PlanDoc::new(pb.name.clone(), pb.path.display().to_string(), steps)
}

pub(super) async fn plan(cli: &Cli, args: &PlaybookArgs) -> Result<u8, Error> {
    let pb = super::load(args)?;
    let ctx = super::context(&pb.aws, false, &Terminal::default()).await;
    let doc = plan_all(&pb, &ctx).await;
    match cli.output {
        Format::Json => report::print_json(&doc),
        Format::Human => print!("{}", doc.human()),
    }
    Ok(if doc.summary.failed_steps > 0 {
        exit::ROLLED_BACK
    } else {
        exit::SUCCESS
    })
}
