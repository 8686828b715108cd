//! The fault matrix: the incident playbook run through harness/proxy.py, which answers one API
//! action with throttling, 500s, slow answers, connection resets or AccessDenied. Transient
//! faults must be retried to success, a permanent one must roll back cleanly, and when the
//! rollback itself is denied (the incident: one service locked, the others fine) the run must
//! exit 3 with a recovery report whose aws CLI commands, run by a human who still has access,
//! finish the job. Nothing may be lost: every resource that differs from the start afterwards
//! must be named in the report. `scripts/fault-matrix.sh` prints the table.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{json, Value};

use std::process::Command;

use crate::support::{each, repo, Proxy, World};

/// The mutating call of each step of the incident playbook, as the proxy names it.
const CALLS: [(&str, &str); 6] = [
    ("prod-env-to-staging", "ssm:PutParameter"),
    (
        "staging-runs-as-production",
        "elasticbeanstalk:UpdateEnvironment",
    ),
    ("restart-staging", "elasticbeanstalk:RestartAppServer"),
    (
        "repoint-app",
        "route53 POST /2013-04-01/hostedzone/{id}/rrset",
    ),
    ("lock-staging-url", "elasticloadbalancing:CreateRule"),
    ("restart-workers", "ssm:SendCommand"),
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Succeeds,
    RollsBack,
    NeedsHuman,
}

struct Case {
    name: String,
    rules: Value,
    expect: Expect,
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (step, action) in CALLS {
        let transient = [
            ("throttled twice", json!({"fault": "throttle", "times": 2})),
            ("500 twice", json!({"fault": "error500", "times": 2})),
            (
                "slow (3 s)",
                json!({"fault": "slow", "seconds": 3, "times": 1}),
            ),
            (
                "connection reset once",
                json!({"fault": "reset", "times": 1}),
            ),
        ];
        for (what, mut rule) in transient {
            rule["action"] = action.into();
            cases.push(Case {
                name: format!("{step}: {what}"),
                rules: json!([rule]),
                expect: Expect::Succeeds,
            });
        }
        cases.push(Case {
            name: format!("{step}: AccessDenied"),
            rules: json!([{"action": action, "fault": "deny"}]),
            expect: Expect::RollsBack,
        });
    }
    // The incident: a service starts denying after the run used it, and a later step fails,
    // so the rollback needs the denied service. (`after`: the run's own calls.) The workers'
    // restart fails; it runs beside lock-staging-url, so its denial waits until the lock's rule
    // exists: else, on a loaded machine, the group stops the lock before its change and there
    // is nothing to undo (seen in CI).
    let later_failure = json!({
        "action": "ssm:SendCommand",
        "fault": "deny",
        "until": "elasticloadbalancing:CreateRule",
    });
    for (step, action, after) in [
        ("prod-env-to-staging", "ssm:PutParameter", 5),
        (
            "staging-runs-as-production",
            "elasticbeanstalk:UpdateEnvironment",
            1,
        ),
        (
            "repoint-app",
            "route53 POST /2013-04-01/hostedzone/{id}/rrset",
            1,
        ),
        ("lock-staging-url", "elasticloadbalancing:DeleteRule", 0),
    ] {
        cases.push(Case {
            name: format!("{step}: undo denied after a later step failed"),
            rules: json!([later_failure, {"action": action, "fault": "deny", "after": after}]),
            expect: Expect::NeedsHuman,
        });
    }
    cases
}

/// Which resources differ between two states.
fn changed(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// How a report names the resource behind a key of `World::state`.
fn resource_of(key: &str) -> String {
    let words: Vec<&str> = key.split_whitespace().collect();
    match words.as_slice() {
        ["alb", "rule", ..] => "listener rule for host".to_owned(),
        [_, name, ..] => name.trim_end_matches('.').to_owned(),
        _ => key.to_owned(),
    }
}

/// Runs the aws CLI lines of a recovery report against the emulator directly (the human's
/// own access), as a shell would.
fn run_by_hand(world: &World, lines: &[String]) {
    let bin = repo().join("harness/.venv/bin");
    let config = world.dir.path().join("aws-cli-config");
    // aws CLI v1 fetches http(s):// parameter values as URLs unless told not to (v2 does not).
    std::fs::write(&config, "[default]\ncli_follow_urlparam = false\n").unwrap();
    for line in lines {
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", line])
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .env("AWS_ENDPOINT_URL", &world.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", world.dir.path().join("none"))
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "by-hand command failed: {line}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_fault_at_every_step_ends_succeeded_rolled_back_or_with_a_working_recovery_report() {
    let results = Mutex::new(Vec::new());
    let cases = cases();
    let end = {
        let world = World::start();
        world.incident(&["run", "--yes"]).expect(0);
        world.state()
    };
    each(
        &cases,
        |c| c.name.clone(),
        |case| {
            let world = World::start();
            let before = world.state();
            let proxy = Proxy::start(&world);
            proxy.faults(&world, &case.rules);
            let args = world.playbook_args(
                &["--output", "json", "run", "--yes"],
                &world.incident_playbook(),
            );
            let out = world.standin_env(&[("AWS_ENDPOINT_URL", &proxy.url)], &args);
            let report: Value = serde_json::from_str(&out.stdout)
                .unwrap_or_else(|_| panic!("no JSON report (exit {})\n{}", out.code, out.all()));
            let after = world.state();
            let got = match out.code {
                0 => Expect::Succeeds,
                1 => Expect::RollsBack,
                3 => Expect::NeedsHuman,
                code => panic!("exit {code}\n{}", out.all()),
            };
            // Nothing lost: whatever differs from the start is named by the report.
            let named = report["leftovers"].to_string();
            let lost: Vec<String> = match got {
                Expect::Succeeds => Vec::new(),
                _ => changed(&before, &after)
                    .into_iter()
                    .filter(|k| !named.contains(&resource_of(k)))
                    .collect(),
            };
            results
                .lock()
                .unwrap()
                .push((case.name.clone(), case.expect, got, lost.len()));
            assert_eq!(got, case.expect, "{}", out.all());
            assert!(
                lost.is_empty(),
                "changed and not reported: {lost:?}\n{}",
                out.all()
            );
            World::assert_no_secrets(&out.all());
            match got {
                Expect::RollsBack => assert_eq!(after, before, "{}", out.all()),
                Expect::NeedsHuman => {
                    let lines: Vec<String> = report["leftovers"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .flat_map(|l| l["by_hand"].as_array().cloned().unwrap_or_default())
                        .map(|l| l.as_str().unwrap().to_owned())
                        .collect();
                    assert!(
                        !lines.is_empty(),
                        "no commands to finish by hand\n{}",
                        out.stdout
                    );
                    run_by_hand(&world, &lines);
                    // The commands alone put the world back (a later `standin rollback` would
                    // redo any undo itself, and hide commands that do the wrong thing)...
                    assert_eq!(world.state(), before, "after the by-hand commands");
                    // ...and standin agrees.
                    world.standin(&["rollback", "--last", "--yes"]).expect(0);
                    assert_eq!(world.state(), before);
                }
                // Retried to success: exactly where a run without faults ends.
                Expect::Succeeds => assert_eq!(after, end, "{}", out.all()),
            }
        },
    );
    let results = results.into_inner().unwrap();
    let count = |e: Expect| results.iter().filter(|r| r.2 == e).count();
    eprintln!(
        "\n| cases | succeeded | rolled back cleanly | needed a human | lost |\n|---|---|---|---|---|\n| {} | {} | {} | {} | {} |",
        results.len(),
        count(Expect::Succeeds),
        count(Expect::RollsBack),
        count(Expect::NeedsHuman),
        results.iter().map(|r| r.3).sum::<usize>()
    );
    for (name, expected, got, lost) in &results {
        eprintln!("  {name}: {got:?} (expected {expected:?}), lost {lost}");
    }
}
