//! `standin rollback` from the journal: exact restore, and refusal on drift.

use standin::engine::record::Record;
use standin::engine::view::RunView;
use standin::engine::Report;

use crate::support::World;

#[test]
fn rollback_last_restores_the_snapshot_exactly() {
    let world = World::start();
    let before = world.state();
    world.incident(&["run", "--yes"]).expect(0);
    assert_ne!(world.state(), before);
    let out = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(
        world.state(),
        before,
        "rollback did not restore the snapshot\n{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("/shop/staging/DB_PASSWORD: restored version 1"),
        "{}",
        out.stdout
    );
    World::assert_no_secrets(&out.all());
    World::assert_no_secrets(&world.written_files());

    // A second rollback has nothing left to do.
    let again = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert!(
        again.stdout.contains("nothing to roll back"),
        "{}",
        again.stdout
    );
    assert_eq!(world.state(), before);
}

#[test]
fn rollback_refuses_to_clobber_drift_and_force_overrides() {
    let world = World::start();
    let before = world.state();
    world.incident(&["run", "--yes"]).expect(0);
    // Someone fixes a value by hand after the run.
    world.put_param("/shop/staging/QUEUE_URL", "https://sqs.example/hand-edited");
    let drifted = world.state();

    let out = world.standin(&["rollback", "--last", "--yes"]).expect(3);
    let text = &out.stdout;
    assert!(text.contains("ROLLBACK INCOMPLETE"), "{text}");
    assert!(
        text.contains("/shop/staging/QUEUE_URL was changed by someone else since the run"),
        "{text}"
    );
    assert!(
        text.contains("rollback") && text.contains("--force"),
        "{text}"
    );
    // The drifted step changed nothing; the other steps were undone.
    assert_eq!(
        world.param("/shop/staging/QUEUE_URL").unwrap(),
        "https://sqs.example/hand-edited"
    );
    assert_eq!(
        world.param("/shop/staging/DB_HOST").unwrap(),
        "prod-db.cluster-abc123.us-east-1.rds.amazonaws.com"
    );
    assert_eq!(
        world.record("app.example.com.", "CNAME").unwrap(),
        "shop-prod.us-east-1.elasticbeanstalk.com"
    );
    assert_ne!(world.state(), drifted);

    let status = world.standin(&["status"]).expect(0);
    assert!(status.stdout.contains("UNDO FAILED"), "{}", status.stdout);

    // Refused again: what the command prints is the journal's account, record for record, and
    // `status` keeps the drift once the process is gone.
    let again = world
        .standin(&["--output", "json", "rollback", "--last", "--yes"])
        .expect(3);
    let mut printed: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    let run_id = printed["run_id"].as_str().unwrap().to_owned();
    let records: Vec<Record> = world
        .journal(&run_id)
        .into_iter()
        .map(|r| serde_json::from_value(r).expect("a record"))
        .collect();
    let view = RunView::from_records(&records).expect("a start record");
    let mut folded = serde_json::to_value(Report::of(&view, 0.0, None)).unwrap();
    printed["secs"] = 0.0.into();
    folded["secs"] = 0.0.into();
    assert_eq!(printed, folded);
    assert_eq!(
        printed["leftovers"][0]["drift"][0]["resource"], "/shop/staging/QUEUE_URL",
        "{printed}"
    );
    let status = world.standin(&["--output", "json", "status"]).expect(0);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let drifted = status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["state"] == "undo-failed")
        .expect("the refused step");
    assert_eq!(
        drifted["drift"], printed["leftovers"][0]["drift"],
        "{status}"
    );

    world
        .standin(&["rollback", "--last", "--yes", "--force"])
        .expect(0);
    assert_eq!(world.state(), before);
}

#[test]
fn rollback_of_an_unknown_run_is_invalid_input() {
    let world = World::start();
    let out = world
        .standin(&["rollback", "20990101T000000Z-dead", "--yes"])
        .expect(2);
    assert!(
        out.stderr.contains("no run `20990101T000000Z-dead`"),
        "{}",
        out.stderr
    );
}

#[test]
fn two_steps_writing_one_parameter_roll_back_to_the_first_value() {
    let world = World::start();
    let before = world.state();
    let pb = world.playbook(
        "twice.yaml",
        "\
version: 1
name: twice
steps:
  - id: first
    kind: ssm.put-parameters
    values:
      /shop/staging/QUEUE_URL: https://sqs.example/first
  - id: second
    kind: ssm.put-parameters
    values:
      /shop/staging/QUEUE_URL: https://sqs.example/second
",
    );
    world.standin(&["run", "--yes", &pb]).expect(0);
    // Undoing `second` writes `first`'s value again as a new version: still this run's write.
    let out = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(world.state(), before, "{}", out.stdout);
}

/// Drift on a record and on an environment's settings: a rollback refuses to write over what
/// someone set by hand since the run, names it, leaves it, and `--force` puts it back.
#[test]
fn rollback_refuses_a_record_or_an_environment_changed_by_hand_and_force_restores() {
    let world = World::start();
    let before = world.state();
    world.incident(&["run", "--yes"]).expect(0);
    world.upsert_record(
        "example.com.",
        "app.example.com.",
        "CNAME",
        "hand-fixed.example.net",
    );
    world.set_env_property("shop-staging", "APP_ENV", "hand-fixed");

    let out = world.standin(&["rollback", "--last", "--yes"]).expect(3);
    for changed in [
        "app.example.com. CNAME was changed by someone else since the run",
        "APP_ENV",
    ] {
        assert!(out.stdout.contains(changed), "{changed}\n{}", out.stdout);
    }
    assert_eq!(
        world.record("app.example.com.", "CNAME").unwrap(),
        "hand-fixed.example.net",
        "the hand-made record was written over"
    );
    assert_eq!(
        world.env_properties("shop-staging")["APP_ENV"],
        "hand-fixed",
        "the hand-made setting was written over"
    );

    world
        .standin(&["rollback", "--last", "--yes", "--force"])
        .expect(0);
    assert_eq!(world.state(), before);
}

/// An undo that fails (access denied) leaves aws CLI lines for a human; they are journaled, so
/// `status`, `report` and every report format show them after the run's process is gone.
#[test]
fn by_hand_lines_of_a_failed_undo_are_journaled_and_shown_by_status_and_every_report() {
    let world = World::start();
    let proxy = crate::support::Proxy::start(&world);
    // The first write is the run's; the second step's write and the first's undo are denied.
    proxy.faults(
        &world,
        &serde_json::json!([{"action": "ssm:PutParameter", "fault": "deny", "after": 1}]),
    );
    let pb = world.playbook(
        "denied.yaml",
        "version: 1\nname: denied\nsteps:\n  - id: first\n    kind: ssm.put-parameters\n    values:\n      /shop/staging/QUEUE_URL: https://sqs.example/first\n  - id: second\n    kind: ssm.put-parameters\n    values:\n      /shop/staging/APP_URL: https://second.example.com\n",
    );
    let out = world
        .standin_env(
            &[("AWS_ENDPOINT_URL", &proxy.url)],
            &[
                "--output".into(),
                "json".into(),
                "run".into(),
                "--yes".into(),
                pb,
            ],
        )
        .expect(3);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let run_id = doc["run_id"].as_str().unwrap().to_owned();
    let lines = doc["leftovers"][0]["by_hand"].clone();
    assert!(lines.to_string().contains("aws ssm put-parameter"), "{doc}");
    drop(proxy);

    let journaled = world.journal(&run_id);
    let failed = journaled
        .iter()
        .find(|r| r["record"] == "undo-failed" && r["step"] == "first")
        .expect("the undo's failure");
    assert_eq!(failed["by_hand"], lines, "{failed}");

    let status = world
        .standin(&["--output", "json", "status"])
        .expect(0)
        .stdout;
    let view: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(view["steps"][0]["by_hand"], lines, "{view}");
    let first = lines[lines.as_array().unwrap().len() - 1].as_str().unwrap();
    let human = world.standin(&["status"]).expect(0).stdout;
    assert!(human.contains(&format!("by hand: {first}")), "{human}");

    let dir = world.dir.path().join("reports");
    world
        .standin(&[
            "report",
            &run_id,
            "--format",
            "json,md,junit,html",
            "--dir",
            dir.to_str().unwrap(),
        ])
        .expect(0);
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).expect(file);
    let report: serde_json::Value = serde_json::from_str(&read("report.json")).unwrap();
    let undo = report["undo"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["step"] == "first")
        .expect("first's undo");
    assert_eq!(undo["by_hand"], lines, "{report}");
    let md = read("report.md");
    assert!(md.contains(&format!("by hand: `{first}`")), "{md}");
    let html = read("report.html");
    assert!(
        html.contains("by hand: <code>aws ssm put-parameter"),
        "{html}"
    );
    let junit = read("junit.xml");
    assert!(junit.contains("by hand: aws ssm put-parameter"), "{junit}");
    World::assert_no_secrets(&(md + &html + &junit));
}
