//! Integration tests: the real binary against a fresh emulator world per test.

mod support;

mod bad_input;
mod crash;
mod guards;
mod iam;
mod interrupt;
mod kinds;
mod plan;
mod rollback;
mod run;
mod runbook;
mod saved_plan;
mod secrets;
mod snapshots;
