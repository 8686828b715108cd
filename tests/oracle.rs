//! The oracle in front of every test's emulator (harness/oracle.py): a request AWS would refuse
//! for its form fails the test that sent it, even where moto would have served it.

use crate::support::World;

/// DescribeLoadBalancers takes at most 400 a page (botocore model: ELBv2.DescribeLoadBalancers,
/// member PageSize, max 400); the SDK sends 401 without complaint, and moto would serve it.
fn describe_401_load_balancers(world: &World) -> String {
    let error = world
        .block_on(world.elbv2.describe_load_balancers().page_size(401).send())
        .expect_err("the oracle refuses a page of 401");
    format!("{error:?}")
}

#[test]
fn a_request_aws_would_refuse_fails_the_test_that_sent_it() {
    let world = World::start();
    let error = describe_401_load_balancers(&world);
    assert!(error.contains("ValidationError"), "{error}");
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(world)));
    let panic = dropped.expect_err("dropping the world fails the test");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("elbv2 DescribeLoadBalancers PageSize [range]")
            && message.contains("Member must have value less than or equal to 400"),
        "{message}"
    );
}

#[test]
fn a_test_that_sends_a_bad_request_on_purpose_takes_its_violations() {
    let world = World::start();
    describe_401_load_balancers(&world);
    let taken = world.take_violations();
    assert_eq!(taken.len(), 1, "{taken:?}");
    assert_eq!(taken[0]["operation"], "DescribeLoadBalancers");
    assert_eq!(taken[0]["member"], "PageSize");
    assert_eq!(taken[0]["rule"], "range");
    assert_eq!(taken[0]["value"], "401");
    assert!(world.violations().is_empty());
}
