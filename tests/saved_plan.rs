//! `standin plan -o FILE` and `standin run --plan FILE`: a saved plan runs exactly, or not at
//! all when the world or the playbook changed since.

use crate::support::World;

#[test]
fn a_saved_plan_runs_exactly_as_saved() {
    let world = World::start();
    world.incident(&["plan", "-o", "plan.json"]).expect(0);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(world.dir.path().join("plan.json")).unwrap())
            .unwrap();
    assert_eq!(saved["format"], 3);
    assert_eq!(saved["source"]["vars"].as_array().unwrap().len(), 3);

    // No playbook argument: it comes from the plan; the --vars are given again.
    let mut args = vec!["run", "--yes", "--plan", "plan.json"];
    let vars = world.edge_vars();
    args.extend(vars.iter().map(String::as_str));
    let out = world.standin(&args).expect(0);
    assert!(
        out.stdout.contains("Run ") && out.stdout.contains("succeeded"),
        "{}",
        out.stdout
    );
    assert_eq!(
        world.param("/shop/staging/DB_HOST").unwrap(),
        "prod-db.cluster-abc123.us-east-1.rds.amazonaws.com"
    );
    World::assert_no_secrets(&out.all());
    World::assert_no_secrets(&world.written_files());
}

#[test]
fn a_stale_plan_is_refused_naming_what_changed_and_nothing_changes() {
    let world = World::start();
    world.incident(&["plan", "-o", "plan.json"]).expect(0);
    // Someone changes production's queue after the review.
    world.put_param(
        "/shop/prod/QUEUE_URL",
        "https://sqs.us-east-1.amazonaws.com/123456789012/shop-prod-jobs-v2",
    );
    let before = world.full_dump();
    let out = world
        .incident(&["run", "--yes", "--plan", "plan.json"])
        .expect(4);
    assert!(
        out.stderr.contains("the saved plan is stale; nothing was changed")
            && out.stderr.contains("step `prod-env-to-staging`: /shop/staging/QUEUE_URL: planned ~ https://sqs.us-east-1.amazonaws.com/123456789012/shop-staging-jobs → https://sqs.us-east-1.amazonaws.com/123456789012/shop-prod-jobs, now ~ https://sqs.us-east-1.amazonaws.com/123456789012/shop-staging-jobs → https://sqs.us-east-1.amazonaws.com/123456789012/shop-prod-jobs-v2"),
        "{}",
        out.stderr
    );
    assert_eq!(world.full_dump(), before, "a stale plan changed the world");
}

#[test]
fn a_plan_runs_only_with_the_playbook_and_vars_it_was_made_from() {
    let world = World::start();
    let text = std::fs::read_to_string(world.incident_playbook()).unwrap();
    let pb = world.playbook("promote.yaml", &text);
    world
        .with_playbook(&["plan", "-o", "plan.json"], &pb)
        .expect(0);
    let before = world.full_dump();

    // Without the --vars it was planned with.
    let out = world
        .standin(&["run", "--yes", "--plan", "plan.json"])
        .expect(4);
    assert!(out.stderr.contains("the plan was made with [--var app_check_url --var edge --var staging_check_url], now given []"), "{}", out.stderr);

    // After an edit of the playbook.
    std::fs::write(&pb, text.replace("ttl: 60", "ttl: 30")).unwrap();
    let out = world
        .with_playbook(&["run", "--yes", "--plan", "plan.json"], &pb)
        .expect(4);
    assert!(
        out.stderr.contains("was edited since the plan was made"),
        "{}",
        out.stderr
    );

    // Not a plan at all.
    std::fs::write(world.dir.path().join("junk.json"), "{\"steps\": []}").unwrap();
    let out = world
        .standin(&["run", "--yes", "--plan", "junk.json"])
        .expect(2);
    assert!(
        out.stderr
            .contains("junk.json: not a usable saved plan: no `format` field"),
        "{}",
        out.stderr
    );
    // A format that is not a number, and a field no standin wrote: refused, each said.
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(world.dir.path().join("plan.json")).unwrap())
            .unwrap();
    for (name, edit, said) in [
        (
            "text-format.json",
            ("format", serde_json::json!("5")),
            "`format` is \"5\", not a whole number",
        ),
        (
            "extra.json",
            ("skip", serde_json::json!(true)),
            "unknown field `skip`",
        ),
    ] {
        let mut edited = saved.clone();
        edited[edit.0] = edit.1;
        std::fs::write(world.dir.path().join(name), edited.to_string()).unwrap();
        let out = world.standin(&["run", "--yes", "--plan", name]).expect(2);
        assert!(out.stderr.contains(said), "{}", out.stderr);
    }
    assert_eq!(world.full_dump(), before);
}
