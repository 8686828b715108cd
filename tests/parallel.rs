//! `parallel:` groups: members run at once, each journaled (intent before its change, outcome
//! after); a failure lets the others finish, then everything done is undone in the reverse of
//! the order it ended in; `plan`, `status`, `resume` and reports show the group.

use serde_json::Value;

use crate::support::World;

/// A slow member (an environment update: Updating for a while) listed before a fast one (a
/// parameter), then a gate that fails when `fail` is set.
fn playbook(world: &World, fail: bool) -> String {
    // A gate that must fail does so at once; one that should pass waits out an environment
    // still Updating after a killed run.
    let (status, within) = if fail { (599, "1s") } else { (200, "10s") };
    // Staging answers 200 through the edge.
    world.playbook(
        "group.yaml",
        &format!(
            "version: 1
name: group
steps:
  - id: together
    parallel:
      - id: slow-env
        kind: eb.set-env
        environment: shop-staging
        set:
          APP_ENV: production
      - id: fast-param
        kind: ssm.put-parameters
        values:
          /shop/staging/RUN_MIGRATIONS: \"false\"
  - id: gate
    kind: http.check
    url: http://staging.example.com/
    via: ${{vars.edge}}
    expect_status: {status}
    within: {within}
vars:
  edge: \"\"
"
        ),
    )
}

/// `record step` of each step record, in journal order.
fn moves(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .filter_map(|r| Some(format!("{} {}", r["record"].as_str()?, r["step"].as_str()?)))
        .collect()
}

#[test]
fn members_run_at_once_and_plan_and_status_show_the_group() {
    let world = World::start();
    let playbook = playbook(&world, false);
    let plan = world.with_playbook(&["plan"], &playbook).expect(0);
    assert!(
        plan.stdout
            .contains("slow-env (eb.set-env) [parallel: together]"),
        "{}",
        plan.stdout
    );
    let json = world
        .with_playbook(&["--output", "json", "plan"], &playbook)
        .expect(0);
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["steps"][1]["group"], "together");
    assert!(doc["steps"][2].get("group").is_none());

    let out = world
        .with_playbook(&["--output", "json", "run", "--yes"], &playbook)
        .expect(0);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let records = world.journal(report["run_id"].as_str().unwrap());
    // One account: format 5, which builds before accounts still read.
    assert_eq!(records[0]["format"], 5);
    // Both intents are written before either outcome: the two changes were under way at once.
    // The parameter ends first, while the environment is still Updating.
    let mut moved = moves(&records);
    moved[..2].sort();
    assert_eq!(
        moved[..4],
        [
            "intent fast-param",
            "intent slow-env",
            "applied fast-param",
            "applied slow-env"
        ]
        .map(String::from),
        "{records:?}"
    );
    assert_eq!(records[0]["steps"][0]["group"], "together");
    assert_eq!(
        world.env_properties("shop-staging")["APP_ENV"],
        "production"
    );
    assert_eq!(
        world.param("/shop/staging/RUN_MIGRATIONS").unwrap(),
        "false"
    );

    let status = world.standin(&["status"]).expect(0);
    assert!(
        status.stdout.contains("[parallel: together]"),
        "{}",
        status.stdout
    );
}

#[test]
fn a_failure_after_a_group_undoes_its_members_in_the_reverse_of_the_order_they_ended() {
    let world = World::start();
    let before = world.state();
    let out = world
        .with_playbook(
            &["--output", "json", "run", "--yes"],
            &playbook(&world, true),
        )
        .expect(1);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["failed_step"]["step"], "gate");
    // The environment ended last, so it is undone first (in list order it would be last).
    assert_eq!(
        report["undone"],
        serde_json::json!(["gate", "slow-env", "fast-param"]),
        "{}",
        out.all()
    );
    assert_eq!(world.state(), before);
}

#[test]
fn a_run_killed_inside_a_group_resumes_the_member_in_doubt_and_the_other() {
    let world = World::start();
    let playbook = playbook(&world, false);
    let args = world.playbook_args(&["run", "--yes"], &playbook);
    let killed = world.standin_env(&[("STANDIN_CRASH_AT", "intent-written:fast-param")], &args);
    assert_ne!(killed.code, 0, "{}", killed.all());
    let status = world.standin(&["--output", "json", "status"]).expect(0);
    let view: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(view["steps"][1]["state"], "in-doubt", "{view}");
    assert_eq!(view["steps"][1]["group"], "together");

    let mut args = vec!["resume".to_owned(), "--yes".to_owned()];
    args.extend(["--var".to_owned(), format!("edge={}", world.edge)]);
    let resumed = world.standin_env(&[], &args);
    assert_eq!(resumed.code, 0, "{}", resumed.all());
    assert_eq!(
        world.env_properties("shop-staging")["APP_ENV"],
        "production"
    );
    assert_eq!(
        world.param("/shop/staging/RUN_MIGRATIONS").unwrap(),
        "false"
    );
    world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(
        world.env_properties("shop-staging")["APP_ENV"],
        "staging",
        "{}",
        resumed.all()
    );
}

#[test]
fn members_that_touch_one_resource_are_refused_before_anything_changes() {
    let world = World::start();
    let before = world.state();
    let playbook = world.playbook(
        "overlap.yaml",
        "version: 1
name: overlap
steps:
  - parallel:
      - id: one
        kind: ssm.put-parameters
        values:
          /shop/staging/RUN_MIGRATIONS: \"false\"
      - id: two
        kind: ssm.put-parameters
        values:
          /shop/staging/RUN_MIGRATIONS: \"true\"
",
    );
    let plan = world.with_playbook(&["plan"], &playbook);
    assert!(
        plan.all()
            .contains("as step `one` of the same parallel group does"),
        "{}",
        plan.all()
    );
    assert!(
        plan.stdout.contains("[parallel: one+two]"),
        "{}",
        plan.stdout
    );
    let run = world.with_playbook(&["run", "--yes"], &playbook);
    assert_ne!(run.code, 0);
    assert_eq!(world.state(), before);

    // An environment takes one update at a time: a property and a restart of it clash too.
    let playbook = world.playbook(
        "one-env.yaml",
        "version: 1
name: one-env
steps:
  - parallel:
      - id: settings
        kind: eb.set-env
        environment: shop-staging
        set:
          APP_ENV: production
      - id: restart
        kind: eb.restart
        environment: shop-staging
",
    );
    let plan = world.with_playbook(&["plan"], &playbook);
    assert!(
        plan.all().contains(
            "touches environment shop-staging, as step `settings` of the same parallel group does"
        ),
        "{}",
        plan.all()
    );
    world.with_playbook(&["run", "--yes"], &playbook).expect(1);
    assert_eq!(world.state(), before);
}

#[test]
fn a_malformed_group_is_rejected_with_its_place() {
    let world = World::start();
    let cases = [
        (
            "  - parallel:\n      - id: a\n        kind: pause\n        duration: 1s\n",
            "4:5",
            "`parallel` must list at least two steps",
        ),
        (
            "  - parallel:\n      - id: a\n        kind: confirm\n        message: go?\n      - id: b\n        kind: pause\n        duration: 1s\n",
            "6:9",
            "a `confirm` step cannot run in a parallel group",
        ),
        (
            "  - parallel:\n      - parallel:\n          - id: a\n            kind: pause\n            duration: 1s\n      - id: b\n        kind: pause\n        duration: 1s\n",
            "5:9",
            "parallel groups do not nest",
        ),
        (
            "  - parallel:\n      - id: a\n        kind: pause\n        duration: 1s\n      - id: b\n        kind: pause\n        duration: 1s\n    timeout: 5m\n",
            "11:5",
            "unknown field `timeout` of a parallel group",
        ),
    ];
    for (steps, place, message) in cases {
        let text = format!("version: 1\nname: bad\nsteps:\n{steps}");
        let path = world.playbook("bad.yaml", &text);
        let out = world.standin(&["validate", &path]).expect(2);
        assert!(
            out.stderr.contains(&format!("bad.yaml:{place}")) && out.stderr.contains(message),
            "{text}\n{}",
            out.stderr
        );
    }
}

#[test]
fn a_wait_says_what_it_waits_for_and_its_bound_in_plain_output() {
    let world = World::start();
    let playbook = world.playbook(
        "wait.yaml",
        "version: 1
name: wait
steps:
  - id: env
    kind: eb.set-env
    environment: shop-staging
    timeout: 4m
    set:
      APP_ENV: production
",
    );
    let out = world.with_playbook(&["run", "--yes"], &playbook).expect(0);
    // Once per thing waited for, not once per poll.
    let lines: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("waiting:"))
        .collect();
    assert_eq!(
        lines,
        ["    env: waiting: shop-staging Updating (Green) (at most 4m)"],
        "{}",
        out.stdout
    );
    world.standin(&["rollback", "--last", "--yes"]).expect(0);
    // Machines get JSON alone.
    let json = world
        .with_playbook(&["--output", "json", "run", "--yes"], &playbook)
        .expect(0);
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["outcome"], "succeeded");
}

#[test]
fn a_change_to_an_environment_busy_with_another_update_waits_for_it() {
    let world = World::start();
    // Another update in flight (a killed run's, or a parallel step's restart): Updating at
    // once and for 3 s, longer than standin takes to plan.
    world.control(&[
        "tag-env",
        "shop-staging",
        "emulator:update-seconds=3",
        "emulator:start-seconds=0",
    ]);
    world.block_on(async {
        world
            .eb
            .restart_app_server()
            .environment_name("shop-staging")
            .send()
            .await
            .expect("restart")
    });
    assert_eq!(world.environment("shop-staging").0, "Updating");
    let playbook = world.playbook(
        "busy.yaml",
        "version: 1
name: busy
steps:
  - id: env
    kind: eb.set-env
    environment: shop-staging
    set:
      APP_ENV: production
",
    );
    let args = world.playbook_args(&["run", "--yes"], &playbook);
    let out = world.standin_env(&[], &args);
    assert_eq!(out.code, 0, "{}", out.all());
    // It was busy when the run looked, and the change went through once it was Ready.
    assert!(
        out.stdout.contains("environment shop-staging is Updating")
            && out.stdout.contains("ok: applied"),
        "{}",
        out.stdout
    );
    assert_eq!(
        world.env_properties("shop-staging")["APP_ENV"],
        "production"
    );
}

/// A member that fails ends its siblings' waits: the rollback starts at once instead of after
/// a gate's whole `within` (minutes in the incident playbook), and a sibling that already
/// changed something is undone with the rest.
#[test]
fn a_failed_member_ends_its_siblings_waits_and_the_rollback_starts_at_once() {
    let world = World::start();
    let before = world.state();
    let proxy = crate::support::Proxy::start(&world);
    proxy.faults(
        &world,
        &serde_json::json!([{"action": "ssm:PutParameter", "fault": "deny"}]),
    );
    // The environment stays Updating a while after its change: a wait in flight.
    world.control(&["tag-env", "shop-staging", "emulator:update-seconds=6"]);
    let playbook = world.playbook(
        "group.yaml",
        "version: 1
name: group
steps:
  - id: together
    parallel:
      - id: env
        kind: eb.set-env
        environment: shop-staging
        set:
          APP_ENV: production
      - id: gate
        kind: http.check
        url: http://staging.example.com/
        via: ${vars.edge}
        expect_status: 599
        within: 5m
      - id: denied
        kind: ssm.put-parameters
        values:
          /shop/staging/QUEUE_URL: https://sqs.example/denied
vars:
  edge: \"\"
",
    );
    let started = std::time::Instant::now();
    let args = world.playbook_args(&["run", "--yes"], &playbook);
    let out = world
        .standin_env(&[("AWS_ENDPOINT_URL", proxy.url.as_str())], &args)
        .expect(1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "the rollback waited for the gate's 5m"
    );
    assert!(
        out.stdout.contains("failed at step `denied`"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("gate: FAILED after")
            && out
                .stdout
                .contains("stopped: `denied`, run at the same time, failed"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("undone env"), "{}", out.stdout);
    world.control(&["untag-env", "shop-staging", "emulator:update-seconds"]);
    assert_eq!(world.state(), before);
}
