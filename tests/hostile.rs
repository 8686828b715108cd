//! The emergency path tried as a careless, hostile or unlucky user would: hand-edited saved
//! plans, a bug that panics inside a step, planted links and control characters, files that
//! never end, record sets Route 53 would refuse, gates that outlast their bound. Each ends with
//! a clear error and the exit code that says what happened, and nothing changed.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{cases, Rng, World};

/// `standin run --yes --plan FILE --var (edge vars)`.
fn run_plan(world: &World, file: &str) -> crate::support::Out {
    let mut args = vec![
        "run".to_owned(),
        "--yes".to_owned(),
        "--plan".to_owned(),
        file.to_owned(),
    ];
    args.extend(world.edge_vars());
    world.standin_env(&[], &args)
}

/// One hand edit of a saved plan: what it did, and the plan after it.
fn mutate(plan: &Value, rng: &mut Rng) -> (String, Value) {
    let mut doc = plan.clone();
    let steps = doc["steps"].as_array_mut().expect("steps");
    let n = steps.len();
    let i = rng.below(n);
    let with_changes: Vec<usize> = (0..n)
        .filter(|k| {
            steps[*k]["changes"]
                .as_array()
                .is_some_and(|c| !c.is_empty())
        })
        .collect();
    let label = match rng.below(17) {
        0 => {
            steps.remove(i);
            format!("drop step {i}")
        }
        1 => {
            steps.clear();
            "drop every step".to_owned()
        }
        2 => {
            let j = (i + 1 + rng.below(n - 1)) % n;
            steps.swap(i, j);
            format!("swap steps {i} and {j}")
        }
        3 => {
            let copy = steps[i].clone();
            steps.insert(i, copy);
            format!("duplicate step {i}")
        }
        4 => {
            let kind = steps[(i + 1) % n]["kind"].clone();
            if kind == steps[i]["kind"] {
                steps[i]["kind"] = json!("pause");
            } else {
                steps[i]["kind"] = kind;
            }
            format!("retype step {i}")
        }
        5 => {
            steps[i]["id"] = json!("someone-else");
            format!("rename step {i}")
        }
        6 => {
            let mut extra = steps[n - 1].clone();
            extra["id"] = json!("extra");
            steps.push(extra);
            "add a step".to_owned()
        }
        7 => {
            steps[i]["error"] = json!("could not plan");
            format!("mark step {i} failed")
        }
        8 => {
            steps[i]["changes"] = json!("nope");
            format!("changes of step {i} not a list")
        }
        k => {
            let s = *rng.pick(&with_changes);
            let changes = steps[s]["changes"].as_array_mut().expect("changes");
            let c = rng.below(changes.len());
            match k {
                9 => {
                    changes.remove(c);
                    format!("drop change {c} of step {s}")
                }
                10 => {
                    let copy = changes[c].clone();
                    changes.push(copy);
                    format!("duplicate change {c} of step {s}")
                }
                11 => {
                    let action = changes[c]["action"].as_str().unwrap_or_default();
                    let other = ["add", "modify", "remove", "keep", "run", "check"]
                        .into_iter()
                        .find(|a| *a != action)
                        .unwrap();
                    changes[c]["action"] = json!(other);
                    format!("change {c} of step {s} to {other}")
                }
                12 => {
                    changes[c]["resource"] = json!(42);
                    format!("retype the resource of change {c} of step {s}")
                }
                13 => {
                    changes[c]["after"] = json!({"sensitive": true, "version": 99});
                    format!("make change {c} of step {s} a secret")
                }
                14 => {
                    changes[c]["after"] = json!("something else");
                    format!("edit the value of change {c} of step {s}")
                }
                15 if changes.len() > 1 => {
                    let d = (c + 1) % changes.len();
                    changes.swap(c, d);
                    format!("swap changes {c} and {d} of step {s}")
                }
                _ => {
                    changes[c]["resource"] = json!("/somewhere/else");
                    format!("move change {c} of step {s}")
                }
            }
        }
    };
    (label, doc)
}

#[test]
fn a_saved_plan_edited_by_hand_never_runs_and_never_panics() {
    let world = World::start();
    world.incident(&["plan", "-o", "plan.json"]).expect(0);
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(world.dir.path().join("plan.json")).unwrap())
            .unwrap();
    let before = world.full_dump();
    let mut rng = Rng::new(0x5a7ed);
    let mut seen = std::collections::BTreeSet::new();
    for case in 0..cases(40) {
        let (label, doc) = mutate(&plan, &mut rng);
        seen.insert(label.split(' ').take(2).collect::<Vec<_>>().join(" "));
        let file = world.dir.path().join("edited.json");
        std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        let out = run_plan(&world, &file.display().to_string());
        assert!(
            out.code == 2 || out.code == 4,
            "case {case} ({label}): exit {}\n{}\n{}",
            out.code,
            out.stdout,
            out.stderr
        );
        assert!(
            !out.stderr.contains("panicked"),
            "case {case} ({label}): {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("saved plan"),
            "case {case} ({label}): unclear: {}",
            out.stderr
        );
        assert_eq!(
            world.full_dump(),
            before,
            "case {case} ({label}) changed the world"
        );
    }
    // The cases covered steps and changes both.
    assert!(seen.len() >= 10, "{seen:?}");
    // The plan itself still runs: the refusals were about the edits.
    run_plan(&world, "plan.json").expect(0);
}

#[test]
fn a_panic_inside_a_step_still_rolls_back_everything() {
    let world = World::start();
    let before = world.state();
    let mut args = vec!["run".to_owned(), "--yes".to_owned()];
    args.extend(world.playbook_args(&[], &world.incident_playbook()));
    let out = world.standin_env(&[("STANDIN_CRASH_AT", "panic:repoint-app")], &args[..]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("internal error (a bug in standin"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Rolled back:"), "{}", out.stdout);
    assert_eq!(world.state(), before);
    let status = world
        .standin(&["--output", "json", "status"])
        .expect(0)
        .stdout;
    let view: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(view["outcome"], "rolled-back", "{view}");
    // The step's failure is journaled, with what its undo record knew.
    let journal = world.written_files();
    assert!(
        journal.contains(r#""record":"failed","step":"repoint-app""#)
            && journal.contains("internal error (a bug in standin"),
        "{journal}"
    );
}

#[test]
fn state_files_are_never_written_through_a_link_and_unsafe_state_is_refused() {
    let world = World::start();
    let state = world.dir.path().join(".standin");
    std::fs::create_dir(&state).unwrap();
    let target = world.dir.path().join("precious.txt");
    std::fs::write(&target, "keep me\n").unwrap();
    std::os::unix::fs::symlink(&target, state.join("lock")).unwrap();
    let before = world.full_dump();
    let out = world.incident(&["run", "--yes"]).expect(4);
    assert!(out.stderr.contains("is a symbolic link"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
    assert_eq!(world.full_dump(), before);
    std::fs::remove_file(state.join("lock")).unwrap();

    // A state directory anyone may write to (without the sticky bit) is refused.
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = world.incident(&["run", "--yes"]).expect(2);
    assert!(
        out.stderr.contains("writable by every user"),
        "{}",
        out.stderr
    );
    // With the sticky bit (as /tmp has), it is fine.
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o1777)).unwrap();
    world.incident(&["run", "--yes"]).expect(0);
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();

    // A run's journal replaced by a link is not read, nor appended to.
    let run = std::fs::read_dir(state.join("runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let journal = run.join("journal.jsonl");
    let moved = world.dir.path().join("journal-copy.jsonl");
    std::fs::rename(&journal, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &journal).unwrap();
    let copy = std::fs::read(&moved).unwrap();
    let out = world.standin(&["rollback", "--last", "--yes"]).expect(2);
    assert!(out.stderr.contains("is a symbolic link"), "{}", out.stderr);
    assert_eq!(std::fs::read(&moved).unwrap(), copy);
}

#[test]
fn exit_codes_say_whether_anything_changed() {
    let world = World::start();
    let before = world.full_dump();
    // A regular file as the state directory; an empty one.
    std::fs::write(world.dir.path().join("afile"), "x").unwrap();
    let out = world
        .incident(&["--state-dir", "afile", "run", "--yes"])
        .expect(2);
    assert!(out.stderr.contains("is not a directory"), "{}", out.stderr);
    let out = world
        .incident(&["--state-dir", "", "run", "--yes"])
        .expect(2);
    assert!(
        out.stderr.contains("the state location is empty"),
        "{}",
        out.stderr
    );
    // Runs that cannot be journaled (their directory cannot be created: `runs/` is immutable,
    // which even root cannot write to) did not start: exit 4, never 3, which would send a human
    // to look for changes that were never made.
    let state = world.dir.path().join("st");
    std::fs::create_dir_all(state.join("runs")).unwrap();
    let chattr = |flag: &str| {
        let done = std::process::Command::new("chattr")
            .args([flag, &state.join("runs").display().to_string()])
            .status()
            .expect("chattr (e2fsprogs) makes a directory no one can write to");
        assert!(
            done.success(),
            "chattr {flag} failed on the test's temporary directory"
        );
    };
    chattr("+i");
    let out = world.incident(&["--state-dir", "st", "run", "--yes"]);
    chattr("-i");
    let out = out.expect(4);
    assert!(out.stderr.contains("nothing was changed"), "{}", out.stderr);
    assert_eq!(world.full_dump(), before);
    // A link inside the state is refused before anything is read or written.
    std::fs::remove_dir(state.join("runs")).unwrap();
    std::os::unix::fs::symlink("/proc", state.join("runs")).unwrap();
    let out = world
        .incident(&["--state-dir", "st", "run", "--yes"])
        .expect(2);
    assert!(out.stderr.contains("is a symbolic link"), "{}", out.stderr);
}

#[test]
fn inputs_that_never_end_or_nest_forever_are_refused_at_once() {
    let world = World::start();
    let dir = world.dir.path();
    let fifo = dir.join("fifo.yaml");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let big = dir.join("big.yaml");
    std::fs::write(
        &big,
        format!("version: 1\nname: x\n#{}\n", "x".repeat(1024 * 1024)),
    )
    .unwrap();
    let deep = dir.join("deep.yaml");
    let n = 200_000;
    std::fs::write(
        &deep,
        format!(
            "version: 1\nname: x\nsteps: {}{}\n",
            "[".repeat(n),
            "]".repeat(n)
        ),
    )
    .unwrap();
    let deep_map = dir.join("deep-map.yaml");
    std::fs::write(
        &deep_map,
        format!(
            "version: 1\nname: x\nsteps: {}1{}\n",
            "{a: ".repeat(100),
            "}".repeat(100)
        ),
    )
    .unwrap();
    for (path, says) in [
        ("/dev/zero".to_owned(), "a device, not a regular file"),
        (
            fifo.display().to_string(),
            "a FIFO (named pipe), not a regular file",
        ),
        (dir.display().to_string(), "a directory, not a regular file"),
        (big.display().to_string(), "larger than 1 MiB"),
        (
            deep.display().to_string(),
            "nested more than 64 levels deep",
        ),
        (
            deep_map.display().to_string(),
            "nested more than 64 levels deep",
        ),
    ] {
        let started = Instant::now();
        let out = world.standin(&["validate", &path]).expect(2);
        // A bound only to catch a hang (the old behaviour: forever, or minutes); speed is
        // measured by scripts/bench.sh.
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{path} took {:?}",
            started.elapsed()
        );
        assert!(
            out.stderr.contains(&format!("{path}:")),
            "{path}: not located: {}",
            out.stderr
        );
        assert!(out.stderr.contains(says), "{path}: {}", out.stderr);
    }
    let out = world
        .standin(&["run", "--yes", "--plan", "/dev/zero"])
        .expect(2);
    assert!(
        out.stderr.contains("a device, not a regular file"),
        "{}",
        out.stderr
    );
}

/// Values planted in live state, each trying to disguise what a plan or an error shows.
const PLANTED: [(&str, &str); 3] = [
    (
        "/shop/prod/APP_URL",
        "ok\r~ /shop/staging/DB_HOST: prod-db (unchanged)",
    ),
    (
        "/shop/prod/QUEUE_URL",
        "q\n    = /shop/staging/RUN_MIGRATIONS: false (unchanged)",
    ),
    (
        "/shop/prod/RUN_MIGRATIONS",
        "\u{1b}]8;;http://evil\u{7}false\u{1b}[2K\u{202e}",
    ),
];

#[test]
fn planted_control_characters_never_reach_the_terminal() {
    let world = World::start();
    for (name, value) in PLANTED {
        world.put_param(name, value);
    }
    let pb = world.playbook(
        "planted.yaml",
        "version: 1\nname: planted\nguards:\n  - parameter: /shop/prod/QUEUE_URL\n    equals: q\nsteps:\n  - id: copy\n    kind: ssm.copy-parameters\n    from: /shop/prod/\n    to: /shop/staging/\n    keys: [APP_URL, QUEUE_URL, RUN_MIGRATIONS]\n",
    );
    let plan = world.standin(&["plan", &pb]).expect(1);
    let run = world.standin(&["run", "--yes", &pb]).expect(4);
    for out in [&plan, &run] {
        let all = out.all();
        for bad in ['\r', '\u{1b}', '\u{7}', '\u{202e}'] {
            assert!(!all.contains(bad), "{bad:?} reached the terminal:\n{all}");
        }
        // No planted line passes for one of standin's own.
        assert!(
            !all.lines()
                .any(|l| l.trim_start().starts_with("= /shop/staging/RUN_MIGRATIONS")),
            "{all}"
        );
    }
    assert!(
        plan.stdout
            .contains(r#""ok\r~ /shop/staging/DB_HOST: prod-db (unchanged)""#),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains(r#""q\n    = /shop/staging/RUN_MIGRATIONS: false (unchanged)""#),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains(r#"\u{1b}]8;;http://evil\u{7}false\u{1b}[2K\u{202e}"#),
        "{}",
        plan.stdout
    );
    assert!(
        run.stderr.contains(r#"will be `"q\n    = /shop/staging"#),
        "{}",
        run.stderr
    );
}

#[test]
fn record_sets_route53_would_refuse_are_refused_in_the_plan() {
    let world = World::start();
    let before = world.full_dump();
    for (record, rtype, extra, says) in [
        (
            "www.example.com",
            "CNAME",
            "",
            "www.example.com. already has A record(s); a CNAME cannot share its name",
        ),
        (
            "app.example.com",
            "A",
            "",
            "app.example.com. is a CNAME; no other record can share its name",
        ),
        (
            "api.example.com",
            "CNAME",
            "",
            "api.example.com. CNAME is routed (set identifiers blue, green); say which one",
        ),
        (
            "api.example.com",
            "CNAME",
            "\n    set_identifier: red",
            "no such record",
        ),
    ] {
        let to = if rtype == "A" {
            "192.0.2.99"
        } else {
            "elsewhere.example.net"
        };
        let pb = world.playbook(
            "conflict.yaml",
            &format!("version: 1\nname: t\nsteps:\n  - id: r\n    kind: route53.repoint\n    zone: example.com\n    record: {record}\n    type: {rtype}\n    to: {to}{extra}\n"),
        );
        let out = world.standin(&["plan", &pb]).expect(1);
        assert!(
            out.stdout.contains(says),
            "{record} {rtype}: {}",
            out.stdout
        );
        world.standin(&["run", "--yes", &pb]).expect(1);
    }
    assert_eq!(world.full_dump(), before);
}

#[test]
fn a_gate_never_outlasts_its_bound_and_a_wrong_body_fails_it() {
    let world = World::start();
    // A server that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let pb = world.playbook(
        "gate.yaml",
        &format!("version: 1\nname: t\nsteps:\n  - id: gate\n    kind: http.check\n    url: http://silent.example.com/\n    via: {addr}\n    within: 1s\n    every: 300ms\n"),
    );
    let out = world.standin(&["run", "--yes", &pb]).expect(1);
    assert!(
        out.stdout
            .contains("answered no answer in time, not 200, for 1s"),
        "{}",
        out.stdout
    );
    // How long the gate itself tried, from its journal: from its intent to its failure. Each
    // try used to wait out its own 10 s timeout, whatever `within` said.
    let journal = std::fs::read_dir(world.dir.path().join(".standin/runs"))
        .unwrap()
        .flatten()
        .map(|run| std::fs::read_to_string(run.path().join("journal.jsonl")).unwrap())
        .next()
        .unwrap();
    let at = |record: &str| {
        let line = journal
            .lines()
            .find(|l| l.contains(&format!("\"record\":\"{record}\",\"step\":\"gate\"")))
            .unwrap_or_else(|| panic!("no {record} record:\n{journal}"));
        let value: Value = serde_json::from_str(line).unwrap();
        humantime::parse_rfc3339(value["at"].as_str().unwrap()).unwrap()
    };
    let tried = at("failed").duration_since(at("intent")).unwrap();
    assert!(
        tried < Duration::from_secs(4),
        "the 1 s gate tried for {tried:?}"
    );
    drop(silent);

    let pb = world.playbook(
        "body.yaml",
        &format!("version: 1\nname: t\nsteps:\n  - id: gate\n    kind: http.check\n    url: http://staging.example.com/\n    via: {}\n    expect_body: served by shop-prod\n    within: 5s\n    every: 1s\n", world.edge),
    );
    let out = world.standin(&["run", "--yes", &pb]).expect(1);
    assert!(
        out.stdout
            .contains("answered 200 without the expected text"),
        "{}",
        out.stdout
    );
}

#[test]
fn env_file_values_are_written_so_that_no_loader_misreads_or_runs_them() {
    let world = World::start();
    let before = world.state();
    let marker = world.dir.path().join("executed");
    let edit = |set: &str| {
        world.playbook(
            "env.yaml",
            &format!("version: 1\nname: env\nsteps:\n  - id: edit\n    kind: ssm.edit-env-file\n    parameter: /shop/dotenv/staging\n    set: {set}\n"),
        )
    };
    let pb = edit(&format!(
        "{{PASSWORD_HINT: \"pa$$word\", HOOK: \"`touch {}`\", MULTI: \"line1\\nINJECTED=1\"}}",
        marker.display()
    ));
    world.standin(&["run", "--yes", &pb]).expect(0);
    let text = world.param("/shop/dotenv/staging").unwrap();
    let file = world.dir.path().join("staging.env");
    std::fs::write(&file, &text).unwrap();
    let out = std::process::Command::new("/bin/sh")
        .args(["-c", "set -a; . \"$1\"; printf '%s|%s|%s|%s' \"$PASSWORD_HINT\" \"$HOOK\" \"$MULTI\" \"$APP_ENV\"", "sh"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "pa$$word|`touch {}`|line1\nINJECTED=1|staging",
            marker.display()
        )
    );
    assert!(
        !marker.exists(),
        "sourcing the file ran a command from a value"
    );
    // A later edit replaces the multi-line value whole.
    let pb = edit("{MULTI: plain}");
    world.standin(&["run", "--yes", &pb]).expect(0);
    let values: std::collections::BTreeMap<String, Option<String>> =
        standin::dotenv::parse(&world.param("/shop/dotenv/staging").unwrap())
            .into_iter()
            .map(|b| (b.key, b.value))
            .collect();
    assert_eq!(values["MULTI"].as_deref(), Some("plain"));
    assert!(!values.contains_key("INJECTED"), "{values:?}");
    world.standin(&["rollback", "--last", "--yes"]).expect(0);
    let runs: Vec<_> = std::fs::read_dir(world.dir.path().join(".standin/runs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    let first = runs.iter().min().unwrap();
    world.standin(&["rollback", first, "--yes"]).expect(0);
    assert_eq!(world.state(), before);

    // A value no quoting can carry safely is refused before any AWS call, located.
    let pb = edit("{GREETING: \"it's $HOME\"}");
    let out = world.standin(&["validate", &pb]).expect(2);
    assert!(out.stderr.contains("env.yaml:7:"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot be written into a .env file safely"),
        "{}",
        out.stderr
    );
}

/// A journal edited to give a step an id no playbook could have (a line break followed by
/// what looks like another step's line) is refused as corrupt, naming the line: `status`
/// never prints the forged line.
#[test]
fn a_journal_with_a_forged_step_id_is_refused() {
    let world = World::start();
    world.incident(&["run", "--yes"]).expect(0);
    let path = world.run_dir().join("journal.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let forged = r#"repoint-app\n  lock-staging-url            lock-url             undone"#;
    let tampered = text.replace(r#""repoint-app""#, &format!("\"{forged}\""));
    assert_ne!(tampered, text);
    std::fs::write(&path, tampered).unwrap();
    for args in [vec!["status"], vec!["rollback", "--last", "--yes"]] {
        let out = world.standin(&args).expect(2);
        assert!(
            out.stderr
                .contains("journal.jsonl:1: not a journal record: ")
                && out.stderr.contains("is not a step or group id"),
            "{}",
            out.stderr
        );
        // Named escaped, on the error's line: no line of output starts as the forged one.
        assert!(
            !out.all()
                .lines()
                .any(|l| l.trim_start().starts_with("lock-staging-url")),
            "{}",
            out.all()
        );
    }
}

/// `resume` given other `--var` values than the run's (the names alike, which was all that was
/// compared) would carry on with steps acting on other resources. The journal keeps a salted
/// digest of the values: resume refuses, changing nothing, and goes on with the run's own.
#[test]
fn resume_with_other_variable_values_is_refused_and_the_runs_own_go_on() {
    let world = World::start();
    let pb = world.incident_playbook();
    world
        .standin_env(
            &[("STANDIN_CRASH_AT", "step-done:prod-env-to-staging")],
            &world.playbook_args(&["run", "--yes"], &pb),
        )
        .expect(-1);
    let run = world.run_dir();
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).unwrap();
    assert!(
        !journal.contains(&world.edge),
        "a --var value in the journal"
    );
    let before = world.full_dump();
    // resume finds the playbook in the journal: the variables only.
    let resume = || {
        let mut args = world.playbook_args(&["resume", "--yes"], &pb);
        args.pop();
        args
    };
    let mut other = resume();
    let edge = other
        .iter()
        .position(|a| a.starts_with("edge="))
        .expect("the edge variable");
    other[edge] = "edge=127.0.0.1:9".to_owned();
    let out = world.standin_env(&[], &other).expect(4);
    assert!(
        out.stderr.contains("the run started with other values of [--var app_check_url --var edge --var staging_check_url]"),
        "{}",
        out.stderr
    );
    assert_eq!(
        world.full_dump(),
        before,
        "a refused resume changed the world"
    );
    world.standin_env(&[], &resume()).expect(0);
}
