//! Color for a person at a terminal, painted over the plain text line by line: the words are
//! the same with and without it, so what a script or a test reads never depends on the
//! terminal, and a line's color follows from what the line already says (`+` added, `~`
//! changed, `-` removed, `!` take note, `FAILED`).
//!
//! `--color auto` (the default) paints only a terminal, and never when `NO_COLOR` is set to
//! anything (<https://no-color.org>) or `TERM` is `dumb`; `always` and `never` decide alone.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use anstyle::{AnsiColor, Style};

/// `--color`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set or `TERM=dumb`.
    #[default]
    Auto,
    Always,
    Never,
}

/// Which stream a text goes to: each is painted only if it is a terminal (under `auto`).
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

static STDOUT: AtomicBool = AtomicBool::new(false);
static STDERR: AtomicBool = AtomicBool::new(false);

/// Decides once, at start, whether each stream is painted.
pub fn choose(choice: ColorChoice) {
    let wanted = |terminal: bool| match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            terminal
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        }
    };
    STDOUT.store(wanted(std::io::stdout().is_terminal()), Ordering::Relaxed);
    STDERR.store(wanted(std::io::stderr().is_terminal()), Ordering::Relaxed);
}

/// `text` (already escaped: it holds no escape sequence of its own) with each line painted
/// as its words say, if `stream` is painted.
pub fn paint(text: &str, stream: Stream) -> String {
    let on = match stream {
        Stream::Stdout => &STDOUT,
        Stream::Stderr => &STDERR,
    };
    if !on.load(Ordering::Relaxed) {
        return text.to_owned();
    }
    text.split_inclusive('\n')
        .map(|line| {
            let (body, end) = line
                .strip_suffix('\n')
                .map_or((line, ""), |body| (body, "\n"));
            match style(body) {
                Some(style) if !body.is_empty() => {
                    format!("{}{body}{}{end}", style.render(), style.render_reset())
                }
                _ => line.to_owned(),
            }
        })
        .collect()
}

fn fg(color: AnsiColor) -> Style {
    Style::new().fg_color(Some(color.into()))
}

/// A line's style, from the words the plain output already uses.
fn style(line: &str) -> Option<Style> {
    let trimmed = line.trim_start();
    let failed = ["FAILED", "NOT undone", "error:", "failed", "refused"];
    if failed.iter().any(|word| trimmed.starts_with(word))
        || line.contains(" FAILED")
        || line.contains("UNDO FAILED")
        || (trimmed.starts_with("Run ") && line.contains(" failed"))
    {
        return Some(fg(AnsiColor::Red).bold());
    }
    let first = trimmed.split(' ').next().unwrap_or_default();
    Some(match first {
        "+" => fg(AnsiColor::Green),
        "~" => fg(AnsiColor::Yellow),
        "-" => fg(AnsiColor::Red),
        "!" | "warning:" | "FORCED" => fg(AnsiColor::Yellow),
        "?" => fg(AnsiColor::Cyan),
        "=" => Style::new().dimmed(),
        "ok" | "ok:" | "undone" => fg(AnsiColor::Green),
        "Rolling" | "Rolled" => fg(AnsiColor::Yellow).bold(),
        "Run" if line.contains(" succeeded") => fg(AnsiColor::Green).bold(),
        _ if first.starts_with('[') && first.ends_with(']') && first.contains('/') => {
            Style::new().bold()
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_line_gets_its_color_and_others_none() {
        let green = fg(AnsiColor::Green);
        assert_eq!(style("    + listener rule"), Some(green));
        assert_eq!(
            style("    ~ /shop/staging/DB_HOST: a → b"),
            Some(fg(AnsiColor::Yellow))
        );
        assert_eq!(
            style("    - shop-staging QUEUE_URL: x → removed"),
            Some(fg(AnsiColor::Red))
        );
        assert_eq!(
            style("[2/11] copy (ssm.copy-parameters)"),
            Some(Style::new().bold())
        );
        assert_eq!(style("    ok: applied in 0.1s"), Some(green));
        assert_eq!(
            style("Run 2026 failed at step `x`: boom"),
            Some(fg(AnsiColor::Red).bold())
        );
        assert_eq!(
            style("    NOT undone a: drift"),
            Some(fg(AnsiColor::Red).bold())
        );
        assert_eq!(style("Plan: 2 to add, 7 to change"), None);
        assert_eq!(style("-> not a removal"), None);
    }

    #[test]
    fn a_painted_text_keeps_its_words_and_line_breaks() {
        STDOUT.store(true, Ordering::Relaxed);
        let text = "Plan for `x`:\n    + a\n\n    ~ b\n";
        let painted = paint(text, Stream::Stdout);
        STDOUT.store(false, Ordering::Relaxed);
        assert_eq!(
            painted,
            "Plan for `x`:\n\u{1b}[32m    + a\u{1b}[0m\n\n\u{1b}[33m    ~ b\u{1b}[0m\n"
        );
        assert_eq!(paint(text, Stream::Stdout), text);
    }
}
