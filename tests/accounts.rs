//! Several accounts: DNS in a shared networking account reached through a role, the
//! application in the caller's own. moto keeps accounts apart by credentials: the role's
//! (STS AssumeRole on the emulator) act in account 111111111111, the test credentials in
//! 123456789012. Both accounts hold a zone `example.com` with `app.example.com`, so a step that
//! acted in the wrong account would show in the other's record.

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use serde_json::Value;

use crate::iam::grants;
use crate::support::World;

const ROLE: &str = "arn:aws:iam::111111111111:role/standin-dns";
const PROD: &str = "shop-prod.us-east-1.elasticbeanstalk.com";
const STAGING: &str = "shop-staging.us-east-1.elasticbeanstalk.com";
/// What `app.example.com` holds in the caller's own account (a private copy of the zone).
const DECOY: &str = "internal-app.example.net";

fn playbook(world: &World) -> String {
    let example =
        std::fs::read_to_string(crate::support::repo().join("examples/across-accounts.yaml"))
            .expect("the example");
    world.playbook("accounts.yaml", &example)
}

/// The example with the repoint's account from a variable, `where` (default `network`).
fn account_from_a_variable(world: &World) -> String {
    let example =
        std::fs::read_to_string(crate::support::repo().join("examples/across-accounts.yaml"))
            .unwrap()
            .replace("    account: network\n", "    account: ${vars.where}\n")
            .replace("version: 1\n", "version: 1\nvars:\n  where: network\n");
    world.playbook("vars.yaml", &example)
}

/// The emulator's configuration as the role in the networking account.
fn as_network(world: &World) -> aws_config::SdkConfig {
    world.block_on(async {
        let role = aws_config::sts::AssumeRoleProvider::builder(ROLE)
            .session_name("shop-standin")
            .configure(&world.config)
            .build()
            .await;
        world
            .config
            .to_builder()
            .credentials_provider(aws_sdk_route53::config::SharedCredentialsProvider::new(
                role,
            ))
            .build()
    })
}

/// A Route 53 client acting in the networking account, through the role.
fn network(world: &World) -> aws_sdk_route53::Client {
    aws_sdk_route53::Client::new(&as_network(world))
}

fn zone_id(world: &World, client: &aws_sdk_route53::Client) -> String {
    world.block_on(async {
        let zones = client.list_hosted_zones().send().await.expect("zones");
        zones
            .hosted_zones()
            .iter()
            .find(|z| z.name() == "example.com.")
            .map(|z| z.id().to_owned())
            .expect("zone example.com")
    })
}

fn set_app(world: &World, client: &aws_sdk_route53::Client, zone: &str, to: &str) {
    change_app(world, client, zone, ChangeAction::Upsert, to, 300);
}

/// `action` on `app.example.com`'s CNAME (`to`, `ttl`) in the account `client` acts in.
fn change_app(
    world: &World,
    client: &aws_sdk_route53::Client,
    zone: &str,
    action: ChangeAction,
    to: &str,
    ttl: i64,
) {
    let record = ResourceRecordSet::builder()
        .name("app.example.com.")
        .r#type(RrType::Cname)
        .ttl(ttl)
        .resource_records(ResourceRecord::builder().value(to).build().unwrap())
        .build()
        .unwrap();
    let change = Change::builder()
        .action(action)
        .resource_record_set(record)
        .build()
        .unwrap();
    world
        .block_on(
            client
                .change_resource_record_sets()
                .hosted_zone_id(zone)
                .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
                .send(),
        )
        .expect("change app.example.com");
}

/// `app.example.com`'s CNAME in the account `client` acts in.
fn app(world: &World, client: &aws_sdk_route53::Client) -> String {
    let zone = zone_id(world, client);
    world.block_on(async {
        let sets = client
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .send()
            .await
            .expect("records");
        sets.resource_record_sets()
            .iter()
            .find(|rs| rs.name() == "app.example.com." && rs.r#type() == &RrType::Cname)
            .map(|rs| rs.resource_records()[0].value().to_owned())
            .expect("app.example.com")
    })
}

fn run_id(world: &World) -> String {
    world
        .run_dir()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The incident world, with the public zone in the networking account (app → production)
/// and the caller's own zone holding a decoy.
fn two_accounts() -> (World, aws_sdk_route53::Client) {
    let world = World::start();
    let net = network(&world);
    world
        .block_on(
            net.create_hosted_zone()
                .name("example.com")
                .caller_reference("network-account")
                .send(),
        )
        .expect("zone in the networking account");
    let zone = zone_id(&world, &net);
    set_app(&world, &net, &zone, PROD);
    let own = zone_id(&world, &world.route53);
    set_app(&world, &world.route53, &own, DECOY);
    (world, net)
}

#[test]
fn a_run_acts_in_each_step_s_account_and_rolls_back_there() {
    let (world, net) = two_accounts();
    let pb = playbook(&world);

    let plan = world.standin(&["plan", &pb]).expect(0);
    assert!(
        plan.stdout
            .contains("repoint-app (route53.repoint) in account `network`"),
        "{}",
        plan.stdout
    );
    // The plan read the networking account's record, not the caller's own.
    assert!(plan.stdout.contains(PROD), "{}", plan.stdout);
    assert!(!plan.stdout.contains(DECOY), "{}", plan.stdout);

    let run = world.standin(&["-v", "run", "--yes", &pb]).expect(0);
    assert_eq!(app(&world, &net), STAGING, "{}", run.all());
    // Each call's line names the account it went to, when not the playbook's own.
    assert!(
        run.stderr
            .contains("aws [network] Route 53.ChangeResourceRecordSets: 200 in "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("aws SSM.PutParameter: 200 in "),
        "{}",
        run.stderr
    );
    assert_eq!(app(&world, &world.route53), DECOY);
    assert_eq!(
        world.param("/shop/staging/DB_HOST"),
        world.param("/shop/prod/DB_HOST")
    );

    let run_id = run_id(&world);
    let start = &world.journal(&run_id)[0];
    // Format 6: a build that ignored `account` would undo in the wrong account.
    assert_eq!(start["format"], 6);
    assert_eq!(start["accounts"]["network"]["role_arn"], ROLE);
    assert_eq!(start["accounts"]["network"]["external_id"], "shop-standin");
    assert_eq!(start["steps"][0].get("account"), None);
    assert_eq!(start["steps"][1]["account"], "network");

    let status = world.standin(&["status"]).expect(0);
    assert!(
        status
            .stdout
            .lines()
            .any(|l| l.contains("repoint-app") && l.contains("in account `network`")),
        "{}",
        status.stdout
    );

    // From the journal alone: the playbook is gone.
    std::fs::remove_file(&pb).unwrap();
    world.standin(&["rollback", "--yes", &run_id]).expect(0);
    assert_eq!(app(&world, &net), PROD);
    assert_eq!(app(&world, &world.route53), DECOY);
}

#[test]
fn an_undo_left_to_a_human_carries_the_account_s_role() {
    let (world, net) = two_accounts();
    let pb = playbook(&world);
    world.standin(&["run", "--yes", &pb]).expect(0);
    // Someone deletes the networking zone's record and the zone: the undo cannot put the
    // record back, and says how, as the role.
    let zone = zone_id(&world, &net);
    change_app(&world, &net, &zone, ChangeAction::Delete, STAGING, 60);
    world
        .block_on(net.delete_hosted_zone().id(&zone).send())
        .expect("delete the zone");
    let out = world
        .standin(&["rollback", "--yes", &run_id(&world)])
        .expect(3);
    let text = out.all();
    assert!(
        text.contains(&format!(
            "aws configure set role_arn {ROLE} --profile=standin-network"
        )),
        "{text}"
    );
    assert!(
        text.contains("aws configure set external_id shop-standin --profile=standin-network"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("aws route53 change-resource-record-sets")
                && l.contains("--profile=standin-network")),
        "{text}"
    );
    // The caller's own zone was never touched.
    assert_eq!(app(&world, &world.route53), DECOY);
}

#[test]
fn iam_policy_gives_each_account_its_own_policy() {
    let world = World::start();
    let pb = playbook(&world);
    let out = world.standin(&["iam-policy", &pb]).expect(0);
    let all: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let names: Vec<&str> = all
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, ["default", "network"]);
    let own = grants(&all["default"]);
    let net = grants(&all["network"]);
    assert!(own.contains_key("ssm:PutParameter"), "{own:?}");
    assert!(
        !own.contains_key("route53:ChangeResourceRecordSets"),
        "{own:?}"
    );
    assert!(
        net.contains_key("route53:ChangeResourceRecordSets"),
        "{net:?}"
    );
    assert!(!net.contains_key("ssm:PutParameter"), "{net:?}");
    // The roles are assumed with the playbook's own credentials.
    assert_eq!(
        own["sts:AssumeRole"],
        std::collections::BTreeSet::from([ROLE.to_owned()])
    );
    assert!(!net.contains_key("sts:AssumeRole"), "{net:?}");
    // The built-in guards look in every account.
    for policy in [&own, &net] {
        assert!(policy.contains_key("elasticbeanstalk:DescribeEnvironments"));
        assert!(policy.contains_key("route53:ListHostedZones"));
    }

    let one = world
        .standin(&["iam-policy", "--account", "network", &pb])
        .expect(0);
    let one: Value = serde_json::from_str(&one.stdout).unwrap();
    assert_eq!(one, all["network"]);
    let none = world
        .standin(&["iam-policy", "--account", "netwrok", &pb])
        .expect(2);
    assert!(
        none.stderr.contains("no account `netwrok`"),
        "{}",
        none.stderr
    );
}

#[test]
fn accounts_are_checked_before_any_call() {
    let world = World::start();
    let pause = "  - id: a\n    kind: pause\n    duration: 1s\n";
    let with_account = format!("{pause}    account: netwrok\n");
    let pause_there = format!("{pause}    account: network\n");
    // (steps, the `accounts:` entries, what is said and where, the hint)
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            &with_account,
            "network:\n    profile: net\n",
            "10:5: unknown account `netwrok`",
            "did you mean `network`?",
        ),
        (
            &pause_there,
            "network:\n    profile: net\n",
            "10:5: a `pause` step calls no AWS API: `account: network` means nothing here",
            "remove `account:` from this step",
        ),
        (pause, "default:\n    profile: net\n", "4:3: `default` is the playbook's own account", ""),
        (pause, "DEFAULT:\n    profile: net\n", "4:3: `default` is the playbook's own account", ""),
        (pause, "network: {}\n", "4:3: account `network` has no settings", ""),
        (pause, "network:\n    external_id: xy\n", "5:5: `external_id` is only used with `role_arn`", ""),
        (pause, "network:\n    role_arn: arn:aws:iam::1111:role/dns\n", "5:5: `role_arn` is not a role's ARN", ""),
        // A quote, a space, a shell word: none of IAM's characters, and no way into the
        // aws CLI lines of a recovery report.
        (
            pause,
            "network:\n    role_arn: \"arn:aws:iam::111111111111:role/dns'; touch x #\"\n",
            "5:5: `role_arn` is not a role's ARN",
            "",
        ),
        (
            pause,
            "network:\n    role_arn: arn:aws:iam::111111111111:role/dns\n    external_id: \"a\\nb\"\n",
            "6:5: `external_id` contains a control character",
            "",
        ),
        (
            pause,
            "network:\n    role_arn: arn:aws:iam::111111111111:role/dns\n    external_id: a b\n",
            "6:5: `external_id` takes 2 to 1224",
            "",
        ),
        (pause, "network:\n    rol_arn: arn:aws:iam::111111111111:role/dns\n", "unknown field `rol_arn`", ""),
    ];
    for (steps, accounts, problem, hint) in cases {
        let pb = world.playbook(
            "bad.yaml",
            &format!("version: 1\nname: bad\naccounts:\n  {accounts}steps:\n{steps}"),
        );
        let out = world.standin(&["plan", &pb]).expect(2);
        assert!(out.stderr.contains(problem), "{problem}\n{}", out.stderr);
        assert!(out.stderr.contains(hint), "{hint}\n{}", out.stderr);
        // One problem: a step naming an account whose settings are wrong is not another.
        assert_eq!(out.stderr.matches("bad.yaml:").count(), 1, "{}", out.stderr);
    }
    // The playbook's own `aws:` is held to the same rules, at the field.
    let pb = world.playbook(
        "bad.yaml",
        &format!(
            "version: 1\nname: bad\naws:\n  region: us-east-1\n  external_id: xy\nsteps:\n{pause}"
        ),
    );
    let out = world.standin(&["validate", &pb]).expect(2);
    assert!(
        out.stderr
            .contains("5:3: `external_id` is only used with `role_arn`"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_journal_naming_an_undeclared_account_is_refused() {
    let (world, net) = two_accounts();
    let pb = playbook(&world);
    world.standin(&["run", "--yes", &pb]).expect(0);
    let journal = world.run_dir().join("journal.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    // The step now claims an account nobody declared.
    let tampered = text.replacen("\"account\":\"network\"", "\"account\":\"elsewhere\"", 1);
    assert_ne!(tampered, text);
    std::fs::write(&journal, tampered).unwrap();
    let out = world.standin(&["rollback", "--yes", &run_id(&world)]);
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr
            .contains("\"elsewhere\" is not one a playbook declares"),
        "{}",
        out.stderr
    );
    assert_eq!(app(&world, &net), STAGING, "nothing was undone");
    assert_eq!(app(&world, &world.route53), DECOY);
}

#[test]
fn a_dry_drill_checks_each_account_s_permissions_as_its_role() {
    let (world, _net) = two_accounts();
    let pb = playbook(&world);
    let policy = world
        .standin(&["iam-policy", "--account", "network", &pb])
        .expect(0)
        .stdout;
    // The role exists in the networking account, allowed everything but the write.
    let mut weak: Value = serde_json::from_str(&policy).unwrap();
    for statement in weak["Statement"].as_array_mut().unwrap() {
        statement["Action"]
            .as_array_mut()
            .unwrap()
            .retain(|a| a != "route53:ChangeResourceRecordSets");
    }
    let iam = aws_sdk_iam::Client::new(&as_network(&world));
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
    let put = |document: String| {
        world
            .block_on(
                iam.put_role_policy()
                    .role_name("standin-dns")
                    .policy_name("standin")
                    .policy_document(document)
                    .send(),
            )
            .expect("role policy");
    };
    world
        .block_on(
            iam.create_role()
                .role_name("standin-dns")
                .assume_role_policy_document(trust)
                .send(),
        )
        .expect("role");
    put(weak.to_string());

    let out = world.standin(&["drill", "--dry", &pb]).expect(4);
    assert!(
        out.stdout.lines().any(|l| l
            .contains("not allowed in account `network` (implicitDeny): route53:ChangeResourceRecordSets on arn:aws:route53:::hostedzone/")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Permissions in account `network`: ")
            && out
                .stdout
                .contains("simulated for arn:aws:iam::111111111111:role/standin-dns: 1 denied"),
        "{}",
        out.stdout
    );

    put(policy);
    let out = world
        .standin(&["drill", "--dry", "--output", "json", &pb])
        .expect(4);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    // What still blocks is staging's certificate, api's blue record (it points at production
    // and the playbook repoints only app), production's worker tier (no step restarts
    // workers), and the playbook's own caller (the emulator's key, no IAM user: IAM cannot
    // simulate it), not a permission of `network`.
    let blockers = json["blockers"].as_array().unwrap();
    assert_eq!(blockers.len(), 4, "{blockers:?}");
    assert!(blockers[0]
        .as_str()
        .unwrap()
        .contains("no certificate for app.example.com"));
    assert!(blockers[1]
        .as_str()
        .unwrap()
        .starts_with("part of production left behind: api.example.com. CNAME [blue]"));
    assert!(blockers[2]
        .as_str()
        .unwrap()
        .starts_with("part of production left behind: worker environment shop-worker"));
    assert!(blockers[3]
        .as_str()
        .unwrap()
        .starts_with("permissions not checked: cannot simulate the policies of "));
    let network = &json["accounts"]["network"];
    assert_eq!(network["principal"], ROLE);
    assert_eq!(network["denied"], serde_json::json!([]));
    assert!(network["checked"].as_u64().unwrap() > 5, "{network}");
}

#[test]
fn a_drill_across_accounts_puts_both_back_and_verifies_them() {
    let (world, net) = two_accounts();
    let pb = playbook(&world);
    let db_host = world.param("/shop/staging/DB_HOST");
    let out = world
        .standin(&["drill", "--yes", "--soak", "0s", "--output", "json", &pb])
        .expect(0);
    let doc: Value = serde_json::from_str(&out.stdout).expect("a JSON report");
    assert_eq!(doc["outcome"], "passed", "{doc}");
    assert_eq!(doc["steps"][1]["account"], "network");
    assert_eq!(doc["steps"][0].get("account"), None);
    assert_eq!(doc["verify"]["differences"], serde_json::json!([]));
    assert!(doc["verify"]["checked"].as_u64().unwrap() >= 6, "{doc}");
    assert_eq!(app(&world, &net), PROD);
    assert_eq!(app(&world, &world.route53), DECOY);
    assert_eq!(world.param("/shop/staging/DB_HOST"), db_host);
}

#[test]
fn a_run_killed_mid_change_in_another_account_resumes_and_rolls_back_there() {
    let (world, net) = two_accounts();
    let pb = playbook(&world);
    // Killed once the change in the networking account landed, before its outcome was
    // journaled: resume must find it landed there (the caller's own zone holds the decoy).
    world
        .standin_env(
            &[("STANDIN_CRASH_AT", "applied:repoint-app")],
            &["run".into(), "--yes".into(), pb.clone()],
        )
        .expect(-1);
    assert_eq!(app(&world, &net), STAGING);
    let id = run_id(&world);
    let out = world.standin(&["resume", "--yes", &id]).expect(0);
    assert!(out.all().contains("repoint-app"), "{}", out.all());
    let records = world.journal(&id);
    assert!(
        records
            .iter()
            .any(|r| r["record"] == "applied" && r["step"] == "repoint-app"),
        "{records:?}"
    );
    world.standin(&["rollback", "--yes", &id]).expect(0);
    assert_eq!(app(&world, &net), PROD);
    assert_eq!(app(&world, &world.route53), DECOY);
}

#[test]
fn resume_refuses_variables_that_move_a_step_to_another_account() {
    let (world, net) = two_accounts();
    let pb = account_from_a_variable(&world);
    world
        .standin_env(
            &[("STANDIN_CRASH_AT", "step-done:prod-env-to-staging")],
            &[
                "run".into(),
                "--yes".into(),
                "--var".into(),
                "where=network".into(),
                pb.clone(),
            ],
        )
        .expect(-1);
    let id = run_id(&world);
    let out = world
        .standin(&["resume", "--yes", "--var", "where=default", &id])
        .expect(4);
    assert!(
        out.stderr.contains("acts in other accounts"),
        "{}",
        out.stderr
    );
    // Neither account's record moved.
    assert_eq!(app(&world, &net), PROD);
    assert_eq!(app(&world, &world.route53), DECOY);
    // With the run's variables it goes on, in the networking account.
    world
        .standin(&["resume", "--yes", "--var", "where=network", &id])
        .expect(0);
    assert_eq!(app(&world, &net), STAGING);
    assert_eq!(app(&world, &world.route53), DECOY);
}

/// The same parameter name in both accounts, written by one step in each.
fn same_name_in_both(world: &World) -> String {
    world.playbook(
        "both.yaml",
        &format!(
            "version: 1\nname: both\naccounts:\n  network:\n    role_arn: {ROLE}\nsteps:\n  \
             - id: own\n    kind: ssm.put-parameters\n    values: {{/review/p: own-new}}\n  \
             - id: net\n    kind: ssm.put-parameters\n    account: network\n    values: {{/review/p: net-new}}\n"
        ),
    )
}

fn ssm_in_network(world: &World) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&as_network(world))
}

fn value(world: &World, ssm: &aws_sdk_ssm::Client, name: &str) -> String {
    world
        .block_on(ssm.get_parameter().name(name).send())
        .expect("the parameter")
        .parameter()
        .and_then(|p| p.value())
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_drill_holds_and_verifies_a_name_in_each_account_apart() {
    let (world, _net) = two_accounts();
    let ssm = ssm_in_network(&world);
    world.put_param("/review/p", "own-orig");
    world
        .block_on(
            ssm.put_parameter()
                .name("/review/p")
                .value("net-orig")
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .send(),
        )
        .unwrap();
    let pb = same_name_in_both(&world);
    // Killed in the rollback (the networking account's value put back, then the own
    // account's, unrecorded): someone changes the networking account's value, and the
    // rollback finished later must find it in its verification, apart from the own account's.
    world
        .standin_env(
            &[("STANDIN_CRASH_AT", "undone:own")],
            &[
                "drill".into(),
                "--yes".into(),
                "--soak".into(),
                "0s".into(),
                pb,
            ],
        )
        .expect(-1);
    // Both put back (the own account's undo landed, unrecorded).
    assert_eq!(value(&world, &ssm, "/review/p"), "net-orig");
    assert_eq!(world.param("/review/p").as_deref(), Some("own-orig"));
    let id = run_id(&world);
    let snapshot = world
        .journal(&id)
        .into_iter()
        .find(|r| r["record"] == "snapshot")
        .expect("a snapshot");
    assert_eq!(
        snapshot["resources"].as_array().unwrap().len(),
        2,
        "{snapshot}"
    );
    world
        .block_on(
            ssm.put_parameter()
                .name("/review/p")
                .value("somebody-else")
                .overwrite(true)
                .send(),
        )
        .unwrap();
    let out = world.standin(&["rollback", "--yes", &id]).expect(3);
    assert!(
        out.all().contains("/review/p (account network)"),
        "{}",
        out.all()
    );
    assert_eq!(world.param("/review/p").as_deref(), Some("own-orig"));
}

#[test]
fn a_journal_whose_account_settings_were_edited_is_refused() {
    let (world, _net) = two_accounts();
    let pb = playbook(&world);
    world.standin(&["run", "--yes", &pb]).expect(0);
    let journal = world.run_dir().join("journal.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    let id = run_id(&world);
    for (what, edited, said) in [
        (
            "a command hidden in the role",
            text.replacen(
                "role/standin-dns\"",
                "role/standin-dns'\\ntouch pwned\\n#\"",
                1,
            ),
            "role_arn",
        ),
        (
            "accounts in a format 5 journal",
            text.replacen("\"format\":6", "\"format\":5", 1),
            "a format 5 journal cannot have accounts",
        ),
    ] {
        assert_ne!(edited, text, "{what}");
        std::fs::write(&journal, &edited).unwrap();
        let out = world.standin(&["rollback", "--yes", &id]).expect(2);
        assert!(out.stderr.contains(said), "{what}: {}", out.stderr);
        assert!(!world.dir.path().join("pwned").exists());
    }
}

#[test]
fn a_saved_plan_runs_only_where_it_was_made() {
    let (world, net) = two_accounts();
    let pb = account_from_a_variable(&world);
    world
        .standin(&["plan", "--var", "where=network", "-o", "plan.json", &pb])
        .expect(0);
    // The same text, the same variable names, the same resource names: only the account moved.
    let out = world
        .standin(&[
            "run",
            "--plan",
            "plan.json",
            "--var",
            "where=default",
            "--yes",
        ])
        .expect(4);
    assert!(
        out.stderr.contains("acts in other accounts"),
        "{}",
        out.stderr
    );
    assert_eq!(app(&world, &net), PROD);
    assert_eq!(app(&world, &world.route53), DECOY);
    // A plan edited to say another account is refused too.
    let saved = std::fs::read_to_string(world.dir.path().join("plan.json")).unwrap();
    let edited = saved.replacen("\"account\": \"network\"", "\"account\": \"elsewhere\"", 1);
    assert_ne!(edited, saved);
    std::fs::write(world.dir.path().join("edited.json"), edited).unwrap();
    let out = world
        .standin(&[
            "run",
            "--plan",
            "edited.json",
            "--var",
            "where=network",
            "--yes",
        ])
        .expect(2);
    assert!(
        out.stderr
            .contains("acts in account `elsewhere` in the plan and in `network` in the playbook"),
        "{}",
        out.stderr
    );
    world
        .standin(&[
            "run",
            "--plan",
            "plan.json",
            "--var",
            "where=network",
            "--yes",
        ])
        .expect(0);
    assert_eq!(app(&world, &net), STAGING);
}

#[test]
fn guards_see_a_name_changed_in_two_accounts_as_two_changes() {
    let world = World::start();
    // The own account gets staging's database host; the other account, under the same name,
    // production's: the guard must see the first, not only the last.
    let pb = world.playbook(
        "db.yaml",
        &format!(
            "version: 1\nname: db\naccounts:\n  network:\n    role_arn: {ROLE}\nsteps:\n  \
             - id: own-db\n    kind: ssm.put-parameters\n    values: {{/shop/prod/DB_HOST: staging-db.internal}}\n  \
             - id: other-db\n    kind: ssm.put-parameters\n    account: network\n    values: {{/shop/prod/DB_HOST: prod-db.internal}}\n"
        ),
    );
    let before = world.param("/shop/prod/DB_HOST");
    let plan = world.standin(&["plan", &pb]).expect(1);
    assert!(
        plan.stdout.contains("FAILED staging-db-in-production"),
        "{}",
        plan.stdout
    );
    world.standin(&["run", "--yes", &pb]).expect(4);
    assert_eq!(world.param("/shop/prod/DB_HOST"), before);
}

#[test]
fn an_account_takes_what_it_leaves_out_from_aws_and_may_not_repeat_it() {
    let world = World::start();
    let text = |accounts: &str| {
        format!(
            "version: 1\nname: inherit\naws:\n  region: us-west-2\naccounts:\n{accounts}steps:\n  \
             - id: own\n    kind: ssm.put-parameters\n    values: {{/inherit/p: own}}\n  \
             - id: there\n    kind: ssm.put-parameters\n    account: network\n    values: {{/inherit/p: there}}\n"
        )
    };
    let pb = world.playbook(
        "inherit.yaml",
        &text(&format!("  network:\n    role_arn: {ROLE}\n")),
    );
    world.standin(&["run", "--yes", &pb]).expect(0);
    let start = &world.journal(&run_id(&world))[0];
    assert_eq!(start["accounts"]["network"]["region"], "us-west-2");
    // Both wrote in us-west-2 (AWS_REGION says us-east-1), each in its account.
    let west = |config: &aws_config::SdkConfig| {
        let config = aws_sdk_ssm::config::Builder::from(config)
            .region(aws_sdk_ssm::config::Region::new("us-west-2"))
            .build();
        aws_sdk_ssm::Client::from_conf(config)
    };
    assert_eq!(value(&world, &west(&world.config), "/inherit/p"), "own");
    assert_eq!(
        value(&world, &west(&as_network(&world)), "/inherit/p"),
        "there"
    );
    assert_eq!(world.param("/inherit/p"), None);

    for (accounts, said) in [
        (
            "  same:\n    region: us-west-2\n".to_owned(),
            "account `same` is the same as `default`",
        ),
        (
            format!("  network:\n    role_arn: {ROLE}\n  twin:\n    role_arn: {ROLE}\n"),
            "account `twin` is the same as `network`",
        ),
        // One place spelled two ways: the same emulator, the same role in another case.
        (
            "  here:\n    endpoint_url: http://localhost:5000/\n  there:\n    endpoint_url: http://127.0.0.1:5000\n".to_owned(),
            "account `there` is the same as `here`",
        ),
        (
            format!("  network:\n    role_arn: {ROLE}\n  twin:\n    role_arn: {}\n", ROLE.to_uppercase().replace("ARN:AWS:IAM", "arn:aws:iam")),
            "account `twin` is the same as `network`",
        ),
    ] {
        let pb = world.playbook("dup.yaml", &text(&accounts));
        let out = world.standin(&["validate", &pb]).expect(2);
        assert!(out.stderr.contains(said), "{said}\n{}", out.stderr);
    }
}
