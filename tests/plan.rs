//! `standin plan` reads the live state, shows it, and changes nothing.

use crate::support::World;

#[test]
fn plan_shows_live_values_and_leaves_the_emulator_byte_for_byte_unchanged() {
    let world = World::start();
    let before = world.full_dump();
    let out = world.incident(&["plan"]).expect(0);
    assert_eq!(
        world.full_dump(),
        before,
        "plan changed the emulator's state"
    );

    let text = &out.stdout;
    assert!(
        text.contains("~ /shop/staging/DB_HOST: staging-db.cluster-def456.us-east-1.rds.amazonaws.com → prod-db.cluster-abc123.us-east-1.rds.amazonaws.com"),
        "{text}"
    );
    assert!(
        text.contains("~ /shop/staging/DB_PASSWORD: (sensitive, version 1 → version 2)"),
        "{text}"
    );
    assert!(
        text.contains("~ app.example.com. CNAME: shop-prod.us-east-1.elasticbeanstalk.com (TTL 300) → shop-staging.us-east-1.elasticbeanstalk.com (TTL 60)"),
        "{text}"
    );
    assert!(
        text.contains("> app.example.com. CNAME: clients follow once the change is INSYNC on Route 53's name servers, and within 300s after"),
        "when clients follow the repoint: {text}"
    );
    assert!(
        !text.contains("/shop/staging/APP_URL"),
        "APP_URL is excepted: {text}"
    );
    World::assert_no_secrets(&out.all());
    assert!(
        !world.dir.path().join(".standin").exists(),
        "plan must not write state"
    );
}

/// Clients follow a DNS change once Route 53 has it INSYNC, within the TTL the record had
/// before (resolvers cache the old answer that long): the plan says so for every record a
/// step changes, `route53.repoint` and `lock-url`'s DNS strategy alike, from the TTL as the
/// earlier steps leave it, for people and in JSON.
#[test]
fn the_plan_says_when_clients_follow_each_dns_change() {
    let world = World::start();
    let playbook = world.playbook(
        "dns.yaml",
        r#"version: 1
name: dns-changes
steps:
  - id: repoint-app
    kind: route53.repoint
    zone: example.com
    record: app.example.com
    to: shop-staging.us-east-1.elasticbeanstalk.com
    ttl: 60
  - id: lock-staging
    kind: lock-url
    strategy: dns
    zone: example.com
    host: staging.example.com
    to: denied.example.net
  - id: new-record
    kind: route53.repoint
    zone: example.com
    record: fresh.example.com
    to: shop-staging.us-east-1.elasticbeanstalk.com
  - id: app-again
    kind: route53.repoint
    zone: example.com
    record: app.example.com
    to: maintenance.example.net
"#,
    );
    let before = world.full_dump();
    let out = world.standin(&["plan", &playbook]).expect(0);
    let insync = "clients follow once the change is INSYNC on Route 53's name servers";
    for wanted in [
        // The TTL before the change (300 s), not the one the change sets (60 s).
        format!("> app.example.com. CNAME: {insync}, and within 300s after: resolvers keep the old answer for the TTL it had (300s)"),
        format!("> staging.example.com. CNAME: {insync}, and within 60s after"),
        format!("> fresh.example.com. CNAME: {insync} (it did not exist"),
        // After the first repoint, app's TTL is 60 s.
        format!("> app.example.com. CNAME: {insync}, and within 60s after"),
    ] {
        assert!(out.stdout.contains(&wanted), "{wanted}\n{}", out.stdout);
    }
    let json = world
        .standin(&["plan", "--output", "json", &playbook])
        .expect(0);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("plan JSON");
    let clients: Vec<&serde_json::Value> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["clients"])
        .collect();
    let follow = |record: &str, within: u64, why: &str| serde_json::json!([{"record": record, "within_secs": within, "why": why}]);
    assert_eq!(
        clients,
        [
            &follow("app.example.com. CNAME", 300, "ttl"),
            &follow("staging.example.com. CNAME", 60, "ttl"),
            &follow("fresh.example.com. CNAME", 0, "new"),
            &follow("app.example.com. CNAME", 60, "ttl"),
        ]
    );
    assert_eq!(
        world.full_dump(),
        before,
        "plan changed the emulator's state"
    );
}

#[test]
fn plan_json_is_machine_readable_and_redacted() {
    let world = World::start();
    let out = world.incident(&["plan", "--output", "json"]).expect(0);
    World::assert_no_secrets(&out.all());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("plan JSON");
    assert_eq!(doc["playbook"], "promote-staging");
    let steps = doc["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 13);
    let secret = steps[1]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["resource"]
                == serde_json::json!({"kind": "parameter", "name": "/shop/staging/DB_PASSWORD"})
        })
        .expect("DB_PASSWORD change");
    // A secret: typed, by version, no value.
    assert_eq!(
        secret["after"],
        serde_json::json!({"is": "parameter", "type": "SecureString", "version": 2})
    );
    let summary = &doc["summary"];
    let counts: Vec<u64> = ["add", "change", "remove", "gates", "irreversible"]
        .iter()
        .map(|k| summary[k].as_u64().unwrap())
        .collect();
    // + the lock rules (HTTP:80, HTTPS:443), production's certificate on HTTPS:443;
    // ~ 5 copied parameters, APP_ENV, 3 capacity options, the app record;
    // ? confirm, staging health, the workers' settings, two HTTP checks; ! two restarts.
    assert_eq!(counts, [3, 10, 0, 5, 2], "{summary}");
    // = RUN_MIGRATIONS: the copy already sets it, so `no-migrations` has nothing left to do.
    assert_eq!(summary["unchanged"], 1, "{summary}");
}

#[test]
fn plan_of_a_missing_zone_fails_naming_the_step_and_changes_nothing() {
    let world = World::start();
    let before = world.full_dump();
    let pb = world.playbook(
        "missing-zone.yaml",
        "version: 1\nname: t\nsteps:\n  - id: dns\n    kind: route53.repoint\n    zone: nowhere.example.org\n    record: app.nowhere.example.org\n    to: x.example.net\n",
    );
    let out = world.standin(&["plan", &pb]).expect(1);
    assert!(
        out.stdout
            .contains("cannot plan: hosted zone nowhere.example.org: no such hosted zone"),
        "{}",
        out.stdout
    );
    assert_eq!(world.full_dump(), before);
}

#[test]
fn plan_warns_where_workers_would_run_with_other_settings_than_the_web_tier() {
    let world = World::start();
    let out = world.incident(&["plan"]).expect(0);
    assert!(
        out.stdout.contains("! worker environment shop-worker keeps APP_ENV=worker while shop-staging gets APP_ENV=production"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("restarts no queue workers"),
        "the incident playbook restarts its workers: {}",
        out.stdout
    );

    // The incident's mistake: settings changed, workers forgotten. Setting the worker tier the
    // same way silences the tier warning.
    let pb = world.playbook(
        "forgot-workers.yaml",
        "version: 1\nname: t\nsteps:\n  - id: queue\n    kind: eb.set-env\n    environment: shop-staging\n    set: {QUEUE_URL: https://sqs.example/prod}\n  - id: workers-queue\n    kind: eb.set-env\n    environment: shop-worker\n    set: {QUEUE_URL: https://sqs.example/prod}\n",
    );
    let out = world.standin(&["plan", &pb]).expect(0);
    assert!(
        out.stdout
            .contains("! the plan changes configuration but restarts no queue workers"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("worker environment shop-worker keeps"),
        "{}",
        out.stdout
    );
}

/// Any sequence of writes to one parameter is predicted as the run meets it: each step's
/// fresh plan right before it runs equals the plan, so the run goes through and rolls back.
#[test]
fn predicted_versions_equal_what_the_run_meets_for_any_sequence_of_writes() {
    let world = World::start();
    let put = |id: &str, name: &str, value: &str, secure: &str| {
        format!("  - id: {id}\n    kind: ssm.put-parameters\n    {secure}values:\n      {name}: {value}\n")
    };
    let cases = [
        // A new parameter written plain, then as a secret.
        put("a", "/shop/staging/TOKEN", "t1", "") + &put("b", "/shop/staging/TOKEN", "t2", "secure: true\n    "),
        // An existing plain one made secret.
        put("a", "/shop/staging/QUEUE_URL", "q1", "") + &put("b", "/shop/staging/QUEUE_URL", "q2", "secure: true\n    "),
        // Copied (a secret among them), then one copied secret written again.
        "  - id: a\n    kind: ssm.copy-parameters\n    from: /shop/prod/\n    to: /shop/staging/\n".to_owned()
            + &put("b", "/shop/staging/DB_PASSWORD", "other", "secure: true\n    "),
        // A secret written twice with the same value: the second finds nothing to change.
        put("a", "/shop/staging/DB_PASSWORD", "same", "") + &put("b", "/shop/staging/DB_PASSWORD", "same", "") + &put("c", "/shop/staging/DB_PASSWORD", "newer", ""),
        // Edits of one secret .env file: a key, another key, the first key again.
        "  - id: a\n    kind: ssm.edit-env-file\n    parameter: /shop/dotenv/staging\n    set: {APP_ENV: production}\n  - id: b\n    kind: ssm.edit-env-file\n    parameter: /shop/dotenv/staging\n    set: {DEBUG: \"false\"}\n    unset: [QUEUE_URL]\n  - id: c\n    kind: ssm.edit-env-file\n    parameter: /shop/dotenv/staging\n    set: {APP_ENV: maintenance}\n".to_owned(),
        // A secret changed, then written back to what it holds live (MAINTENANCE=1 ... =0).
        put("a", "/shop/staging/FLAG", "on", "secure: true\n    ") + &put("b", "/shop/staging/FLAG", "off", "secure: true\n    "),
        // Copied with production's description, then written with a value only.
        "  - id: a\n    kind: ssm.copy-parameters\n    from: /shop/prod/\n    to: /shop/staging/\n    keys: [QUEUE_URL]\n".to_owned()
            + &put("b", "/shop/staging/QUEUE_URL", "https://sqs.example/q", ""),
    ];
    // A secret that holds `off` live, and a description only production has.
    world.block_on(async {
        world
            .ssm
            .put_parameter()
            .name("/shop/staging/FLAG")
            .value("off")
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .expect("put FLAG");
        world
            .ssm
            .put_parameter()
            .name("/shop/prod/QUEUE_URL")
            .value("https://sqs.us-east-1.amazonaws.com/123456789012/shop-prod-jobs")
            .description("production's queue")
            .overwrite(true)
            .send()
            .await
            .expect("describe QUEUE_URL");
    });
    let before = world.state();
    for (i, steps) in cases.iter().enumerate() {
        let pb = world.playbook(
            "writes.yaml",
            &format!("version: 1\nname: writes\nsteps:\n{steps}"),
        );
        let out = world.standin(&["run", "--yes", &pb]);
        assert_eq!(out.code, 0, "case {i}\n{}\n{}", out.stdout, out.stderr);
        world.standin(&["rollback", "--last", "--yes"]).expect(0);
        assert_eq!(world.state(), before, "case {i} not rolled back exactly");
    }
}
