//! The oracle in front of every test's emulator (harness/oracle.py): a request AWS would refuse
//! for its form fails the test that sent it, even where moto would have served it.

use crate::support::World;

/// GetParameters takes at most 10 names (botocore model: SSM.GetParameters, member Names,
/// max 10); the SDK sends 11 without complaint.
fn get_eleven_parameters(world: &World) -> aws_sdk_ssm::error::SdkError<impl std::fmt::Debug> {
    let names: Vec<String> = (0..11).map(|i| format!("/shop/prod/P{i}")).collect();
    world
        .block_on(world.ssm.get_parameters().set_names(Some(names)).send())
        .expect_err("the oracle refuses 11 names")
}

#[test]
fn a_request_aws_would_refuse_fails_the_test_that_sent_it() {
    let world = World::start();
    let error = get_eleven_parameters(&world);
    let code = format!("{error:?}");
    assert!(code.contains("ValidationException"), "{code}");
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(world)));
    let panic = dropped.expect_err("dropping the world fails the test");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("ssm GetParameters Names [length]")
            && message.contains("Member must have length less than or equal to 10"),
        "{message}"
    );
}

#[test]
fn a_test_that_sends_a_bad_request_on_purpose_takes_its_violations() {
    let world = World::start();
    get_eleven_parameters(&world);
    let taken = world.take_violations();
    assert_eq!(taken.len(), 1, "{taken:?}");
    assert_eq!(taken[0]["operation"], "GetParameters");
    assert_eq!(taken[0]["member"], "Names");
    assert_eq!(taken[0]["rule"], "length");
    assert!(world.violations().is_empty());
}
