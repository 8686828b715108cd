//! What AWS would refuse for its form never reaches it (issue 25): `validate` (and every
//! command loading the playbook) refuses what the playbook's text fixes, located, with nothing
//! called, `--var` values included; `plan` refuses what depends on live state, naming the
//! step and the resource, before any change. An alias without `type:` is an A record.

use std::collections::BTreeMap;

use crate::support::{Proxy, World};

const HEAD: &str = "version: 1\nname: t\nvars:\n  value: x\nsteps:\n  - id: s\n";

/// (case, the step's fields, `--var value=...` or none, `line:col`, message part, hint part)
type Case = (
    &'static str,
    String,
    Option<String>,
    &'static str,
    &'static str,
    &'static str,
);

fn cases() -> Vec<Case> {
    let lock = "    kind: lock-url\n    strategy: alb\n    load_balancer: shop-staging-alb\n    host: staging.example.com\n";
    let repoint = "    kind: route53.repoint\n    zone: example.com\n    record: www.example.com\n";
    let put = "    kind: ssm.put-parameters\n";
    vec![
        (
            "a fixed response answering a redirect status",
            format!("{lock}    status: 302\n"),
            None,
            ":11:5:",
            "a load balancer's fixed response cannot answer 302",
            "use a 2XX, 4XX or 5XX status",
        ),
        (
            "a fixed response body over 1024 characters",
            format!("{lock}    body: {}\n", "x".repeat(1025)),
            None,
            ":11:5:",
            "the body is 1025 characters; a load balancer's fixed response holds at most 1024",
            "keep the body short",
        ),
        (
            "a fixed response body over 1024 characters from --var",
            format!("{lock}    body: ${{vars.value}}\n"),
            Some("x".repeat(2000)),
            ":11:5:",
            "the body is 2000 characters",
            "keep the body short",
        ),
        (
            "a rule priority over 50000",
            format!("{lock}    priority: 50001\n"),
            None,
            ":11:5:",
            "priority 50001 is not a rule priority",
            "rule priorities are 1 to 50000",
        ),
        (
            "a host a rule cannot match",
            "    kind: lock-url\n    strategy: alb\n    load_balancer: shop-staging-alb\n    host: staging_example\n".into(),
            None,
            ":10:5:",
            "`staging_example` is not a host name a load balancer rule matches",
            "give the host name as clients send it",
        ),
        (
            "a CNAME alias to a load balancer",
            format!("{repoint}    type: CNAME\n    alias: {{dns_name: shop-staging-alb-1.us-east-1.elb.amazonaws.com, hosted_zone_id: Z35SXDOTRQ7X7K}}\n"),
            None,
            ":10:5:",
            "an alias to an Elastic Load Balancing load balancer (shop-staging-alb-1.us-east-1.elb.amazonaws.com) is of type A or AAAA, not CNAME",
            "leave `type` out (an alias is A by default)",
        ),
        (
            "an AAAA alias to an Elastic Beanstalk environment",
            format!("{repoint}    type: AAAA\n    alias: {{dns_name: shop-staging.us-east-1.elasticbeanstalk.com, hosted_zone_id: Z117KPS5GTRQ2G}}\n"),
            None,
            ":10:5:",
            "an alias to an Elastic Beanstalk environment (shop-staging.us-east-1.elasticbeanstalk.com) is of type A, not AAAA",
            "leave `type` out",
        ),
        (
            "an A record's value from --var that is a host name",
            format!("{repoint}    type: A\n    to: ${{vars.value}}\n"),
            Some("shop-staging.us-east-1.elasticbeanstalk.com".into()),
            ":11:5:",
            "`shop-staging.us-east-1.elasticbeanstalk.com` is not a value of an A record",
            "an A record holds an IPv4 address",
        ),
        (
            "a record name with an empty label",
            "    kind: route53.repoint\n    zone: example.com\n    record: www..example.com\n    to: x.example.net\n".into(),
            None,
            ":9:5:",
            "`www..example.com` is not a domain name: it has an empty label",
            "give a fully qualified name",
        ),
        (
            "a set identifier over 128 characters",
            format!("{repoint}    set_identifier: {}\n    to: x.example.net\n", "b".repeat(129)),
            None,
            ":10:5:",
            "set identifier `bbbbbbbbbb",
            "give the `SetIdentifier` of the routed record",
        ),
        (
            "a parameter name with a space",
            format!("{put}    values:\n      \"/shop/staging/NEW KEY\": x\n"),
            None,
            ":9:7:",
            "parameter name `/shop/staging/NEW KEY` has ` `, which Parameter Store does not take",
            "Parameter Store names take letters, digits",
        ),
        (
            "a parameter name AWS reserves",
            format!("{put}    values:\n      /ssm/shop/FLAG: x\n"),
            None,
            ":9:7:",
            "parameter name `/ssm/shop/FLAG` starts with `aws` or `ssm`, which AWS reserves",
            "name parameters under your own prefix",
        ),
        (
            "a parameter name longer than Parameter Store's 1011 with its ARN",
            format!("{put}    values:\n      /{}: x\n", "n".repeat(1011 - 45 + 1)),
            None,
            ":9:7:",
            "parameter name `/nnnnnnnnnn",
            "use a shorter name",
        ),
        (
            "a value longer than any tier holds, from --var",
            format!("{put}    values:\n      /shop/staging/BIG: ${{vars.value}}\n"),
            Some("v".repeat(8193)),
            ":9:7:",
            "the value is 8193 characters; no Parameter Store tier holds more than 8192",
            "split the value across parameters",
        ),
        (
            "a KMS key id Parameter Store does not take",
            format!("{put}    values: {{/shop/staging/K: x}}\n    secure: true\n    key_id: my key\n"),
            None,
            ":10:5:",
            "`my key` is not a KMS key id Parameter Store takes",
            "give a key id, ARN or alias",
        ),
        (
            "an .env parameter's name with levels but no leading slash",
            "    kind: ssm.edit-env-file\n    parameter: shop/dotenv/staging\n    set: {A: b}\n".into(),
            None,
            ":8:5:",
            "parameter name `shop/dotenv/staging` has levels but does not start with `/`",
            "a name in a hierarchy starts with `/`",
        ),
        (
            "a copy into a prefix AWS reserves",
            "    kind: ssm.copy-parameters\n    from: /shop/prod/\n    to: /aws/shop/\n".into(),
            None,
            ":9:5:",
            "parameter name `/aws/shop` starts with `aws` or `ssm`",
            "name parameters under your own prefix",
        ),
        (
            "an environment name Elastic Beanstalk does not take",
            "    kind: eb.restart\n    environment: shop-\n".into(),
            None,
            ":8:5:",
            "`shop-` is not an Elastic Beanstalk environment name",
            "environment names are 4 to 40 letters",
        ),
        (
            "a property name Elastic Beanstalk does not take",
            "    kind: eb.set-env\n    environment: shop-staging\n    set:\n      \"APP ENV\": production\n".into(),
            None,
            ":10:7:",
            "`APP ENV` is not an environment property name Elastic Beanstalk takes",
            "property names take letters, digits",
        ),
        (
            "properties over 4096 bytes set by one step, from --var",
            "    kind: eb.set-options\n    environment: shop-staging\n    set:\n      aws:elasticbeanstalk:application:environment: {BIG: \"${vars.value}\"}\n".into(),
            Some("p".repeat(4093)),
            ":9:5:",
            "the properties this step sets come to 4097 bytes as `key=value`; Elastic Beanstalk holds at most 4096 bytes",
            "keep large values in Parameter Store",
        ),
        (
            "a group size Auto Scaling does not take",
            "    kind: eb.set-options\n    environment: shop-staging\n    set:\n      aws:autoscaling:asg: {MinSize: \"0\"}\n".into(),
            None,
            ":10:29:",
            "0 instances is out of range",
            "Auto Scaling takes 1 to 10000",
        ),
        (
            "a certificate ARN that is no ACM ARN",
            "    kind: alb.add-certificate\n    load_balancer: shop-staging-alb\n    certificate_arn: staging-cert\n".into(),
            None,
            ":9:5:",
            "`staging-cert` is not an ACM certificate's ARN",
            "e.g. `arn:aws:acm:",
        ),
        (
            "a listener port out of range",
            "    kind: alb.add-certificate\n    load_balancer: shop-staging-alb\n    domain: staging.example.com\n    listeners: [443, 70000]\n".into(),
            None,
            ":10:22:",
            "port 70000 is not a listener port",
            "ports are 1 to 65535",
        ),
    ]
}

/// How many calls the counts hold, of any action.
fn calls(counts: &BTreeMap<String, u64>) -> u64 {
    counts.values().sum()
}

#[test]
fn what_aws_refuses_for_its_form_is_refused_located_and_nothing_is_called() {
    let world = World::start();
    let proxy = Proxy::start(&world);
    let before = world.full_dump();
    let cases = cases();
    for (case, fields, var, at, message, hint) in &cases {
        let pb = world.playbook("form.yaml", &format!("{HEAD}{fields}"));
        for command in ["validate", "plan", "run"] {
            let mut args: Vec<String> = vec![command.into()];
            if command == "run" {
                args.push("--yes".into());
            }
            if let Some(value) = var {
                args.extend(["--var".into(), format!("value={value}")]);
            }
            args.push(pb.clone());
            world
                .standin_env(&[("AWS_ENDPOINT_URL", &proxy.url)], &args)
                .expect_invalid(
                    &format!("{case} ({command})"),
                    &format!("form.yaml{at} {message}"),
                    hint,
                );
        }
    }
    let counts = proxy.counts(&world);
    assert_eq!(
        calls(&counts),
        0,
        "a refused playbook called AWS: {counts:?}"
    );
    assert_eq!(world.full_dump(), before);
}

/// The calls that change what standin's steps change.
const WRITES: &[&str] = &[
    "ssm:PutParameter",
    "ssm:DeleteParameters",
    "elasticbeanstalk:UpdateEnvironment",
    "POST /2013-04-01/hostedzone/{id}/rrset",
];

/// `plan` (and `run`, before any change) on `fields`: refused, exit 1, naming the step and
/// `resource` with `message`; no write reaches the emulator and nothing changes.
fn refused_by_plan(world: &World, proxy: &Proxy, fields: &str, resource: &str, message: &str) {
    let pb = world.playbook("live.yaml", &format!("{HEAD}{fields}"));
    let before = world.full_dump();
    proxy.reset_counts(world);
    for args in [vec!["plan", pb.as_str()], vec!["run", "--yes", pb.as_str()]] {
        let args: Vec<String> = args.into_iter().map(String::from).collect();
        let out = world.standin_env(&[("AWS_ENDPOINT_URL", &proxy.url)], &args);
        assert_eq!(out.code, 1, "{fields}: exit code\n{}", out.all());
        let all = out.all();
        assert!(
            all.contains("] s (") || all.contains("`s`"),
            "the step is not named:\n{all}"
        );
        let said = format!("{resource}: ");
        assert!(
            all.contains(&said) && all.contains(message),
            "expected `{said}` and `{message}` in\n{all}"
        );
    }
    let counts = proxy.counts(world);
    let writes: Vec<&String> = counts
        .keys()
        .filter(|action| WRITES.iter().any(|w| action.ends_with(w)))
        .collect();
    assert!(writes.is_empty(), "written before the refusal: {counts:?}");
    assert_eq!(world.full_dump(), before, "{fields}: the world changed");
}

#[test]
fn what_depends_on_live_state_is_refused_by_the_plan_before_any_change() {
    let world = World::start();
    let proxy = Proxy::start(&world);
    let long = "v".repeat(4097);

    // A value over 4096 characters for a Standard parameter (and for a new one, Standard by
    // default); an Advanced parameter takes it.
    refused_by_plan(
        &world,
        &proxy,
        &format!("    kind: ssm.put-parameters\n    values: {{/shop/staging/APP_URL: {long}}}\n"),
        "/shop/staging/APP_URL",
        "the value is 4097 characters; a Standard-tier parameter holds at most 4096 (Advanced 8192)",
    );
    world.block_on(async {
        world
            .ssm
            .put_parameter()
            .name("/shop/staging/BIG")
            .value("small")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .tier(aws_sdk_ssm::types::ParameterTier::Advanced)
            .send()
            .await
            .expect("an Advanced parameter");
    });
    let pb = world.playbook(
        "advanced.yaml",
        &format!("{HEAD}    kind: ssm.put-parameters\n    values: {{/shop/staging/BIG: {long}}}\n"),
    );
    world.standin(&["run", "--yes", &pb]).expect(0);
    assert_eq!(world.param("/shop/staging/BIG"), Some(long.clone()));

    // The .env parameter's text after the edit: the live file and the value added.
    refused_by_plan(
        &world,
        &proxy,
        &format!("    kind: ssm.edit-env-file\n    parameter: /shop/dotenv/staging\n    set: {{BIG: {}}}\n", "v".repeat(4050)),
        "/shop/dotenv/staging",
        "characters; a Standard-tier parameter holds at most 4096",
    );

    // A value the destination's allowed pattern refuses (a copy carries no pattern of its own).
    world.block_on(async {
        world
            .ssm
            .put_parameter()
            .name("/shop/staging/RUN_MIGRATIONS")
            .value("true")
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .allowed_pattern("^(true|false)$")
            .overwrite(true)
            .send()
            .await
            .expect("a pattern");
    });
    world.put_param("/shop/prod/RUN_MIGRATIONS", "no");
    refused_by_plan(
        &world,
        &proxy,
        "    kind: ssm.copy-parameters\n    from: /shop/prod/\n    to: /shop/staging/\n    keys: [RUN_MIGRATIONS]\n",
        "/shop/staging/RUN_MIGRATIONS",
        "the value does not match the parameter's allowed pattern `^(true|false)$`",
    );

    // A name that fits with the shortest ARN, not with this region's.
    refused_by_plan(
        &world,
        &proxy,
        &format!("    kind: ssm.put-parameters\n    values: {{/{}: x}}\naws:\n  region: ap-southeast-1\n", "n".repeat(966)),
        &format!("/{}", "n".repeat(966)),
        "is 966 characters; with its ARN, Parameter Store allows 961 here",
    );

    // Properties: those the environment keeps count with those the step sets.
    let kept = properties_bytes(&world, "shop-staging");
    let value = "p".repeat(4096 - kept - "BIG=".len() + 1);
    refused_by_plan(
        &world,
        &proxy,
        &format!(
            "    kind: eb.set-env\n    environment: shop-staging\n    set: {{BIG: {value}}}\n"
        ),
        "environment shop-staging",
        "its properties after this step come to 4097 bytes as `key=value`",
    );

    // An alias (A by default) cannot take the name of a CNAME: the plan says how instead.
    refused_by_plan(
        &world,
        &proxy,
        "    kind: route53.repoint\n    zone: example.com\n    record: app.example.com\n    alias: {dns_name: shop-staging-alb-1.us-east-1.elb.amazonaws.com, hosted_zone_id: Z35SXDOTRQ7X7K}\n",
        "app.example.com. A",
        "app.example.com. is a CNAME; no other record can share its name (Route 53 would refuse it): repoint the CNAME with `to:` the target's name, or delete the CNAME before the alias",
    );

    // An alias to another record of the zone has that record's type: staging is a CNAME.
    refused_by_plan(
        &world,
        &proxy,
        "    kind: route53.repoint\n    zone: example.com\n    record: www.example.com\n    alias: {dns_name: staging.example.com, hosted_zone_id: ZONE}\n"
            .replace("ZONE", &zone_id(&world))
            .as_str(),
        "www.example.com. A",
        "an A alias to staging.example.com. in hosted zone example.com., which holds only CNAME of that name",
    );
}

/// The bytes of an environment's properties, each as `key=value`.
fn properties_bytes(world: &World, environment: &str) -> usize {
    world.block_on(async {
        world
            .eb
            .describe_configuration_settings()
            .application_name("shop")
            .environment_name(environment)
            .send()
            .await
            .expect("settings")
            .configuration_settings()
            .iter()
            .flat_map(|c| c.option_settings())
            .filter(|o| o.namespace() == Some("aws:elasticbeanstalk:application:environment"))
            .map(|o| {
                o.option_name().unwrap_or_default().len() + 1 + o.value().unwrap_or_default().len()
            })
            .sum()
    })
}

fn zone_id(world: &World) -> String {
    world.block_on(async {
        world
            .route53
            .list_hosted_zones()
            .send()
            .await
            .expect("zones")
            .hosted_zones()[0]
            .id()
            .trim_start_matches("/hostedzone/")
            .to_owned()
    })
}

/// An alias without `type:` is an A record (it was written as a CNAME, which Route 53
/// refuses for a load balancer), and undo restores the record it replaced.
#[test]
fn an_alias_without_a_type_is_an_a_record() {
    let world = World::start();
    let zone = zone_id(&world);
    let pb = world.playbook(
        "alias.yaml",
        &format!("{HEAD}    kind: route53.repoint\n    zone: example.com\n    record: shop-alias.example.com\n    alias: {{dns_name: shop-staging-alb-1.us-east-1.elb.amazonaws.com, hosted_zone_id: Z35SXDOTRQ7X7K}}\n"),
    );
    let plan = world.standin(&["plan", &pb]).expect(0);
    assert!(
        plan.stdout.contains("shop-alias.example.com. A"),
        "{}",
        plan.stdout
    );
    world.standin(&["run", "--yes", &pb]).expect(0);
    let alias = world.block_on(async {
        world
            .route53
            .list_resource_record_sets()
            .hosted_zone_id(&zone)
            .send()
            .await
            .expect("records")
            .resource_record_sets()
            .iter()
            .find(|rs| rs.name() == "shop-alias.example.com.")
            .map(|rs| (rs.r#type().as_str().to_owned(), rs.alias_target().is_some()))
    });
    assert_eq!(alias, Some(("A".to_owned(), true)));
    world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(world.record("shop-alias.example.com.", "A"), None);
}

/// Where production's name is an alias to its environment, `init` drafts an alias to the
/// stand-in's (an A record holds an address, not the environment's name), and the draft loads.
#[test]
fn init_drafts_an_alias_for_production_s_alias_record() {
    use aws_sdk_route53::types::{
        AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    let world = World::start();
    let set = |rtype: RrType| {
        ResourceRecordSet::builder()
            .name("app.example.com.")
            .r#type(rtype)
    };
    let cname = set(RrType::Cname)
        .ttl(300)
        .resource_records(
            ResourceRecord::builder()
                .value("shop-prod.us-east-1.elasticbeanstalk.com")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let alias = set(RrType::A)
        .alias_target(
            AliasTarget::builder()
                .dns_name("shop-prod.us-east-1.elasticbeanstalk.com")
                .hosted_zone_id("Z117KPS5GTRQ2G")
                .evaluate_target_health(false)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let change = |action: ChangeAction, rs: ResourceRecordSet| {
        Change::builder()
            .action(action)
            .resource_record_set(rs)
            .build()
            .unwrap()
    };
    let batch = ChangeBatch::builder()
        .changes(change(ChangeAction::Delete, cname))
        .changes(change(ChangeAction::Create, alias))
        .build()
        .unwrap();
    let zone = zone_id(&world);
    world
        .block_on(
            world
                .route53
                .change_resource_record_sets()
                .hosted_zone_id(zone)
                .change_batch(batch)
                .send(),
        )
        .expect("app becomes an alias");
    world.standin(&["init", "--yes"]).expect(0);
    let path = world.dir.path().join("playbooks/promote-shop.yaml");
    let text = std::fs::read_to_string(&path).expect("the draft");
    let expected = "record: app.example.com\n    type: A\n    alias:\n      dns_name: shop-staging.us-east-1.elasticbeanstalk.com\n      hosted_zone_id: Z117KPS5GTRQ2G\n";
    assert!(text.contains(expected), "{expected:?} not in\n{text}");
    world
        .standin(&["validate", path.to_str().unwrap()])
        .expect(0);
}
