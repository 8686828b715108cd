//! The seeded secrets never appear in any stream of any command, nor in any file standin
//! writes, through a whole promote-and-restore cycle that copies them.

use crate::support::World;

#[test]
fn no_seeded_secret_appears_in_any_output_journal_or_saved_plan() {
    let world = World::start();
    let mut streams = String::new();
    let mut run = |args: &[&str], code: i32, incident: bool| {
        let out = if incident {
            world.incident(args)
        } else {
            world.standin(args)
        };
        streams.push_str(&out.expect(code).all());
    };
    run(&["plan"], 0, true);
    run(&["plan", "--output", "json", "-o", "plan.json"], 0, true);
    run(&["run", "--yes", "--plan", "plan.json"], 0, true);
    run(&["status"], 0, false);
    run(&["status", "--output", "json"], 0, false);
    run(
        &["rollback", "--last", "--yes", "--output", "json"],
        0,
        false,
    );
    run(&["status"], 0, false);
    let files = world.written_files();
    // The run did move the secret: otherwise this test could not fail.
    assert!(
        files.contains("/shop/staging/DB_PASSWORD")
            && streams.contains("/shop/staging/DB_PASSWORD"),
        "the secret parameter was not part of the run"
    );
    World::assert_no_secrets(&streams);
    World::assert_no_secrets(&files);
}

/// An `.env` file kept as one SecureString holds secrets of its own: none of them appears in
/// any output or file through plan, run, status and rollback of a step that edits the file,
/// whether the step changes the secret or leaves it.
#[test]
fn no_secret_of_an_env_file_appears_in_any_output_or_file() {
    let world = World::start();
    let kept = "sk_live_Kept-9d8c7b6a5f4e";
    let old = "whsec_Old-1a2b3c4d5e6f";
    let new = "whsec_New-6f5e4d3c2b1a";
    let text = format!("APP_ENV=staging\nSTRIPE_KEY={kept}\nWEBHOOK_SECRET={old}\n");
    world.block_on(async {
        world
            .ssm
            .put_parameter()
            .name("/shop/dotenv/staging")
            .value(text)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .expect("put the .env file");
    });
    let pb = world.playbook(
        "env.yaml",
        &format!(
            "version: 1\nname: env\nsteps:\n  - id: edit\n    kind: ssm.edit-env-file\n    parameter: /shop/dotenv/staging\n    set:\n      APP_ENV: production\n      WEBHOOK_SECRET: {new}\n"
        ),
    );
    let mut streams = String::new();
    for (args, code) in [
        (vec!["plan", pb.as_str()], 0),
        (
            vec!["plan", "--output", "json", "-o", "plan.json", pb.as_str()],
            0,
        ),
        (vec!["run", "--yes", "--plan", "plan.json"], 0),
        (vec!["status"], 0),
        (vec!["status", "--output", "json"], 0),
        (vec!["rollback", "--last", "--yes"], 0),
    ] {
        streams.push_str(&world.standin(&args).expect(code).all());
    }
    let files = world.written_files();
    // The run did edit the file (and put it back): otherwise this test could not fail.
    assert!(
        streams.contains("/shop/dotenv/staging") && streams.contains("WEBHOOK_SECRET"),
        "the .env file was not part of the run:\n{streams}"
    );
    for secret in [kept, old, new] {
        assert!(!streams.contains(secret), "{secret} leaked into output");
        assert!(!files.contains(secret), "{secret} leaked into a file");
    }
}
