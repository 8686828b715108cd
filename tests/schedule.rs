//! examples/schedule/: the monthly drill scheduled by cron, systemd, GitHub Actions, a Kubernetes
//! CronJob and EventBridge Scheduler. Each file must be what its tool accepts, and the standin
//! command line it holds must pass standin's own argument parser as a drill of the incident
//! playbook, with the state in S3, `--yes` and `--report`. The exit-code handling of the wrapper
//! and of the workflow runs against a fake `standin`. No emulator is needed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use serde::Deserialize;
use serde_json::Value as Json;
use serde_yaml::Value as Yaml;
use standin::cli::{Cli, Command};
use standin::config::{Location, LockTable};

use crate::support::repo;

/// Everything in examples/schedule/: each is checked below.
const FILES: [&str; 9] = [
    "README.md",
    "crontab",
    "doctor.crontab",
    "eventbridge-scheduler.json",
    "github-actions.yml",
    "kubernetes-cronjob.yaml",
    "standin-drill.service",
    "standin-drill.sh",
    "standin-drill.timer",
];

const WRAPPER: &str = "standin-drill.sh";
const PLAYBOOK: &str = "playbooks/promote-staging.yaml";

fn dir() -> PathBuf {
    repo().join("examples/schedule")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name))
        .unwrap_or_else(|e| panic!("examples/schedule/{name}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// The drill command line.

/// Checks that `argv` is the monthly drill as standin itself parses it, and returns its
/// `--report` directory.
fn check_drill(label: &str, argv: &[String]) -> PathBuf {
    for flag in ["--state", "--lock"] {
        assert!(
            argv.iter()
                .any(|w| w == flag || w.starts_with(&format!("{flag}="))),
            "{label}: {flag} must be on the command line, not left to the environment: {argv:?}"
        );
    }
    let cli = Cli::try_parse_from(argv)
        .unwrap_or_else(|e| panic!("{label}: standin rejects {argv:?}:\n{}", e.render()));
    assert_eq!(
        cli.state,
        Some(Location::S3 {
            bucket: "acme-standin-state".into(),
            prefix: "shop".into()
        }),
        "{label}: the state must be the team's, in S3: {argv:?}"
    );
    assert_eq!(
        cli.lock,
        Some(LockTable("standin-locks".into())),
        "{label}: {argv:?}"
    );
    match cli.command {
        Command::Drill {
            playbook,
            soak,
            dry,
            report,
            yes,
            ..
        } => {
            assert_eq!(playbook.playbook, Path::new(PLAYBOOK), "{label}: {argv:?}");
            assert!(
                yes,
                "{label}: no one can confirm a scheduled drill: --yes. {argv:?}"
            );
            assert!(
                !dry,
                "{label}: a scheduled drill is a real one, not --dry: {argv:?}"
            );
            assert!(!soak.is_zero(), "{label}: no --soak: {argv:?}");
            report.unwrap_or_else(|| panic!("{label}: no --report DIR: {argv:?}"))
        }
        other => panic!("{label}: not a drill: {other:?}"),
    }
}

/// The standin command line behind a command a scheduler runs: standin itself, the wrapper
/// (whose own command line is read), or `sh -c '...'`.
fn drill_argv(label: &str, words: &[String]) -> Vec<String> {
    let words = simple(words).unwrap_or_else(|| panic!("{label}: no command"));
    match basename(&words[0]) {
        "standin" => words,
        WRAPPER => standin_drill_in(WRAPPER, &read(WRAPPER)),
        "sh" | "bash" if words.get(1).is_some_and(|w| w == "-c") && words.len() > 2 => {
            standin_drill_in(label, &words[2])
        }
        _ => panic!("{label}: runs {words:?}, neither standin nor {WRAPPER}"),
    }
}

/// The one `standin ... drill ...` command of a shell text.
fn standin_drill_in(label: &str, script: &str) -> Vec<String> {
    let found: Vec<Vec<String>> = shell_commands(script)
        .iter()
        .filter_map(|c| simple(c))
        .filter(|c| basename(&c[0]) == "standin" && c.iter().any(|w| w == "drill"))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{label}: expected exactly one `standin ... drill` command, found {found:?}"
    );
    found.into_iter().next().unwrap()
}

/// A command without its leading `NAME=value` assignments, `exec` and `command`.
fn simple(words: &[String]) -> Option<Vec<String>> {
    let start = words
        .iter()
        .position(|w| !is_assignment(w) && w != "exec" && w != "command")?;
    Some(words[start..].to_vec())
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        name.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// The simple commands of a shell text, each as its words after quote removal: enough of the
/// shell for these files. Quotes, backslashes, comments and line continuations are honoured;
/// `$(...)` and `${...}` are kept whole and nothing is expanded (`"$dir"` stays `$dir`); a
/// newline, `;`, `&`, `|`, a parenthesis or a redirection ends a command.
fn shell_commands(text: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    let end_word = |word: &mut String, in_word: &mut bool, words: &mut Vec<String>| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(next) => {
                    word.push(next);
                    in_word = true;
                }
                None => {
                    word.push('\\');
                    in_word = true;
                }
            },
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => word.push(ch),
                        None => panic!("unterminated ' in {text:?}"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('$' | '`' | '"' | '\\')) => word.push(ch),
                            Some('\n') => {}
                            Some(ch) => {
                                word.push('\\');
                                word.push(ch);
                            }
                            None => panic!("unterminated \" in {text:?}"),
                        },
                        Some(ch) => word.push(ch),
                        None => panic!("unterminated \" in {text:?}"),
                    }
                }
            }
            '$' if matches!(chars.peek(), Some('(' | '{')) => {
                let open = chars.next().unwrap();
                let close = if open == '(' { ')' } else { '}' };
                word.push('$');
                word.push(open);
                in_word = true;
                let mut depth = 1;
                while depth > 0 {
                    let ch = chars
                        .next()
                        .unwrap_or_else(|| panic!("unterminated ${open} in {text:?}"));
                    if ch == open {
                        depth += 1;
                    } else if ch == close {
                        depth -= 1;
                    }
                    word.push(ch);
                }
            }
            '#' if !in_word => while chars.next_if(|&ch| ch != '\n').is_some() {},
            ' ' | '\t' | '\r' => end_word(&mut word, &mut in_word, &mut words),
            '\n' | ';' | '&' | '|' | '(' | ')' | '<' | '>' => {
                end_word(&mut word, &mut in_word, &mut words);
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    end_word(&mut word, &mut in_word, &mut words);
    if !words.is_empty() {
        commands.push(words);
    }
    commands
}

#[test]
fn the_shell_splitter_reads_what_these_files_write() {
    let script = "# a comment\nx=1 exec standin --a 'b c' \"d \\\"e\\\" $f\" \\\n  g\\ h \"$(date -u +%F)\" ${x:-y z} || code=$?\necho 'standin drill' >&2";
    assert_eq!(
        shell_commands(script),
        vec![
            vec![
                "x=1",
                "exec",
                "standin",
                "--a",
                "b c",
                "d \"e\" $f",
                "g h",
                "$(date -u +%F)",
                "${x:-y z}"
            ],
            vec!["code=$?"],
            vec!["echo", "standin drill"],
            vec!["2"],
        ]
    );
    assert_eq!(
        standin_drill_in(
            "t",
            "standin --state s3://b/p drill x.yaml --yes; echo standin drill"
        ),
        vec!["standin", "--state", "s3://b/p", "drill", "x.yaml", "--yes"]
    );
    // The check itself refuses what it should.
    let argv = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    let good = "standin --state s3://acme-standin-state/shop --lock dynamodb://standin-locks drill playbooks/promote-staging.yaml --yes --soak 10m --report r";
    check_drill("good", &argv(good));
    for bad in [
        good.replace(" --yes", ""),
        good.replace(" --report r", ""),
        good.replace(" --soak 10m", ""),
        good.replace("s3://acme-standin-state/shop", ".standin"),
        good.replace(" drill ", " run "),
        good.replace("--soak 10m", "--soak ten"),
        good.replace("--yes", "--yes --dry"),
    ] {
        let result = std::panic::catch_unwind(|| check_drill("bad", &argv(&bad)));
        assert!(result.is_err(), "accepted: {bad}");
    }
}

// ---------------------------------------------------------------------------------------------
// Schedules.

/// A cron field: `*`, numbers or names, ranges, lists and steps, within `min..=max`.
fn cron_field_ok(field: &str, (min, max): (u32, u32), names: &[&str], base: u32) -> bool {
    let number = |s: &str| {
        s.parse::<u32>()
            .ok()
            .or_else(|| {
                names
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(s))
                    .map(|i| i as u32 + base)
            })
            .filter(|n| (min..=max).contains(n))
    };
    !field.is_empty()
        && field.split(',').all(|item| {
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => (range, Some(step)),
                None => (item, None),
            };
            let step_ok =
                step.is_none_or(|s| s.parse::<u32>().is_ok_and(|n| (1..=max).contains(&n)));
            let range_ok = range == "*"
                || match range.split_once('-') {
                    Some((a, b)) => matches!((number(a), number(b)), (Some(a), Some(b)) if a <= b),
                    None => number(range).is_some(),
                };
            step_ok && range_ok
        })
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// A day that every month has.
fn every_month_has(day: &str) -> bool {
    day.parse::<u32>().is_ok_and(|d| (1..=28).contains(&d))
}

/// A cron field's name, range, names (`jan`...) and the number of its first name.
type CronField = (&'static str, (u32, u32), &'static [&'static str], u32);

/// A 5-field cron expression (crontab, GitHub Actions, Kubernetes) that fires once a month.
fn check_monthly_cron(label: &str, expr: &str) {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    assert_eq!(fields.len(), 5, "{label}: `{expr}` is not 5 cron fields");
    let specs: [CronField; 5] = [
        ("minute", (0, 59), &[], 0),
        ("hour", (0, 23), &[], 0),
        ("day of month", (1, 31), &[], 0),
        ("month", (1, 12), &MONTHS, 1),
        ("day of week", (0, 7), &DAYS, 0),
    ];
    for (field, (name, range, names, base)) in fields.iter().zip(specs) {
        assert!(
            cron_field_ok(field, range, names, base),
            "{label}: `{expr}`: `{field}` is not a valid {name}"
        );
    }
    let single = |f: &str| f.parse::<u32>().is_ok();
    assert!(
        single(fields[0]) && single(fields[1]) && every_month_has(fields[2]),
        "{label}: `{expr}` must fire once a month: one minute, one hour, one day of month (1-28)"
    );
    assert_eq!(
        (fields[3], fields[4]),
        ("*", "*"),
        "{label}: `{expr}` must fire every month, whatever the weekday"
    );
}

#[test]
fn the_cron_check_refuses_what_cron_would() {
    check_monthly_cron("t", "0 6 1 * *");
    check_monthly_cron("t", "30 23 28 * *");
    for bad in [
        "0 6 1 *",
        "60 6 1 * *",
        "0 24 1 * *",
        "0 6 0 * *",
        "0 6 31 * *",
        "0 6 1 13 *",
        "0 6 1 * 8",
        "0 6 * * *",
        "0 6 1 * mon",
        "0 6 1 */2 *",
        "x 6 1 * *",
    ] {
        let result = std::panic::catch_unwind(|| check_monthly_cron("t", bad));
        assert!(result.is_err(), "accepted: {bad}");
    }
    assert!(cron_field_ok("1-5,7/2", (0, 59), &[], 0));
    assert!(cron_field_ok("mon-fri", (0, 7), &DAYS, 0));
    assert!(!cron_field_ok("5-1", (0, 59), &[], 0));
    assert!(!cron_field_ok("*/0", (0, 59), &[], 0));
}

// ---------------------------------------------------------------------------------------------
// crontab

/// A crontab's entries: its lines but comments, blank lines and variable settings.
fn cron_entries(name: &str) -> Vec<String> {
    read(name)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|l| !is_assignment(l.split_whitespace().next().unwrap_or("")))
        .map(str::to_owned)
        .collect()
}

#[test]
fn crontab_runs_the_monthly_drill() {
    let entries = cron_entries("crontab");
    assert_eq!(
        entries.len(),
        1,
        "crontab: expected one entry, found {entries:?}"
    );
    let fields: Vec<&str> = entries[0].splitn(6, char::is_whitespace).collect();
    assert_eq!(fields.len(), 6, "crontab: `{}` has no command", entries[0]);
    check_monthly_cron("crontab", &fields[..5].join(" "));
    let command = fields[5].trim();
    // cron turns an unescaped % into a newline.
    assert!(
        !command.replace("\\%", "").contains('%'),
        "crontab: an unescaped % in `{command}`"
    );
    let commands = shell_commands(command);
    assert_eq!(commands.len(), 1, "crontab: `{command}`");
    check_drill("crontab", &drill_argv("crontab", &commands[0]));
}

/// The daily `standin doctor` of the team's state and playbook, as standin parses it.
#[test]
fn doctor_crontab_checks_the_accounts_every_day() {
    let entries = cron_entries("doctor.crontab");
    assert_eq!(entries.len(), 1, "doctor.crontab: {entries:?}");
    let fields: Vec<&str> = entries[0].splitn(6, char::is_whitespace).collect();
    assert_eq!(
        fields[2..5],
        ["*", "*", "*"],
        "doctor.crontab: not daily: {fields:?}"
    );
    assert!(cron_field_ok(fields[0], (0, 59), &[], 0) && cron_field_ok(fields[1], (0, 23), &[], 0));
    let commands = shell_commands(fields[5]);
    let argv = commands
        .iter()
        .filter_map(|c| simple(c))
        .find(|c| basename(&c[0]) == "standin")
        .expect("doctor.crontab runs standin");
    let cli = Cli::try_parse_from(&argv)
        .unwrap_or_else(|e| panic!("doctor.crontab: standin rejects {argv:?}:\n{}", e.render()));
    assert!(matches!(cli.state, Some(Location::S3 { .. })), "{argv:?}");
    match cli.command {
        Command::Doctor { playbook, .. } => {
            assert_eq!(playbook.as_deref(), Some(Path::new(PLAYBOOK)), "{argv:?}");
        }
        other => panic!("doctor.crontab: not doctor: {other:?}"),
    }
    let playbook = std::fs::read_to_string(repo().join(PLAYBOOK)).unwrap();
    assert!(
        playbook.contains("\ndrill_every: "),
        "the drilled playbook says how often"
    );
}

// ---------------------------------------------------------------------------------------------
// The wrapper

/// A directory with a fake `standin` that records its arguments and exits with
/// `$FAKE_CODE`, a fake `logger`, and an alert hook that records its arguments.
struct Fakes {
    dir: tempfile::TempDir,
}

impl Fakes {
    fn new(standin: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::create_dir(dir.path().join("home")).unwrap();
        let script = |name: &str, body: &str| {
            let path = bin.join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        script("standin", standin);
        script("logger", "printf '%s\\n' \"$@\" >> \"$FAKES/logger\"\n");
        script("alert", "printf '%s\\n' \"$@\" > \"$FAKES/alert\"\n");
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A command with only these fakes and the system's tools on its PATH.
    fn command(&self, program: &str) -> Process {
        let mut command = Process::new(program);
        command
            .env_clear()
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", self.path("bin").display()),
            )
            .env("FAKES", self.dir.path())
            .env("FAKE_ARGV", self.path("argv"))
            .current_dir(self.path("home"))
            .stdin(Stdio::null());
        command
    }

    /// The arguments the fake standin was called with.
    fn argv(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.path("argv")).expect("standin was not called");
        std::iter::once("standin".to_owned())
            .chain(text.lines().map(String::from))
            .collect()
    }

    fn lines(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.path(name))
            .map(|t| t.lines().map(String::from).collect())
            .unwrap_or_default()
    }
}

const FAKE_STANDIN: &str = "printf '%s\\n' \"$@\" > \"$FAKE_ARGV\"\nexit \"$FAKE_CODE\"\n";

/// How loud each exit code must be: `ok`, `warn` (6), `alert` (1, 2, 4) or `page` (3, 5 and
/// anything unexpected).
fn level(code: i32) -> &'static str {
    match code {
        0 => "ok",
        6 => "warn",
        1 | 2 | 4 => "alert",
        _ => "page",
    }
}

const CODES: [i32; 8] = [0, 1, 2, 3, 4, 5, 6, 42];

fn bash() -> Option<&'static str> {
    Path::new("/bin/bash").exists().then_some("/bin/bash")
}

#[test]
fn wrapper_runs_the_monthly_drill() {
    let path = dir().join(WRAPPER);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert!(mode & 0o111 != 0, "{WRAPPER} is not executable ({mode:o})");
    check_drill(WRAPPER, &standin_drill_in(WRAPPER, &read(WRAPPER)));
    if let Some(bash) = bash() {
        let out = Process::new(bash).arg("-n").arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "bash -n {WRAPPER}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn wrapper_keeps_the_exit_code_and_alerts_as_loud_as_it_deserves() {
    let Some(bash) = bash() else { return };
    for code in CODES {
        let fakes = Fakes::new(FAKE_STANDIN);
        let reports = fakes.path("reports");
        let out = fakes
            .command(bash)
            .arg(dir().join(WRAPPER))
            .env("FAKE_CODE", code.to_string())
            .env("STANDIN_HOME", fakes.path("home"))
            .env("STANDIN_DRILL_REPORTS", &reports)
            .env("STANDIN_DRILL_ALERT", fakes.path("bin/alert"))
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "exit {code}: {said}");
        // The argv as the shell really passed it, expanded.
        let report = check_drill(&format!("{WRAPPER} (run)"), &fakes.argv());
        assert!(
            report.starts_with(&reports) && report != reports,
            "exit {code}: each drill gets its own directory under STANDIN_DRILL_REPORTS: {report:?}"
        );
        let alert = fakes.lines("alert");
        if code == 0 {
            assert!(alert.is_empty(), "exit 0 alerted: {alert:?}");
        } else {
            assert_eq!(
                alert.first().map(String::as_str),
                Some(level(code)),
                "exit {code}: alert {alert:?}"
            );
            assert_eq!(
                alert.get(1),
                Some(&code.to_string()),
                "exit {code}: {alert:?}"
            );
        }
        assert!(said.contains(level(code)), "exit {code}: {said}");
        let logged = fakes.lines("logger").join(" ");
        let priority = match level(code) {
            "ok" => "user.info",
            "warn" => "user.warning",
            "alert" => "user.err",
            _ => "user.crit",
        };
        assert!(
            logged.contains(priority),
            "exit {code}: logger got {logged}"
        );
    }
}

#[test]
fn wrapper_waits_for_standin_to_stop_on_sigterm_then_pages() {
    use std::os::unix::process::CommandExt;
    let Some(bash) = bash() else { return };
    // Like standin: on SIGTERM, stop cleanly with changes in place, exit 5.
    let fakes = Fakes::new(
        "trap 'exit 5' TERM\nprintf '%s\\n' \"$@\" > \"$FAKE_ARGV.new\"\nmv \"$FAKE_ARGV.new\" \"$FAKE_ARGV\"\nsleep 30 &\nwait\nexit 0\n",
    );
    let mut child = fakes
        .command(bash)
        .arg(dir().join(WRAPPER))
        .env("STANDIN_HOME", fakes.path("home"))
        .env("STANDIN_DRILL_REPORTS", fakes.path("reports"))
        .env("STANDIN_DRILL_ALERT", fakes.path("bin/alert"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let group = child.id() as i32;
    let signal = |sig| unsafe { libc::kill(-group, sig) };
    let started = Instant::now();
    while !fakes.path("argv").exists() {
        if started.elapsed() > Duration::from_secs(20) {
            signal(libc::SIGKILL);
            panic!("the fake standin never started");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // As systemd stops a unit: SIGTERM to every process of it.
    assert_eq!(signal(libc::SIGTERM), 0);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            signal(libc::SIGKILL);
            panic!("the wrapper did not end after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut said = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut said).unwrap();
    assert_eq!(status.code(), Some(5), "{said}");
    assert_eq!(
        fakes.lines("alert").first().map(String::as_str),
        Some("page"),
        "{said}"
    );
}

// ---------------------------------------------------------------------------------------------
// systemd

type Sections = BTreeMap<String, Vec<(String, String)>>;

/// A unit file's sections and their `Key=Value` lines, in order.
fn unit_sections(label: &str, text: &str) -> Sections {
    let mut sections = Sections::new();
    let mut current: Option<String> = None;
    let mut logical = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if logical.is_empty() && (line.starts_with('#') || line.starts_with(';')) {
            continue;
        }
        if let Some(start) = line.strip_suffix('\\') {
            logical.push_str(start);
            logical.push(' ');
            continue;
        }
        logical.push_str(line);
        let line = std::mem::take(&mut logical);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            let name = name
                .strip_suffix(']')
                .unwrap_or_else(|| panic!("{label}: `{line}` is not a [Section]"));
            assert!(
                sections.insert(name.to_owned(), Vec::new()).is_none(),
                "{label}: [{name}] twice"
            );
            current = Some(name.to_owned());
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{label}: `{line}` is neither a [Section] nor Key=Value"));
        let key = key.trim();
        assert!(
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{label}: `{key}` is not a key"
        );
        let section = current
            .as_ref()
            .unwrap_or_else(|| panic!("{label}: `{line}` comes before any [Section]"));
        sections
            .get_mut(section)
            .unwrap()
            .push((key.to_owned(), value.trim().to_owned()));
    }
    sections
}

fn values<'a>(sections: &'a Sections, section: &str, key: &str) -> Vec<&'a str> {
    sections
        .get(section)
        .map(|pairs| {
            pairs
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .collect()
        })
        .unwrap_or_default()
}

fn one<'a>(label: &str, sections: &'a Sections, section: &str, key: &str) -> &'a str {
    let found = values(sections, section, key);
    assert_eq!(
        found.len(),
        1,
        "{label}: [{section}] must have one {key}=, has {found:?}"
    );
    found[0]
}

/// `systemd-analyze`, if this machine has it.
fn systemd_analyze(args: &[&str]) -> Option<Output> {
    Process::new("systemd-analyze").args(args).output().ok()
}

/// An `OnCalendar=` value that fires once a month, at a fixed time.
fn check_monthly_calendar(label: &str, value: &str) {
    let form = regex::Regex::new(
        r"^(monthly|\*-\*-(\d{1,2}) \d{1,2}:\d{2}(:\d{2})?( UTC| [A-Za-z]+/[A-Za-z_]+)?)$",
    )
    .unwrap();
    let found = form.captures(value).unwrap_or_else(|| {
        panic!("{label}: OnCalendar={value} is not `monthly` nor `*-*-DD HH:MM[:SS] [ZONE]`")
    });
    if let Some(day) = found.get(2) {
        assert!(
            every_month_has(day.as_str()),
            "{label}: OnCalendar={value}: a day every month has (1-28)"
        );
    }
    if let Some(out) = systemd_analyze(&["calendar", value]) {
        assert!(
            out.status.success(),
            "{label}: systemd-analyze calendar '{value}': {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn systemd_units_run_the_monthly_drill() {
    let service = unit_sections("standin-drill.service", &read("standin-drill.service"));
    let label = "standin-drill.service";
    assert!(!one(label, &service, "Unit", "Description").is_empty());
    assert_eq!(
        one(label, &service, "Service", "Type"),
        "oneshot",
        "{label}"
    );
    let user = one(label, &service, "Service", "User");
    assert!(
        user != "root" && user != "0",
        "{label}: a drill needs no root: User={user}"
    );
    assert!(
        values(&service, "Service", "SuccessExitStatus")
            .iter()
            .flat_map(|v| v.split_whitespace())
            .any(|code| code == "6"),
        "{label}: a drill that passed slowly (6) is not a failed unit: SuccessExitStatus=6"
    );
    assert!(
        values(&service, "Service", "Environment")
            .iter()
            .chain(&values(&service, "Service", "EnvironmentFile"))
            .all(|v| !v.to_ascii_uppercase().contains("AWS_SECRET")),
        "{label}: credentials come from the instance profile, not the unit"
    );
    let exec = one(label, &service, "Service", "ExecStart");
    let exec = exec.trim_start_matches(['-', '@', ':', '+', '!']);
    let commands = shell_commands(exec);
    assert_eq!(commands.len(), 1, "{label}: ExecStart={exec}");
    assert!(
        commands[0][0].starts_with('/'),
        "{label}: ExecStart needs an absolute path: {exec}"
    );
    check_drill(label, &drill_argv(label, &commands[0]));

    let label = "standin-drill.timer";
    let timer = unit_sections(label, &read(label));
    assert!(!one(label, &timer, "Unit", "Description").is_empty());
    check_monthly_calendar(label, one(label, &timer, "Timer", "OnCalendar"));
    assert!(
        matches!(
            one(label, &timer, "Timer", "Persistent"),
            "true" | "yes" | "1" | "on"
        ),
        "{label}: Persistent=true, so a drill missed while the host was off still runs"
    );
    let delay = one(label, &timer, "Timer", "RandomizedDelaySec");
    let delay = humantime::parse_duration(delay)
        .or_else(|_| {
            delay
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|e| e.to_string())
        })
        .unwrap_or_else(|e| panic!("{label}: RandomizedDelaySec={delay}: {e}"));
    assert!(!delay.is_zero(), "{label}: RandomizedDelaySec=0");
    for unit in values(&timer, "Timer", "Unit") {
        assert_eq!(unit, "standin-drill.service", "{label}: Unit=");
    }
    assert!(
        one(label, &timer, "Install", "WantedBy")
            .split_whitespace()
            .any(|t| t == "timers.target"),
        "{label}: WantedBy=timers.target"
    );
}

#[test]
fn systemd_analyze_verify_finds_no_syntax_error() {
    let work = tempfile::tempdir().unwrap();
    for unit in ["standin-drill.service", "standin-drill.timer"] {
        std::fs::copy(dir().join(unit), work.path().join(unit)).unwrap();
    }
    let service = work.path().join("standin-drill.service");
    let timer = work.path().join("standin-drill.timer");
    let Some(out) =
        systemd_analyze(&["verify", service.to_str().unwrap(), timer.to_str().unwrap()])
    else {
        return;
    };
    // What is not installed here (the wrapper in /usr/local/bin) is not the units' fault.
    let syntax = [
        "Unknown key",
        "Unknown section",
        "Unknown lvalue",
        "Failed to parse",
        "Invalid",
        "Missing '='",
        "bad-setting",
        "outside of section",
    ];
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| syntax.iter().any(|s| l.contains(s)))
        .collect();
    assert!(
        errors.is_empty(),
        "systemd-analyze verify:\n{}",
        errors.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions

fn yaml(label: &str, text: &str) -> Yaml {
    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{label}: not YAML: {e}"))
}

fn string<'a>(value: &'a Yaml, label: &str, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{label}: {what} is not a string: {value:?}"))
}

/// `env:` of a workflow, job or step, as plain strings.
fn env_of(value: &Yaml) -> BTreeMap<String, String> {
    value["env"]
        .as_mapping()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let value = match v {
                        Yaml::String(s) => s.clone(),
                        Yaml::Number(n) => n.to_string(),
                        Yaml::Bool(b) => b.to_string(),
                        _ => return None,
                    };
                    Some((k.as_str()?.to_owned(), value))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The workflow's drill job and the index of its drill step.
fn drill_step(label: &str, workflow: &Yaml) -> (Yaml, usize) {
    let jobs = workflow["jobs"]
        .as_mapping()
        .unwrap_or_else(|| panic!("{label}: no jobs"));
    assert!(!jobs.is_empty(), "{label}: no jobs");
    let mut found = Vec::new();
    for (name, job) in jobs {
        let steps = job["steps"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{label}: job {name:?} has no steps"));
        assert!(!steps.is_empty(), "{label}: job {name:?} has no steps");
        for (i, step) in steps.iter().enumerate() {
            let run = step["run"].as_str().unwrap_or("");
            let drills = shell_commands(run)
                .iter()
                .filter_map(|c| simple(c))
                .any(|c| basename(&c[0]) == "standin" && c.iter().any(|w| w == "drill"));
            if drills {
                found.push((job.clone(), i));
            }
        }
    }
    assert_eq!(
        found.len(),
        1,
        "{label}: expected one step that runs the drill"
    );
    found.pop().unwrap()
}

#[test]
fn github_workflow_runs_the_monthly_drill() {
    let label = "github-actions.yml";
    let workflow = yaml(label, &read(label));
    let on = &workflow["on"];
    let cron = on["schedule"][0]["cron"]
        .as_str()
        .unwrap_or_else(|| panic!("{label}: no on.schedule[0].cron"));
    check_monthly_cron(label, cron);
    assert!(
        on.as_mapping()
            .is_some_and(|m| m.contains_key("workflow_dispatch")),
        "{label}: on.workflow_dispatch, to run a drill by hand"
    );
    assert_eq!(
        workflow["permissions"]["id-token"].as_str(),
        Some("write"),
        "{label}: permissions.id-token: write, for OIDC"
    );
    let (job, drill) = drill_step(label, &workflow);
    let steps = job["steps"].as_sequence().unwrap();
    let uses = |i: usize| steps[i]["uses"].as_str().unwrap_or("");
    let position = |what: &str, test: &dyn Fn(usize) -> bool| {
        (0..steps.len())
            .find(|&i| test(i))
            .unwrap_or_else(|| panic!("{label}: no step that {what}"))
    };

    let checkout = position("checks out", &|i| uses(i).starts_with("actions/checkout@"));
    let install = position("installs standin from the checkout", &|i| {
        shell_commands(steps[i]["run"].as_str().unwrap_or(""))
            .iter()
            .any(|c| c.join(" ").starts_with("cargo install --locked --path ."))
    });
    let credentials = position("gets AWS credentials", &|i| {
        uses(i).starts_with("aws-actions/configure-aws-credentials@")
    });
    let with = &steps[credentials]["with"];
    assert!(
        with["role-to-assume"]
            .as_str()
            .is_some_and(|r| r.starts_with("arn:aws:iam::") && r.contains(":role/")),
        "{label}: configure-aws-credentials needs role-to-assume (OIDC)"
    );
    for key in [
        "aws-access-key-id",
        "aws-secret-access-key",
        "aws-session-token",
    ] {
        assert!(
            with.get(key).is_none(),
            "{label}: {key}: use OIDC, not keys"
        );
    }
    assert!(
        checkout < install && install < drill && credentials < drill,
        "{label}: checkout, install and credentials must come before the drill"
    );

    let run = string(&steps[drill]["run"], label, "the drill step's run");
    let report = check_drill(label, &standin_drill_in(label, run));

    let upload = position("uploads the report", &|i| {
        uses(i).starts_with("actions/upload-artifact@")
    });
    assert!(upload > drill, "{label}: the upload comes after the drill");
    assert!(
        steps[upload]["if"]
            .as_str()
            .is_some_and(|c| c.contains("always()")),
        "{label}: the report is uploaded whatever the drill's outcome: if: always()"
    );
    let mut env = env_of(&workflow);
    env.extend(env_of(&job));
    env.extend(env_of(&steps[drill]));
    let resolve = |text: &str| {
        let var = regex::Regex::new(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$").unwrap();
        let expr = regex::Regex::new(r"^\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$").unwrap();
        match var.captures(text).or_else(|| expr.captures(text)) {
            Some(c) => env
                .get(&c[1])
                .cloned()
                .unwrap_or_else(|| panic!("{label}: {text} is not in env")),
            None => text.to_owned(),
        }
    };
    let path = string(&steps[upload]["with"]["path"], label, "the upload's path");
    assert_eq!(
        resolve(path),
        resolve(report.to_str().unwrap()),
        "{label}: the upload must keep the drill's --report directory"
    );
}

#[test]
fn github_workflow_passes_6_warns_and_fails_every_other_code() {
    let Some(bash) = bash() else { return };
    let label = "github-actions.yml";
    let workflow = yaml(label, &read(label));
    let (job, drill) = drill_step(label, &workflow);
    let step = &job["steps"][drill];
    let run = string(&step["run"], label, "the drill step's run");
    // GitHub runs `run:` with `bash -e {0}`, or `bash --noprofile --norc -eo pipefail {0}`
    // when the step says `shell: bash`.
    let flags: &[&str] = match step["shell"].as_str() {
        None => &["-e"],
        Some("bash") => &["--noprofile", "--norc", "-eo", "pipefail"],
        Some(other) => panic!("{label}: the drill step's shell is {other}"),
    };
    let mut env = env_of(&workflow);
    env.extend(env_of(&job));
    env.extend(env_of(step));
    for code in CODES {
        let fakes = Fakes::new(FAKE_STANDIN);
        std::fs::write(fakes.path("step.sh"), run).unwrap();
        let outputs = fakes.path("github_output");
        std::fs::write(&outputs, "").unwrap();
        let out = fakes
            .command(bash)
            .args(flags)
            .arg(fakes.path("step.sh"))
            .envs(&env)
            .env("FAKE_CODE", code.to_string())
            .env("GITHUB_OUTPUT", &outputs)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        let passes = code == 0 || code == 6;
        assert_eq!(
            out.status.success(),
            passes,
            "exit {code}: the step must {} ({:?}): {said}",
            if passes { "pass" } else { "fail" },
            out.status.code()
        );
        check_drill(&format!("{label} (run)"), &fakes.argv());
        let written: BTreeMap<String, String> = std::fs::read_to_string(&outputs)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect();
        assert_eq!(written.get("code"), Some(&code.to_string()), "exit {code}");
        assert_eq!(
            written.get("level").map(String::as_str),
            Some(level(code)),
            "exit {code}"
        );
        if code == 6 {
            assert!(said.contains("::warning"), "exit 6 warns: {said}");
        } else if code != 0 {
            assert!(said.contains("::error"), "exit {code} is an error: {said}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

#[test]
fn kubernetes_cronjob_runs_the_monthly_drill() {
    let label = "kubernetes-cronjob.yaml";
    let docs: Vec<Yaml> = serde_yaml::Deserializer::from_str(&read(label))
        .map(|d| Yaml::deserialize(d).unwrap_or_else(|e| panic!("{label}: not YAML: {e}")))
        .collect();
    let of_kind = |kind: &str| -> Vec<&Yaml> {
        docs.iter()
            .filter(|d| d["kind"].as_str() == Some(kind))
            .collect()
    };
    let cronjobs = of_kind("CronJob");
    assert_eq!(cronjobs.len(), 1, "{label}: one CronJob");
    let cronjob = cronjobs[0];
    assert_eq!(cronjob["apiVersion"].as_str(), Some("batch/v1"), "{label}");
    let spec = &cronjob["spec"];
    check_monthly_cron(label, string(&spec["schedule"], label, "spec.schedule"));
    assert_eq!(
        spec["concurrencyPolicy"].as_str(),
        Some("Forbid"),
        "{label}: never two drills at once"
    );
    let job = &spec["jobTemplate"]["spec"];
    assert_eq!(
        job["backoffLimit"].as_u64(),
        Some(0),
        "{label}: a drill is never retried"
    );
    let pod = &job["template"]["spec"];
    assert_eq!(
        pod["restartPolicy"].as_str(),
        Some("Never"),
        "{label}: restartPolicy Never (OnFailure would run the drill again)"
    );

    let account = string(&pod["serviceAccountName"], label, "serviceAccountName");
    let role = of_kind("ServiceAccount")
        .into_iter()
        .find(|sa| sa["metadata"]["name"].as_str() == Some(account))
        .unwrap_or_else(|| panic!("{label}: no ServiceAccount {account}"))["metadata"]
        ["annotations"]["eks.amazonaws.com/role-arn"]
        .as_str()
        .unwrap_or_else(|| panic!("{label}: ServiceAccount {account} has no IRSA role"));
    assert!(
        role.starts_with("arn:aws:iam::") && role.contains(":role/"),
        "{label}: {role}"
    );

    let containers = pod["containers"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{label}: no containers"));
    let argv_of = |c: &Yaml| -> Vec<String> {
        ["command", "args"]
            .iter()
            .flat_map(|k| c[*k].as_sequence().cloned().unwrap_or_default())
            .map(|w| match w {
                Yaml::String(s) => s,
                Yaml::Number(n) => n.to_string(),
                other => panic!("{label}: argument {other:?} is not a string"),
            })
            .collect()
    };
    let drilling: Vec<&Yaml> = containers
        .iter()
        .filter(|c| argv_of(c).iter().any(|w| w == "drill"))
        .collect();
    assert_eq!(drilling.len(), 1, "{label}: one container runs the drill");
    let container = drilling[0];
    let argv = argv_of(container);
    // Kubernetes expands $(NAME) from the container's env, and leaves it as is otherwise.
    let env: BTreeSet<&str> = container["env"]
        .as_sequence()
        .map(|s| s.iter().filter_map(|e| e["name"].as_str()).collect())
        .unwrap_or_default();
    let reference = regex::Regex::new(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)").unwrap();
    for word in &argv {
        for found in reference.captures_iter(word) {
            assert!(
                env.contains(&found[1]),
                "{label}: $({}) is not in the container's env",
                &found[1]
            );
        }
    }
    // What the kubelet runs: each $(NAME) expanded from the container's env (a secret's or a
    // field's value stands in as an example of its kind).
    let value_of = |name: &str| -> String {
        let entry = container["env"]
            .as_sequence()
            .into_iter()
            .flatten()
            .find(|e| e["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("{label}: no env {name}"));
        match (entry["value"].as_str(), &entry["valueFrom"]) {
            (Some(value), _) => value.to_owned(),
            (None, from) if !from["secretKeyRef"].is_null() => {
                "https://hooks.example.com/services/T0/B0/x".to_owned()
            }
            (None, _) => format!("{}-from-field", name.to_ascii_lowercase()),
        }
    };
    let expanded: Vec<String> = argv
        .iter()
        .map(|w| {
            reference
                .replace_all(w, |c: &regex::Captures| value_of(&c[1]))
                .into_owned()
        })
        .collect();
    let report = check_drill(label, &drill_argv(label, &expanded));

    // The report directory is on a volume that outlives the pod.
    let mount = container["volumeMounts"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|m| {
            m["mountPath"]
                .as_str()
                .is_some_and(|p| report.starts_with(p))
        })
        .unwrap_or_else(|| panic!("{label}: --report {report:?} is on no volume"));
    let volume = pod["volumes"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == mount["name"])
        .unwrap_or_else(|| panic!("{label}: no volume {:?}", mount["name"]));
    let claim = volume["persistentVolumeClaim"]["claimName"]
        .as_str()
        .unwrap_or_else(|| panic!("{label}: the reports' volume must be a persistentVolumeClaim"));
    assert!(
        of_kind("PersistentVolumeClaim")
            .iter()
            .any(|c| c["metadata"]["name"].as_str() == Some(claim)),
        "{label}: no PersistentVolumeClaim {claim}"
    );

    let name = container["name"].as_str().unwrap_or("");
    for rule in job["podFailurePolicy"]["rules"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        if let Some(on) = rule["onExitCodes"].as_mapping() {
            let named = on.get("containerName").and_then(Yaml::as_str);
            assert!(
                named.is_none_or(|n| n == name),
                "{label}: a podFailurePolicy rule names {named:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// EventBridge Scheduler

fn text<'a>(value: &'a Json, label: &str, what: &str) -> &'a str {
    value
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| panic!("{label}: {what} is required: {value}"))
}

#[test]
fn eventbridge_schedule_runs_the_monthly_drill() {
    let label = "eventbridge-scheduler.json";
    let doc: Json = serde_json::from_str(&read(label)).unwrap_or_else(|e| panic!("{label}: {e}"));
    text(&doc["Name"], label, "Name");

    let expression = text(&doc["ScheduleExpression"], label, "ScheduleExpression");
    let fields: Vec<&str> = expression
        .strip_prefix("cron(")
        .and_then(|e| e.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{label}: {expression} is not cron(...)"))
        .split_whitespace()
        .collect();
    assert_eq!(fields.len(), 6, "{label}: {expression}: 6 fields");
    assert!(
        cron_field_ok(fields[0], (0, 59), &[], 0),
        "{label}: {expression}: minutes"
    );
    assert!(
        cron_field_ok(fields[1], (0, 23), &[], 0),
        "{label}: {expression}: hours"
    );
    assert!(
        (fields[2] == "?") != (fields[4] == "?"),
        "{label}: {expression}: one of day-of-month and day-of-week must be `?`"
    );
    assert!(
        fields[2] == "?" || cron_field_ok(fields[2], (1, 31), &[], 0),
        "{label}: {expression}"
    );
    assert!(
        cron_field_ok(fields[3], (1, 12), &MONTHS, 1),
        "{label}: {expression}: month"
    );
    assert!(
        fields[4] == "?" || cron_field_ok(fields[4], (1, 7), &DAYS, 1),
        "{label}: {expression}"
    );
    assert!(
        fields[5] == "*" || cron_field_ok(fields[5], (1970, 2199), &[], 0),
        "{label}: {expression}: year"
    );
    assert!(
        fields[0].parse::<u32>().is_ok()
            && fields[1].parse::<u32>().is_ok()
            && every_month_has(fields[2])
            && fields[3] == "*"
            && fields[4] == "?",
        "{label}: {expression} must fire once a month"
    );

    let window = &doc["FlexibleTimeWindow"];
    match text(&window["Mode"], label, "FlexibleTimeWindow.Mode") {
        "OFF" => {}
        "FLEXIBLE" => assert!(
            window["MaximumWindowInMinutes"]
                .as_u64()
                .is_some_and(|m| (1..=1440).contains(&m)),
            "{label}: FLEXIBLE needs MaximumWindowInMinutes (1-1440)"
        ),
        other => panic!("{label}: FlexibleTimeWindow.Mode {other}"),
    }

    let target = &doc["Target"];
    let arn = text(&target["Arn"], label, "Target.Arn");
    assert!(
        arn.starts_with("arn:aws:ecs:") && arn.contains(":cluster/"),
        "{label}: Target.Arn {arn} is not an ECS cluster"
    );
    let role = text(&target["RoleArn"], label, "Target.RoleArn");
    assert!(
        role.starts_with("arn:aws:iam::") && role.contains(":role/"),
        "{label}: Target.RoleArn {role}"
    );
    let ecs = &target["EcsParameters"];
    text(
        &ecs["TaskDefinitionArn"],
        label,
        "Target.EcsParameters.TaskDefinitionArn",
    );
    assert_eq!(
        ecs["LaunchType"].as_str(),
        Some("FARGATE"),
        "{label}: LaunchType"
    );
    let subnets = ecs["NetworkConfiguration"]["awsvpcConfiguration"]["Subnets"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(
        subnets > 0,
        "{label}: Fargate needs NetworkConfiguration.awsvpcConfiguration.Subnets"
    );
    assert_eq!(
        target["RetryPolicy"]["MaximumRetryAttempts"].as_u64(),
        Some(0),
        "{label}: a drill is never retried: RetryPolicy.MaximumRetryAttempts 0"
    );

    let input: Json = serde_json::from_str(text(&target["Input"], label, "Target.Input"))
        .unwrap_or_else(|e| panic!("{label}: Target.Input is not JSON: {e}"));
    let overrides = input["containerOverrides"]
        .as_array()
        .unwrap_or_else(|| panic!("{label}: Target.Input has no containerOverrides"));
    let commands: Vec<Vec<String>> = overrides
        .iter()
        .filter_map(|o| {
            text(&o["name"], label, "containerOverrides[].name");
            o["command"].as_array()
        })
        .map(|c| {
            c.iter()
                .map(|w| text(w, label, "a command word").to_owned())
                .collect()
        })
        .collect();
    assert_eq!(
        commands.len(),
        1,
        "{label}: one container override with a command"
    );
    check_drill(label, &drill_argv(label, &commands[0]));
}

// ---------------------------------------------------------------------------------------------
// All of them

#[test]
fn every_schedule_file_is_here_and_checked() {
    let found: BTreeSet<String> = std::fs::read_dir(dir())
        .expect("examples/schedule/")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = FILES.iter().map(|f| f.to_string()).collect();
    assert_eq!(
        found, expected,
        "examples/schedule/: add a check to tests/schedule.rs for a new file"
    );
}

#[test]
fn schedule_readme_covers_each_file_and_every_exit_code() {
    let readme = read("README.md");
    for file in FILES.iter().filter(|f| **f != "README.md") {
        assert!(readme.contains(file), "README.md does not mention {file}");
    }
    for exit in standin::error::Exit::ALL {
        assert!(
            readme.contains(&format!("| {} |", exit.code())),
            "README.md's exit code table has no row for {}",
            exit.code()
        );
    }
}

#[test]
fn no_schedule_file_holds_a_credential() {
    let patterns = regex::RegexSet::new([
        r"\b(AKIA|ASIA)[0-9A-Z]{16}\b",
        r"(?i)aws_secret_access_key\s*[=:]",
        r"(?i)aws_access_key_id\s*[=:]",
        r"(?i)aws_session_token\s*[=:]",
        r"(?i)aws-secret-access-key\s*:",
        r"(?i)aws-access-key-id\s*:",
        r"hooks\.slack\.com/services/T[0-9A-Z]+/",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    ])
    .unwrap();
    for file in FILES {
        let text = read(file);
        for (n, line) in text.lines().enumerate() {
            assert!(
                !patterns.is_match(line),
                "examples/schedule/{file}:{}: looks like a credential: {line}",
                n + 1
            );
        }
    }
}
