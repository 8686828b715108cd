//! standin: a rehearsed, reversible promotion of staging to production on AWS.
//!
//! Stages: [`playbook`] parses and checks (no I/O), [`steps`] plan and apply against AWS
//! through [`aws`], [`guards`] assert what a plan leads to, [`engine`] runs, journals and rolls back, [`report`] prints.

pub mod approval;
pub mod aws;
pub mod cli;
mod commands;
pub mod config;
pub mod coverage;
pub mod digest;
pub mod doctor;
pub mod dotenv;
pub mod draft;
pub mod engine;
pub mod error;
pub mod escape;
pub mod evidence;
pub mod guards;
pub mod iam;
pub mod input;
pub mod log;
pub mod playbook;
pub mod report;
pub mod state;
pub mod steps;
pub mod stop;

pub use commands::main;
