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
