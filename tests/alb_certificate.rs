//! `alb.add-certificate` against the emulator: the production certificate found by name and
//! served over TLS, an exact undo, drift (removed by hand, made the default, listener deleted),
//! plans that fail with what to do, and an IAM policy that covers every call.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use crate::support::{repo, Proxy, World};

const LB: &str = "shop-staging-alb";

/// Serve app.example.com from the stand-in, over TLS: the certificate, then the repoint, then
/// a check through the edge that verifies the certificate's names.
const SERVE_APP: &str = r#"version: 1
name: serve-app
vars:
  edge: ""
steps:
  - id: app-certificate
    kind: alb.add-certificate
    load_balancer: shop-staging-alb
    domain: app.example.com
  - id: repoint-app
    kind: route53.repoint
    zone: example.com
    record: app.example.com
    to: shop-staging.us-east-1.elasticbeanstalk.com
    ttl: 60
  - id: app-over-tls
    kind: http.check
    url: https://app.example.com/
    via: ${vars.edge}
    expect_body: served by shop-staging
    within: 30s
"#;

/// The certificate alone, by ARN.
const BY_ARN: &str = r#"version: 1
name: add-certificate
vars:
  cert: ""
steps:
  - id: app-certificate
    kind: alb.add-certificate
    load_balancer: shop-staging-alb
    certificate_arn: ${vars.cert}
    listeners: [443]
"#;

/// The ARN of the ACM certificate whose domain name is `domain`, of any key algorithm
/// (ListCertificates lists only RSA_1024 and RSA_2048 certificates unless asked for others).
fn certificate(world: &World, domain: &str) -> String {
    use aws_sdk_acm::types::{Filters, KeyAlgorithm};
    let acm = aws_sdk_acm::Client::new(&world.config);
    let every = KeyAlgorithm::values()
        .iter()
        .map(|k| KeyAlgorithm::from(*k));
    world.block_on(async {
        let out = acm
            .list_certificates()
            .includes(
                Filters::builder()
                    .set_key_types(Some(every.collect()))
                    .build(),
            )
            .send()
            .await
            .expect("certificates");
        out.certificate_summary_list()
            .iter()
            .find(|c| c.domain_name() == Some(domain))
            .and_then(|c| c.certificate_arn())
            .expect("a certificate for the domain")
            .to_owned()
    })
}

/// The ARN of the load balancer's HTTPS:443 listener.
fn https_listener(world: &World) -> String {
    world.block_on(async {
        let lb = world
            .elbv2
            .describe_load_balancers()
            .names(LB)
            .send()
            .await
            .unwrap();
        let out = world
            .elbv2
            .describe_listeners()
            .load_balancer_arn(lb.load_balancers()[0].load_balancer_arn().unwrap())
            .send()
            .await
            .unwrap();
        out.listeners()
            .iter()
            .find(|l| l.port() == Some(443))
            .and_then(|l| l.listener_arn())
            .unwrap()
            .to_owned()
    })
}

/// Makes `cert` the default certificate of the listener, as `aws elbv2 modify-listener` does.
fn make_default(world: &World, listener: &str, cert: &str) {
    use aws_sdk_elasticloadbalancingv2::types::Certificate;
    world
        .block_on(
            world
                .elbv2
                .modify_listener()
                .listener_arn(listener)
                .certificates(Certificate::builder().certificate_arn(cert).build())
                .send(),
        )
        .expect("modify listener");
}

fn by_arn(world: &World, cert: &str, args: &[&str]) -> Vec<String> {
    let pb = world.playbook("by-arn.yaml", BY_ARN);
    let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    all.extend(["--var".to_owned(), format!("cert={cert}"), pb]);
    all
}

#[test]
fn by_domain_the_production_certificate_is_served_and_rollback_removes_exactly_it() {
    let world = World::start();
    let prod = certificate(&world, "app.example.com");
    let staging = certificate(&world, "staging.example.com");
    let before = world.listener_certificates(LB);
    assert_eq!(before["HTTPS:443"], [(staging.clone(), true)]);
    let state = world.state();
    let pb = world.playbook("serve-app.yaml", SERVE_APP);

    let plan = world.with_playbook(&["plan"], &pb).expect(0);
    let line = format!(
        "+ certificate {prod} on {LB} HTTPS:443: {prod} (app.example.com, www.example.com)"
    );
    assert!(plan.stdout.contains(&line), "{}", plan.stdout);

    // The check verifies the certificate: it passes only if the listener serves app.example.com.
    let run = world.with_playbook(&["run", "--yes"], &pb).expect(0);
    assert_eq!(
        world.listener_certificates(LB)["HTTPS:443"],
        [(staging.clone(), true), (prod.clone(), false)],
        "{}",
        run.stdout
    );
    // The undo record names exactly what was added.
    let journal = journal_text(&world);
    let applied = journal
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["record"] == "applied" && r["step"] == "app-certificate")
        .expect("the step's applied record");
    let undo = &applied["undo"];
    assert_eq!(undo["load_balancer"], LB);
    assert_eq!(undo["listeners"].as_array().unwrap().len(), 1, "{undo}");
    assert_eq!(undo["listeners"][0]["listener"], "HTTPS:443");
    assert_eq!(undo["listeners"][0]["listener_arn"], https_listener(&world));
    assert_eq!(undo["listeners"][0]["certificate_arn"], prod.as_str());
    assert_eq!(undo["listeners"][0]["added"], true);

    // Planned again, the certificate is there: unchanged.
    let again = world.with_playbook(&["plan"], &pb).expect(0);
    assert!(
        again
            .stdout
            .contains(&format!("= certificate {prod} on {LB} HTTPS:443")),
        "{}",
        again.stdout
    );

    let back = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert!(
        back.stdout
            .contains(&format!("certificate {prod} on {LB} HTTPS:443: removed")),
        "{}",
        back.stdout
    );
    assert_eq!(world.listener_certificates(LB), before, "{}", back.stdout);
    assert_eq!(world.state(), state);
    let twice = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert!(
        twice.stdout.contains("nothing to roll back"),
        "{}",
        twice.stdout
    );
    assert_eq!(world.listener_certificates(LB), before);
}

fn journal_text(world: &World) -> String {
    let runs = world.dir.path().join(".standin/runs");
    let mut all: Vec<PathBuf> = std::fs::read_dir(runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    all.sort();
    std::fs::read_to_string(all.last().unwrap().join("journal.jsonl")).unwrap()
}

#[test]
fn undo_counts_a_certificate_removed_by_hand_as_done_and_refuses_one_made_default() {
    let world = World::start();
    let prod = certificate(&world, "app.example.com");
    let staging = certificate(&world, "staging.example.com");
    let listener = https_listener(&world);
    let before = world.listener_certificates(LB);
    let resource = format!("certificate {prod} on {LB} HTTPS:443");

    // Removed by hand after the run: the rollback has nothing left to do there, and says so.
    world
        .standin_env(&[], &by_arn(&world, &prod, &["run", "--yes"]))
        .expect(0);
    world
        .block_on(
            world
                .elbv2
                .remove_listener_certificates()
                .listener_arn(&listener)
                .certificates(
                    aws_sdk_elasticloadbalancingv2::types::Certificate::builder()
                        .certificate_arn(&prod)
                        .build(),
                )
                .send(),
        )
        .expect("remove by hand");
    let back = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert!(
        back.stdout
            .contains(&format!("{resource}: already removed")),
        "{}",
        back.stdout
    );
    assert_eq!(world.listener_certificates(LB), before);

    // Made the listener's default since the run: refused as drift, and even --force leaves a
    // default certificate in place.
    world
        .standin_env(&[], &by_arn(&world, &prod, &["run", "--yes"]))
        .expect(0);
    make_default(&world, &listener, &prod);
    let made_default = world.listener_certificates(LB);
    assert_eq!(made_default["HTTPS:443"][0], (prod.clone(), true));
    let refused = world.standin(&["rollback", "--last", "--yes"]).expect(3);
    assert!(
        refused.stdout.contains("ROLLBACK INCOMPLETE")
            && refused
                .stdout
                .contains(&format!("{prod} as the listener's default certificate")),
        "{}",
        refused.stdout
    );
    assert_eq!(world.listener_certificates(LB), made_default);
    let forced = world
        .standin(&["rollback", "--last", "--yes", "--force"])
        .expect(3);
    assert!(
        forced
            .stdout
            .contains("standin never removes a default certificate, even with --force"),
        "{}",
        forced.stdout
    );
    assert_eq!(world.listener_certificates(LB), made_default);
    // Once staging's certificate is the default again, the rollback removes the one it added.
    make_default(&world, &listener, &staging);
    let done = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert!(
        done.stdout.contains(&format!("{resource}: removed")),
        "{}",
        done.stdout
    );
    assert_eq!(world.listener_certificates(LB), before);

    // The listener deleted since the run: drift, named; --force has nothing to remove.
    world
        .standin_env(&[], &by_arn(&world, &prod, &["run", "--yes"]))
        .expect(0);
    world
        .block_on(world.elbv2.delete_listener().listener_arn(&listener).send())
        .expect("delete listener");
    let gone = world.standin(&["rollback", "--last", "--yes"]).expect(3);
    assert!(
        gone.stdout
            .contains("no such listener (deleted since the run)"),
        "{}",
        gone.stdout
    );
    let forced = world
        .standin(&["rollback", "--last", "--yes", "--force"])
        .expect(0);
    assert!(
        forced
            .stdout
            .contains("no longer exists; nothing to remove"),
        "{}",
        forced.stdout
    );
}

/// Imports a certificate for `names` with a key of `algorithm` (as ACM names it) into the
/// emulator's ACM (harness/certs.py makes it).
fn import_certificate(world: &World, algorithm: &str, names: &[&str]) {
    let python = std::env::var_os("STANDIN_PYTHON")
        .map_or_else(|| repo().join("harness/.venv/bin/python"), PathBuf::from);
    let script = "import sys, boto3\n\
        sys.path.insert(0, sys.argv[1])\n\
        from certs import self_signed\n\
        cert, key = self_signed(sys.argv[4:], sys.argv[3])\n\
        acm = boto3.client('acm', endpoint_url=sys.argv[2], region_name='us-east-1', \
        aws_access_key_id='testing', aws_secret_access_key='testing')\n\
        acm.import_certificate(Certificate=cert, PrivateKey=key)\n";
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(repo().join("harness"))
        .arg(&world.endpoint)
        .arg(algorithm)
        .args(names)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The key algorithm ACM reports for a certificate.
fn key_algorithm(world: &World, arn: &str) -> String {
    let acm = aws_sdk_acm::Client::new(&world.config);
    world.block_on(async {
        let out = acm
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .expect("the certificate");
        out.certificate()
            .and_then(|c| c.key_algorithm())
            .map(|k| k.as_str().to_owned())
            .unwrap_or_default()
    })
}

/// Production's certificate is an ECDSA one (P-384 here; the seed's is P-256). ListCertificates
/// lists only RSA_1024 and RSA_2048 certificates unless asked for other key types: the step
/// asks for every type a load balancer serves, so both it and the plan's TLS check (which
/// counts what the step adds) find the certificate, and the name is served over TLS.
#[test]
fn an_ecdsa_certificate_for_production_is_found_by_the_step_and_the_plans_tls_check() {
    let world = World::start();
    let seeded = certificate(&world, "app.example.com");
    assert_eq!(key_algorithm(&world, &seeded), "EC_prime256v1");
    let acm = aws_sdk_acm::Client::new(&world.config);
    world
        .block_on(acm.delete_certificate().certificate_arn(&seeded).send())
        .expect("delete the seeded certificate");
    import_certificate(
        &world,
        "EC_secp384r1",
        &["app.example.com", "www.example.com"],
    );
    let prod = certificate(&world, "app.example.com");
    assert_eq!(key_algorithm(&world, &prod), "EC_secp384r1");
    let pb = world.playbook("serve-app.yaml", SERVE_APP);

    let plan = world.with_playbook(&["plan"], &pb).expect(0);
    assert!(
        plan.stdout.contains(&format!(
            "+ certificate {prod} on {LB} HTTPS:443: {prod} (app.example.com, www.example.com)"
        )) && !plan.stdout.contains("no certificate for app.example.com"),
        "{}",
        plan.stdout
    );
    let json = world
        .with_playbook(&["--output", "json", "plan"], &pb)
        .expect(0);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("a JSON plan");
    assert!(doc.get("serving").is_none(), "{doc}");

    let run = world.with_playbook(&["run", "--yes"], &pb).expect(0);
    assert!(
        world.listener_certificates(LB)["HTTPS:443"].contains(&(prod.clone(), false)),
        "{}",
        run.stdout
    );
}

fn step(world: &World, fields: &str) -> String {
    world.playbook(
        "one.yaml",
        &format!(
            "version: 1\nname: one\nsteps:\n  - id: cert\n    kind: alb.add-certificate\n    load_balancer: shop-staging-alb\n{fields}"
        ),
    )
}

#[test]
fn plans_fail_saying_what_to_do_when_no_certificate_or_listener_fits() {
    let world = World::start();
    let before = world.listener_certificates(LB);
    let fails = |fields: &str, expected: &[&str]| {
        let out = world.standin(&["plan", &step(&world, fields)]).expect(1);
        for text in expected {
            assert!(
                out.stdout.contains(text),
                "{fields}: expected {text:?} in\n{}",
                out.stdout
            );
        }
    };
    fails(
        "    domain: shop.example.org\n",
        &[
            "certificate for shop.example.org: no issued ACM certificate in this region covers shop.example.org",
            "DNS validation takes minutes to hours",
            "prepare one in calm times",
        ],
    );
    fails(
        "    certificate_arn: arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000\n",
        &["no such certificate in ACM"],
    );
    fails(
        "    domain: app.example.com\n    listeners: [80]\n",
        &["load balancer shop-staging-alb: its listener on port 80 is HTTP:80: a certificate goes on an HTTPS listener"],
    );
    fails(
        "    domain: app.example.com\n    listeners: [8443]\n",
        &["has no listener on port 8443 (it has HTTP:80, HTTPS:443)"],
    );

    // A wildcard certificate covers app.example.com too: two candidates, named, and refused.
    import_certificate(&world, "EC_prime256v1", &["*.example.com"]);
    let prod = certificate(&world, "app.example.com");
    let wildcard = certificate(&world, "*.example.com");
    fails(
        "    domain: app.example.com\n",
        &[
            "2 issued ACM certificates cover app.example.com",
            &format!("{prod} (app.example.com, www.example.com)"),
            &format!("{wildcard} (*.example.com)"),
            "`certificate_arn:`",
        ],
    );
    assert_eq!(world.listener_certificates(LB), before);

    // No HTTPS listener at all.
    world
        .block_on(
            world
                .elbv2
                .delete_listener()
                .listener_arn(https_listener(&world))
                .send(),
        )
        .expect("delete listener");
    fails(
        &format!("    certificate_arn: {prod}\n"),
        &["load balancer shop-staging-alb: has no HTTPS listener (it has HTTP:80)"],
    );
}

/// Every action a policy allows, with the resources it allows it on.
fn grants(world: &World, phase: &str, playbook: &str) -> BTreeMap<String, BTreeSet<String>> {
    let out = world
        .standin(&["iam-policy", "--for", phase, playbook])
        .expect(0);
    let policy: serde_json::Value = serde_json::from_str(&out.stdout).expect("a JSON policy");
    let mut all: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for statement in policy["Statement"].as_array().unwrap() {
        for action in statement["Action"].as_array().unwrap() {
            all.entry(action.as_str().unwrap().to_owned())
                .or_default()
                .extend(
                    statement["Resource"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r.as_str().unwrap().to_owned()),
                );
        }
    }
    all
}

#[test]
fn the_policy_covers_every_call_and_a_denied_undo_says_what_to_run_by_hand() {
    let world = World::start();
    let proxy = Proxy::start(&world);
    let via = [("AWS_ENDPOINT_URL", proxy.url.as_str())];
    let before = world.listener_certificates(LB);
    let pb = step(&world, "    domain: app.example.com\n");
    let plan_policy = grants(&world, "plan", &pb);
    let run_policy = grants(&world, "run", &pb);
    assert_eq!(
        run_policy["elasticloadbalancing:AddListenerCertificates"],
        BTreeSet::from([
            "arn:aws:elasticloadbalancing:*:*:listener/app/shop-staging-alb/*".to_owned()
        ])
    );
    assert!(!plan_policy.contains_key("elasticloadbalancing:AddListenerCertificates"));

    let calls = |args: &[&str], code: i32| -> (BTreeSet<String>, String) {
        proxy.reset_counts(&world);
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let out = world.standin_env(&via, &args).expect(code);
        (proxy.counts(&world).into_keys().collect(), out.stdout)
    };
    let (planned, _) = calls(&["plan", &pb], 0);
    assert!(planned.contains("acm:ListCertificates"), "{planned:?}");
    let missing: Vec<&String> = planned
        .iter()
        .filter(|a| !plan_policy.contains_key(*a))
        .collect();
    assert!(
        missing.is_empty(),
        "plan calls what its policy lacks: {missing:?}"
    );

    let (mut ran, _) = calls(&["run", "--yes", &pb], 0);
    proxy.faults(
        &world,
        &serde_json::json!([{"action": "elasticloadbalancing:RemoveListenerCertificates", "fault": "deny"}]),
    );
    let (denied, stdout) = calls(&["rollback", "--last", "--yes"], 3);
    let prod = certificate(&world, "app.example.com");
    for part in [
        "aws elbv2 remove-listener-certificates ".to_owned(),
        format!("--listener-arn={}", https_listener(&world)),
        format!("--certificates CertificateArn={prod}"),
    ] {
        assert!(stdout.contains(&part), "expected {part:?} in\n{stdout}");
    }
    proxy.faults(&world, &serde_json::json!([]));
    let (undone, _) = calls(&["rollback", "--last", "--yes"], 0);
    ran.extend(denied);
    ran.extend(undone);
    assert!(
        ran.contains("elasticloadbalancing:AddListenerCertificates")
            && ran.contains("elasticloadbalancing:RemoveListenerCertificates"),
        "{ran:?}"
    );
    // STS GetCallerIdentity (whom the run acts as) needs no permission: STS API reference.
    let missing: Vec<&String> = ran
        .iter()
        .filter(|a| *a != "sts:GetCallerIdentity")
        .filter(|a| !run_policy.contains_key(*a))
        .collect();
    assert!(
        missing.is_empty(),
        "run calls what its policy lacks: {missing:?}"
    );
    assert_eq!(world.listener_certificates(LB), before);
}

/// Killed right before the add (nothing added) or right after it (added, but only the intent,
/// with `added: false`, is journaled): rollback from the journal alone puts the listener back;
/// after the second, `resume` settles the step as applied and its rollback removes it too.
#[test]
fn a_run_killed_around_the_add_rolls_back_from_the_journal_alone() {
    let world = World::start();
    let prod = certificate(&world, "app.example.com");
    let before = world.listener_certificates(LB);
    let resource = format!("certificate {prod} on {LB} HTTPS:443");
    let killed_at = |point: &str| {
        let out = world.standin_env(
            &[("STANDIN_CRASH_AT", point)],
            &by_arn(&world, &prod, &["run", "--yes"]),
        );
        assert_eq!(out.code, -1, "not killed at {point}\n{}", out.all());
    };

    killed_at("intent-written:app-certificate");
    assert_eq!(world.listener_certificates(LB), before);
    let back = world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert!(
        back.stdout
            .contains(&format!("{resource}: was not added by this run")),
        "{}",
        back.stdout
    );
    assert_eq!(world.listener_certificates(LB), before);

    for resume in [false, true] {
        killed_at("applied:app-certificate");
        assert_eq!(world.listener_certificates(LB)["HTTPS:443"].len(), 2);
        if resume {
            world
                .standin(&["resume", "--yes", "--var", &format!("cert={prod}")])
                .expect(0);
        }
        let back = world.standin(&["rollback", "--last", "--yes"]).expect(0);
        assert!(
            back.stdout.contains(&format!("{resource}: removed")),
            "resume: {resume}\n{}",
            back.stdout
        );
        assert_eq!(world.listener_certificates(LB), before);
    }
}
