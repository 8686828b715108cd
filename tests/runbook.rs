//! The whole runbook's kinds against the extended emulator: Elastic Beanstalk, the staging
//! lock, queue workers and the gates, and the example playbooks.

use crate::support::{repo, World};

/// Runs a playbook with the edge vars, expecting `code`.
fn run(world: &World, playbook: &str, code: i32) -> crate::support::Out {
    world
        .with_playbook(&["run", "--yes"], playbook)
        .expect(code)
}

#[test]
fn a_worker_failing_on_one_instance_fails_the_run_naming_it_and_rolls_back() {
    let world = World::start();
    world.control(&[
        "tag-instance",
        "shop-worker-2",
        "emulator:command-outcome=Failed",
    ]);
    let failing = world.control(&["instance-id", "shop-worker-2"]);
    let healthy = world.control(&["instance-id", "shop-worker-1"]);
    let before = world.state();
    let out = world.incident(&["run", "--yes"]).expect(1);
    let text = &out.stdout;
    assert!(text.contains("failed at step `restart-workers`"), "{text}");
    assert!(
        text.contains(&format!("the restart failed on 1 of 2 instances: {failing} (Failed, exit 1: queue-worker.service: Failed with result 'exit-code'.)")),
        "{text}"
    );
    assert!(
        !text.contains(&format!("{healthy} (")),
        "the healthy worker is not blamed: {text}"
    );
    assert_eq!(
        world.state(),
        before,
        "the rollback did not restore the world\n{text}"
    );
    assert_eq!(world.lock_rules(), 0);
}

#[test]
fn workers_that_do_not_see_the_web_tiers_settings_fail_the_run() {
    let world = World::start();
    // This worker loads an old .env: the incident's configuration mismatch.
    world.control(&[
        "tag-instance",
        "shop-worker-1",
        "emulator:env-path=/shop/legacy/",
    ]);
    let stale = world.control(&["instance-id", "shop-worker-1"]);
    let before = world.state();
    let out = world.incident(&["run", "--yes"]).expect(1);
    assert!(
        out.stdout.contains(&format!("workers do not run with the web tier's settings (/shop/staging/): {stale}'s queue-worker has no QUEUE_URL; {stale}'s queue-worker has no DB_HOST; restart them")),
        "{}",
        out.stdout
    );
    assert_eq!(world.state(), before);
    World::assert_no_secrets(&out.all());
}

/// The check reads each worker's own process, not Parameter Store nor a root shell: a worker
/// whose service was not restarted (here: reloaded, which keeps a process's environment) still
/// runs with what it loaded before the run changed the settings, and the run fails naming it.
#[test]
fn a_worker_that_did_not_restart_fails_the_check() {
    let world = World::start();
    let prod_queue = "https://sqs.us-east-1.amazonaws.com/123456789012/shop-prod-jobs";
    let workers = |command: &str| {
        world.playbook(
            "workers.yaml",
            &format!("version: 1\nname: t\nsteps:\n  - id: queue\n    kind: ssm.put-parameters\n    values: {{/shop/staging/QUEUE_URL: {prod_queue}}}\n  - id: workers\n    kind: workers.restart\n    targets: {{Role: queue-worker}}\n    command: {command}\n    expect_env:\n      from: /shop/staging/\n      keys: [QUEUE_URL, DB_HOST, DB_PASSWORD]\n"),
        )
    };
    let before = world.state();
    let out = run(&world, &workers("systemctl reload queue-worker"), 1);
    for name in ["shop-worker-1", "shop-worker-2"] {
        let id = world.control(&["instance-id", name]);
        assert!(
            out.stdout.contains(&format!(
                "{id}'s queue-worker has another QUEUE_URL than {prod_queue}"
            )),
            "{}",
            out.stdout
        );
    }
    // The settings that did not change match; the secret is compared, never shown.
    for same in ["has another DB_HOST", "has another DB_PASSWORD", "has no"] {
        assert!(!out.stdout.contains(same), "{}", out.stdout);
    }
    World::assert_no_secrets(&out.all());
    assert_eq!(
        world.state(),
        before,
        "the rollback did not restore the world"
    );
    // Restarted, the workers load the new settings and the check passes.
    run(&world, &workers("systemctl restart queue-worker"), 0);
}

#[test]
fn eb_set_env_and_swap_cnames_undo_exactly() {
    let world = World::start();
    world.control(&["untag-env", "shop-prod", "emulator:stuck"]);
    let before = world.state();
    let pb = world.playbook(
        "eb.yaml",
        "version: 1\nname: t\nsteps:\n  - id: props\n    kind: eb.set-env\n    environment: shop-staging\n    set: {APP_ENV: production, NEW_FLAG: \"on\"}\n    unset: [QUEUE_URL]\n  - id: swap\n    kind: eb.swap-cnames\n    source: shop-staging\n    destination: shop-prod\n",
    );
    let plan = world.standin(&["plan", &pb]).expect(0);
    assert!(
        plan.stdout
            .contains("~ shop-staging APP_ENV: staging → production"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("+ shop-staging NEW_FLAG: on"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("- shop-staging QUEUE_URL: https://sqs.us-east-1.amazonaws.com/123456789012/shop-staging-jobs → removed"), "{}", plan.stdout);
    assert!(plan.stdout.contains("~ shop-staging CNAME: shop-staging.us-east-1.elasticbeanstalk.com → shop-prod.us-east-1.elasticbeanstalk.com"), "{}", plan.stdout);
    run(&world, &pb, 0);
    let props = world.env_properties("shop-staging");
    assert_eq!(
        (
            props["APP_ENV"].as_str(),
            props["NEW_FLAG"].as_str(),
            props.get("QUEUE_URL")
        ),
        ("production", "on", None)
    );
    assert_eq!(
        world.environment("shop-staging").2,
        "shop-prod.us-east-1.elasticbeanstalk.com"
    );
    assert_eq!(
        world.environment("shop-prod").2,
        "shop-staging.us-east-1.elasticbeanstalk.com"
    );
    world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(world.state(), before);
}

#[test]
fn eb_set_env_refuses_secret_looking_keys_before_any_call() {
    let world = World::start();
    let pb = world.playbook("secret.yaml", "version: 1\nname: t\nsteps:\n  - id: s\n    kind: eb.set-env\n    environment: shop-staging\n    set:\n      DB_PASSWORD: x\n");
    let out = world.standin(&["validate", &pb]).expect(2);
    assert!(
        out.stderr
            .contains("secret.yaml:8:7: `DB_PASSWORD` looks like a secret"),
        "{}",
        out.stderr
    );
}

#[test]
fn changing_the_stuck_production_environment_fails_with_the_api_error() {
    let world = World::start();
    let before = world.state();
    let pb = world.playbook(
        "stuck.yaml",
        "version: 1\nname: t\nsteps:\n  - id: dns\n    kind: route53.repoint\n    zone: example.com\n    record: app.example.com\n    to: shop-staging.us-east-1.elasticbeanstalk.com\n  - id: restart-prod\n    kind: eb.restart\n    environment: shop-prod\n",
    );
    let plan = world.standin(&["plan", &pb]).expect(0);
    assert!(plan.stdout.contains("environment shop-prod is Updating, Red (Severe): the restart will fail unless it is Ready"), "{}", plan.stdout);
    let out = run(&world, &pb, 1);
    assert!(out.stdout.contains("failed at step `restart-prod`: environment shop-prod: is Updating, Red (Severe), not Ready"), "{}", out.stdout);
    assert_eq!(world.state(), before);
}

#[test]
fn a_health_gate_that_times_out_rolls_back_the_steps_before_it() {
    let world = World::start();
    let before = world.state();
    let pb = world.playbook(
        "gate.yaml",
        "version: 1\nname: t\nsteps:\n  - id: dns\n    kind: route53.repoint\n    zone: example.com\n    record: app.example.com\n    to: shop-staging.us-east-1.elasticbeanstalk.com\n    ttl: 30\n  - id: prod-healthy\n    kind: eb.wait-healthy\n    environment: shop-prod\n    within: 1s\n",
    );
    let out = run(&world, &pb, 1);
    assert!(
        out.stdout.contains(
            "environment shop-prod: still Updating, Red (Severe) after 1s; wanted Ready and Green"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(world.state(), before);
}

#[test]
fn an_http_gate_that_does_not_get_its_answer_rolls_back() {
    let world = World::start();
    let before = world.state();
    // Repointing the app to production while production is stuck: the edge answers 503.
    let pb = world.playbook(
        "http.yaml",
        "version: 1\nname: t\nvars:\n  app_check_url: x\n  staging_check_url: x\n  edge: \"\"\nsteps:\n  - id: lock\n    kind: lock-url\n    strategy: dns\n    zone: example.com\n    host: staging.example.com\n    to: denied.example.net\n  - id: answers\n    kind: http.check\n    url: ${vars.app_check_url}\n    via: ${vars.edge}\n    within: 5s\n    every: 1s\n",
    );
    let out = run(&world, &pb, 1);
    assert!(
        out.stdout
            .contains("GET http://app.example.com/health: answered 503, not 200, for 5s"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("undone lock: staging.example.com. CNAME: restored shop-staging.us-east-1.elasticbeanstalk.com (TTL 60)"), "{}", out.stdout);
    assert_eq!(world.state(), before);
}

#[test]
fn edit_env_file_changes_keys_in_place_and_undo_restores_the_version() {
    let world = World::start();
    let before = world.state();
    let pb = repo().join("examples/ssm-only.yaml").display().to_string();
    let plan = world.standin(&["plan", &pb]).expect(0);
    assert!(
        plan.stdout
            .contains("~ /shop/dotenv/staging APP_ENV: (sensitive, version 1 → version 2)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("- /shop/dotenv/staging DEBUG"),
        "{}",
        plan.stdout
    );
    run(&world, &pb, 0);
    assert_eq!(
        world.param("/shop/dotenv/staging").unwrap(),
        "# shop staging\nAPP_ENV=production\nAPP_URL=https://staging.example.com\nQUEUE_URL=https://sqs.us-east-1.amazonaws.com/123456789012/shop-prod-jobs\n"
    );
    assert_eq!(
        world.record("staging.example.com.", "CNAME").unwrap(),
        "denied.example.net"
    );
    world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(world.state(), before);
}

#[test]
fn every_example_and_playbook_validates() {
    let world = World::start();
    for dir in ["playbooks", "examples"] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            // Playbooks only: `examples/schedule/` holds schedules, checked in schedule.rs.
            if !path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                continue;
            }
            let out = world.standin(&["validate", path.to_str().unwrap()]);
            assert_eq!(out.code, 0, "{}: {}", path.display(), out.stderr);
        }
    }
}

#[test]
fn blue_green_example_swaps_once_production_can_change_again() {
    let world = World::start();
    let pb = repo()
        .join("examples/blue-green.yaml")
        .display()
        .to_string();
    // While production is stuck its gate would wait in vain (a_health_gate_that_times_out...).
    let plan = world.with_playbook(&["plan"], &pb).expect(0);
    assert!(
        plan.stdout.contains(
            "? environment shop-prod: Ready and Green within 5m (now: Updating, Red (Severe))"
        ),
        "{}",
        plan.stdout
    );
    world.control(&["untag-env", "shop-prod", "emulator:stuck"]);
    let before = world.state();
    run(&world, &pb, 0);
    assert_eq!(
        world.environment("shop-staging").2,
        "shop-prod.us-east-1.elasticbeanstalk.com"
    );
    world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(world.state(), before);
}

#[test]
fn promote_then_restore_production_when_access_returns() {
    let world = World::start();
    world.incident(&["run", "--yes"]).expect(0);
    // The provider restores access: production finishes its upgrade.
    world.control(&["untag-env", "shop-prod", "emulator:stuck"]);
    let pb = repo()
        .join("examples/restore-production.yaml")
        .display()
        .to_string();
    let out = run(&world, &pb, 0);
    assert!(
        out.stdout.contains("[4/4] production-answers (http.check)"),
        "{}",
        out.stdout
    );
    assert_eq!(
        world.record("app.example.com.", "CNAME").unwrap(),
        "shop-prod.us-east-1.elasticbeanstalk.com"
    );
}

#[test]
fn a_worker_that_times_out_is_named_too() {
    let world = World::start();
    world.control(&[
        "tag-instance",
        "shop-worker-1",
        "emulator:command-outcome=TimedOut",
    ]);
    let slow = world.control(&["instance-id", "shop-worker-1"]);
    let pb = world.playbook(
        "workers.yaml",
        "version: 1\nname: t\nsteps:\n  - id: workers\n    kind: workers.restart\n    targets: {Role: queue-worker}\n",
    );
    let out = run(&world, &pb, 1);
    assert!(
        out.stdout.contains(&format!(
            "the restart failed on 1 of 2 instances: {slow} (TimedOut, exit -1)"
        )),
        "{}",
        out.stdout
    );
}

#[test]
fn alb_fronted_example_aliases_and_locks_then_undoes_exactly() {
    let world = World::start();
    let before = world.state();
    let pb = repo()
        .join("examples/alb-fronted.yaml")
        .display()
        .to_string();
    let out = run(&world, &pb, 0);
    for listener in ["HTTP:80", "HTTPS:443"] {
        assert!(
            out.stdout.contains(&format!(
                "+ listener rule for host staging.example.com on {listener}: 403 \"access denied\" (priority 1)"
            )),
            "{}",
            out.stdout
        );
    }
    assert_eq!(world.lock_rules(), 2);
    world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(world.state(), before);
}

/// Workers restart in waves when the playbook says so, and a failure stops the waves not
/// started yet, as Run Command's MaxConcurrency and MaxErrors do; the plan shows both.
#[test]
fn workers_restart_in_waves_and_a_failure_stops_the_rest() {
    let world = World::start();
    world.control(&[
        "tag-instance",
        "shop-worker-1",
        "emulator:command-outcome=Failed",
    ]);
    let first = world.control(&["instance-id", "shop-worker-1"]);
    let second = world.control(&["instance-id", "shop-worker-2"]);
    let playbook = |errors: &str| {
        world.playbook(
            "waves.yaml",
            &format!("version: 1\nname: t\nsteps:\n  - id: workers\n    kind: workers.restart\n    instances: [{first}, {second}]\n    max_concurrency: \"1\"\n    max_errors: \"{errors}\"\n"),
        )
    };
    let pb = playbook("0");
    let plan = world.standin(&["plan", &pb]).expect(0);
    assert!(
        plan.stdout.contains("run `systemctl restart queue-worker` (AWS-RunShellScript; 1 at a time, stopping once more than 0 fail)"),
        "{}",
        plan.stdout
    );
    let out = run(&world, &pb, 1);
    assert!(
        out.stdout.contains(&format!("the restart failed on 2 of 2 instances: {first} (Failed, exit 1: queue-worker.service: Failed with result 'exit-code'.); {second} (Cancelled")),
        "{}",
        out.stdout
    );
    // One more failure allowed: the second wave runs.
    let out = run(&world, &playbook("1"), 1);
    assert!(
        out.stdout.contains(&format!(
            "the restart failed on 1 of 2 instances: {first} (Failed"
        )),
        "{}",
        out.stdout
    );
    let sent: Vec<(String, String)> = world.block_on(async {
        world
            .ssm
            .list_commands()
            .send()
            .await
            .unwrap()
            .commands()
            .iter()
            .map(|c| {
                (
                    c.max_concurrency().unwrap_or_default().to_owned(),
                    c.max_errors().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    });
    for rate in [("1", "0"), ("1", "1")] {
        assert!(
            sent.contains(&(rate.0.to_owned(), rate.1.to_owned())),
            "{sent:?}"
        );
    }
    // Bad rates are refused before any call, located.
    let bad = world.playbook(
        "bad.yaml",
        "version: 1\nname: t\nsteps:\n  - id: w\n    kind: workers.restart\n    targets: {Role: queue-worker}\n    max_concurrency: 0%\n",
    );
    let out = world.standin(&["validate", &bad]).expect(2);
    assert!(
        out.stderr
            .contains("bad.yaml:7:5: not a number of instances or a share of them"),
        "{}",
        out.stderr
    );
}

/// ListCommandInvocations shows only the first 2,500 characters of a worker's output: a longer
/// answer of the check (a digest line per setting) is read whole, or the settings past the cut
/// would look missing.
#[test]
fn a_worker_check_longer_than_the_listed_output_is_read_whole() {
    let world = World::start();
    let keys: Vec<String> = (0..40).map(|i| format!("FILLER_{i:02}")).collect();
    for key in &keys {
        world.put_param(&format!("/shop/staging/{key}"), key);
    }
    let pb = world.playbook(
        "workers.yaml",
        &format!("version: 1\nname: t\nsteps:\n  - id: workers\n    kind: workers.restart\n    targets:\n      Role: queue-worker\n    expect_env:\n      from: /shop/staging/\n      keys: [{}]\n", keys.join(", ")),
    );
    world.standin(&["run", "--yes", &pb]).expect(0);
}

/// Run Command lists a tag target's invocation only once it has reached the instance, so a list
/// in which every invocation has ended may still miss instances. The step waits for the
/// command's own status and sees the failure of the worker reached last.
#[test]
fn a_worker_reached_late_is_waited_for() {
    let world = World::start();
    world.control(&[
        "tag-instance",
        "shop-worker-2",
        "emulator:resolve-seconds=2",
        "emulator:command-outcome=Failed",
    ]);
    let late = world.control(&["instance-id", "shop-worker-2"]);
    let pb = world.playbook(
        "workers.yaml",
        "version: 1\nname: t\nsteps:\n  - id: workers\n    kind: workers.restart\n    targets: {Role: queue-worker}\n",
    );
    let out = run(&world, &pb, 1);
    assert!(
        out.stdout.contains(&format!("the restart failed on 1 of 2 instances: {late} (Failed, exit 1: queue-worker.service: Failed with result 'exit-code'.)")),
        "{}",
        out.stdout
    );
}

/// What SendCommand would refuse for its form is refused by `validate`, located, before any
/// call: the rate patterns (no leading zeros), more than 5 target tags or 50 instance ids; and
/// what the check needs (a service name, variable names), and `env_command`, no longer read.
#[test]
fn workers_restart_refuses_what_run_command_would() {
    let world = World::start();
    let head = "version: 1\nname: t\nsteps:\n  - id: w\n    kind: workers.restart\n";
    let ids: Vec<String> = (0..51).map(|i| format!("i-{i:017x}")).collect();
    let cases = [
        (format!("{head}    targets: {{Role: queue-worker}}\n    max_concurrency: 050%\n"), "7:5: not a number of instances or a share of them as Run Command takes it"),
        (format!("{head}    targets: {{Role: queue-worker}}\n    max_errors: \"01\"\n"), "7:5: not a number of failures or a share of instances as Run Command takes it"),
        (format!("{head}    targets: {{A: a, B: b, C: c, D: d, E: e, F: f}}\n"), "6:45: 6 tags: Run Command takes at most 5 targets in one command"),
        (format!("{head}    instances: [{}]\n", ids.join(", ")), "6:1067: 51 instance ids: Run Command takes at most 50 in one command"),
        (format!("{head}    instances: [i-0123456789abcdef0, web-1]\n"), "6:38: `web-1` is not an instance id"),
        (format!("{head}    targets: {{Role: queue-worker}}\n    env_command: printenv\n"), "7:5: `env_command` is no longer used"),
        (format!("{head}    targets: {{Role: queue-worker}}\n    command: systemctl restart web\n    expect_env: {{from: /shop/staging/, keys: [QUEUE_URL]}}\n"), "7:5: the check reads `queue-worker.service` but `command` restarts `web.service`"),
        (format!("{head}    targets: {{Role: queue-worker}}\n    expect_env: {{from: /shop/staging/, keys: [QUEUE_URL, DB-HOST]}}\n"), "7:58: `DB-HOST` is not an environment variable name"),
    ];
    for (i, (text, refusal)) in cases.iter().enumerate() {
        let pb = world.playbook(&format!("form{i}.yaml"), text);
        let out = world.standin(&["validate", &pb]).expect(2);
        assert!(
            out.stderr.contains(&format!("form{i}.yaml:{refusal}")),
            "{text}\n{}",
            out.stderr
        );
    }
}
