//! Guards: each one fires at plan time and blocks the run with nothing changed, and they are
//! checked again right before each mutation.

use serde_json::json;

use crate::support::{Proxy, World};

/// Four guards that the world and this plan break, one per kind of condition.
const BROKEN_GUARDS: &str = "\
version: 1
name: t
guards:
  - name: staging uses production's database
    parameter: /shop/staging/DB_HOST
    equals:
      parameter: /shop/prod/DB_HOST
  - touched: RUN_MIGRATIONS
    equals: \"false\"
  - parameter: /shop/staging/QUEUE_URL
    not_matches: staging-jobs$
  - record: missing.example.com
    type: A
    zone: example.com
    exists: true
steps:
  - id: origins
    kind: ssm.put-parameters
    values:
      /shop/staging/ALLOWED_ORIGINS: https://app.example.com
";

#[test]
fn each_guard_fires_at_plan_time_and_blocks_the_run_with_nothing_changed() {
    let world = World::start();
    let before = world.full_dump();
    let pb = world.playbook("guards.yaml", BROKEN_GUARDS);

    let plan = world.standin(&["plan", &pb]).expect(1);
    for line in [
        "FAILED staging uses production's database: /shop/staging/DB_HOST will be `staging-db.cluster-def456.us-east-1.rds.amazonaws.com`, not /shop/prod/DB_HOST (`prod-db.cluster-abc123.us-east-1.rds.amazonaws.com`)",
        "FAILED RUN_MIGRATIONS wherever the plan changes things equals \"false\": /shop/staging/RUN_MIGRATIONS will be `true`, not \"false\"",
        "FAILED /shop/staging/QUEUE_URL does not match /staging-jobs$/: /shop/staging/QUEUE_URL will be `https://sqs.us-east-1.amazonaws.com/123456789012/shop-staging-jobs`, which matches /staging-jobs$/",
        "FAILED missing.example.com. A exists: missing.example.com. A will not exist",
        "ok     staging-db-in-production (built-in)",
        "4 guard(s) refuse this plan",
    ] {
        assert!(plan.stdout.contains(line), "missing {line:?} in\n{}", plan.stdout);
    }

    let json = world.standin(&["plan", "--output", "json", &pb]).expect(1);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["summary"]["failed_guards"], 4);
    let verdicts: Vec<bool> = doc["guards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["passed"].as_bool().unwrap())
        .collect();
    assert_eq!(verdicts, [false, false, false, false, true, true]);

    let run = world.standin(&["run", "--yes", &pb]).expect(4);
    assert!(
        run.stderr.contains("refused before any change")
            && run
                .stderr
                .contains("guard `staging uses production's database`"),
        "{}",
        run.stderr
    );
    assert_eq!(world.full_dump(), before, "a refused run changed the world");
    assert!(
        !world.dir.path().join(".standin/runs").exists(),
        "a refused run must not start a journal"
    );
}

#[test]
fn a_guard_is_checked_again_right_before_each_change() {
    let world = World::start();
    let before = world.state();
    let pb = world.playbook(
        "midway.yaml",
        "\
version: 1
name: t
guards:
  - parameter: /shop/prod/DB_HOST
    not_matches: staging
steps:
  - id: first
    kind: ssm.put-parameters
    values:
      /shop/staging/ALLOWED_ORIGINS: https://app.example.com
  - id: wait
    kind: pause
    duration: 6s
  - id: second
    kind: ssm.put-parameters
    values:
      /shop/staging/APP_URL: https://app.example.com
",
    );
    let child = world.spawn(&["run", "--yes", &pb]);
    // Someone points production at the staging database while the run pauses (the pause
    // leaves seconds for that write even on a loaded machine).
    world.wait_for_journal(r#""step":"wait""#);
    world.put_param(
        "/shop/prod/DB_HOST",
        "staging-db.cluster-def456.us-east-1.rds.amazonaws.com",
    );
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Run ") && stdout.contains("failed at step `second`: stopped before changing anything: guard `/shop/prod/DB_HOST does not match /staging/` fails"),
        "{stdout}"
    );
    assert_eq!(
        world.param("/shop/staging/APP_URL").unwrap(),
        "https://staging.example.com",
        "the guarded step must not run"
    );
    let mut expected = before;
    let key = "ssm /shop/prod/DB_HOST".to_owned();
    expected.insert(key.clone(), world.state()[&key].clone());
    assert_eq!(
        world.state(),
        expected,
        "the first step was not rolled back"
    );
}

#[test]
fn a_severe_environment_is_not_promoted_into_unless_forced() {
    let world = World::start();
    world.control(&["tag-env", "shop-staging", "emulator:health=Red"]);
    let before = world.full_dump();
    let out = world.incident(&["run", "--yes"]).expect(4);
    assert!(
        out.stderr.contains("guard `severe-target`: app.example.com. CNAME would send traffic to environment shop-staging, which is Ready, Red (Severe)"),
        "{}",
        out.stderr
    );
    assert_eq!(world.full_dump(), before);

    let forced = world
        .incident(&["plan", "--force-guard", "severe-target"])
        .expect(0);
    assert!(
        forced.stdout.contains("FORCED severe-target (built-in)"),
        "{}",
        forced.stdout
    );
}

#[test]
fn a_staging_database_host_is_never_written_into_production() {
    let world = World::start();
    let before = world.full_dump();
    // Not from a copy this time: typed by hand, into production's own parameter.
    let pb = world.playbook(
        "typo.yaml",
        "version: 1\nname: t\nsteps:\n  - id: db\n    kind: ssm.put-parameters\n    values:\n      /shop/prod/DB_HOST: staging-db.cluster-def456.us-east-1.rds.amazonaws.com\n",
    );
    let out = world.standin(&["plan", &pb]).expect(1);
    assert!(
        out.stdout.contains("FAILED staging-db-in-production (built-in): /shop/prod/DB_HOST would become `staging-db.cluster-def456.us-east-1.rds.amazonaws.com`, a staging database host"),
        "{}",
        out.stdout
    );
    world.standin(&["run", "--yes", &pb]).expect(4);
    assert_eq!(world.full_dump(), before);
}

#[test]
fn bad_guards_are_rejected_with_their_position() {
    let world = World::start();
    let pb = world.playbook(
        "bad-guards.yaml",
        "version: 1\nname: t\nguards:\n  - parameter: /a\n    equal: \"x\"\n  - parameter: /a\n    matches: \"(\"\n  - environment: shop-prod\n    exists: true\nsteps:\n  - id: p\n    kind: pause\n    duration: 1s\n",
    );
    let out = world.standin(&["validate", &pb]).expect(2);
    for line in [
        "bad-guards.yaml:5:5: unknown field `equal`",
        "did you mean `equals`?",
        "bad-guards.yaml:7:5: invalid regular expression: unclosed group",
        "bad-guards.yaml:8:5: `environment` needs `property`",
    ] {
        assert!(
            out.stderr.contains(line),
            "missing {line:?} in\n{}",
            out.stderr
        );
    }
}

/// `severe-target` sees an environment behind an alias to the load balancer that fronts it,
/// and refuses a target it cannot classify (fail closed) unless overruled by name.
#[test]
fn severe_target_looks_behind_load_balancers_and_fails_closed() {
    let world = World::start();
    let alias = |dns: &str| {
        world.playbook(
            "alias.yaml",
            &format!("version: 1\nname: t\nsteps:\n  - id: www\n    kind: route53.repoint\n    zone: example.com\n    record: www.example.com\n    type: A\n    alias:\n      dns_name: {dns}\n      hosted_zone_id: Z35SXDOTRQ7X7K\n"),
        )
    };
    let fronting = alias("Dualstack.Shop-Staging-ALB-1.us-east-1.elb.amazonaws.com");
    world.standin(&["plan", &fronting]).expect(0);
    world.control(&["tag-env", "shop-staging", "emulator:health=Red"]);
    let out = world.standin(&["plan", &fronting]).expect(1);
    assert!(
        out.stdout.contains("FAILED severe-target (built-in): www.example.com. A would send traffic to environment shop-staging"),
        "{}",
        out.stdout
    );
    world.control(&["untag-env", "shop-staging", "emulator:health"]);
    let unknown = alias("nowhere-9.us-east-1.elb.amazonaws.com");
    let out = world.standin(&["plan", &unknown]).expect(1);
    assert!(
        out.stdout.contains("points at load balancer nowhere-9.us-east-1.elb.amazonaws.com, which standin cannot see"),
        "{}",
        out.stdout
    );
    world
        .standin(&["plan", "--force-guard", "severe-target", &unknown])
        .expect(0);
}

/// The guards checked right before a change count against the step's `timeout:` (they read
/// while the step plans again): guards that read too slowly stop the step before it changes
/// anything, rather than let it start past its deadline.
#[test]
fn guards_that_outlast_the_step_s_timeout_stop_it_unchanged() {
    let world = World::start();
    let proxy = Proxy::start(&world);
    // The built-in staging-db guard reads the three staging twins of the production DB_HOST
    // the step writes (GetParameter each; the step itself reads with GetParameters) when
    // planning; from the check before the change on, each of those reads takes 10 s.
    proxy.faults(
        &world,
        &json!([{"action": "ssm:GetParameter", "fault": "slow", "seconds": 10, "after": 3}]),
    );
    world.put_param(
        "/shop/new/DB_HOST",
        "new-prod-db.cluster-abc123.us-east-1.rds.amazonaws.com",
    );
    let pb = world.playbook(
        "slow-guards.yaml",
        "version: 1\nname: t\nsteps:\n  - id: db\n    kind: ssm.copy-parameters\n    from: /shop/new/\n    to: /shop/prod/\n    timeout: 2s\n",
    );
    let before = world.param("/shop/prod/DB_HOST");
    let args: Vec<String> = ["run", "--yes", pb.as_str()].map(String::from).to_vec();
    let out = world
        .standin_env(&[("AWS_ENDPOINT_URL", &proxy.url)], &args)
        .expect(1);
    assert!(
        out.stdout
            .contains("failed at step `db`: timed out after 2s"),
        "{}",
        out.stdout
    );
    assert_eq!(world.param("/shop/prod/DB_HOST"), before);
    assert_eq!(proxy.counts(&world).get("ssm:PutParameter"), None);
}
