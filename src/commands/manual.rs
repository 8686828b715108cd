//! Shell completions and man pages, generated from the clap definition in [`crate::cli`], so
//! they name exactly the commands and flags this build takes.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Ending, Error};

pub fn completions(shell: clap_complete::Shell) -> Result<Ending, Error> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "standin", &mut out);
    print(&out);
    Ok(Ending::Done)
}

/// The man page of `standin` to stdout, or one page per command into `dir`.
pub fn man(dir: Option<&Path>) -> Result<Ending, Error> {
    let command = Cli::command();
    let written = match dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .map(|()| print(&out))
        }
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(command, dir))
            .map(|()| crate::report::line(&format!("man pages written to {}", dir.display()))),
    };
    written.map_err(|e| {
        let into = dir.map_or_else(String::new, |d| format!(" into {}", d.display()));
        Error::Usage(format!("cannot write the man pages{into}: {e}"))
    })?;
    Ok(Ending::Done)
}

/// Raw bytes to stdout; a closed pipe (`| head`) is not an error.
fn print(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
}
