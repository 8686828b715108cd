//! A team's state in S3 (`--state s3://BUCKET/PREFIX`): journals and the lock shared between
//! machines, the lock optionally in DynamoDB (`--lock dynamodb://TABLE`), against the
//! emulator's S3 (conditional writes) and DynamoDB. Each test's "other machine" is another
//! working directory that shares only the emulated AWS account.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use standin::engine::record;
use standin::engine::record::{Outcome, Record};

use crate::support::World;

const BUCKET: &str = "team-state";
const STATE: &str = "s3://team-state/shop";
const TABLE: &str = "standin-locks";

/// Changes one parameter, then waits `secs`: a run to act on while it holds the lock.
fn holds(world: &World, secs: u32) -> String {
    world.playbook(
        "holds.yaml",
        &format!(
            "version: 1\nname: holds\nsteps:\n  - id: put\n    kind: ssm.put-parameters\n    values:\n      /shop/staging/QUEUE_URL: https://sqs.example/team\n  - id: wait\n    kind: pause\n    duration: {secs}s\n"
        ),
    )
}

/// Polls `check` every 100 ms, up to 30 s.
fn wait_until(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "not within 30s: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An object of the state bucket, if it exists.
fn object(world: &World, key: &str) -> Option<Vec<u8>> {
    world.object(BUCKET, key)
}

/// The S3 lock object's body.
fn s3_lock(world: &World) -> Option<serde_json::Value> {
    object(world, "shop/lock").map(|body| serde_json::from_slice(&body).expect("lock JSON"))
}

/// The DynamoDB lock item's `Info`.
fn dynamodb_lock(world: &World) -> Option<serde_json::Value> {
    world.block_on(async {
        let out = aws_sdk_dynamodb::Client::new(&world.config)
            .get_item()
            .table_name(TABLE)
            .key(
                "LockID",
                aws_sdk_dynamodb::types::AttributeValue::S("team-state/shop/lock".into()),
            )
            .consistent_read(true)
            .send()
            .await
            .expect("get item");
        let info = out.item()?.get("Info")?.as_s().expect("Info is a string");
        Some(serde_json::from_str(info).expect("lock JSON"))
    })
}

/// The run ids with a journal in the bucket.
fn runs(world: &World) -> Vec<String> {
    world.s3_run_ids(BUCKET, "shop")
}

/// A run's journal in the bucket.
fn journal_text(world: &World, run_id: &str) -> String {
    let bytes = object(world, &format!("shop/runs/{run_id}/journal.jsonl")).expect("journal");
    String::from_utf8(bytes).expect("UTF-8")
}

/// Waits until the only run's journal in the bucket contains `text`; returns the run id.
fn wait_for_s3_journal(world: &World, text: &str) -> String {
    wait_until(&format!("a journal in S3 mentions {text}"), || {
        runs(world)
            .iter()
            .any(|id| journal_text(world, id).contains(text))
    });
    runs(world).remove(0)
}

fn kill(child: &mut Child) {
    let status = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    child.wait().expect("reap");
}

#[test]
fn a_run_in_s3_is_read_and_rolled_back_from_another_machine() {
    let world = World::start();
    world.create_bucket(BUCKET);
    let before = world.state();
    let out = world
        .incident(&["--state", STATE, "run", "--yes"])
        .expect(0);
    assert!(
        out.stdout.contains("(journal: s3://team-state/shop/runs/"),
        "{}",
        out.stdout
    );
    assert!(!world.dir.path().join(".standin").exists());
    assert_eq!(s3_lock(&world), None, "the lock is released");
    let run_id = runs(&world).remove(0);

    let elsewhere = tempfile::tempdir().unwrap();
    let status = world
        .standin_in(elsewhere.path(), &["--state", STATE, "status"])
        .expect(0)
        .stdout;
    assert!(status.contains(&run_id), "{status}");
    assert!(status.contains("succeeded"), "{status}");
    assert!(!status.contains("Lock:"), "{status}");

    let out = world
        .standin_in(
            elsewhere.path(),
            &["--state", STATE, "rollback", "--last", "--yes"],
        )
        .expect(0);
    assert_eq!(world.state(), before, "{}", out.stdout);
    assert_eq!(s3_lock(&world), None);

    // The journal is the local format, byte for byte: every line a record, each `\n`-ended.
    let text = journal_text(&world, &run_id);
    assert!(text.ends_with('\n'));
    let records = record::parse("s3", text.as_bytes()).unwrap();
    assert_eq!(records.len(), text.lines().count());
    assert!(matches!(
        records.last(),
        Some(Record::Finished {
            outcome: Outcome::RolledBack,
            ..
        })
    ));
    World::assert_no_secrets(&text);
}

/// Starts a run that holds the lock, waits until `lock` shows it held, and checks that a
/// second run (from another directory) is refused naming the holder, changing nothing; then
/// the first finishes and releases the lock.
fn second_run_is_refused(
    world: &World,
    flags: &[&str],
    lock: fn(&World) -> Option<serde_json::Value>,
) {
    world.create_bucket(BUCKET);
    let pb = holds(world, 6);
    let first = world.spawn(&[flags, &["run", "--yes", &pb]].concat());
    wait_until("the first run holds the lock", || lock(world).is_some());
    let held = lock(world).unwrap();
    let holder = held["holder"].as_str().unwrap();
    assert!(
        holder.starts_with(&format!("pid {} on ", first.id())),
        "{held}"
    );

    let elsewhere = tempfile::tempdir().unwrap();
    let second = world
        .standin_in(elsewhere.path(), &[flags, &["run", "--yes", &pb]].concat())
        .expect(4);
    assert!(
        second
            .stderr
            .contains(&format!("is locked by {holder} since ")),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains(&format!(
            "for standin run {pb} (lock {})",
            held["id"].as_str().unwrap()
        )),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains("its lease runs until"),
        "{}",
        second.stderr
    );
    let status = world
        .standin_in(elsewhere.path(), &[flags, &["status"]].concat())
        .expect(0)
        .stdout;
    assert!(
        status.contains(&format!("Lock: held by pid {}", first.id())),
        "{status}"
    );

    let out = first.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(runs(world).len(), 1, "only the first run started");
    assert_eq!(lock(world), None, "released");
}

#[test]
fn two_runs_on_one_s3_state_the_second_is_refused_naming_the_holder() {
    let world = World::start();
    second_run_is_refused(&world, &["--state", STATE], s3_lock);
}

#[test]
fn two_runs_with_a_dynamodb_lock_the_second_is_refused_naming_the_holder() {
    let world = World::start();
    world.create_lock_table(TABLE);
    second_run_is_refused(
        &world,
        &["--state", STATE, "--lock", "dynamodb://standin-locks"],
        dynamodb_lock,
    );
    assert_eq!(
        s3_lock(&world),
        None,
        "no S3 lock object with a DynamoDB lock"
    );
}

#[test]
fn two_runs_started_together_exactly_one_runs() {
    let world = World::start();
    world.create_bucket(BUCKET);
    let pb = holds(&world, 6);
    let args = ["--state", STATE, "run", "--yes", &pb];
    let (a, b) = (world.spawn(&args), world.spawn(&args));
    let mut codes: Vec<i32> = [a, b]
        .into_iter()
        .map(|child| child.wait_with_output().unwrap().status.code().unwrap())
        .collect();
    codes.sort();
    assert_eq!(codes, [0, 4]);
    assert_eq!(runs(&world).len(), 1);
}

#[test]
fn a_killed_holders_lease_expires_and_only_its_id_takes_it_over() {
    let world = World::start();
    world.create_bucket(BUCKET);
    let before = world.state();
    let pb = holds(&world, 60);
    let flags = ["--state", STATE, "--lease-secs", "2"];
    let mut child = world.spawn(&[&flags[..], &["run", "--yes", &pb]].concat());
    let pid = child.id();
    wait_for_s3_journal(&world, r#""record":"intent","step":"wait""#);
    kill(&mut child);

    // The lock stays behind; once its lease expired, the next command names the dead holder.
    let id = s3_lock(&world).expect("the lock stays")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    std::thread::sleep(Duration::from_secs(3));
    let rollback = [&flags[..], &["rollback", "--last", "--yes"]].concat();
    let out = world.standin(&rollback).expect(4);
    for text in [
        format!("s3://team-state/shop/lock is locked by pid {pid} on "),
        format!("(lock {id}); its lease expired at "),
        format!("the holder is probably dead; take it over with `--force-unlock {id}`"),
    ] {
        assert!(out.stderr.contains(&text), "{text}\n{}", out.stderr);
    }
    let status = world.standin(&[&flags[..], &["status"]].concat()).expect(0);
    assert!(
        status.stdout.contains("Lock: held by pid"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("its lease expired at"),
        "{}",
        status.stdout
    );
    let json = world
        .standin(&[&flags[..], &["--output", "json", "status"]].concat())
        .expect(0);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["lock"]["id"], id.as_str());
    assert_eq!(json["lock"]["expired"], true);

    // Another id takes nothing over.
    let wrong = world
        .standin(&[&rollback[..], &["--force-unlock", "0123456789ab"]].concat())
        .expect(4);
    assert!(wrong.stderr.contains("does not match"), "{}", wrong.stderr);
    assert_eq!(s3_lock(&world).unwrap()["id"], id.as_str());

    // Its id does, and the rollback restores the world.
    let out = world
        .standin(&[&rollback[..], &["--force-unlock", &id]].concat())
        .expect(0);
    assert!(out.stderr.contains("Took over the lock"), "{}", out.stderr);
    assert_eq!(world.state(), before, "{}", out.stdout);
    assert_eq!(s3_lock(&world), None);
}

#[test]
fn a_holder_whose_lock_was_taken_over_stops_before_its_next_change() {
    let world = World::start();
    world.create_bucket(BUCKET);
    let before = world.state();
    // A 30 s lease is renewed every 10 s: the lock is removed between two renewals, and the
    // holder has one more change to make after its pause.
    let flags = ["--state", STATE, "--lease-secs", "30"];
    let pb = world.playbook(
        "holds.yaml",
        "version: 1\nname: holds\nsteps:\n  - id: put\n    kind: ssm.put-parameters\n    values:\n      /shop/staging/QUEUE_URL: https://sqs.example/team\n  - id: wait\n    kind: pause\n    duration: 12s\n  - id: after\n    kind: ssm.put-parameters\n    values:\n      /shop/staging/APP_URL: https://after.example.com\n",
    );
    let holder = world.spawn(&[&flags[..], &["run", "--yes", &pb]].concat());
    let run_id = wait_for_s3_journal(&world, r#""record":"intent","step":"wait""#);
    let id = s3_lock(&world).unwrap()["id"].as_str().unwrap().to_owned();

    // Taking the lock over from a holder that is still alive is refused.
    let elsewhere = tempfile::tempdir().unwrap();
    let refused = world
        .standin_in(
            elsewhere.path(),
            &[
                &flags[..],
                &["rollback", &run_id, "--yes", "--force-unlock", &id],
            ]
            .concat(),
        )
        .expect(4);
    assert!(
        refused.stderr.contains("which is alive"),
        "{}",
        refused.stderr
    );
    // Someone removes its lock by hand (and touches nothing else: only the fence can stop
    // the holder now; its journal is as it left it).
    world
        .block_on(
            world
                .s3()
                .delete_object()
                .bucket(BUCKET)
                .key("shop/lock")
                .send(),
        )
        .expect("delete the lock");

    // At its next renewal the holder finds it lost the lock, and stops before its next change.
    let out = holder.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("lost the lock on s3://team-state/shop/lock: it was removed"),
        "{stderr}"
    );
    assert_eq!(
        world.param("/shop/staging/APP_URL").unwrap(),
        "https://staging.example.com",
        "the holder made a change after it lost the lock"
    );
    assert_eq!(
        world.param("/shop/staging/QUEUE_URL").unwrap(),
        "https://sqs.example/team"
    );
    assert_eq!(s3_lock(&world), None);
    world
        .standin_in(
            elsewhere.path(),
            &[&flags[..], &["rollback", &run_id, "--yes"]].concat(),
        )
        .expect(0);
    assert_eq!(world.state(), before);
}

#[test]
fn another_writer_on_a_journal_stops_the_run_clearly() {
    let world = World::start();
    world.create_bucket(BUCKET);
    let pb = holds(&world, 4);
    let child = world.spawn(&["--state", STATE, "run", "--yes", &pb]);
    let run_id = wait_for_s3_journal(&world, r#""record":"intent","step":"wait""#);
    // Someone else appends to the journal (as a rollback from another machine would, had it
    // taken the lock over).
    let key = format!("shop/runs/{run_id}/journal.jsonl");
    let foreign = format!(
        "{}{}\n",
        journal_text(&world, &run_id),
        r#"{"record":"rollback-started","reason":"requested","at":"2026-11-25T11:14:00.000Z"}"#
    );
    world
        .block_on(
            world
                .s3()
                .put_object()
                .bucket(BUCKET)
                .key(&key)
                .body(foreign.clone().into_bytes().into())
                .send(),
        )
        .expect("put");

    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "another process wrote the journal of run {run_id} since this one did; stop and look"
        )),
        "{stderr}"
    );
    assert_eq!(
        journal_text(&world, &run_id),
        foreign,
        "nothing overwritten"
    );
}

#[test]
fn shared_lock_options_are_refused_for_a_state_directory() {
    let world = World::start();
    let before = world.state();
    let pb = holds(&world, 1);
    let out = world
        .standin(&["run", "--yes", "--force-unlock", "0123456789ab", &pb])
        .expect(2);
    assert!(
        out.stderr
            .contains("--force-unlock takes over the lock of a shared state"),
        "{}",
        out.stderr
    );
    let out = world
        .standin(&["--lock", "dynamodb://t", "run", "--yes", &pb])
        .expect(2);
    assert!(
        out.stderr.contains("locks a shared state"),
        "{}",
        out.stderr
    );
    assert_eq!(world.state(), before);
}

#[test]
fn a_playbooks_state_block_keeps_its_runs_in_s3() {
    let world = World::start();
    world.create_bucket(BUCKET);
    let text = std::fs::read_to_string(world.incident_playbook()).unwrap();
    let pb = world.playbook(
        "team.yaml",
        &format!("{text}\nstate:\n  location: {STATE}\n"),
    );
    let before = world.state();
    let out = world.with_playbook(&["run", "--yes"], &pb).expect(0);
    assert!(
        !world.dir.path().join(".standin/runs").exists(),
        "the run was journaled locally"
    );
    // Another machine, with the flag, sees and undoes it.
    let elsewhere = tempfile::tempdir().unwrap();
    let status = world
        .standin_in(elsewhere.path(), &["--state", STATE, "status"])
        .expect(0);
    assert!(status.stdout.contains("succeeded"), "{}", status.stdout);
    world
        .standin_in(
            elsewhere.path(),
            &["--state", STATE, "rollback", "--last", "--yes"],
        )
        .expect(0);
    assert_eq!(world.state(), before, "{}", out.stdout);

    // A bad location is refused with its position, before anything is called.
    let bad = world.playbook("bad.yaml", &format!("{text}\nstate:\n  location: s3://\n"));
    let refused = world.with_playbook(&["validate"], &bad).expect(2);
    assert!(
        refused.stderr.contains("bad.yaml:") && refused.stderr.contains("names no bucket"),
        "{}",
        refused.stderr
    );
}

/// What lies under `runs/` but is not a run (a key someone wrote, a directory left by hand)
/// is never taken for the newest run; and `S3://` is the team's bucket, as `s3://` is, never a
/// local directory whose lock nobody else sees.
#[test]
fn strays_under_runs_are_not_runs_and_a_scheme_s_case_does_not_matter() {
    let world = World::start();
    world.create_bucket(BUCKET);
    let before = world.state();
    let pb = holds(&world, 0);
    let run = world.standin(&["--state", "S3://team-state/shop", "run", "--yes", &pb]);
    run.expect(0);
    let ids = runs(&world);
    assert_eq!(ids.len(), 1, "the run is in the bucket: {ids:?}");
    assert!(!world.dir.path().join("S3:").exists());
    let real = &ids[0];
    let text = journal_text(&world, real);
    // Sorted after every real run id, as the outside pass planted them.
    world
        .block_on(
            world
                .s3()
                .put_object()
                .bucket(BUCKET)
                .key("shop/runs/a%2Fb/journal.jsonl")
                .body(text.clone().into_bytes().into())
                .send(),
        )
        .expect("put a stray");
    let status = world.standin(&["--state", STATE, "status"]).expect(0);
    assert!(status.stdout.contains(real.as_str()), "{}", status.stdout);
    world
        .standin(&["--state", STATE, "report", "--dir", "reports"])
        .expect(0);
    world
        .standin(&["--state", STATE, "rollback", "--last", "--yes"])
        .expect(0);
    assert_eq!(world.state(), before);

    // A local state with a stray directory and a real run.
    let local = world.dir.path().join(".standin/runs");
    world.standin(&["run", "--yes", &pb]).expect(0);
    std::fs::create_dir_all(local.join("zzz-stray")).unwrap();
    std::fs::write(local.join("zzz-stray/journal.jsonl"), &text).unwrap();
    let status = world.standin(&["status"]).expect(0);
    assert!(!status.stdout.contains("zzz-stray"), "{}", status.stdout);
    world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(world.state(), before);
    let history = world.standin(&["history"]).expect(0);
    assert!(!history.stdout.contains("zzz"), "{}", history.stdout);
}

/// `history FILE` finds the runs of a playbook however its path is written.
#[test]
fn history_finds_a_playbook_by_any_spelling_of_its_path() {
    let world = World::start();
    let pb = holds(&world, 0);
    world.standin(&["run", "--yes", &pb]).expect(0);
    for spelling in [pb.as_str(), "holds.yaml", "./holds.yaml", "holds"] {
        let out = world
            .standin(&["history", spelling, "--output", "json"])
            .expect(0);
        let rows: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(rows.as_array().map(Vec::len), Some(1), "{spelling}: {rows}");
    }
    // A long name keeps the columns in line: each value starts under its heading.
    let long = world.playbook(
        "long.yaml",
        &std::fs::read_to_string(&pb)
            .unwrap()
            .replace("name: holds", "name: a-playbook-name-longer-than-twenty"),
    );
    world.standin(&["run", "--yes", &long]).expect(0);
    let table = world.standin(&["history"]).expect(0).stdout;
    let lines: Vec<&str> = table.lines().collect();
    let column = |line: &str, text: &str| line.find(text).unwrap_or_else(|| panic!("{table}"));
    let kind = column(lines[0], "KIND");
    let outcome = column(lines[0], "OUTCOME");
    for row in &lines[1..] {
        assert_eq!(column(row, "run "), kind, "{table}");
        assert_eq!(column(row, "succeeded"), outcome, "{table}");
    }
}

/// A run records who ran it: the person at the machine (by uid when `USER` is unset, as
/// under cron or in a CI container; it was `unknown@host`) and the credentials it acted
/// with, as STS names them; reports show both.
#[test]
fn a_run_records_the_person_and_the_aws_principal_it_acted_as() {
    let world = World::start();
    let pb = world.playbook(
        "who.yaml",
        "version: 1\nname: who\nsteps:\n  - id: put\n    kind: ssm.put-parameters\n    values:\n      /shop/staging/WHO: someone\n",
    );
    let policy = world.standin(&["iam-policy", &pb]).expect(0);
    let keys = world.iam_user("ana", &serde_json::from_str(&policy.stdout).unwrap());
    let mut env: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.extend([("USER", ""), ("LOGNAME", "")]);
    world
        .standin_env(&env, &["run".to_owned(), "--yes".to_owned(), pb.clone()])
        .expect(0);
    let me = Command::new("id").arg("-un").output().unwrap();
    let me = String::from_utf8(me.stdout).unwrap().trim().to_owned();
    let run = world.run_dir();
    let id = run.file_name().unwrap().to_string_lossy().into_owned();
    let start = &world.journal(&id)[0];
    let by = start["by"].as_str().unwrap();
    assert!(by.starts_with(&format!("{me}@")), "{start}");
    let arn = "arn:aws:iam::123456789012:user/ana";
    assert_eq!(start["principals"], serde_json::json!([{ "arn": arn }]));
    world.standin(&["report", "--dir", "who"]).expect(0);
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(world.dir.path().join("who/report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(doc["principals"][0]["arn"], arn);
    let md = std::fs::read_to_string(world.dir.path().join("who/report.md")).unwrap();
    assert!(md.contains(&format!("| Run by | {by}, as {arn} |")), "{md}");
}

/// How often each command reads a journal back from S3 (`GetObject`; the lock is in
/// DynamoDB, so every S3 read is a journal's): the journal folds what it appends, so a drill
/// never reads its own back, and `resume` and `rollback` read the run's once, when they open
/// it (as they did before: a bucket's journal keeps the bytes it read and wrote).
#[test]
fn each_command_reads_a_journal_from_s3_at_most_once() {
    let world = World::start();
    world.create_bucket(BUCKET);
    world.create_lock_table(TABLE);
    let state = ["--state", STATE, "--lock", "dynamodb://standin-locks", "-v"];
    let gets = |stderr: &str| stderr.matches("aws S3.GetObject:").count();
    let args: Vec<&str> = state
        .iter()
        .copied()
        .chain(["drill", "--yes", "--soak", "0s"])
        .collect();
    let drill = world.incident(&args).expect(0);
    assert_eq!(gets(&drill.stderr), 0, "{}", drill.stderr);
    let args: Vec<&str> = state.iter().copied().chain(["run", "--yes"]).collect();
    let run = world.incident(&args).expect(0);
    assert_eq!(gets(&run.stderr), 0, "{}", run.stderr);
    let run_id = run
        .stdout
        .split("s3://team-state/shop/runs/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the run's journal");
    let args: Vec<&str> = state
        .iter()
        .copied()
        .chain(["rollback", "--yes", run_id])
        .collect();
    let rollback = world.standin(&args).expect(0);
    assert_eq!(gets(&rollback.stderr), 1, "{}", rollback.stderr);
}
