//! `standin init`: drafts a playbook per production/staging pair found in the live account
//! (read calls only), asks which pairs are right on a terminal, writes the drafts (never over
//! an existing file unless `--force`), and checks that each one it wrote is a valid playbook.

use std::io::IsTerminal;
use std::path::Path;

use crate::aws::Clients;
use crate::cli::Cli;
use crate::config::AwsSettings;
use crate::draft;
use crate::error::{Ending, Error};
use crate::report::{self, Format, Terminal};

pub struct InitArgs<'a> {
    pub dir: &'a Path,
    pub only: Option<(&'a str, &'a str)>,
    pub yes: bool,
    pub force: bool,
}

/// `iam-policy --for init`: what init reads, in the partition of the standard chain's region.
pub async fn policy() -> crate::iam::Policy {
    let partition =
        crate::iam::partition(crate::aws::region(&AwsSettings::default()).await.as_deref());
    // The drafting's reads, and the plan's coverage check that init runs on each draft.
    crate::iam::policy(
        &[("init", draft::needs()), ("init", crate::coverage::needs())],
        crate::iam::Phase::Init,
        |arn| arn.render(partition, None),
    )
}

pub async fn init(cli: &Cli, args: InitArgs<'_>) -> Result<Ending, Error> {
    if let Some((prod, staging)) = args.only.filter(|(p, s)| p == s) {
        return Err(Error::Usage(format!(
            "--prod {prod} and --staging {staging} name one environment: a stand-in is another environment"
        )));
    }
    let aws = Clients::load(&AwsSettings::default()).await;
    let account = draft::read(&aws).await?;
    let found = draft::candidates(&account, args.only);
    if found.is_empty() {
        return Err(Error::Usage(match args.only {
            Some((prod, staging)) => format!(
                "no web environments named {prod} and {staging} (`aws elasticbeanstalk describe-environments` lists them)"
            ),
            None => "no pair of Elastic Beanstalk environments whose names tell production from staging (prod, production, prd, live / staging, stage, stg, beta, preprod, uat); name them with --prod ENV --staging ENV".to_owned(),
        }));
    }
    let terminal = Terminal::default();
    let mut chosen = Vec::new();
    for (production, staging) in found {
        let pair = format!("{} stands in for {}", staging.name, production.name);
        let take = if args.yes {
            true
        } else if std::io::stdin().is_terminal() {
            let answer = terminal
                .ask(&format!("Draft a playbook where {pair}? [Y/n]"))
                .unwrap_or_default();
            !matches!(answer.to_ascii_lowercase().as_str(), "n" | "no")
        } else {
            return Err(Error::NoConfirmation);
        };
        if take {
            chosen.push((production, staging));
        }
    }
    let mut drafts: Vec<(draft::Draft, std::path::PathBuf)> = Vec::new();
    for (production, staging) in chosen {
        let drafted = draft::draft(&aws, &account, production, staging).await?;
        // Two applications whose names differ only by punctuation (`my.app`, `my-app`) have
        // one stem: each gets a file of its own.
        let path = (1..)
            .map(|n| match n {
                1 => format!("promote-{}.yaml", drafted.stem),
                n => format!("promote-{}-{n}.yaml", drafted.stem),
            })
            .map(|name| args.dir.join(name))
            .find(|path| drafts.iter().all(|(_, taken)| taken != path))
            .expect("a free name");
        drafts.push((drafted, path));
    }
    // Nothing is written when any file is in the way.
    let taken: Vec<String> = drafts
        .iter()
        .filter(|(_, path)| path.exists() || path.is_symlink())
        .map(|(_, path)| path.display().to_string())
        .collect();
    if !taken.is_empty() && !args.force {
        return Err(Error::Usage(format!(
            "{} already exist(s); nothing was written (pass --force to write over, or --dir elsewhere)",
            taken.join(", ")
        )));
    }
    std::fs::create_dir_all(args.dir).map_err(|e| written(args.dir, &e))?;
    let schema = args.dir.join("playbook.schema.json");
    if !schema.exists() {
        let text = serde_json::to_string_pretty(&crate::playbook::schema()).expect("serializes");
        super::write_file(&schema, format!("{text}\n").as_bytes())
            .map_err(|e| written(&schema, &e))?;
    }
    let today = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let mut lines = Vec::new();
    let mut uncovered = Vec::new();
    for (drafted, path) in &drafts {
        let text = draft::render(
            drafted,
            "playbook.schema.json",
            &format!("the live account on {}", &today[..10]),
        );
        // Loaded from a file beside its place first: a draft that does not load (standin's
        // bug, not the user's) is never left where it would block the next `init`.
        let trial = path.with_extension("yaml.draft");
        super::write_file(&trial, text.as_bytes()).map_err(|e| written(&trial, &e))?;
        let pb = match crate::playbook::load(&trial, &[]) {
            Ok(pb) => pb,
            Err(invalid) => {
                let _ = std::fs::remove_file(&trial);
                return Err(invalid.into());
            }
        };
        // The plan's own coverage check, on the draft: what it leaves behind is listed at
        // its end, as comments with their covers.
        let checked = coverage(&pb, drafted).await;
        let text = format!("{text}{}", checked.as_comments());
        super::write_file(&trial, text.as_bytes()).map_err(|e| written(&trial, &e))?;
        std::fs::rename(&trial, path).map_err(|e| written(path, &e))?;
        let gaps = match checked.findings.len() {
            0 => String::new(),
            n => format!("; {n} part(s) of production it leaves behind are listed at its end"),
        };
        uncovered.push(checked.findings.len());
        lines.push(format!(
            "wrote {} ({} stands in for {}{gaps}); next: standin plan {}",
            path.display(),
            drafted.staging.name,
            drafted.production.name,
            path.display()
        ));
    }
    match cli.output {
        Format::Json => report::print_json(&serde_json::json!({
            "written": drafts.iter().zip(&uncovered).map(|((d, p), n)| serde_json::json!({
                "path": p, "production": d.production.name, "staging": d.staging.name,
                "uncovered": n,
            })).collect::<Vec<_>>(),
        })),
        Format::Human => {
            for line in lines {
                report::line(&line);
            }
        }
    }
    Ok(Ending::Done)
}

/// The coverage of the draft `pb` of `drafted`: production is its environment's CNAME, which
/// the draft's repoint moves to the stand-in's.
async fn coverage(
    pb: &crate::playbook::Playbook,
    drafted: &draft::Draft,
) -> crate::coverage::Checked {
    let Some(endpoint) = drafted.production.cname.as_deref() else {
        return crate::coverage::Checked::default();
    };
    let to = drafted.staging.cname.as_deref().unwrap_or_default();
    let moves = crate::coverage::Moves::drafted(
        endpoint,
        drafted.record.as_ref().map(|(_, record)| record),
        to,
    );
    let ctx = super::playbook_context(pb, false, &Terminal::default()).await;
    let later = crate::coverage::Later::default();
    later.give(moves);
    crate::coverage::check(pb, &later, &ctx).await
}

fn written(path: &Path, e: &std::io::Error) -> Error {
    Error::Usage(format!(
        "cannot write {}: {e}; nothing more was written",
        path.display()
    ))
}
