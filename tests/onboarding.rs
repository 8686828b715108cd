//! What a new team meets first, and what calls no AWS: shell completions, man pages, color,
//! and the playbook schema, checked by an independent validator.

use std::process::Command;

fn standin(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_standin"))
        .args(args)
        .output()
        .expect("run standin")
}

/// What bash offers after `line` (the cursor at its end), with standin's completion loaded
/// the way bash-completion loads it: the script sourced, then its function called.
fn bash_completes(line: &str) -> Vec<String> {
    let script = String::from_utf8(standin(&["completions", "bash"]).stdout).unwrap();
    let words: Vec<&str> = line.split(' ').collect();
    let driver = format!(
        "{script}\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n_standin standin '{cur}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        words = words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
        cword = words.len() - 1,
        cur = words[words.len() - 1],
        prev = words[words.len() - 2],
    );
    lines(
        Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &driver])
            .output()
            .expect("bash"),
    )
}

/// The lines a successful command printed.
fn lines(out: std::process::Output) -> Vec<String> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_commands_and_their_flags() {
    assert_eq!(bash_completes("standin ro"), ["rollback"]);
    let commands = bash_completes("standin ");
    for command in [
        "plan",
        "run",
        "rollback",
        "resume",
        "status",
        "drill",
        "completions",
        "man",
    ] {
        assert!(
            commands.iter().any(|c| c == command),
            "{command} not in {commands:?}"
        );
    }
    assert_eq!(bash_completes("standin run --ye"), ["--yes"]);
    let flags = bash_completes("standin rollback --");
    for flag in [
        "--last",
        "--force",
        "--yes",
        "--force-unlock",
        "--state",
        "--output",
    ] {
        assert!(flags.iter().any(|f| f == flag), "{flag} not in {flags:?}");
    }
    assert_eq!(
        bash_completes("standin --output j"),
        ["json"],
        "values of an enumerated flag"
    );
    assert_eq!(bash_completes("standin completions fi"), ["fish"]);
}

#[test]
fn every_shell_gets_a_script_and_an_unknown_one_is_refused() {
    for (shell, marker) in [
        ("bash", "complete -F _standin"),
        ("zsh", "#compdef standin"),
        ("fish", "complete -c standin"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = standin(&["completions", shell]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success() && text.contains(marker),
            "{shell}: {text}"
        );
        assert!(text.contains("rollback"), "{shell} script lacks a command");
    }
    let out = standin(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("possible values: bash"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_man_page_names_every_command_and_one_page_each_can_be_written() {
    let out = standin(&["man"]);
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert!(
        page.starts_with(".ie") && page.contains(".TH standin 1"),
        "{page}"
    );
    for command in ["plan", "run", "rollback", "resume", "drill", "iam\\-policy"] {
        assert!(
            page.contains(&format!("standin\\-{command}(1)")),
            "{command} missing: {page}"
        );
    }
    // The exit codes travel into the page.
    assert!(page.contains("Exit codes"), "{page}");

    let dir = tempfile::tempdir().unwrap();
    let into = dir.path().join("man1");
    let out = standin(&["man", "--dir", into.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = std::fs::read_to_string(into.join("standin-run.1")).unwrap();
    assert!(run.contains("\\-\\-yes"), "{run}");

    // A file where the directory should be: a clear error, exit 2.
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let out = standin(&["man", "--dir", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot write the man pages into"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `standin ARGS` on a pseudo-terminal (util-linux `script`), with `env` added: what the
/// terminal got.
fn on_a_terminal(args: &str, env: &[(&str, &str)]) -> String {
    let out = Command::new("script")
        .args([
            "-qec",
            &format!("{} {args}", env!("CARGO_BIN_EXE_standin")),
            "/dev/null",
        ])
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .envs(env.iter().copied())
        .output()
        .expect("script (util-linux)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn color_only_on_a_terminal_unless_no_color_or_the_flag_says_otherwise() {
    const RED_ERROR: &str = "\u{1b}[1m\u{1b}[31merror: invalid playbook";
    let missing = "validate /nonexistent/playbook.yaml";
    assert!(on_a_terminal(missing, &[]).contains(RED_ERROR));
    let no_color = on_a_terminal(missing, &[("NO_COLOR", "1")]);
    assert!(no_color.contains("error: invalid playbook") && !no_color.contains('\u{1b}'));
    let never = on_a_terminal(&format!("--color never {missing}"), &[]);
    assert!(!never.contains('\u{1b}'), "{never:?}");
    assert!(!on_a_terminal(missing, &[("TERM", "dumb")]).contains('\u{1b}'));
    // `--color always` wins over NO_COLOR, and paints a pipe too.
    let out = Command::new(env!("CARGO_BIN_EXE_standin"))
        .args([
            "--color",
            "always",
            "validate",
            "/nonexistent/playbook.yaml",
        ])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).starts_with(RED_ERROR));
    // A pipe gets plain text by default.
    let piped = standin(&["validate", "/nonexistent/playbook.yaml"]);
    assert!(!String::from_utf8_lossy(&piped.stderr).contains('\u{1b}'));
}

/// The playbooks of the repository, each naming the schema on its first line.
const PLAYBOOKS: &[&str] = &[
    "playbooks/promote-staging.yaml",
    "examples/across-accounts.yaml",
    "examples/alb-fronted.yaml",
    "examples/blue-green.yaml",
    "examples/restore-production.yaml",
    "examples/ssm-only.yaml",
    "scripts/bench/failover.yaml",
];

/// Validates each of `files` against `schema` with Python's `jsonschema` (draft 2020-12), a
/// validator that shares nothing with standin; returns each file's first errors.
fn python_validates(schema: &std::path::Path, files: &[std::path::PathBuf]) -> Vec<String> {
    const CHECK: &str = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
for path in sys.argv[2:]:
    errors = sorted(validator.iter_errors(yaml.safe_load(open(path))), key=lambda e: list(e.path))
    print(json.dumps([f"{'/'.join(map(str, e.path))}: {e.message}"[:300] for e in errors[:3]]))
"#;
    let python = std::env::var("STANDIN_PYTHON").expect("STANDIN_PYTHON (scripts/test.sh sets it)");
    let out = Command::new(python)
        .arg("-c")
        .arg(CHECK)
        .arg(schema)
        .args(files)
        .output()
        .unwrap();
    lines(out)
}

#[test]
fn every_playbook_validates_against_the_schema_and_broken_ones_do_not() {
    let out = standin(&["schema"]);
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema.json");
    std::fs::write(&schema, &out.stdout).unwrap();
    let repo = crate::support::repo();
    let files: Vec<_> = PLAYBOOKS.iter().map(|p| repo.join(p)).collect();
    let results = python_validates(&schema, &files);
    for (file, errors) in PLAYBOOKS.iter().zip(&results) {
        assert_eq!(errors, "[]", "{file}");
        let first = std::fs::read_to_string(repo.join(file)).unwrap();
        assert!(
            first.starts_with("# yaml-language-server: $schema=")
                && first
                    .lines()
                    .next()
                    .unwrap()
                    .ends_with("docs/playbook.schema.json"),
            "{file} does not name the schema on its first line"
        );
    }
    // Variables stand for text anywhere, ids and durations included.
    let with_vars = dir.path().join("vars.yaml");
    std::fs::write(
        &with_vars,
        "version: 1\nname: t\nvars: {wait: 5s, env: staging}\nsteps:\n  - id: wait-${vars.env}\n    kind: pause\n    duration: ${vars.wait}\n",
    )
    .unwrap();
    assert!(standin(&["validate", with_vars.to_str().unwrap()])
        .status
        .success());
    assert_eq!(python_validates(&schema, &[with_vars]), ["[]"]);
    // What an editor must flag: a misspelt field, an unknown kind, a duration that is a
    // number, a group of one, a confirm inside a group, a missing name.
    let broken = [
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: pause\n    duraton: 5s\n",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: route53.repiont\n",
        "version: 1\nname: t\nsteps:\n  - id: a\n    kind: pause\n    duration: 5\n",
        "version: 1\nname: t\nsteps:\n  - parallel:\n      - id: a\n        kind: pause\n        duration: 5s\n",
        "version: 1\nname: t\nsteps:\n  - parallel:\n      - id: a\n        kind: confirm\n        message: go?\n      - id: b\n        kind: pause\n        duration: 5s\n",
        "version: 1\nsteps:\n  - id: a\n    kind: pause\n    duration: 5s\n",
        "version: 2\nname: t\nsteps:\n  - id: a\n    kind: pause\n    duration: 5s\n",
    ];
    let files: Vec<_> = broken
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let path = dir.path().join(format!("broken-{i}.yaml"));
            std::fs::write(&path, text).unwrap();
            // standin refuses each too.
            let refused = standin(&["validate", path.to_str().unwrap()]);
            assert_eq!(refused.status.code(), Some(2), "{text}");
            path
        })
        .collect();
    for (text, errors) in broken.iter().zip(python_validates(&schema, &files)) {
        assert_ne!(errors, "[]", "the schema accepts:\n{text}");
    }
}

/// The schema in docs/, which the repository's playbooks name, is what this build prints.
#[test]
fn the_schema_in_docs_is_current() {
    let printed = String::from_utf8(standin(&["schema"]).stdout).unwrap();
    let kept =
        std::fs::read_to_string(crate::support::repo().join("docs/playbook.schema.json")).unwrap();
    assert!(
        printed == kept,
        "docs/playbook.schema.json is stale: run `cargo run -q -- schema > docs/playbook.schema.json`"
    );
}

/// `--notify` takes a webhook, refused before anything runs otherwise (no file:// write, no
/// drill that finds out only at its end).
#[test]
fn a_notify_target_that_is_not_a_webhook_is_refused_at_once() {
    for bad in [
        "file:///etc/passwd",
        "ftp://example.com/x",
        "not a url",
        "https://",
    ] {
        let out = standin(&[
            "drill",
            "playbooks/promote-staging.yaml",
            "--yes",
            "--notify",
            bad,
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(
            stderr.contains("http:// or https:// URL"),
            "{bad}: {stderr}"
        );
    }
}
