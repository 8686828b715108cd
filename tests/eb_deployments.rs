//! Elastic Beanstalk operations as AWS runs them: an update whose deployment fails comes back
//! Ready with the old configuration and ERROR events (the step fails with AWS's words, and the
//! rollback is exact); while an update deploys, its values are a draft the environment does not
//! run (an undo waits, and reads what is deployed); a restart or swap shows Ready a moment
//! after the call before it turns Updating (the step waits for the operation it started).

use std::collections::BTreeMap;

use aws_sdk_elasticbeanstalk::types::{ConfigurationDeploymentStatus, ConfigurationOptionSetting};
use serde_json::Value;

use crate::support::World;

/// The failing message harness/moto_eb.py logs first for a deployment that fails.
const CAUSE: &str = "Instance deployment failed. For details, see 'eb-engine.log'.";

/// Tags staging so that a change of its MinSize fails to deploy, and writes a playbook that
/// sets its properties, then its capacity (which fails), then checks it is healthy.
fn capacity_fails(world: &World) -> String {
    world.control(&["tag-env", "shop-staging", "emulator:deploy-fails=MinSize"]);
    world.playbook(
        "deploy.yaml",
        "version: 1
name: deploy
recovery: staging-healthy
rto_target: 5m
steps:
  - id: props
    kind: eb.set-env
    environment: shop-staging
    set:
      APP_ENV: production
  - id: capacity
    kind: eb.scale
    environment: shop-staging
    min: 4
    max: 8
  - id: staging-healthy
    kind: eb.wait-healthy
    environment: shop-staging
    within: 5s
",
    )
}

/// What a rollback must put back: the world's state, and what staging runs (its deployed
/// configuration, which the state's merged view of every configuration set does not show).
fn held(world: &World) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    (world.state(), deployed(world, "shop-staging"))
}

/// Every option of `env`'s deployed configuration set (DeploymentStatus `deployed`), as
/// `NAMESPACE NAME -> value`; a draft is not what the environment runs.
fn deployed(world: &World, env: &str) -> BTreeMap<String, String> {
    let out = world
        .block_on(
            world
                .eb
                .describe_configuration_settings()
                .application_name("shop")
                .environment_name(env)
                .send(),
        )
        .expect("configuration settings");
    out.configuration_settings()
        .iter()
        .filter(|c| c.deployment_status() == Some(&ConfigurationDeploymentStatus::Deployed))
        .flat_map(|c| c.option_settings())
        .map(|o| {
            (
                format!(
                    "{} {}",
                    o.namespace().unwrap_or_default(),
                    o.option_name().unwrap_or_default()
                ),
                o.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn property(world: &World, env: &str, name: &str) -> String {
    deployed(world, env)[&format!("aws:elasticbeanstalk:application:environment {name}")].clone()
}

#[test]
fn a_deployment_that_fails_fails_its_step_with_aws_words_and_the_rollback_is_exact() {
    let world = World::start();
    let pb = capacity_fails(&world);
    let before = held(&world);
    let out = world.standin(&["run", "--yes", &pb]).expect(1);
    let text = &out.stdout;
    assert!(
        text.contains("failed at step `capacity`")
            && text.contains("Elastic Beanstalk reports the change failed")
            && text.contains(CAUSE)
            && text.contains("Failed to deploy configuration."),
        "{text}"
    );
    assert!(text.contains("Rolled back: capacity, props"), "{text}");
    // The failed step's change never deployed, and its undo says so rather than "restored".
    assert!(
        text.contains("environment shop-staging: the run's change never deployed"),
        "{text}"
    );
    assert_eq!(held(&world), before, "{text}");
}

#[test]
fn a_drill_whose_deployment_fails_fails_restores_and_reports_why() {
    let world = World::start();
    let pb = capacity_fails(&world);
    let before = held(&world);
    let reports = world.dir.path().join("reports");
    let out = world
        .standin(&["drill", "--yes", "--report", reports.to_str().unwrap(), &pb])
        .expect(1);
    assert!(
        out.stdout.contains("step `capacity` failed") && out.stdout.contains(CAUSE),
        "{}",
        out.stdout
    );
    assert_eq!(held(&world), before, "{}", out.stdout);
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(reports.join("report.json")).expect("report.json"),
    )
    .expect("JSON");
    assert_eq!(doc["outcome"], "step-failed", "{doc}");
    assert!(doc["reason"].as_str().unwrap().contains(CAUSE), "{doc}");
    assert_eq!(doc["verify"]["differences"], serde_json::json!([]), "{doc}");
    let markdown = std::fs::read_to_string(reports.join("report.md")).expect("report.md");
    assert!(
        markdown.contains(CAUSE) && markdown.contains("never deployed"),
        "{markdown}"
    );
}

/// Sets `APP_ENV` on staging by hand, as an interrupted rollback's undo would have.
fn set_app_env(world: &World, value: &str) {
    world
        .block_on(
            world
                .eb
                .update_environment()
                .environment_name("shop-staging")
                .option_settings(
                    ConfigurationOptionSetting::builder()
                        .namespace("aws:elasticbeanstalk:application:environment")
                        .option_name("APP_ENV")
                        .value(value)
                        .build(),
                )
                .send(),
        )
        .expect("update by hand");
}

/// Runs a step that sets staging's APP_ENV, then meets its rollback with an update in flight
/// that puts `staging` back (an earlier rollback's undo, killed after its call) and deploys in
/// 8 s (longer than the rollback takes to start), or fails to (`fails`); returns what the
/// rollback printed.
fn undo_meets_an_update_in_flight(world: &World, fails: bool) -> String {
    let pb = world.playbook(
        "props.yaml",
        "version: 1\nname: props\nsteps:\n  - id: props\n    kind: eb.set-env\n    environment: shop-staging\n    set:\n      APP_ENV: production\n",
    );
    world.standin(&["run", "--yes", &pb]).expect(0);
    assert_eq!(property(world, "shop-staging", "APP_ENV"), "production");
    let mut tags = vec!["emulator:update-seconds=8"];
    if fails {
        tags.push("emulator:deploy-fails=true");
    }
    world.control(&[&["tag-env", "shop-staging"], &tags[..]].concat());
    set_app_env(world, "staging");
    // Gone by the time the rollback looks: only the update in flight had them.
    let keys: Vec<&str> = tags.iter().map(|t| t.split('=').next().unwrap()).collect();
    world.control(&[&["untag-env", "shop-staging"], &keys[..]].concat());
    let out = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(property(world, "shop-staging", "APP_ENV"), "staging");
    assert_eq!(world.environment("shop-staging").1, "Green");
    out.stdout
}

#[test]
fn an_undo_reads_what_is_deployed_not_a_draft_still_deploying() {
    let world = World::start();
    // The draft holds `staging` while it deploys, and fails: staging still runs `production`.
    let out = undo_meets_an_update_in_flight(&world, true);
    assert!(
        out.contains("environment shop-staging APP_ENV: restored staging"),
        "{out}"
    );
}

#[test]
fn an_undo_waits_for_an_update_in_flight_before_deciding() {
    let world = World::start();
    // Once that update has deployed, staging runs `staging` again: nothing left to write.
    let out = undo_meets_an_update_in_flight(&world, false);
    assert!(
        out.contains("environment shop-staging: properties already as before the run"),
        "{out}"
    );
}

/// Tags `envs` so that a restart or swap turns Updating 1.5 s after the call and lasts 1 s,
/// then runs `steps` (that operation) and a change of the first environment's APP_ENV, which
/// Elastic Beanstalk refuses while the operation holds the environment: the run succeeds only
/// if the operation's step waited for it to end, and its step took that long.
fn an_operation_then_a_change(world: &World, envs: &[&str], steps: &str) {
    for env in envs {
        world.control(&[
            "tag-env",
            env,
            "emulator:start-seconds=1.5",
            "emulator:update-seconds=1",
        ]);
    }
    let pb = world.playbook(
        "late.yaml",
        &format!(
            "version: 1\nname: late\nsteps:\n{steps}  - id: props\n    kind: eb.set-env\n    environment: {}\n    set:\n      APP_ENV: promoted\n",
            envs[0]
        ),
    );
    let out = world.standin(&["run", "--yes", &pb]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(property(world, envs[0], "APP_ENV"), "promoted");
    let journal = world.journal(&world.run_dir().file_name().unwrap().to_string_lossy());
    let first = journal
        .iter()
        .find(|r| r["record"] == "applied")
        .expect("the operation's step applied");
    assert!(
        first["secs"].as_f64().unwrap() >= 2.5,
        "the operation's step ended before the operation did: {first}"
    );
}

#[test]
fn a_restart_that_turns_updating_late_is_waited_for() {
    let world = World::start();
    an_operation_then_a_change(
        &world,
        &["shop-staging"],
        "  - id: restart\n    kind: eb.restart\n    environment: shop-staging\n",
    );
}

#[test]
fn a_swap_that_turns_updating_late_is_waited_for() {
    let world = World::start();
    world.control(&["untag-env", "shop-prod", "emulator:stuck"]);
    an_operation_then_a_change(
        &world,
        &["shop-prod", "shop-staging"],
        "  - id: swap\n    kind: eb.swap-cnames\n    source: shop-staging\n    destination: shop-prod\n",
    );
}

#[test]
fn a_restart_over_before_standin_first_looks_is_seen_ended() {
    let world = World::start();
    // Never seen Updating: its DateUpdated, no earlier than its first event, says it ran.
    world.control(&[
        "tag-env",
        "shop-staging",
        "emulator:start-seconds=0",
        "emulator:update-seconds=0",
    ]);
    let pb = world.playbook(
        "quick.yaml",
        "version: 1\nname: quick\nsteps:\n  - id: restart\n    kind: eb.restart\n    environment: shop-staging\n    timeout: 20s\n",
    );
    let out = world.standin(&["run", "--yes", &pb]);
    assert_eq!(out.code, 0, "{}", out.all());
}

/// An operation someone else started a moment ago (a killed run's restart, still in flight
/// when its rollback begins) shows the environment Ready until it starts: a change made then
/// is refused as not Ready. The change waits for the operation and is made once it ended.
#[test]
fn a_change_refused_by_an_operation_accepted_a_moment_ago_is_made_once_it_ended() {
    let world = World::start();
    world.control(&[
        "tag-env",
        "shop-staging",
        "emulator:start-seconds=3",
        "emulator:update-seconds=1",
    ]);
    world
        .block_on(
            world
                .eb
                .restart_app_server()
                .environment_name("shop-staging")
                .send(),
        )
        .expect("a restart by hand");
    assert_eq!(world.environment("shop-staging").0, "Ready");
    let pb = world.playbook(
        "props.yaml",
        "version: 1\nname: props\nsteps:\n  - id: props\n    kind: eb.set-env\n    environment: shop-staging\n    set:\n      APP_ENV: promoted\n",
    );
    let out = world.standin(&["run", "--yes", &pb]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(property(&world, "shop-staging", "APP_ENV"), "promoted");
}
