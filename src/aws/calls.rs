//! Every AWS call, logged when it ends (see [`crate::log`]): operation, HTTP status or why
//! there was none, attempts and duration. An SDK interceptor, so no call site can forget it;
//! it reads only the operation's name and the response's status line.

use std::time::Instant;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// The interceptor, for the clients of an account of `accounts:` (its name, shown before
/// each call) or of the playbook's own (`None`).
#[derive(Debug)]
pub struct Logged(pub Option<std::sync::Arc<str>>);

#[derive(Debug, Clone, Copy)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

#[derive(Debug, Clone, Copy)]
struct Attempts(u32);

impl Storable for Attempts {
    type Storer = StoreReplace<Self>;
}

impl Intercept for Logged {
    fn name(&self) -> &'static str {
        "standin call log"
    }

    fn read_before_execution(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempts = cfg.load::<Attempts>().map_or(0, |a| a.0) + 1;
        cfg.interceptor_state().store_put(Attempts(attempts));
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map_or_else(
            || "unknown operation".to_owned(),
            |m| format!("{}.{}", m.service(), m.name()),
        );
        let took = cfg
            .load::<Started>()
            .map_or(0, |s| s.0.elapsed().as_millis());
        let answer = match context.response() {
            Some(response) => response.status().as_u16().to_string(),
            None => "no answer".to_owned(),
        };
        let attempts = match cfg.load::<Attempts>().map_or(1, |a| a.0) {
            1 => String::new(),
            n => format!(" after {n} attempts"),
        };
        let account = self
            .0
            .as_ref()
            .map_or_else(String::new, |a| format!("[{a}] "));
        crate::log::line(&format!(
            "aws {account}{operation}: {answer} in {took} ms{attempts}"
        ));
        Ok(())
    }
}
