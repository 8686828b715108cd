//! `standin drill`: there and back, measured, verified and reported; and each way it can end
//! badly (a step fails, a gate breaks in the soak, someone changes a value meanwhile, the RTO
//! is missed, the process is killed) ends as documented, with the world put back.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use serde_json::Value;
use standin::report::document::{span, RunReport};
use standin::report::ReportFormat;

use crate::support::{Keys, World};

/// A short drill: copy production's settings, keep APP_URL (so the snapshot holds a resource
/// the drill does not change), repoint (`app`, whose TTL is 300 s: an `rto` under that is
/// missed as clients see it), then two gates. `extra` is appended to the steps.
fn small_playbook(world: &World, rto: &str, extra: &str) -> String {
    let app_url = world
        .param("/shop/staging/APP_URL")
        .expect("seeded APP_URL");
    world.playbook(
        "drill.yaml",
        &format!(
            r#"version: 1
name: drill-small
vars:
  app_check_url: http://app.example.com/health
  edge: ""
recovery: production-answers
rto_target: {rto}
steps:
  - id: prod-env-to-staging
    kind: ssm.copy-parameters
    from: /shop/prod/
    to: /shop/staging/
    except: [APP_URL]
  - id: keep-app-url
    kind: ssm.put-parameters
    values:
      /shop/staging/APP_URL: "{app_url}"
  - id: repoint-app
    kind: route53.repoint
    zone: example.com
    record: app.example.com
    type: CNAME
    to: shop-staging.us-east-1.elasticbeanstalk.com
    ttl: 60
  - id: staging-healthy
    kind: eb.wait-healthy
    environment: shop-staging
    within: 3s
  - id: production-answers
    kind: http.check
    url: ${{vars.app_check_url}}
    expect_status: 200
    via: ${{vars.edge}}
    within: 3s
{extra}"#
        ),
    )
}

/// Starts `standin ARGS... PLAYBOOK` (a drill with a soak) and waits until it holds the
/// promoted state.
fn soaking(world: &World, args: &[&str], playbook: &str) -> crate::support::Running {
    let mut args = world.playbook_args(args, playbook);
    args.retain(|a| !a.is_empty());
    let running = world.running(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    running.wait_for("Holding the promoted state");
    running
}

fn json_file(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read report")).expect("JSON")
}

/// Reads `junit.xml` with a real JUnit parser: (name, status) of every test case.
fn junit_cases(path: &Path) -> Vec<(String, junit_parser::TestStatus)> {
    let file = std::fs::File::open(path).expect("junit.xml");
    let suites = junit_parser::from_reader(BufReader::new(file)).expect("valid JUnit XML");
    suites
        .suites
        .into_iter()
        .flat_map(|s| s.cases)
        .map(|c| (c.original_name, c.status))
        .collect()
}

fn report_dir(world: &World, name: &str) -> std::path::PathBuf {
    world.dir.path().join(name)
}

#[test]
fn the_incident_drill_reports_its_recovery_time_and_leaves_the_world_as_it_found_it() {
    let world = World::start();
    let before = world.state();
    let reports = report_dir(&world, "reports");
    let out = world
        .incident(&[
            "drill",
            "--yes",
            "--soak",
            "2s",
            "--every",
            "1s",
            "--report",
            reports.to_str().unwrap(),
        ])
        .expect(0);
    assert!(out.stdout.contains("passed"), "{}", out.stdout);
    assert!(out.stdout.contains("recovery: "), "{}", out.stdout);
    // Byte for byte, as `state()` reads it: values, types, keys, records, environments,
    // properties and listener rules (parameter versions necessarily move on).
    assert_eq!(world.state(), before, "the drill left the world changed");

    let doc = json_file(&reports.join("report.json"));
    assert_eq!(doc["report_format"], 2);
    assert_eq!(doc["kind"], "drill");
    assert_eq!(doc["outcome"], "passed");
    assert_eq!(doc["exit_code"], 0);
    assert_eq!(doc["recovery"]["gate"], "production-answers");
    let recovery = doc["recovery"]["secs"].as_f64().expect("recovery time");
    assert!(recovery > 0.0 && recovery < 300.0);
    assert_eq!(doc["recovery"]["met"], true);
    assert_eq!(doc["verify"]["differences"], serde_json::json!([]));
    assert!(doc["verify"]["checked"].as_u64().unwrap() >= 9);
    assert!(doc["soak"]["checks"].as_u64().unwrap() >= 2);
    assert!(doc["timings"]["restore_secs"].as_f64().unwrap() > 0.0);
    // The recovery gate passed after every step before it started.
    let steps = doc["steps"].as_array().unwrap();
    let gate = steps
        .iter()
        .find(|s| s["id"] == "production-answers")
        .unwrap();
    let gate_end = gate["start_secs"].as_f64().unwrap() + gate["secs"].as_f64().unwrap();
    assert!(
        (gate_end - recovery).abs() < 0.05,
        "{gate_end} vs {recovery}"
    );
    for s in steps {
        assert!(s["start_secs"].as_f64().unwrap() <= gate_end || s["id"] == "staging-url-locked");
    }

    let cases = junit_cases(&reports.join("junit.xml"));
    assert_eq!(cases.len(), steps.len() + 3, "{cases:?}");
    assert!(
        cases.iter().all(|(_, s)| !s.is_failure() && !s.is_error()),
        "{cases:?}"
    );
    assert!(cases.iter().any(|(n, _)| n == "restore verification"));
    let md = std::fs::read_to_string(reports.join("report.md")).unwrap();
    assert!(md.contains("| Time to recovery |"), "{md}");
    assert!(md.contains("All ") && md.contains("hold what they held before the drill"));
    // What a person sees: a bar per step, the undo, the recovery marker, one drill in the trend.
    let drawn = |trend_points| crate::report_html::Expect {
        step_bars: 13,
        undo: true,
        recovery_marker: true,
        // app's TTL of 300 s puts clients' moment far beyond a drill of seconds.
        clients_marker: false,
        trend_points,
    };
    crate::report_html::assert_drawn(&reports.join("report.html"), &drawn(1));
    for file in ["report.json", "report.md", "junit.xml", "report.html"] {
        World::assert_no_secrets(&std::fs::read_to_string(reports.join(file)).unwrap());
    }
    World::assert_no_secrets(&out.all());
    World::assert_no_secrets(&world.written_files());

    // The same reports from the journal alone.
    let run_id = doc["run_id"].as_str().unwrap();
    let again = report_dir(&world, "again");
    world
        .standin(&["report", run_id, "--dir", again.to_str().unwrap()])
        .expect(0);
    assert_eq!(json_file(&again.join("report.json")), doc);
    world
        .standin(&["report", "--format", "md,junit", "--dir", "only"])
        .expect(0);
    assert!(world.dir.path().join("only/report.md").is_file());
    assert!(!world.dir.path().join("only/report.json").exists());
    // A file where the directory should be: said so, and left alone.
    std::fs::write(world.dir.path().join("afile"), "mine\n").unwrap();
    let onto = world.standin(&["report", "--dir", "afile"]).expect(2);
    assert!(
        onto.stderr.contains("afile is a file, not a directory"),
        "{}",
        onto.stderr
    );
    assert_eq!(
        std::fs::read_to_string(world.dir.path().join("afile")).unwrap(),
        "mine\n"
    );

    // A second drill sees the first in its trend; history lists both.
    let out = world
        .incident(&["drill", "--yes", "--output", "json"])
        .expect(0);
    let second: Value = serde_json::from_str(&out.stdout).expect("JSON report on stdout");
    let trend = second["trend"].as_array().unwrap();
    assert_eq!(trend.len(), 2, "{trend:?}");
    assert_eq!(trend[0]["run_id"], run_id);
    world
        .standin(&["report", "--format", "html", "--dir", "second"])
        .expect(0);
    crate::report_html::assert_drawn(&world.dir.path().join("second/report.html"), &drawn(2));
    let history = world.standin(&["history", "--output", "json"]).expect(0);
    let history: Value = serde_json::from_str(&history.stdout).unwrap();
    let rows = history.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .all(|r| r["kind"] == "drill" && r["outcome"] == "passed"));
    assert!(rows.iter().all(|r| r["recovery_secs"].as_f64().is_some()));
    assert!(rows
        .iter()
        .all(|r| r["by"].as_str().is_some_and(|b| b.contains('@'))));
    let human = world.standin(&["history", "promote-staging"]).expect(0);
    assert_eq!(human.stdout.lines().count(), 3, "{}", human.stdout);
    let none = world.standin(&["history", "other-playbook"]).expect(0);
    assert!(none.stdout.contains("no runs"), "{}", none.stdout);
    assert_eq!(world.state(), before);
}

#[test]
fn a_drill_whose_step_fails_rolls_back_verifies_and_says_why() {
    let world = World::start();
    let before = world.state();
    let playbook = small_playbook(
        &world,
        "10m",
        r#"  - id: teapot
    kind: http.check
    url: ${vars.app_check_url}
    expect_status: 418
    via: ${vars.edge}
    within: 1s
"#,
    );
    let reports = report_dir(&world, "failed");
    let out = world
        .with_playbook(
            &["drill", "--yes", "--report", reports.to_str().unwrap()],
            &playbook,
        )
        .expect(1);
    assert!(
        out.stdout.contains("step `teapot` failed"),
        "{}",
        out.stdout
    );
    assert_eq!(world.state(), before);
    let doc = json_file(&reports.join("report.json"));
    assert_eq!(doc["outcome"], "step-failed");
    assert_eq!(doc["exit_code"], 1);
    assert!(doc["reason"].as_str().unwrap().contains("not 418"), "{doc}");
    assert_eq!(doc["verify"]["differences"], serde_json::json!([]));
    let cases = junit_cases(&reports.join("junit.xml"));
    let (_, teapot) = cases.iter().find(|(n, _)| n.contains("teapot")).unwrap();
    match teapot {
        junit_parser::TestStatus::Failure(f) => assert!(f.text.contains("not 418"), "{f:?}"),
        other => panic!("teapot should fail: {other:?}"),
    }
    let verification = cases
        .iter()
        .find(|(n, _)| n == "restore verification")
        .unwrap();
    assert!(verification.1.is_success());
}

/// A drill that ends before any change (a step cannot be planned; a guard refuses the plan)
/// still writes every report it was asked for, its JUnit failing at the step with the reason,
/// and `history` lists it: a scheduled drill publishes its result on the day it found a problem.
#[test]
fn a_drill_that_ends_before_any_change_still_reports_why_and_is_in_history() {
    let world = World::start();
    let before = world.state();
    let playbook = small_playbook(
        &world,
        "10m",
        "  - id: ghost-env\n    kind: eb.set-env\n    environment: shop-nowhere\n    set:\n      APP_ENV: production\n",
    );
    let failing_case = |reports: &Path, step: &str, why: &str| {
        let doc = json_file(&reports.join("report.json"));
        assert_eq!(doc["kind"], "drill", "{doc}");
        assert_eq!(doc["outcome"], "step-failed", "{doc}");
        assert_eq!(doc["exit_code"], 1, "{doc}");
        let reason = doc["reason"].as_str().expect("a reason");
        assert!(
            reason.contains(&format!("step `{step}`")) && reason.contains(why),
            "{doc}"
        );
        for file in ["report.md", "report.html"] {
            let text = std::fs::read_to_string(reports.join(file)).expect(file);
            assert!(text.contains(step) && text.contains(why), "{file}: {text}");
        }
        let cases = junit_cases(&reports.join("junit.xml"));
        let (_, case) = cases
            .iter()
            .find(|(n, _)| n.contains(&format!("step {step} ")))
            .unwrap_or_else(|| panic!("no case for {step}: {cases:?}"));
        match case {
            junit_parser::TestStatus::Failure(f) => assert!(f.text.contains(why), "{f:?}"),
            other => panic!("{step} should fail: {other:?}"),
        }
        doc["run_id"].as_str().expect("run id").to_owned()
    };

    let reports = report_dir(&world, "unplanned");
    let out = world
        .with_playbook(
            &["drill", "--yes", "--report", reports.to_str().unwrap()],
            &playbook,
        )
        .expect(1);
    assert!(
        out.stderr.contains("cannot plan step `ghost-env`"),
        "{}",
        out.stderr
    );
    assert_eq!(world.state(), before);
    let unplanned = failing_case(&reports, "ghost-env", "cannot be planned");

    // A guard that refuses the plan: the failure is at the first step that changes something.
    let guarded = std::fs::read_to_string(&playbook).unwrap().replace(
        "steps:\n",
        "guards:\n  - name: never-true\n    parameter: /shop/prod/DB_HOST\n    equals: \"nowhere\"\nsteps:\n",
    );
    let guarded = world.playbook("guarded.yaml", &guarded.replace(
        "  - id: ghost-env\n    kind: eb.set-env\n    environment: shop-nowhere\n    set:\n      APP_ENV: production\n",
        "",
    ));
    let reports = report_dir(&world, "refused");
    world
        .with_playbook(
            &["drill", "--yes", "--report", reports.to_str().unwrap()],
            &guarded,
        )
        .expect(1);
    assert_eq!(world.state(), before);
    let refused = failing_case(&reports, "prod-env-to-staging", "never-true");

    let history = world.standin(&["history", "--output", "json"]).expect(0);
    let rows: Value = serde_json::from_str(&history.stdout).unwrap();
    let ids: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [unplanned.as_str(), refused.as_str()], "{rows}");
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["kind"] == "drill" && r["outcome"] == "step-failed"),
        "{rows}"
    );
}

#[test]
fn a_gate_that_breaks_during_the_soak_fails_the_drill_and_everything_is_put_back() {
    let world = World::start();
    let before = world.state();
    let playbook = small_playbook(&world, "10m", "");
    let reports = report_dir(&world, "soak");
    let running = soaking(
        &world,
        &[
            "drill",
            "--yes",
            "--soak",
            "60s",
            "--every",
            "1s",
            "--report",
            reports.to_str().unwrap(),
        ],
        &playbook,
    );
    world.control(&["tag-env", "shop-staging", "emulator:health=Red"]);
    let out = running.finish().expect(1);
    // Either gate sees it first: the health gate, or the check through the edge, which
    // answers 503 for an environment in bad health (whichever round of checks the change
    // lands in).
    let broke = |text: &str| {
        ["staging-healthy", "production-answers"]
            .iter()
            .any(|gate| text.contains(&format!("gate `{gate}` failed")))
    };
    assert!(broke(&out.stdout), "{}", out.stdout);
    world.control(&["untag-env", "shop-staging", "emulator:health"]);
    assert_eq!(world.state(), before);
    let doc = json_file(&reports.join("report.json"));
    assert_eq!(doc["outcome"], "soak-failed");
    assert!(broke(doc["soak"]["broken"].as_str().unwrap()), "{doc}");
    assert!(
        doc["soak"]["secs"].as_f64().unwrap() < 30.0,
        "the soak did not stop"
    );
    let cases = junit_cases(&reports.join("junit.xml"));
    assert!(cases
        .iter()
        .any(|(n, s)| n.starts_with("soak") && s.is_failure()));
}

#[test]
fn a_value_changed_during_the_soak_is_named_when_the_restore_differs() {
    let world = World::start();
    let playbook = small_playbook(&world, "10m", "");
    let reports = report_dir(&world, "differs");
    let running = soaking(
        &world,
        &[
            "drill",
            "--yes",
            "--soak",
            "3s",
            "--every",
            "1s",
            "--report",
            reports.to_str().unwrap(),
        ],
        &playbook,
    );
    world.put_param("/shop/staging/APP_URL", "https://someone-else.example.com");
    let out = running.finish().expect(3);
    assert!(out.stdout.contains("RESTORE DIFFERS"), "{}", out.stdout);
    assert!(
        out.stdout.contains("/shop/staging/APP_URL"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("someone-else.example.com"),
        "{}",
        out.stdout
    );
    let doc = json_file(&reports.join("report.json"));
    assert_eq!(doc["outcome"], "restore-differs");
    assert_eq!(doc["exit_code"], 3);
    let differences = doc["verify"]["differences"].as_array().unwrap();
    assert_eq!(differences.len(), 1, "{differences:?}");
    assert_eq!(differences[0]["resource"], "/shop/staging/APP_URL");
    assert_eq!(differences[0]["after"], "https://someone-else.example.com");
    // Everything the drill itself wrote is back.
    assert_eq!(
        world.record("app.example.com.", "CNAME").unwrap(),
        "shop-prod.us-east-1.elasticbeanstalk.com"
    );
    let cases = junit_cases(&reports.join("junit.xml"));
    let (_, verification) = cases
        .iter()
        .find(|(n, _)| n == "restore verification")
        .unwrap();
    match verification {
        junit_parser::TestStatus::Failure(f) => {
            assert!(f.text.contains("/shop/staging/APP_URL"), "{f:?}")
        }
        other => panic!("the verification should fail: {other:?}"),
    }
}

#[test]
fn a_drill_over_its_recovery_time_objective_exits_6_with_everything_put_back() {
    let world = World::start();
    let before = world.state();
    let playbook = small_playbook(&world, "1ms", "");
    let out = world
        .with_playbook(&["drill", "--yes", "--output", "json"], &playbook)
        .expect(6);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["outcome"], "missed-rto");
    assert_eq!(doc["recovery"]["met"], false);
    assert!(doc["reason"].as_str().unwrap().contains("over the target"));
    assert_eq!(world.state(), before);
}

/// `app` has a TTL of 300 s and the target is 2 minutes: the gate passes in seconds, but
/// resolvers keep production's answer for 300 s after the repoint, so clients are back only
/// after the target. Every format keeps both times and judges the target on clients'.
#[test]
fn a_drill_whose_ttl_outlasts_its_rto_target_misses_it_as_clients_see_it() {
    let world = World::start();
    let before = world.state();
    let playbook = small_playbook(&world, "2m", "");
    let reports = report_dir(&world, "ttl");
    let out = world
        .with_playbook(
            &["drill", "--yes", "--report", reports.to_str().unwrap()],
            &playbook,
        )
        .expect(6);
    assert_eq!(world.state(), before, "the drill left the world changed");
    let doc = json_file(&reports.join("report.json"));
    assert_eq!(doc["report_format"], 2);
    assert_eq!(doc["outcome"], "missed-rto");
    assert_eq!(doc["exit_code"], 6);
    let recovery = &doc["recovery"];
    let secs = recovery["secs"].as_f64().expect("the gate's time");
    let clients = recovery["clients_secs"].as_f64().expect("clients' time");
    assert!(secs < 60.0, "the gate passed in seconds: {secs}");
    assert!((clients - (secs + 300.0)).abs() < 1e-6, "{recovery}");
    assert_eq!(
        recovery["cached"],
        serde_json::json!({"record": "app.example.com. CNAME", "within_secs": 300, "why": "ttl"})
    );
    assert_eq!(recovery["target_secs"], 120.0);
    assert_eq!(recovery["met"], false);
    let why = "(app.example.com. CNAME: TTL 300s before the change)";
    let both = format!(
        "{} at the gate, {} for clients {why}",
        span(secs),
        span(clients)
    );
    let reason = doc["reason"].as_str().unwrap();
    assert!(reason.contains(&both), "{reason}");
    assert!(reason.contains("over the target of 2m 00s"), "{reason}");
    // For people, at the end of the drill.
    assert!(
        out.stdout
            .contains(&format!("recovery: {both} (target 2m 00s, MISSED)")),
        "{}",
        out.stdout
    );
    // Markdown.
    let md = std::fs::read_to_string(reports.join("report.md")).unwrap();
    assert!(
        md.contains(&format!(
            "| Time to recovery | gate `production-answers`: {} at the gate, {} for clients (app.example.com. CNAME: TTL 300s before the change) (target 2m 00s: **missed**) |",
            span(secs),
            span(clients)
        )),
        "{md}"
    );
    // JUnit: the objective fails on clients' time; both times are properties.
    let junit = std::fs::read_to_string(reports.join("junit.xml")).unwrap();
    for (name, value) in [("recovery_secs", secs), ("clients_secs", clients)] {
        assert!(
            junit.contains(&format!("<property name=\"{name}\" value=\"{value:.3}\"/>")),
            "{junit}"
        );
    }
    let cases = junit_cases(&reports.join("junit.xml"));
    match &cases
        .iter()
        .find(|(n, _)| n == "recovery time objective")
        .unwrap()
        .1
    {
        junit_parser::TestStatus::Failure(f) => assert!(f.message.contains(&both), "{f:?}"),
        other => panic!("the objective should fail: {other:?}"),
    }
    // HTML: both in words; clients' moment, minutes after a drill of seconds, is named
    // beyond the timeline rather than squeezing it; the trend's bar is clients' time.
    let html = std::fs::read_to_string(reports.join("report.html")).unwrap();
    assert!(
        html.contains(&format!(
            "<strong>{}</strong> for clients (app.example.com. CNAME: TTL 300s before the change)",
            span(clients)
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "clients back {} (beyond the chart)",
            span(clients)
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!(">{}</text>", span(clients))),
        "{html}"
    );
    crate::report_html::assert_drawn(
        &reports.join("report.html"),
        &crate::report_html::Expect {
            step_bars: 5,
            undo: true,
            recovery_marker: true,
            clients_marker: false,
            trend_points: 1,
        },
    );
    // history: both times, the target held to clients'.
    let history = world.standin(&["history", "--output", "json"]).expect(0);
    let rows: Value = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(rows[0]["recovery_secs"], secs);
    assert_eq!(rows[0]["clients_secs"], clients);
    assert_eq!(rows[0]["outcome"], "missed-rto");
    let human = world.standin(&["history"]).expect(0);
    // Columns are as wide as their longest cell: compare with runs of spaces as one.
    let row = human.stdout.lines().nth(1).expect("the drill's row");
    let row = row.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        row.contains(&format!(
            "{} {}/2m 00s missed-rto",
            span(secs),
            span(clients)
        )),
        "{}",
        human.stdout
    );
}

/// A record whose TTL alone is the whole recovery time objective: no drill can meet it, and a
/// dry drill says so (and how to fix it) before anyone runs one.
#[test]
fn a_dry_drill_warns_when_a_ttl_alone_takes_up_the_rto_target() {
    let world = World::start();
    let playbook = |rto: &str| {
        world.playbook(
            "www.yaml",
            &format!(
                r#"version: 1
name: www-drill
rto_target: {rto}
steps:
  - id: repoint-www
    kind: route53.repoint
    zone: example.com
    record: www.example.com
    type: A
    to: 192.0.2.20
"#
            ),
        )
    };
    // A caller whose policies the dry drill can simulate: the playbook's own.
    let keys = {
        let policy = world
            .standin(&["iam-policy", "--for", "drill", &playbook("1h")])
            .expect(0);
        world.iam_user("ttl", &serde_json::from_str(&policy.stdout).unwrap())
    };
    let dry = |args: &[&str]| world.as_user(&keys, &[&["drill", "--dry"], args].concat());
    // www's TTL is 3600 s: a target of an hour cannot be met.
    let tight = playbook("1h");
    let out = dry(&["--output", "json", &tight]).expect(0);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let warnings = doc["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = warnings[0].as_str().unwrap();
    for wanted in [
        "www.example.com. A: TTL 3600s before the change (step `repoint-www`)",
        "the `rto_target` of 1h",
        "lower the TTL days ahead",
    ] {
        assert!(warning.contains(wanted), "{wanted}: {warning}");
    }
    assert_eq!(
        doc["blockers"],
        serde_json::json!([]),
        "a warning, not a blocker"
    );
    let human = dry(&[&tight]).expect(0);
    assert!(
        human.stdout.contains("lower the TTL days ahead"),
        "{}",
        human.stdout
    );
    // Two hours leave room: no warning.
    let roomy = playbook("2h");
    let out = dry(&["--output", "json", &roomy]).expect(0);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["warnings"], serde_json::json!([]));
}

/// A drill journaled by the build before `clients_secs` existed (tests/fixtures, written by
/// that build against the emulator: `app` repointed from TTL 300, target 2 minutes, gate
/// passed in 0.3s). Reports are made from the journal alone, so `report` and `history` give
/// it clients' time from the repoint's undo record; the report document that build wrote
/// (format 1, judged on the gate alone) still reads.
#[test]
fn reports_of_a_drill_journaled_before_clients_secs_existed_carry_it() {
    let world = World::start();
    let fixtures = crate::support::repo().join("tests/fixtures");
    let run = world
        .dir
        .path()
        .join(".standin/runs/20261206T234348.739Z-e8d3");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::copy(
        fixtures.join("drill-journaled-before-clients-secs.jsonl"),
        run.join("journal.jsonl"),
    )
    .unwrap();
    world.standin(&["report", "--dir", "again"]).expect(0);
    let doc = json_file(&world.dir.path().join("again/report.json"));
    let previous = json_file(&fixtures.join("drill-report-format-1.json"));
    assert_eq!(previous["report_format"], 1);
    assert_eq!(
        previous["recovery"]["met"], true,
        "format 1 judged the gate"
    );
    assert_eq!(doc["report_format"], 2);
    let secs = doc["recovery"]["secs"].as_f64().unwrap();
    assert_eq!(doc["recovery"]["secs"], previous["recovery"]["secs"]);
    assert_eq!(doc["recovery"]["clients_secs"], secs + 300.0);
    assert_eq!(doc["recovery"]["cached"]["within_secs"], 300);
    assert_eq!(doc["recovery"]["met"], false);
    assert_eq!(doc["outcome"], "missed-rto");
    assert_eq!(doc["exit_code"], 6);
    let history = world.standin(&["history", "--output", "json"]).expect(0);
    let rows: Value = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(rows[0]["clients_secs"], secs + 300.0);
    assert_eq!(rows[0]["outcome"], "missed-rto");
    // The format 1 document reads, and renders judged on what it has: the gate's time.
    let old: RunReport = serde_json::from_value(previous).expect("a format 1 report reads");
    assert_eq!(old.recovery.judged(), old.recovery.secs);
    for format in ReportFormat::ALL {
        let text = format.render(&old);
        assert!(!text.contains(" at the gate, "), "{format:?}: {text}");
    }
    assert!(ReportFormat::Md
        .render(&old)
        .contains("(target 2m 00s: met)"));
}

#[test]
fn a_killed_drill_is_marked_a_drill_and_resume_finishes_it() {
    let world = World::start();
    let before = world.state();
    let playbook = small_playbook(&world, "10m", "");
    let running = soaking(&world, &["drill", "--yes", "--soak", "5s"], &playbook);
    running.signal("KILL");
    running.finish();
    assert_ne!(world.state(), before, "killed while promoted");
    let status = world.standin(&["status", "--output", "json"]).expect(0);
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(
        status["drill"]["recovery"], "production-answers",
        "{status}"
    );
    // Killed mid-soak: plainly unfinished, never "succeeded", while staging serves production.
    assert_eq!(status["drill_stage"], "promoted", "{status}");
    let human = world.standin(&["status"]).expect(0);
    assert!(
        human
            .stdout
            .contains(": UNFINISHED DRILL: promoted, not restored"),
        "{}",
        human.stdout
    );
    assert!(!human.stdout.contains("succeeded"), "{}", human.stdout);

    let mut resume = world.playbook_args(&["resume", "--yes"], &playbook);
    resume.pop(); // resume takes the run id, not the playbook
    resume.retain(|a| !a.is_empty());
    let out = world.standin_env(&[], &resume).expect(0);
    assert!(out.stdout.contains("passed"), "{}", out.stdout);
    assert_eq!(world.state(), before);
    let status = world.standin(&["status", "--output", "json"]).expect(0);
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["drill_stage"], "verified", "{status}");
    let history = world.standin(&["history", "--output", "json"]).expect(0);
    let rows: Value = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(rows[0]["outcome"], "passed");
}

#[test]
fn a_killed_drill_rolled_back_by_hand_is_verified_and_reported_interrupted() {
    let world = World::start();
    let before = world.state();
    let playbook = small_playbook(&world, "10m", "");
    let running = soaking(&world, &["drill", "--yes", "--soak", "30s"], &playbook);
    running.signal("KILL");
    running.finish();
    let out = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert!(out.stdout.contains("restore verified"), "{}", out.stdout);
    assert_eq!(world.state(), before);
    let history = world.standin(&["history", "--output", "json"]).expect(0);
    let rows: Value = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(rows[0]["outcome"], "interrupted");
}

/// A one-shot HTTP server: answers `status` to the first request and hands back its body.
pub(crate) fn webhook(status: u16) -> (String, std::thread::JoinHandle<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/services/T000/B000/SECRETPATH",
        listener.local_addr().unwrap()
    );
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        write!(stream, "HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nok").unwrap();
        String::from_utf8(body).unwrap()
    });
    (url, handle)
}

#[test]
fn notify_posts_a_slack_compatible_summary_and_a_failed_post_never_fails_the_drill() {
    let world = World::start();
    let playbook = small_playbook(&world, "10m", "");
    let (url, server) = webhook(200);
    world
        .with_playbook(&["drill", "--yes", "--notify", &url], &playbook)
        .expect(0);
    let body: Value = serde_json::from_str(&server.join().unwrap()).expect("JSON body");
    let text = body["text"].as_str().expect("Slack's `text`");
    assert!(
        text.contains("drill-small") && text.contains("passed"),
        "{text}"
    );
    assert_eq!(body["outcome"], "passed");
    assert_eq!(body["exit_code"], 0);
    assert!(body["recovery"]["secs"].as_f64().is_some());
    World::assert_no_secrets(&body.to_string());

    // A webhook that refuses, and one where nothing listens: reported, never fatal, and the
    // webhook's secret path is not printed.
    let (url, server) = webhook(500);
    let out = world
        .with_playbook(&["drill", "--yes", "--notify", &url], &playbook)
        .expect(0);
    server.join().unwrap();
    assert!(out.stderr.contains("could not notify"), "{}", out.stderr);
    assert!(!out.all().contains("SECRETPATH"), "{}", out.all());
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let out = world
        .with_playbook(&["drill", "--yes", "--notify", &url], &playbook)
        .expect(0);
    assert!(out.stderr.contains("could not notify"), "{}", out.stderr);
}

#[test]
fn recovery_must_name_a_gate_and_rto_target_a_duration() {
    let world = World::start();
    for (recovery, rto, wanted) in [
        ("repoint-app", "5m", "is a `route53.repoint`, not a gate"),
        (
            "production-answer",
            "5m",
            "did you mean `production-answers`?",
        ),
        ("production-answers", "soon", "invalid duration `soon`"),
    ] {
        let text = std::fs::read_to_string(small_playbook(&world, rto, ""))
            .unwrap()
            .replace(
                "recovery: production-answers",
                &format!("recovery: {recovery}"),
            );
        let path = world.playbook("bad.yaml", &text);
        let out = world.standin(&["validate", &path]).expect(2);
        assert!(out.stderr.contains(wanted), "{}", out.stderr);
        assert!(out.stderr.contains("bad.yaml:"), "{}", out.stderr);
    }
}

#[test]
fn a_dry_drill_checks_permissions_and_readiness_and_changes_nothing() {
    let world = World::start();
    let before = world.full_dump();
    let policy = world
        .standin(&["iam-policy", &world.incident_playbook()])
        .expect(0);
    let mut policy: Value = serde_json::from_str(&policy.stdout).unwrap();
    let user = |name: &str, doc: &Value| world.iam_user(name, doc);
    let as_user = |keys: &Keys, args: &[&str]| {
        world.as_user(keys, &world.playbook_args(args, &world.incident_playbook()))
    };

    let full = user("breakglass", &policy);
    let out = as_user(&full, &["drill", "--dry"]).expect(0);
    assert!(
        out.stdout.contains("nothing would block a real drill"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("user/breakglass: all allowed"),
        "{}",
        out.stdout
    );

    // Without the right to change records, the dry drill names the action and the zone.
    for statement in policy["Statement"].as_array_mut().unwrap() {
        statement["Action"]
            .as_array_mut()
            .unwrap()
            .retain(|a| a != "route53:ChangeResourceRecordSets");
    }
    let weak = user("weak", &policy);
    let out = as_user(&weak, &["drill", "--dry", "--output", "json"]).expect(4);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    let denied = doc["permissions"]["denied"].as_array().unwrap();
    assert!(!denied.is_empty());
    assert!(
        denied
            .iter()
            .all(|d| d["action"] == "route53:ChangeResourceRecordSets"
                && d["resource"]
                    .as_str()
                    .unwrap()
                    .starts_with("arn:aws:route53:::hostedzone/")
                && d["decision"] == "implicitDeny"),
        "{denied:?}"
    );
    assert!(doc["blockers"].as_array().unwrap().iter().any(|b| b
        .as_str()
        .unwrap()
        .contains("route53:ChangeResourceRecordSets")));

    // A step on production, which is stuck (not Ready), and a caller IAM cannot simulate.
    let stuck = world.playbook(
        "stuck.yaml",
        r#"version: 1
name: touch-production
steps:
  - id: production-setting
    kind: eb.set-env
    environment: shop-prod
    set:
      FEATURE_FLAG: "on"
"#,
    );
    let out = world.standin(&["drill", "--dry", &stuck]).expect(4);
    assert!(
        out.stdout.contains("environment shop-prod is") && out.stdout.contains("not Ready"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Permissions NOT checked"),
        "{}",
        out.stdout
    );
    assert_eq!(world.full_dump(), before, "a dry drill changed the world");
    assert!(
        !world.dir.path().join(".standin/runs").exists(),
        "a dry drill wrote a journal"
    );
}

#[test]
fn ctrl_c_during_the_soak_ends_it_and_puts_everything_back() {
    let world = World::start();
    let before = world.state();
    let playbook = small_playbook(&world, "10m", "");
    let running = soaking(
        &world,
        &[
            "drill", "--yes", "--soak", "60s", "--every", "1s", "--output", "json",
        ],
        &playbook,
    );
    running.signal("INT");
    let out = running.finish().expect(1);
    let doc: Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    // Interrupted, not failed: no gate broke.
    assert_eq!(doc["outcome"], "interrupted", "{doc}");
    assert_eq!(doc["soak"]["stopped"], true, "{doc}");
    assert_eq!(doc["soak"]["broken"], Value::Null, "{doc}");
    assert!(
        doc["reason"]
            .as_str()
            .unwrap()
            .contains("a signal ended the drill's soak"),
        "{doc}"
    );
    assert!(doc["soak"]["secs"].as_f64().unwrap() < 30.0);
    assert_eq!(doc["verify"]["differences"], serde_json::json!([]));
    assert_eq!(world.state(), before);
}

#[test]
fn history_and_reports_read_a_state_in_s3() {
    let world = World::start();
    world.create_bucket("drill-state");
    let playbook = small_playbook(&world, "10m", "");
    let state = "s3://drill-state/shop";
    world
        .with_playbook(&["--state", state, "drill", "--yes"], &playbook)
        .expect(0);
    world
        .with_playbook(&["--state", state, "run", "--yes"], &playbook)
        .expect(0);
    let history = world
        .standin(&["--state", state, "history", "--output", "json"])
        .expect(0);
    let rows: Value = serde_json::from_str(&history.stdout).unwrap();
    let kinds: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["drill", "run"]);
    assert_eq!(rows[1]["outcome"], "succeeded");
    // A link planted where a report goes is replaced, never written through.
    let reports = world.dir.path().join("s3-reports");
    std::fs::create_dir(&reports).unwrap();
    let victim = world.dir.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    std::os::unix::fs::symlink(&victim, reports.join("report.html")).unwrap();
    world
        .standin(&["--state", state, "report", "--dir", "s3-reports"])
        .expect(0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(std::fs::symlink_metadata(reports.join("report.html"))
        .unwrap()
        .file_type()
        .is_file());
    let doc = json_file(&world.dir.path().join("s3-reports/report.json"));
    assert_eq!(doc["kind"], "run");
    assert_eq!(doc["outcome"], "succeeded");
    assert!(
        !world.dir.path().join(".standin").exists(),
        "used the local state"
    );
    world
        .standin(&["--state", state, "rollback", "--last", "--yes"])
        .expect(0);
}

/// A URL with credentials (and a token in its query) never leaves standin whole: not in its
/// output, its journal, its reports or the webhook's body, even when the check fails and
/// every one of them names the check; written into a playbook, `validate` warns where.
#[test]
fn credentials_in_a_check_url_are_never_shown_or_kept() {
    let world = World::start();
    let playbook = small_playbook(&world, "5m", "");
    let (hook, server) = webhook(200);
    let reports = report_dir(&world, "leaks");
    let url = "http://admin:hunter2@nowhere.example.com/health?token=t0ps3cret";
    let mut args = world.playbook_args(
        &[
            "drill",
            "--yes",
            "--notify",
            &hook,
            "--report",
            reports.to_str().unwrap(),
        ],
        &playbook,
    );
    let at = args
        .iter()
        .position(|a| a.starts_with("app_check_url="))
        .unwrap();
    args[at] = format!("app_check_url={url}");
    let out = world.standin_env(&[], &args).expect(1);
    let body = server.join().unwrap();
    let mut everything = format!("{}\n{body}\n{}", out.all(), world.written_files());
    for entry in std::fs::read_dir(&reports).unwrap() {
        everything.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    // The failed check is named everywhere, by scheme, host and path.
    assert!(
        everything.contains("GET http://nowhere.example.com/health?…"),
        "{everything}"
    );
    for secret in ["hunter2", "admin:", "t0ps3cret"] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked:\n{everything}"
        );
    }

    let written = world.playbook(
        "written.yaml",
        &std::fs::read_to_string(&playbook)
            .unwrap()
            .replace("http://app.example.com/health", url),
    );
    let out = world.standin(&["validate", &written]).expect(0);
    assert!(
        out.stderr.contains(&format!(
            "{written}:4:3: warning: `vars.app_check_url` holds a URL with credentials"
        )),
        "{}",
        out.stderr
    );
}

/// Where the reports go is checked before the drill changes anything, and options that would
/// do nothing are refused: found only at the end, they would cost the drill's outcome.
#[test]
fn a_drill_s_outputs_are_checked_before_anything_changes() {
    let world = World::start();
    let before = world.state();
    let playbook = small_playbook(&world, "10m", "");
    let file = world.dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let (hook, _) = webhook(200);
    for (args, said) in [
        (
            vec!["drill", "--yes", "--report", file.to_str().unwrap()],
            "--report: ",
        ),
        (
            vec!["drill", "--dry", "--report", "dry-reports"],
            "`drill --dry` changes nothing",
        ),
        (
            vec!["drill", "--dry", "--notify", hook.as_str()],
            "`drill --dry` changes nothing",
        ),
    ] {
        let out = world.with_playbook(&args, &playbook).expect(2);
        assert!(out.stderr.contains(said), "{args:?}: {}", out.stderr);
    }
    assert_eq!(world.state(), before);
    assert!(
        !world.dir.path().join(".standin/runs").exists(),
        "a drill started"
    );
    assert!(!world.dir.path().join("dry-reports").exists());
}

/// `-q` keeps each command's outcome: a drill's is its first line.
#[test]
fn a_quiet_drill_still_says_how_it_ended() {
    let world = World::start();
    let playbook = small_playbook(&world, "10m", "");
    let out = world
        .with_playbook(&["-q", "drill", "--yes"], &playbook)
        .expect(0);
    assert!(
        out.stdout.trim_end().ends_with("of `drill-small`: passed.")
            && out.stdout.trim().lines().count() == 1,
        "{}",
        out.stdout
    );
    let running = soaking(&world, &["drill", "--yes", "--soak", "30s"], &playbook);
    running.signal("KILL");
    running.finish();
    let out = world
        .standin(&["-q", "rollback", "--last", "--yes"])
        .expect(0);
    assert!(
        out.stdout
            .contains("interrupted before its soak ended, then rolled back"),
        "{}",
        out.stdout
    );
}

/// A drill killed in its soak and resumed ends as it was started: its reports in its
/// `--report` directory, its summary posted when `--notify` is given again (the journal keeps
/// only the webhook's host, and says so when it is not).
#[test]
fn a_resumed_drill_writes_its_reports_where_it_was_started_with() {
    let world = World::start();
    let before = world.state();
    let playbook = small_playbook(&world, "10m", "");
    let reports = report_dir(&world, "started-with");
    let (hook, server) = webhook(200);
    let running = soaking(
        &world,
        &[
            "drill",
            "--yes",
            "--soak",
            "30s",
            "--report",
            reports.to_str().unwrap(),
            "--notify",
            &hook,
        ],
        &playbook,
    );
    running.signal("KILL");
    running.finish();
    let start = &world.journal(&world.run_dir().file_name().unwrap().to_string_lossy())[0];
    assert!(
        !start.to_string().contains("SECRETPATH"),
        "the webhook's path was journaled: {start}"
    );
    let mut resume = world.playbook_args(&["resume", "--yes"], &playbook);
    resume.pop();
    resume.retain(|a| !a.is_empty());
    let asked = world.standin_env(&[], &resume).expect(0);
    assert!(
        asked
            .stderr
            .contains("the drill was started with --notify to http://127.0.0.1:"),
        "{}",
        asked.stderr
    );
    assert_eq!(world.state(), before);
    let doc = json_file(&reports.join("report.json"));
    assert_eq!(doc["outcome"], "passed", "{doc}");
    // Once more, with the URL given again: posted.
    let running = soaking(&world, &["drill", "--yes", "--soak", "30s"], &playbook);
    running.signal("KILL");
    running.finish();
    let mut resume = world.playbook_args(&["resume", "--yes", "--notify", &hook], &playbook);
    resume.pop();
    resume.retain(|a| !a.is_empty());
    world.standin_env(&[], &resume).expect(0);
    let body: Value = serde_json::from_str(&server.join().unwrap()).unwrap();
    assert_eq!(body["outcome"], "passed", "{body}");
}

/// A killed drill's journal edited to hold a soak no drill writes (negative, beyond what a
/// duration holds, no time between checks): `resume` refuses it before changing anything,
/// naming the value and `rollback`, which puts everything back. It panicked (exit 101) with
/// the world promoted.
#[test]
fn resuming_a_drill_whose_soak_was_edited_is_refused_never_a_panic() {
    let world = World::start();
    let before = world.state();
    let playbook = small_playbook(&world, "10m", "");
    let running = soaking(&world, &["drill", "--yes", "--soak", "30s"], &playbook);
    running.signal("KILL");
    running.finish();
    let journal = world.run_dir().join("journal.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(
        text.contains("\"soak_secs\":30.0,\"every_secs\":30.0"),
        "{text}"
    );
    let mut resume = world.playbook_args(&["resume", "--yes"], &playbook);
    resume.pop();
    resume.retain(|a| !a.is_empty());
    for (edit, said) in [
        ("\"soak_secs\":-5.0,\"every_secs\":30.0", "its soak of -5 s"),
        (
            "\"soak_secs\":1e30,\"every_secs\":30.0",
            "its soak of 1000000000000000000000000000000 s",
        ),
        (
            "\"soak_secs\":30.0,\"every_secs\":0.0",
            "its time between checks of 0 s",
        ),
        (
            "\"soak_secs\":30.0,\"every_secs\":1e300",
            "its time between checks of",
        ),
    ] {
        std::fs::write(
            &journal,
            text.replace("\"soak_secs\":30.0,\"every_secs\":30.0", edit),
        )
        .unwrap();
        let out = world.standin_env(&[], &resume);
        assert_eq!(out.code, 4, "{edit}: {}", out.all());
        assert!(
            out.stderr.contains(said) && out.stderr.contains("the journal was edited"),
            "{edit}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(" rollback "), "{}", out.stderr);
    }
    world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(world.state(), before);
}

/// `rollback` takes no `--var`: a drill run with other values than its playbook's defaults,
/// killed and rolled back by hand, was verified against the resources the defaults name. The
/// resource the drill changed was not read, so it was said to be absent (`restore-differs`,
/// exit 3, with everything back); one absent before was said to be back unread. The restore
/// is now said to be not verified, naming `resume` with the drill's values, which verifies it.
#[test]
fn a_drill_run_with_other_vars_and_rolled_back_by_hand_is_not_verified_against_the_defaults() {
    let world = World::start();
    let before = world.state();
    let playbook = world.playbook(
        "drill-var.yaml",
        r#"version: 1
name: drill-var
vars:
  param: /shop/staging/DRILL_FLAG
recovery: staging-healthy
steps:
  - id: set-param
    kind: ssm.put-parameters
    values:
      ${vars.param}: "drilled"
  - id: staging-healthy
    kind: eb.wait-healthy
    environment: shop-staging
    within: 3s
"#,
    );
    let var = "param=/shop/staging/APP_URL";
    let running = soaking(
        &world,
        &["drill", "--yes", "--soak", "30s", "--var", var],
        &playbook,
    );
    assert_eq!(
        world.param("/shop/staging/APP_URL").as_deref(),
        Some("drilled")
    );
    running.signal("KILL");
    running.finish();
    let out = world.standin(&["rollback", "--last", "--yes"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(world.state(), before, "everything is put back");
    assert!(
        out.stderr.contains("is not verified")
            && out.stderr.contains("--var param")
            && out.stderr.contains(" resume ")
            && out.stderr.contains("--var values the drill ran with")
            && out
                .stderr
                .contains("the playbook here does not plan 1 of the 1 resource(s)"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("restore differs"), "{}", out.stdout);
    let status = world.standin(&["status", "--output", "json"]).expect(0);
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["drill_stage"], "restored", "{status}");

    // With the drill's values, `resume` verifies what the rollback put back and reports the
    // drill as it ended (killed in its soak: `interrupted`, exit 1).
    let mut resume = world.playbook_args(&["resume", "--yes", "--var", var], &playbook);
    resume.pop();
    resume.retain(|a| !a.is_empty());
    let out = world.standin_env(&[], &resume).expect(1);
    assert!(
        out.stdout.contains("interrupted")
            && out
                .stdout
                .contains("restore verified: 1 resource(s) as before"),
        "{}",
        out.stdout
    );
    let status = world.standin(&["status", "--output", "json"]).expect(0);
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["drill_stage"], "verified", "{status}");
    assert_eq!(world.state(), before);
}

/// A parameter the drill copied that production no longer has at the end (deleted during the
/// soak) is not planned again, so not read: the verification says so, where it said the
/// parameter, put back as it was, was absent.
#[test]
fn a_resource_the_playbook_no_longer_plans_is_named_not_read_never_absent() {
    let world = World::start();
    let playbook = small_playbook(&world, "10m", "");
    let staging = world.param("/shop/staging/QUEUE_URL");
    let running = soaking(
        &world,
        &["drill", "--yes", "--soak", "2s", "--every", "1s"],
        &playbook,
    );
    world.block_on(async {
        world
            .ssm
            .delete_parameter()
            .name("/shop/prod/QUEUE_URL")
            .send()
            .await
            .expect("delete");
    });
    let out = running.finish().expect(3);
    assert_eq!(world.param("/shop/staging/QUEUE_URL"), staging, "put back");
    assert!(
        out.stdout.contains("/shop/staging/QUEUE_URL")
            && out
                .stdout
                .contains("not read: the playbook, planned again, does not name it"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("absent"), "{}", out.stdout);
}
