//! Integration tests: the real binary against a fresh emulator world per test.

mod support;

mod bad_input;
mod iam;
mod kinds;
mod plan;
mod rollback;
mod run;
mod runbook;
