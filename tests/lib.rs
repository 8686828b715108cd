//! Integration tests: the real binary against a fresh emulator world per test.

mod support;

mod architecture;

mod accounts;
mod alb_certificate;
mod approvals;
mod bad_input;
mod capacity;
mod carry;
mod coverage;
mod crash;
mod docs;
mod doctor;
mod drill;
mod durability;
mod eb_deployments;
mod evidence;
mod faults;
mod forms;
mod guards;
mod hostile;
mod iam;
mod iam_catalogue;
mod init;
mod interrupt;
mod kinds;
mod onboarding;
mod oracle;
mod parallel;
mod parameter_store;
mod plan;
mod properties;
mod report_html;
mod rollback;
mod run;
mod runbook;
mod saved_plan;
mod scale;
mod schedule;
mod secrets;
mod snapshots;
mod team;
mod unwritable;
mod verbosity;
mod version_limit;
