//! `standin run`: plan, confirm, execute with the rollback stack.

use crate::cli::{Cli, PlaybookArgs};
use crate::engine::journal::Outcome;
use crate::engine::state::StateDir;
use crate::engine::{self};
use crate::error::{exit, Error};
use crate::report::{self, Console, Format, Terminal};

pub(super) async fn run(cli: &Cli, args: &PlaybookArgs, yes: bool) -> Result<u8, Error> {
    let pb = super::load(args)?;
    let state = StateDir::new(&cli.state_dir);
    let _lock = state.lock(&format!("standin run {}", args.playbook.display()))?;
    let terminal = Terminal::default();
    let ctx = super::context(&pb.aws, yes, &terminal).await;
    let plan = super::plan::plan_all(&pb, &ctx).await;
    if cli.output == Format::Human {
        print!("{}", plan.human());
    }
    if let Some(step) = plan.steps.iter().find(|s| s.error.is_some()) {
        return Err(Error::Plan {
            step: step.id.clone(),
            message: step.error.clone().unwrap_or_default(),
        });
    }
    super::confirm(
        yes,
        &format!(
            "This changes live resources as planned above, for playbook `{}`.",
            pb.name
        ),
        &pb.name,
    )?;
    let run_id = StateDir::new_run_id();
    if cli.output == Format::Human {
        println!(
            "\nRun {run_id} (journal: {})",
            state.journal(&run_id).display()
        );
    }
    let mut console = Console::new(cli.output, terminal);
    let report = engine::run(&pb, &ctx, &state, &run_id, &mut console).await?;
    match cli.output {
        Format::Json => report::print_json(&report),
        Format::Human => print!(
            "\n{}",
            report::human_report(&report, &super::state_flag(cli))
        ),
    }
    Ok(match report.outcome {
        Outcome::Succeeded => exit::SUCCESS,
        Outcome::RolledBack => exit::ROLLED_BACK,
        Outcome::RollbackIncomplete => exit::HUMAN_NEEDED,
    })
}
