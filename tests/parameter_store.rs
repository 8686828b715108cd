//! Parameter Store as AWS answers right after a write (the emulator's defaults:
//! DescribeParameters lags writes by 2 s; PutParameter is throttled by a token bucket): every
//! decision standin makes from what it just wrote is made on exact reads, and throttled writes
//! all land.

use std::collections::BTreeMap;

use aws_sdk_ssm::types::ParameterType;

use crate::support::{Proxy, World};

/// The seeded production value of a parameter that staging has too.
fn param(world: &World, name: &str) -> String {
    world.param(name).expect("seeded")
}

/// Writes a String parameter with a description, as the world has it (seen at once).
fn put_described(world: &World, name: &str, value: &str, description: &str) {
    world
        .block_on(
            world
                .ssm
                .put_parameter()
                .name(name)
                .value(value)
                .r#type(ParameterType::String)
                .description(description)
                .overwrite(true)
                .send(),
        )
        .expect("put parameter");
}

/// A parameter's description as its latest version has it (the history: exact).
fn description(world: &World, name: &str) -> Option<String> {
    world.block_on(async {
        let mut last = None;
        let mut pages = world
            .ssm
            .get_parameter_history()
            .name(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            last = page.expect("history").parameters().last().cloned();
        }
        last.and_then(|p| p.description().map(str::to_owned))
    })
}

/// A step that follows a write to the parameters it reads checks them right before its own
/// write: DescribeParameters still shows the version before that write (which the plan read),
/// so only an exact read sees that the earlier step wrote what the plan predicted.
#[test]
fn a_step_after_a_write_to_its_parameters_finds_exactly_what_the_plan_predicted() {
    let world = World::start();
    let before = world.state();
    let playbook = world.playbook(
        "two.yaml",
        "version: 1
name: two
steps:
  - id: pause-queue
    kind: ssm.put-parameters
    values:
      /shop/staging/QUEUE_URL: https://sqs.us-east-1.amazonaws.com/123456789012/paused
  - id: prod-env
    kind: ssm.copy-parameters
    from: /shop/prod/
    to: /shop/staging/
    keys: [QUEUE_URL, DB_HOST]
",
    );
    let run = world.standin(&["run", "--yes", &playbook]).expect(0);
    for key in ["QUEUE_URL", "DB_HOST"] {
        assert_eq!(
            param(&world, &format!("/shop/staging/{key}")),
            param(&world, &format!("/shop/prod/{key}")),
            "{}",
            run.stdout
        );
    }
    let back = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(world.state(), before, "{}", back.stdout);
}

/// Copies production's DB_HOST and REGION to staging; a gate, for drills.
fn copy_described(world: &World) -> String {
    world.playbook(
        "copy.yaml",
        "version: 1
name: copy
recovery: staging-healthy
rto_target: 5m
steps:
  - id: copy
    kind: ssm.copy-parameters
    from: /shop/prod/
    to: /shop/staging/
    keys: [DB_HOST, REGION]
  - id: staging-healthy
    kind: eb.wait-healthy
    environment: shop-staging
    within: 3s
",
    )
}

/// Production's DB_HOST with a description staging's lacks, and a REGION staging has not.
fn described_world() -> World {
    let world = World::start();
    put_described(
        &world,
        "/shop/prod/DB_HOST",
        &param(&world, "/shop/prod/DB_HOST"),
        "the writer endpoint",
    );
    put_described(&world, "/shop/prod/REGION", "us-east-1", "where it runs");
    world
}

/// A rollback right after the run puts the attributes back too: what the parameter holds now
/// (the description the run copied) is what the run wrote, as its journal says, not
/// DescribeParameters' view of the version before; a journal from before the written
/// attributes were kept has them read, exactly.
#[test]
fn a_rollback_right_after_the_run_clears_a_description_the_run_copied() {
    for journaled in [true, false] {
        let world = described_world();
        let before = world.state();
        let playbook = copy_described(&world);
        world.standin(&["run", "--yes", &playbook]).expect(0);
        assert_eq!(
            description(&world, "/shop/staging/DB_HOST").as_deref(),
            Some("the writer endpoint")
        );
        if !journaled {
            forget_written_attrs(&world);
        }
        let back = world.standin(&["rollback", "--last", "--yes"]).expect(0);
        assert_eq!(
            description(&world, "/shop/staging/DB_HOST"),
            None,
            "journaled {journaled}\n{}",
            back.stdout
        );
        assert!(
            back.stdout
                .contains("/shop/staging/DB_HOST: restored version"),
            "{}",
            back.stdout
        );
        assert_eq!(
            world.state(),
            before,
            "journaled {journaled}\n{}",
            back.stdout
        );
    }
}

/// Rewrites the run's journal as a build that did not keep `written_attrs` wrote it.
fn forget_written_attrs(world: &World) {
    let journal = world.run_dir().join("journal.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    let older: String = text
        .lines()
        .map(|line| {
            let mut record: serde_json::Value = serde_json::from_str(line).unwrap();
            let params = record
                .get_mut("undo")
                .and_then(|u| u.get_mut("params"))
                .and_then(serde_json::Value::as_array_mut);
            for p in params.into_iter().flatten() {
                p.as_object_mut().unwrap().remove("written_attrs");
            }
            format!("{record}\n")
        })
        .collect();
    assert_ne!(older, text, "the journal kept the written attributes");
    std::fs::write(&journal, older).unwrap();
}

/// A drill verifies its restore right after it: the verification reads what each parameter
/// holds exactly, and finds it as before. The soak outlasts DescribeParameters' lag (2 s), so
/// that view would show the drill's own write, not the restore.
#[test]
fn a_drill_verifies_its_restore_on_exact_reads() {
    let world = described_world();
    let before = world.state();
    let playbook = copy_described(&world);
    let out = world
        .standin(&["drill", "--yes", "--soak", "3s", "--every", "1s", &playbook])
        .expect(0);
    assert!(out.stdout.contains("restore verified"), "{}", out.stdout);
    assert_eq!(description(&world, "/shop/staging/DB_HOST"), None);
    assert_eq!(world.state(), before);
}

/// Killed right after its writes landed, before the journal said so: resume settles the step
/// by reading exactly what it was about to change, though DescribeParameters does not list the
/// parameter it created yet and shows the others' previous versions.
#[test]
fn resume_right_after_a_kill_settles_the_writes_that_landed() {
    let world = described_world();
    let before = world.state();
    let playbook = copy_described(&world);
    let run = ["run", "--yes", &playbook].map(String::from);
    let killed = world.standin_env(&[("STANDIN_CRASH_AT", "applied:copy")], &run);
    assert_eq!(killed.code, -1, "not killed\n{}", killed.all());
    assert_eq!(
        world.param("/shop/staging/REGION").as_deref(),
        Some("us-east-1")
    );
    let resumed = world.standin(&["resume", "--yes"]).expect(0);
    for key in ["DB_HOST", "REGION"] {
        assert_eq!(
            world.param(&format!("/shop/staging/{key}")),
            world.param(&format!("/shop/prod/{key}")),
            "{}",
            resumed.stdout
        );
    }
    let back = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(world.state(), before, "{}", back.stdout);
}

const MANY: usize = 40;

/// Many writes against an account whose PutParameter bucket refills slowly (2 a second, 4 at
/// once): the run and its rollback slow down and every write lands.
#[test]
fn many_writes_under_the_token_bucket_all_land_and_all_roll_back() {
    let world = World::seeded_with(
        "none",
        &[
            ("STANDIN_EMULATOR_SSM_PUT_RATE", "2"),
            ("STANDIN_EMULATOR_SSM_PUT_BURST", "4"),
        ],
    );
    for i in 0..MANY {
        world.put_param(&format!("/many/prod/KEY_{i:02}"), &format!("prod-{i}"));
        world.put_param(
            &format!("/many/staging/KEY_{i:02}"),
            &format!("staging-{i}"),
        );
    }
    let values = |side: &str| -> BTreeMap<String, String> {
        (0..MANY)
            .map(|i| {
                let name = format!("/many/staging/KEY_{i:02}");
                let value = world.param(&name).unwrap();
                (name, value.replace(side, "SIDE"))
            })
            .collect()
    };
    let staging = values("staging");
    let proxy = Proxy::start(&world);
    let playbook = world.playbook(
        "many.yaml",
        "version: 1
name: many
steps:
  - id: copy
    kind: ssm.copy-parameters
    from: /many/prod/
    to: /many/staging/
",
    );
    let via = [("AWS_ENDPOINT_URL", proxy.url.as_str())];
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    world
        .standin_env(&via, &args(&["run", "--yes", &playbook]))
        .expect(0);
    assert_eq!(values("prod"), staging, "every write landed");
    let puts = proxy.counts(&world)["ssm:PutParameter"];
    assert!(puts > MANY as u64, "no write was throttled: {puts} calls");

    proxy.reset_counts(&world);
    world
        .standin_env(&via, &args(&["rollback", "--last", "--yes"]))
        .expect(0);
    assert_eq!(values("staging"), staging, "every restore landed");
    assert!(proxy.counts(&world)["ssm:PutParameter"] > MANY as u64);
}
