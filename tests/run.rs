//! `standin run`: changes exactly what the plan said; a failure rolls back to the snapshot.

use std::collections::BTreeSet;

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use crate::support::World;

#[test]
fn run_changes_exactly_what_the_plan_said() {
    let world = World::start();
    let before = world.state();
    let plan = world.incident(&["plan", "--output", "json"]).expect(0);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let planned: BTreeSet<String> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["changes"].as_array().unwrap().iter())
        .filter(|c| ["add", "modify", "remove"].contains(&c["action"].as_str().unwrap()))
        // Parameters and records, named as the world's snapshot names them; environments and
        // rules are checked one by one below.
        .filter_map(|c| {
            let r = &c["resource"];
            match r["kind"].as_str().unwrap() {
                "parameter" => Some(r["name"].as_str().unwrap().to_owned()),
                "record" => {
                    let set = r["set_id"].as_str().map(|s| format!(" [{s}]"));
                    let (name, kind) = (r["name"].as_str()?, r["type"].as_str()?);
                    Some(format!("{name} {kind}{}", set.unwrap_or_default()))
                }
                _ => None,
            }
        })
        .collect();

    let out = world.incident(&["run", "--yes"]).expect(0);
    World::assert_no_secrets(&out.all());
    World::assert_no_secrets(&world.written_files());
    let after = world.state();

    // Every changed resource is one the plan named, and every planned one changed.
    let changed: BTreeSet<String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .filter(|(k, _)| k.starts_with("ssm ") || k.starts_with("dns "))
        .map(|(k, _)| {
            k.trim_start_matches("ssm ")
                .trim_start_matches("dns ")
                .to_owned()
        })
        .collect();
    assert_eq!(
        changed, planned,
        "run changed something other than the plan said"
    );

    assert_eq!(
        world.param("/shop/staging/DB_HOST").unwrap(),
        "prod-db.cluster-abc123.us-east-1.rds.amazonaws.com"
    );
    assert_eq!(
        world.param("/shop/staging/DB_PASSWORD").unwrap(),
        "prod-Sup3rSecret-7f3a9c"
    );
    assert_eq!(
        world.param("/shop/staging/RUN_MIGRATIONS").unwrap(),
        "false"
    );
    assert_eq!(
        world.param("/shop/staging/APP_URL").unwrap(),
        "https://staging.example.com"
    );
    assert_eq!(
        world.record("app.example.com.", "CNAME").unwrap(),
        "shop-staging.us-east-1.elasticbeanstalk.com"
    );
    assert_eq!(
        world.env_properties("shop-staging")["APP_ENV"],
        "production"
    );
    assert_eq!(
        world.lock_rules(),
        2,
        "the staging URL is locked on both of its listeners (HTTP:80 and HTTPS:443)"
    );
    assert_eq!(world.environment("shop-staging").0, "Ready");
    // SecureString stays SecureString.
    assert!(after["ssm /shop/staging/DB_PASSWORD"].starts_with("SecureString "));

    // Write-ahead: each step's undo record is journaled before its completion record.
    let runs = world.dir.path().join(".standin/runs");
    let run_dir = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<(&str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["record"].as_str().unwrap(),
                r["step"].as_str().unwrap_or(""),
            )
        })
        .collect();
    // Every step either changed nothing, or journaled its intent before its outcome (members of
    // a parallel group interleave).
    assert_eq!(kinds.first(), Some(&("start", "")));
    assert_eq!(kinds.last(), Some(&("finished", "")));
    let body = &kinds[1..kinds.len() - 1];
    let at = |record: &str, step: &str| body.iter().position(|k| *k == (record, step));
    let mut ids: Vec<&str> = Vec::new();
    for (_, step) in body {
        if !ids.contains(step) {
            ids.push(step);
        }
    }
    let mut steps = 0;
    for step in ids {
        steps += 1;
        let mine = body.iter().filter(|(_, s)| *s == step).count();
        if at("unchanged", step).is_some() {
            assert_eq!(mine, 1, "{kinds:?}");
            continue;
        }
        assert_eq!(mine, 2, "{kinds:?}");
        assert!(at("intent", step) < at("applied", step), "{kinds:?}");
    }
    assert_eq!(steps, 13);

    let status = world.standin(&["status"]).expect(0);
    assert!(status.stdout.contains("succeeded"), "{}", status.stdout);
    assert!(
        status.stdout.contains("prod-env-to-staging") && status.stdout.contains("applied"),
        "{}",
        status.stdout
    );
    // The second step found nothing left to change once the copy had set RUN_MIGRATIONS.
    assert!(
        status.stdout.contains("unchanged (nothing to do)"),
        "{}",
        status.stdout
    );
}

/// A playbook whose third step fails when applied, after one of its two writes: Parameter Store
/// refuses the other, a parameter whose 100 versions are kept and whose oldest is labelled
/// ([`labelled`]), which only the write itself finds (the plan warns of it).
const FAILS_AT_STEP_3: &str = "\
version: 1
name: fails-late
steps:
  - id: copy
    kind: ssm.copy-parameters
    from: /shop/prod/
    to: /shop/staging/
  - id: dns
    kind: route53.repoint
    zone: example.com
    record: app.example.com
    to: shop-staging.us-east-1.elasticbeanstalk.com
  - id: bad-put
    kind: ssm.put-parameters
    values:
      /shop/staging/NEW_FLAG: \"on\"
      /shop/labelled/FLAG: \"x\"
";

/// `/shop/labelled/FLAG`, with 100 versions, the oldest labelled: Parameter Store refuses a
/// write of it (ParameterMaxVersionLimitExceeded).
fn labelled(world: &World) {
    let name = "/shop/labelled/FLAG";
    world.put_param(name, "first");
    crate::version_limit::fill_history(world, name, false);
    world
        .block_on(
            world
                .ssm
                .label_parameter_version()
                .name(name)
                .parameter_version(1)
                .labels("first-release")
                .send(),
        )
        .expect("label the oldest version");
}

#[test]
fn a_failure_at_step_k_rolls_everything_back_to_the_snapshot() {
    let world = World::start();
    labelled(&world);
    let before = world.state();
    let pb = world.playbook("fails.yaml", FAILS_AT_STEP_3);
    let out = world.standin(&["run", "--yes", &pb]).expect(1);
    assert_eq!(
        world.state(),
        before,
        "state differs from the snapshot after rollback\n{}",
        out.stdout
    );
    let text = &out.stdout;
    assert!(text.contains("failed at step `bad-put`"), "{text}");
    assert!(
        text.contains("/shop/labelled/FLAG"),
        "the failing resource is named: {text}"
    );
    assert!(
        text.contains("SSM.PutParameter failed: ParameterMaxVersionLimitExceeded"),
        "the API error is named: {text}"
    );
    assert!(text.contains("Rolled back: bad-put, dns, copy"), "{text}");
    assert!(
        text.contains("/shop/staging/NEW_FLAG: deleted"),
        "the partial write is undone: {text}"
    );
    World::assert_no_secrets(&out.all());
    World::assert_no_secrets(&world.written_files());

    let status = world.standin(&["status", "--output", "json"]).expect(0);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["outcome"], "rolled-back");
    let states: Vec<&str> = status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["undone", "undone", "undone"]);
}

#[test]
fn run_refuses_without_yes_when_stdin_is_not_a_terminal() {
    let world = World::start();
    let before = world.full_dump();
    // Did not start (4), as README's table says, not invalid input.
    let out = world.incident(&["run"]).expect(4);
    assert!(out.stderr.contains("pass `--yes`"), "{}", out.stderr);
    assert_eq!(world.full_dump(), before);
}

#[test]
fn a_run_holding_the_lock_blocks_another_and_is_named() {
    let world = World::start();
    // Hold the state dir's lock as a running standin would.
    std::fs::create_dir_all(world.dir.path().join(".standin")).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(world.dir.path().join(".standin/lock"))
        .unwrap();
    lock.try_lock().unwrap();
    std::fs::write(
        world.dir.path().join(".standin/lock"),
        "pid 4242 on laptop since now: standin run other.yaml\n",
    )
    .unwrap();
    let before = world.full_dump();
    let out = world.incident(&["run", "--yes"]).expect(4);
    assert!(
        out.stderr.contains("standin run other.yaml"),
        "{}",
        out.stderr
    );
    assert_eq!(world.full_dump(), before);
}

#[test]
fn the_json_report_of_a_failed_run_is_as_documented() {
    let world = World::start();
    labelled(&world);
    let pb = world.playbook("fails.yaml", FAILS_AT_STEP_3);
    let out = world
        .standin(&["run", "--yes", "--output", "json", &pb])
        .expect(1);
    let report: serde_json::Value =
        serde_json::from_str(&out.stdout).expect("one JSON document on stdout");
    assert_eq!(report["outcome"], "rolled-back");
    assert_eq!(report["failed_step"]["step"], "bad-put");
    assert!(report["failed_step"]["error"]
        .as_str()
        .unwrap()
        .contains("SSM.PutParameter failed: ParameterMaxVersionLimitExceeded"));
    assert_eq!(
        report["undone"],
        serde_json::json!(["bad-put", "dns", "copy"])
    );
    assert_eq!(report["leftovers"], serde_json::json!([]));
    let run_id = report["run_id"].as_str().unwrap();
    let journal = world
        .dir
        .path()
        .join(".standin/runs")
        .join(run_id)
        .join("journal.jsonl");
    assert!(journal.is_file(), "run_id {run_id} names no journal");
}

/// A zone id as standin shows it (without `/hostedzone/`).
fn bare(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

/// `app.moved.test` CNAME `to`.
fn app_moved(to: &str) -> ResourceRecordSet {
    ResourceRecordSet::builder()
        .name("app.moved.test.")
        .r#type(RrType::Cname)
        .ttl(60)
        .resource_records(ResourceRecord::builder().value(to).build().unwrap())
        .build()
        .unwrap()
}

/// Makes `action` on each of `sets` in zone `id`.
fn change_zone(world: &World, id: &str, action: ChangeAction, sets: Vec<ResourceRecordSet>) {
    let changes = sets
        .into_iter()
        .map(|rs| {
            Change::builder()
                .action(action.clone())
                .resource_record_set(rs)
                .build()
                .unwrap()
        })
        .collect();
    let batch = ChangeBatch::builder()
        .set_changes(Some(changes))
        .build()
        .unwrap();
    world
        .block_on(
            world
                .route53
                .change_resource_record_sets()
                .hosted_zone_id(id)
                .change_batch(batch)
                .send(),
        )
        .expect("change the zone");
}

/// A zone `moved.test` holding `app.moved.test` CNAME `to`; its id.
fn moved_zone(world: &World, caller_reference: &str, to: &str) -> String {
    let zone = world
        .block_on(
            world
                .route53
                .create_hosted_zone()
                .name("moved.test")
                .caller_reference(caller_reference)
                .send(),
        )
        .expect("create the zone");
    let id = zone.hosted_zone().unwrap().id().to_owned();
    change_zone(world, &id, ChangeAction::Create, vec![app_moved(to)]);
    id
}

/// The check right before a repoint reads the record again in the zone its plan found while it
/// looks the zone up by name again: a record changed since the plan stops the step, and so does
/// a zone deleted and made again under the same name, holding the record the plan saw.
#[test]
fn a_repoint_whose_record_or_zone_changed_since_the_plan_stops_unchanged() {
    let world = World::start();
    let old = moved_zone(&world, "first", "old.example.net");
    // Each run pauses in a step of its own name, for the test to act in.
    let playbook = |pause: &str| {
        world.playbook(
            &format!("{pause}.yaml"),
            &format!("version: 1\nname: moved\nsteps:\n  - id: {pause}\n    kind: pause\n    duration: 3s\n  - id: repoint\n    kind: route53.repoint\n    zone: moved.test\n    record: app.moved.test\n    to: new.example.net\n"),
        )
    };
    let pb = playbook("wait");

    let run = world.running(&["run", "--yes", &pb], &[]);
    world.wait_for_journal(r#""record":"intent","step":"wait""#);
    // Someone repoints the record after the plan was shown.
    let someone = app_moved("someone-else.example.net");
    change_zone(&world, &old, ChangeAction::Upsert, vec![someone]);
    let out = run.finish().expect(1);
    assert!(
        out.stdout.contains("failed at step `repoint`: stopped before changing anything: the live state changed since the plan: app.moved.test. CNAME"),
        "{}",
        out.stdout
    );
    assert_eq!(
        world.record("app.moved.test.", "CNAME").as_deref(),
        Some("someone-else.example.net")
    );

    // The zone deleted and made again, with the record as the plan saw it.
    let pb = playbook("hold");
    let run = world.running(&["run", "--yes", &pb], &[]);
    world.wait_for_journal(r#""record":"intent","step":"hold""#);
    let sets = world
        .block_on(
            world
                .route53
                .list_resource_record_sets()
                .hosted_zone_id(&old)
                .send(),
        )
        .unwrap();
    let app: Vec<ResourceRecordSet> = (sets.resource_record_sets().iter())
        .filter(|rs| rs.name() == "app.moved.test.")
        .cloned()
        .collect();
    change_zone(&world, &old, ChangeAction::Delete, app);
    world
        .block_on(world.route53.delete_hosted_zone().id(&old).send())
        .expect("delete the zone");
    let new = moved_zone(&world, "second", "someone-else.example.net");
    assert_ne!(new, old);
    let out = run.finish().expect(1);
    assert!(
        out.stdout
            .contains(&format!("failed at step `repoint`: hosted zone moved.test: is now {} where the plan found {}: the zone was replaced since; plan again", bare(&new), bare(&old))),
        "{}",
        out.stdout
    );
    assert_eq!(
        world.record("app.moved.test.", "CNAME").as_deref(),
        Some("someone-else.example.net"),
        "the step wrote into a zone that replaced the one it planned in"
    );
}

/// Right before each step changes anything it is planned again, and must do exactly what the
/// plan said: a resource someone changed since the plan stops the step unchanged, and the
/// steps done before it are rolled back.
#[test]
fn a_step_whose_resource_changed_since_the_plan_stops_unchanged_and_earlier_steps_roll_back() {
    let world = World::start();
    let pb = world.playbook(
        "late.yaml",
        "version: 1\nname: late\nsteps:\n  - id: first\n    kind: ssm.put-parameters\n    values:\n      /shop/staging/QUEUE_URL: https://sqs.example/first\n  - id: wait\n    kind: pause\n    duration: 3s\n  - id: second\n    kind: ssm.put-parameters\n    values:\n      /shop/staging/APP_URL: https://second.example.com\n",
    );
    let run = world.running(&["run", "--yes", &pb], &[]);
    world.wait_for_journal(r#""record":"intent","step":"wait""#);
    // Someone changes what the last step will write, after the plan was shown.
    world.put_param("/shop/staging/APP_URL", "https://someone-else.example.com");
    let out = run.finish().expect(1);
    assert!(
        out.stdout.contains("failed at step `second`: stopped before changing anything: the live state changed since the plan: /shop/staging/APP_URL: planned ~ https://staging.example.com → https://second.example.com, now ~ https://someone-else.example.com → https://second.example.com"),
        "{}",
        out.stdout
    );
    assert_eq!(
        world.param("/shop/staging/APP_URL").unwrap(),
        "https://someone-else.example.com",
        "the step changed a resource that no longer matched its plan"
    );
    assert_eq!(
        world.param("/shop/staging/QUEUE_URL").unwrap(),
        "https://sqs.us-east-1.amazonaws.com/123456789012/shop-staging-jobs",
        "the earlier step was not rolled back"
    );
}
