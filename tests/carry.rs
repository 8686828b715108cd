//! A stand-in that can carry production (issue 14): the incident playbook, against a world where
//! staging's certificate covers only staging's name and staging has a third of production's
//! capacity, first warns about both (and a dry drill refuses), then with its certificate and
//! capacity steps promotes, passes its `https://` gates, and rolls back exactly.

use serde_json::Value;

use crate::support::World;

/// The incident playbook without the steps that give the stand-in TLS and capacity (the
/// certificate's parallel group becomes the restart alone).
fn without_carry_steps(world: &World) -> String {
    let text = std::fs::read_to_string(world.incident_playbook()).unwrap();
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let carry = |step: &serde_yaml::Value| {
        matches!(
            step["id"].as_str(),
            Some("staging-capacity" | "production-certificate")
        )
    };
    let steps = doc["steps"].as_sequence_mut().unwrap();
    let before = steps.len();
    steps.retain(|s| !carry(s));
    for step in steps.iter_mut() {
        if let Some(members) = step["parallel"].as_sequence() {
            let kept: Vec<serde_yaml::Value> =
                members.iter().filter(|m| !carry(m)).cloned().collect();
            if kept.len() == 1 {
                *step = kept[0].clone();
            }
        }
    }
    assert_eq!(
        steps.len(),
        before - 1,
        "the incident playbook has the steps"
    );
    world.playbook("no-carry.yaml", &serde_yaml::to_string(&doc).unwrap())
}

/// The gates over HTTPS, through the edge (which presents what the listener would).
fn https_args(world: &World, args: &[&str], playbook: &str) -> Vec<String> {
    let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    for var in [
        "app_check_url=https://app.example.com/health".to_owned(),
        "staging_check_url=https://staging.example.com/".to_owned(),
        format!("edge={}", world.edge),
    ] {
        all.push("--var".into());
        all.push(var);
    }
    all.push(playbook.to_owned());
    all
}

#[test]
fn the_incident_playbook_gives_the_stand_in_tls_and_capacity_and_takes_them_back() {
    let world = World::start();
    let certificates = world.listener_certificates("shop-staging-alb");
    let capacity = crate::capacity::options(&world, "shop-staging");
    let before = world.state();

    // Without the steps: both warnings, and the dry drill refuses on the certificate.
    let bare = without_carry_steps(&world);
    let plan = world
        .standin_env(&[], &https_args(&world, &["plan"], &bare))
        .expect(0);
    assert!(
        plan.stdout
            .contains("HTTPS:443 listener has no certificate for app.example.com"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("alb.add-certificate"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("with less capacity"),
        "{}",
        plan.stdout
    );
    let dry = world
        .standin_env(&[], &https_args(&world, &["drill", "--dry"], &bare))
        .expect(4);
    assert!(
        dry.stdout.contains("a real drill would be blocked by")
            && dry.stdout.contains("no certificate for app.example.com"),
        "{}",
        dry.stdout
    );

    // With them: no warning, the run passes its https:// gates, and everything goes back.
    let incident = world.incident_playbook();
    let plan = world
        .standin_env(
            &[],
            &https_args(&world, &["plan", "--output", "json"], &incident),
        )
        .expect(0);
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert!(plan.get("serving").is_none(), "{plan}");
    assert!(
        !plan["warnings"].to_string().contains("capacity"),
        "{}",
        plan["warnings"]
    );
    let run = world
        .standin_env(&[], &https_args(&world, &["run", "--yes"], &incident))
        .expect(0);
    assert!(
        run.stdout.contains("GET https://app.example.com/health"),
        "{}",
        run.stdout
    );
    let promoted = world.listener_certificates("shop-staging-alb");
    assert_eq!(
        promoted["HTTPS:443"].len(),
        certificates["HTTPS:443"].len() + 1
    );
    let scaled = crate::capacity::options(&world, "shop-staging");
    assert_eq!(
        scaled.get(&("aws:autoscaling:asg".to_owned(), "MinSize".to_owned())),
        crate::capacity::options(&world, "shop-prod")
            .get(&("aws:autoscaling:asg".to_owned(), "MinSize".to_owned()))
    );
    world.standin(&["rollback", "--last", "--yes"]).expect(0);
    assert_eq!(
        world.listener_certificates("shop-staging-alb"),
        certificates
    );
    assert_eq!(crate::capacity::options(&world, "shop-staging"), capacity);
    assert_eq!(world.state(), before);
}
