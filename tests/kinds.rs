//! Each kind against the emulator: apply changes what plan said, undo restores exactly.

use crate::support::World;

/// Runs `playbook`, checks `check` on the world, rolls back and expects the snapshot again.
fn run_then_roll_back(
    world: &World,
    playbook: &str,
    args: &[&str],
    check: impl FnOnce(&World, &str),
) {
    let before = world.state();
    let mut run = vec!["run", "--yes"];
    run.extend_from_slice(args);
    run.push(playbook);
    let out = world.standin(&run).expect(0);
    check(world, &out.stdout);
    let back = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(
        world.state(),
        before,
        "undo did not restore the snapshot exactly\n{}",
        back.stdout
    );
}

fn record_set(
    world: &World,
    name: &str,
    set_id: Option<&str>,
) -> Option<aws_sdk_route53::types::ResourceRecordSet> {
    world.block_on(async {
        let zones = world.route53.list_hosted_zones().send().await.unwrap();
        let zone = zones.hosted_zones()[0].id().to_owned();
        let sets = world
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .send()
            .await
            .unwrap();
        sets.resource_record_sets()
            .iter()
            .find(|rs| rs.name() == name && rs.set_identifier() == set_id)
            .cloned()
    })
}

#[test]
fn repoint_of_a_weighted_record_keeps_its_routing_fields() {
    let world = World::start();
    let pb = world.playbook(
        "weighted.yaml",
        "version: 1\nname: t\nsteps:\n  - id: green\n    kind: route53.repoint\n    zone: example.com\n    record: api.example.com\n    set_identifier: green\n    to: standby.example.net\n",
    );
    run_then_roll_back(&world, &pb, &[], |world, out| {
        assert!(out.contains("~ api.example.com. CNAME [green]: shop-staging.us-east-1.elasticbeanstalk.com (TTL 60) → standby.example.net (TTL 60)"), "{out}");
        let green = record_set(world, "api.example.com.", Some("green")).unwrap();
        assert_eq!(green.resource_records()[0].value(), "standby.example.net");
        assert_eq!((green.weight(), green.ttl()), (Some(0), Some(60)));
        let blue = record_set(world, "api.example.com.", Some("blue")).unwrap();
        assert_eq!(
            blue.resource_records()[0].value(),
            "shop-prod.us-east-1.elasticbeanstalk.com"
        );
    });
}

#[test]
fn repoint_creates_a_missing_record_and_undo_deletes_it() {
    let world = World::start();
    let pb = world.playbook(
        "new.yaml",
        "version: 1\nname: t\nsteps:\n  - id: new\n    kind: route53.repoint\n    zone: example.com\n    record: maintenance.example.com\n    type: A\n    to: 192.0.2.55\n",
    );
    run_then_roll_back(&world, &pb, &[], |world, out| {
        assert!(
            out.contains("+ maintenance.example.com. A: 192.0.2.55 (TTL 300)"),
            "{out}"
        );
        assert_eq!(
            world.record("maintenance.example.com.", "A").unwrap(),
            "192.0.2.55"
        );
    });
    assert_eq!(world.record("maintenance.example.com.", "A"), None);
}

#[test]
fn repoint_to_an_alias_and_back_restores_value_and_ttl() {
    let world = World::start();
    let zone_id = world.block_on(async {
        world
            .route53
            .list_hosted_zones()
            .send()
            .await
            .unwrap()
            .hosted_zones()[0]
            .id()
            .trim_start_matches("/hostedzone/")
            .to_owned()
    });
    let pb = world.playbook(
        "alias.yaml",
        &format!(
            "version: 1\nname: t\nsteps:\n  - id: www\n    kind: route53.repoint\n    zone: {zone_id}\n    record: www.example.com\n    type: A\n    alias:\n      dns_name: Shop-Staging-ALB-1.us-east-1.ELB.amazonaws.com\n      hosted_zone_id: Z35SXDOTRQ7X7K\n"
        ),
    );
    // An A alias to the staging load balancer. (Not to staging.example.com: an alias to a
    // record of the zone has that record's type, CNAME there, and www holds an A record.)
    run_then_roll_back(&world, &pb, &[], |world, _| {
        let www = record_set(world, "www.example.com.", None).unwrap();
        // As Route 53 returns it: lowercased, with the final dot.
        assert_eq!(
            www.alias_target().map(|a| a.dns_name()),
            Some("shop-staging-alb-1.us-east-1.elb.amazonaws.com.")
        );
        assert_eq!(www.ttl(), None);
    });
    let www = record_set(&world, "www.example.com.", None).unwrap();
    assert_eq!(
        (www.ttl(), www.resource_records()[0].value()),
        (Some(3600), "192.0.2.10")
    );
}

#[test]
fn copy_in_swap_mode_exchanges_both_sides_keeping_types() {
    let world = World::start();
    let pb = world.playbook(
        "swap.yaml",
        "version: 1\nname: t\nsteps:\n  - id: swap\n    kind: ssm.copy-parameters\n    from: /shop/prod\n    to: /shop/staging\n    keys: [DB_HOST, DB_PASSWORD]\n    mode: swap\n",
    );
    // Swapping puts staging's database host into production: the built-in guard refuses
    // unless a human overrules it by name.
    let refused = world.standin(&["run", "--yes", &pb]).expect(4);
    assert!(
        refused.stderr.contains("guard `staging-db-in-production`"),
        "{}",
        refused.stderr
    );
    let force = ["--force-guard", "staging-db-in-production"];
    run_then_roll_back(&world, &pb, &force, |world, out| {
        World::assert_no_secrets(out);
        World::assert_no_secrets(&world.written_files());
        assert_eq!(
            world.param("/shop/prod/DB_HOST").unwrap(),
            "staging-db.cluster-def456.us-east-1.rds.amazonaws.com"
        );
        assert_eq!(
            world.param("/shop/staging/DB_HOST").unwrap(),
            "prod-db.cluster-abc123.us-east-1.rds.amazonaws.com"
        );
        assert_eq!(
            world.param("/shop/prod/DB_PASSWORD").unwrap(),
            "staging-Sup3rSecret-1b2d4e"
        );
        let state = world.state();
        assert!(state["ssm /shop/prod/DB_PASSWORD"].starts_with("SecureString "));
        assert!(
            out.contains("~ /shop/prod/DB_PASSWORD: (sensitive, version 1 → version 2)"),
            "{out}"
        );
    });
}

#[test]
fn secrets_given_by_var_are_never_printed_or_journaled() {
    let world = World::start();
    let token = "tok-Very-Secret-0042";
    let pb = world.playbook(
        "secret.yaml",
        "version: 1\nname: t\nvars:\n  token: placeholder\nsteps:\n  - id: token\n    kind: ssm.put-parameters\n    secure: true\n    values:\n      /shop/staging/API_TOKEN: ${vars.token}\n  - id: rotate\n    kind: ssm.put-parameters\n    values:\n      /shop/staging/DB_PASSWORD: rotated-Secret-5555\n",
    );
    let var = format!("token={token}");
    let plan = world.standin(&["plan", "--var", &var, &pb]).expect(0);
    assert!(
        plan.stdout
            .contains("+ /shop/staging/API_TOKEN: (sensitive, new version 1)"),
        "{}",
        plan.stdout
    );
    run_then_roll_back(&world, &pb, &["--var", &var], |world, out| {
        assert_eq!(world.param("/shop/staging/API_TOKEN").unwrap(), token);
        // Without `secure`, an existing SecureString stays one.
        assert!(world.state()["ssm /shop/staging/DB_PASSWORD"]
            .starts_with("SecureString rotated-Secret-5555"));
        for text in [out, &plan.stdout, &world.written_files()] {
            assert!(
                !text.contains(token) && !text.contains("rotated-Secret-5555"),
                "a secret leaked"
            );
        }
    });
    assert_eq!(world.param("/shop/staging/API_TOKEN"), None);
}

/// A copy carries every attribute that defines a parameter (not only its value and type), the
/// plan shows them, and a rollback puts the old ones back.
#[test]
fn copy_parameters_carries_attributes_and_rollback_restores_them() {
    use aws_sdk_ssm::types::{ParameterTier, ParameterType};
    let world = World::start();
    let put = |name: &str,
               value: &str,
               tier: ParameterTier,
               data_type: &str,
               description: &str,
               pattern: Option<&str>,
               policies: Option<&str>| {
        world
            .block_on(
                world
                    .ssm
                    .put_parameter()
                    .name(name)
                    .value(value)
                    .r#type(ParameterType::String)
                    .tier(tier)
                    .data_type(data_type)
                    .description(description)
                    .set_allowed_pattern(pattern.map(str::to_owned))
                    .set_policies(policies.map(str::to_owned))
                    .overwrite(true)
                    .send(),
            )
            .expect("put parameter");
    };
    let expiry = r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-01-01T00:00:00.000Z"}}]"#;
    put(
        "/shop/prod/AMI_ID",
        "ami-0123456789abcdef0",
        ParameterTier::Advanced,
        "aws:ec2:image",
        "base image",
        Some("^ami-[0-9a-f]+$"),
        Some(expiry),
    );
    put(
        "/shop/prod/NOTE",
        "prod",
        ParameterTier::Standard,
        "text",
        "prod note",
        None,
        None,
    );
    put(
        "/shop/staging/NOTE",
        "staging",
        ParameterTier::Standard,
        "text",
        "staging note",
        None,
        None,
    );
    // A target with no attributes at all: a rollback must clear what the copy gave it, and
    // restore its old value although it does not match the copied pattern.
    put(
        "/shop/prod/BARE",
        "prod-bare",
        ParameterTier::Standard,
        "text",
        "prod only",
        Some("^prod-"),
        None,
    );
    world.put_param("/shop/staging/BARE", "staging-bare");
    let meta = |name: &str| {
        world.block_on(async {
            let out = world
                .ssm
                .describe_parameters()
                .parameter_filters(
                    aws_sdk_ssm::types::ParameterStringFilter::builder()
                        .key("Name")
                        .values(name)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
            out.parameters().first().map(|m| {
                format!(
                    "{:?} {:?} {:?} {:?} {}",
                    m.tier(),
                    m.data_type(),
                    m.description(),
                    m.allowed_pattern(),
                    m.policies().len()
                )
            })
        })
    };
    let before = (
        world.state(),
        meta("/shop/staging/NOTE"),
        meta("/shop/staging/BARE"),
    );
    let pb = world.playbook(
        "copy.yaml",
        "version: 1\nname: copy\nsteps:\n  - id: copy\n    kind: ssm.copy-parameters\n    from: /shop/prod/\n    to: /shop/staging/\n    keys: [AMI_ID, NOTE, BARE]\n",
    );
    let plan = world.standin(&["plan", &pb]).expect(0);
    assert!(
        plan.stdout.contains(r#"+ /shop/staging/AMI_ID: ami-0123456789abcdef0 [Advanced, data type aws:ec2:image, pattern ^ami-[0-9a-f]+$, description "base image", policies]"#),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(r#"~ /shop/staging/NOTE: staging [description "staging note"] → prod [description "prod note"]"#),
        "{}",
        plan.stdout
    );
    world.standin(&["run", "--yes", &pb]).expect(0);
    assert_eq!(
        meta("/shop/staging/AMI_ID").unwrap(),
        r#"Some(Advanced) Some("aws:ec2:image") Some("base image") Some("^ami-[0-9a-f]+$") 1"#
    );
    assert_eq!(
        meta("/shop/staging/NOTE").unwrap(),
        r#"Some(Standard) Some("text") Some("prod note") None 0"#
    );
    assert_eq!(
        meta("/shop/staging/BARE").unwrap(),
        r#"Some(Standard) Some("text") Some("prod only") Some("^prod-") 0"#
    );
    world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(
        (
            world.state(),
            meta("/shop/staging/NOTE"),
            meta("/shop/staging/BARE")
        ),
        before
    );
    assert_eq!(meta("/shop/staging/AMI_ID"), None);
}
