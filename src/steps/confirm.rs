//! `confirm`: stop and ask a human before going on (e.g. "is the database freeze in place?").
//! `--yes` answers it in automation; without a terminal and without `--yes` the run fails.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::{
    irreversible, one_line, Act, Action, Ctx, FieldError, Kind, NoUndo, Prepared, Resource, Step,
    StepError,
};

/// Fields of a `confirm` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    /// The question, answered yes or no.
    message: String,
}

impl Kind for Confirm {
    const NAME: &'static str = "confirm";
    const SUMMARY: &'static str =
        "ask a human to confirm before going on (`--yes` answers in automation)";
    const EXAMPLE: &'static str = r#"
message: Production is down and staging is healthy. Promote staging?
"#;
    const DOC: &'static str = r#"
Ask a human a yes/no question before going on (field `message`). `standin run --yes` answers
it in automation; without a terminal and without `--yes`, the run fails at this step.
"#;
    const CHANGES_NOTHING: bool = true;
    const IN_PARALLEL: bool = false;
    type Undo = NoUndo;

    fn check(&self) -> Result<(), FieldError> {
        if self.message.trim().is_empty() {
            return Err(FieldError::at("message", "the question is empty"));
        }
        Ok(())
    }
}

#[async_trait]
impl Step for Confirm {
    async fn plan(&self, _ctx: &Ctx) -> Result<Prepared, StepError> {
        Ok(one_line(
            Action::Check,
            Resource::Confirm,
            None,
            format!("ask: {}", self.message),
            irreversible(self.clone(), "a confirmation changes nothing"),
        ))
    }
}

#[async_trait]
impl Act for Confirm {
    async fn act(&self, ctx: &Ctx) -> Result<(), StepError> {
        if ctx.assume_yes {
            return Ok(());
        }
        // The question blocks on the terminal; a signal must still stop the run meanwhile.
        let (prompt, message) = (ctx.prompt.clone(), self.message.clone());
        let asked = tokio::task::spawn_blocking(move || prompt.confirm(&message));
        let answer = ctx
            .waits
            .stop
            .until(asked)
            .await
            .map_err(StepError::interrupted("confirm"))?
            .map_err(|e| StepError::failed("confirm", format!("the question failed: {e}")))?;
        match answer {
            Some(true) => Ok(()),
            Some(false) => Err(StepError::failed(
                "confirm",
                format!("answered no to: {}", self.message),
            )),
            None => Err(StepError::failed(
                "confirm",
                "no terminal to ask on; pass `--yes` to answer in automation",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::aws::Accounts;
    use crate::config::AwsSettings;
    use crate::steps::Prompt;

    /// A stand-in for the terminal: `standin run` refuses to start without a terminal or
    /// `--yes`, so the answers a human could give are only reachable in-process.
    struct Answer(Option<bool>);

    impl Prompt for Answer {
        fn confirm(&self, _question: &str) -> Option<bool> {
            self.0
        }
    }

    async fn ctx(assume_yes: bool, answer: Option<bool>) -> Ctx {
        Ctx::new(
            Accounts::load(&AwsSettings::default(), &Default::default()).await,
            crate::stop::Waits {
                every: Duration::from_millis(10),
                stop: crate::stop::Stop::default(),
                told: crate::stop::Told::default(),
            },
            assume_yes,
            Arc::new(Answer(answer)),
        )
    }

    #[tokio::test]
    async fn goes_on_only_when_a_human_or_yes_says_so() {
        let step = Confirm {
            message: "Freeze in place?".into(),
        };
        assert!(step.act(&ctx(false, Some(true)).await).await.is_ok());
        assert!(step.act(&ctx(true, None).await).await.is_ok());
        let no = step.act(&ctx(false, Some(false)).await).await.unwrap_err();
        assert!(
            no.to_string().contains("answered no to: Freeze in place?"),
            "{no}"
        );
        let no_tty = step.act(&ctx(false, None).await).await.unwrap_err();
        assert!(no_tty.to_string().contains("pass `--yes`"), "{no_tty}");
    }
}
