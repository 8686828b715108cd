//! Many parameters in one step: a copy of 120 reads in the largest pages and in batches,
//! re-reads only what it writes right before writing, writes many at once, and keeps going
//! (slower) when the account throttles a share of its writes, losing nothing. Counts of calls
//! are asserted here; times are for `scripts/bench.sh`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::support::{Proxy, World};

const N: usize = 120;

const PLAYBOOK: &str = "version: 1
name: bulk
steps:
  - id: copy
    kind: ssm.copy-parameters
    from: /bulk/prod/
    to: /bulk/staging/
";

/// 120 parameters on each side, in an account whose PutParameter is not throttled: these tests
/// count calls, and inject throttling of their own (tests/parameter_store.rs writes many under
/// the emulator's token bucket).
fn bulk_world() -> World {
    let world = World::seeded_with("incident", &[("STANDIN_EMULATOR_SSM_PUT_RATE", "0")]);
    for i in 0..N {
        world.put_param(&format!("/bulk/prod/KEY_{i:03}"), &format!("prod-{i}"));
        world.put_param(
            &format!("/bulk/staging/KEY_{i:03}"),
            &format!("staging-{i}"),
        );
    }
    world
}

fn staging_values(world: &World) -> Vec<String> {
    (0..N)
        .map(|i| world.param(&format!("/bulk/staging/KEY_{i:03}")).unwrap())
        .collect()
}

fn expected(side: &str) -> Vec<String> {
    (0..N).map(|i| format!("{side}-{i}")).collect()
}

/// Runs standin through the proxy; the proxy's counts of that command alone.
fn counted(world: &World, proxy: &Proxy, args: &[&str], code: i32) -> BTreeMap<String, u64> {
    proxy.reset_counts(world);
    let args = if args[0] == "rollback" {
        args.iter().map(|a| a.to_string()).collect()
    } else {
        world.playbook_args(args, &world.playbook("bulk.yaml", PLAYBOOK))
    };
    world
        .standin_env(&[("AWS_ENDPOINT_URL", &proxy.url)], &args)
        .expect(code);
    proxy.counts(world)
}

fn n(counts: &BTreeMap<String, u64>, action: &str) -> u64 {
    counts.get(action).copied().unwrap_or(0)
}

#[test]
fn reads_come_in_the_largest_pages_and_batches_and_writes_are_not_read_twice() {
    let world = bulk_world();
    let proxy = Proxy::start(&world);

    let plan = counted(&world, &proxy, &["plan"], 0);
    // Two prefixes of 120: DescribeParameters pages of 50, then values 10 names per
    // GetParameters, not page after page of GetParametersByPath.
    assert_eq!(n(&plan, "ssm:DescribeParameters"), 2 * 3, "{plan:?}");
    assert_eq!(n(&plan, "ssm:GetParameters"), 2 * 12, "{plan:?}");
    assert_eq!(n(&plan, "ssm:GetParametersByPath"), 0, "{plan:?}");
    assert_eq!(n(&plan, "ssm:GetParameter"), 0, "{plan:?}");

    let run = counted(&world, &proxy, &["run", "--yes"], 0);
    assert_eq!(staging_values(&world), expected("prod"));
    assert_eq!(n(&run, "ssm:PutParameter"), N as u64, "{run:?}");
    // The check right before the writes reads which version each of the 240 parameters
    // involved is at, exactly (GetParameters, 10 at a time: DescribeParameters may not show a
    // write made a moment ago), and decrypts none again: none was written since the plan.
    assert_eq!(n(&run, "ssm:GetParametersByPath"), 0, "{run:?}");
    assert_eq!(n(&run, "ssm:GetParameters"), 2 * 12 + 2 * 12, "{run:?}");
    assert_eq!(n(&run, "ssm:DescribeParameters"), 2 * 3, "{run:?}");
    let reads: u64 = run
        .iter()
        .filter(|(action, _)| !action.ends_with("PutParameter"))
        .map(|(_, n)| n)
        .sum();
    assert!(
        reads as f64 / N as f64 <= 1.2,
        "{reads} reads for {N} parameters written: {run:?}"
    );

    let rollback = counted(&world, &proxy, &["rollback", "--last", "--yes"], 0);
    assert_eq!(staging_values(&world), expected("staging"));
    // Versions 10 at a time; a non-secret's value and attributes, and the attributes the run
    // wrote, come from the journal, so no metadata or history is read and no parameter one by
    // one.
    assert_eq!(n(&rollback, "ssm:GetParameters"), 12, "{rollback:?}");
    assert_eq!(n(&rollback, "ssm:GetParameterHistory"), 0, "{rollback:?}");
    assert_eq!(n(&rollback, "ssm:GetParameter"), 0, "{rollback:?}");
    assert_eq!(n(&rollback, "ssm:DescribeParameters"), 0, "{rollback:?}");
    assert_eq!(n(&rollback, "ssm:PutParameter"), N as u64, "{rollback:?}");
}

#[test]
fn a_throttled_share_of_the_writes_slows_them_down_and_loses_nothing() {
    let world = bulk_world();
    let proxy = Proxy::start(&world);
    // Four writes in ten refused with ThrottlingException, for the whole run and rollback.
    proxy.faults(
        &world,
        &json!([{"action": "ssm:PutParameter", "fault": "throttle", "share": 0.4}]),
    );
    let playbook = world.playbook("bulk.yaml", PLAYBOOK);
    let args = world.playbook_args(&["--output", "json", "run", "--yes"], &playbook);
    let out = world
        .standin_env(&[("AWS_ENDPOINT_URL", &proxy.url)], &args)
        .expect(0);
    assert_eq!(staging_values(&world), expected("prod"));
    let rules: Value = serde_json::from_str(
        &world
            .block_on(async {
                reqwest::get(format!("{}/__proxy/faults", proxy.url))
                    .await?
                    .text()
                    .await
            })
            .expect("the proxy answers"),
    )
    .unwrap();
    let injected = rules[0]["injected"].as_u64().unwrap();
    assert!(injected >= 48, "{rules}");

    // Write-ahead: every parameter written is in the intent, journaled before the first write.
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let records = world.journal(report["run_id"].as_str().unwrap());
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["record"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["start", "intent", "applied", "finished"]);
    let intent = records[1]["undo"]["params"].as_array().unwrap();
    assert_eq!(intent.len(), N);
    assert!(intent.iter().all(|p| p["written"].is_null()));
    let applied = records[2]["undo"]["params"].as_array().unwrap();
    assert!(
        applied.iter().all(|p| p["written"].as_i64() == Some(2)),
        "{applied:?}"
    );

    let args = ["rollback", "--last", "--yes"].map(String::from);
    world
        .standin_env(&[("AWS_ENDPOINT_URL", &proxy.url)], &args)
        .expect(0);
    assert_eq!(staging_values(&world), expected("staging"));
}

#[test]
fn checks_that_ask_about_one_environment_read_it_once() {
    let world = World::start();
    let proxy = Proxy::start(&world);
    // Repointing production's name at staging: the capacity check compares both
    // environments' four capacity options, the severe-target guard and the TLS check look up
    // the environments behind both CNAMEs.
    let playbook = world.playbook(
        "repoint.yaml",
        "version: 1
name: repoint
steps:
  - id: repoint
    kind: route53.repoint
    zone: example.com
    record: app.example.com
    type: CNAME
    to: shop-staging.us-east-1.elasticbeanstalk.com
",
    );
    let args = world.playbook_args(&["plan"], &playbook);
    world
        .standin_env(&[("AWS_ENDPOINT_URL", &proxy.url)], &args)
        .expect(0);
    let counts = proxy.counts(&world);
    assert_eq!(
        n(&counts, "elasticbeanstalk:DescribeConfigurationSettings"),
        2,
        "{counts:?}"
    );
    assert!(
        n(&counts, "elasticbeanstalk:DescribeEnvironments") <= 4,
        "{counts:?}"
    );
}

/// The check before the write decrypts again only parameters written since the plan read
/// them, told by version and time of writing: one deleted and created again is back at
/// version 1, as the plan saw it, and must still count as changed.
#[test]
fn a_parameter_created_again_at_the_same_version_before_the_write_is_noticed() {
    let world = World::start();
    let pb = world.playbook(
        "recreated.yaml",
        "\
version: 1
name: t
steps:
  - id: wait
    kind: pause
    duration: 6s
  - id: copy
    kind: ssm.copy-parameters
    from: /shop/prod/
    to: /shop/staging/
    keys: [QUEUE_URL]
",
    );
    let before = world.param("/shop/staging/QUEUE_URL");
    let child = world.spawn(&["run", "--yes", &pb]);
    world.wait_for_journal(r#""step":"wait""#);
    world.block_on(async {
        world
            .ssm
            .delete_parameter()
            .name("/shop/prod/QUEUE_URL")
            .send()
            .await
            .expect("delete");
    });
    world.put_param("/shop/prod/QUEUE_URL", "https://sqs.example/replaced");
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("failed at step `copy`: stopped before changing anything")
            && stdout.contains("https://sqs.example/replaced"),
        "{stdout}"
    );
    assert_eq!(world.param("/shop/staging/QUEUE_URL"), before);
}

/// A secret's undo record keeps its KMS key and attributes, so the rollback reads the old
/// values 10 at a time (`NAME:VERSION`) instead of each history; a journal written before
/// the key was kept still rolls back, through the history.
#[test]
fn secrets_roll_back_from_versions_read_in_batches_and_older_journals_still_roll_back() {
    for keep_key in [true, false] {
        let world = World::start();
        let proxy = Proxy::start(&world);
        let before = world.state();
        world.incident(&["run", "--yes"]).expect(0);
        if !keep_key {
            let journal = world.run_dir().join("journal.jsonl");
            let text = std::fs::read_to_string(&journal).unwrap();
            let older: String = text
                .lines()
                .map(|line| {
                    let mut record: Value = serde_json::from_str(line).unwrap();
                    let params = record
                        .get_mut("undo")
                        .and_then(|u| u.get_mut("params"))
                        .and_then(Value::as_array_mut);
                    if let Some(params) = params {
                        for p in params {
                            if let Some(before) = p["before"].as_object_mut() {
                                before.remove("key_id");
                            }
                        }
                    }
                    format!("{record}\n")
                })
                .collect();
            assert_ne!(older, text, "the journal kept a key id");
            std::fs::write(&journal, older).unwrap();
        }
        let rollback = counted(&world, &proxy, &["rollback", "--last", "--yes"], 0);
        assert_eq!(world.state(), before, "keep_key {keep_key}");
        let history = n(&rollback, "ssm:GetParameterHistory");
        if keep_key {
            assert_eq!(history, 0, "{rollback:?}");
        } else {
            assert!(history >= 1, "{rollback:?}");
        }
    }
}
