//! Parameter Store keeps 100 versions of a parameter, and refuses a write when the oldest
//! carries a label: plan warns where that bites, and a refused write rolls back cleanly.

use crate::support::World;

/// Writes `name` until it holds 100 versions (the history is full).
pub fn fill_history(world: &World, name: &str, secure: bool) {
    world.block_on(async {
        loop {
            let version = world
                .ssm
                .get_parameter()
                .name(name)
                .send()
                .await
                .unwrap()
                .parameter()
                .unwrap()
                .version();
            if version >= 100 {
                break;
            }
            let ptype = if secure { "SecureString" } else { "String" };
            world
                .ssm
                .put_parameter()
                .name(name)
                .value(format!("filler-{version}"))
                .r#type(ptype.into())
                .overwrite(true)
                .send()
                .await
                .unwrap();
        }
    });
}

#[test]
fn a_labelled_oldest_version_is_warned_about_and_the_refused_write_rolls_back() {
    let world = World::start();
    let name = "/shop/staging/QUEUE_URL";
    fill_history(&world, name, false);
    world.block_on(async {
        world
            .ssm
            .label_parameter_version()
            .name(name)
            .parameter_version(1)
            .labels("first-release")
            .send()
            .await
            .unwrap();
    });
    let plan = world.incident(&["plan"]).expect(0);
    assert!(
        plan.stdout.contains(&format!("{name}: holds Parameter Store's maximum of 100 versions and its oldest (version 1) has labels first-release, so this write will be refused")),
        "{}",
        plan.stdout
    );
    let before = world.state();
    let run = world.incident(&["run", "--yes"]).expect(1);
    assert!(
        run.stdout.contains("ParameterMaxVersionLimitExceeded"),
        "{}",
        run.stdout
    );
    assert_eq!(world.state(), before, "{}", run.stdout);
}

#[test]
fn a_secret_at_the_version_limit_is_warned_about() {
    let world = World::start();
    let name = "/shop/staging/DB_PASSWORD";
    fill_history(&world, name, true);
    let plan = world.incident(&["plan"]).expect(0);
    assert!(
        plan.stdout.contains(&format!("{name}: holds Parameter Store's maximum of 100 versions, so each write evicts the oldest; rollback reads version 100 back")),
        "{}",
        plan.stdout
    );
    // Other parameters, far from the limit, are not warned about.
    assert!(
        !plan.stdout.contains("/shop/staging/DB_HOST: holds"),
        "{}",
        plan.stdout
    );
}
