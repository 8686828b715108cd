//! `eb.set-env`: set or unset environment properties of an Elastic Beanstalk environment: the
//! options of the properties namespace, written by the machinery `eb.set-options` shares
//! ([`eb_options::write_options`]). Undo puts every touched property back exactly (value, or
//! absence).

use std::collections::BTreeMap;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::eb_options::{self, Options, OptionsUndo};
use super::{check_set_unset, Ctx, FieldError, Kind, Prepared, Step, StepError};
use super::{eb_needs, eb_shared};
use crate::aws::eb::OptionKey;
use crate::config::AwsSettings;

/// Fields of an `eb.set-env` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetEnv {
    /// The environment's name, e.g. `shop-staging` (4 to 40 letters, digits and hyphens, as for
    /// every `eb.*` kind).
    #[schemars(schema_with = "super::limits::environment_schema")]
    environment: String,
    /// Properties to set, name to value (names of letters, digits and `_ . : / + \ - @`).
    #[serde(default)]
    #[schemars(schema_with = "super::limits::properties_schema")]
    set: BTreeMap<String, String>,
    /// Properties to remove.
    #[serde(default)]
    unset: Vec<String>,
}

impl SetEnv {
    /// The properties as options: set (`Some`) or removed (`None`).
    fn wanted(&self) -> Options {
        self.set
            .iter()
            .map(|(k, v)| (OptionKey::property(k), Some(v.clone())))
            .chain(self.unset.iter().map(|k| (OptionKey::property(k), None)))
            .collect()
    }
}

impl Kind for SetEnv {
    const NAME: &'static str = "eb.set-env";
    const SUMMARY: &'static str = "set or unset environment properties of an Elastic Beanstalk environment; waits until it is Ready";
    const EXAMPLE: &'static str = r#"
environment: shop-staging
set:
  APP_ENV: production
"#;
    const DOC: &'static str = r#"
Set or unset environment properties of an Elastic Beanstalk environment (UpdateEnvironment),
then wait until the update has ended (below, "How an `eb.*` step ends"). The environment must be
Ready first. Undo puts every touched
property back exactly (its value, or its absence). Keys that look secret (`PASSWORD`, `TOKEN`,
`SECRET`, ...) are refused: properties are plaintext and undo would have to journal the old
value; keep secrets in Parameter Store.

Elastic Beanstalk holds at most 4,096 bytes of properties in all, each counted as
`key=value`: `validate` refuses a step whose own properties come to more, and the plan one
after which the environment's would (with those it keeps). `eb.set-options` counts the
properties namespace the same way.
"#;
    type Undo = SetEnvUndo;

    fn check(&self) -> Result<(), FieldError> {
        eb_shared::check_environment("environment", &self.environment)?;
        check_set_unset(&self.set, &self.unset, "NAME")?;
        fn at<'a>(field: &str, key: &'a str) -> (Vec<String>, &'a str) {
            (vec![field.to_owned(), key.to_owned()], key)
        }
        eb_options::refuse_secrets(
            self.set
                .keys()
                .map(|k| at("set", k))
                .chain(self.unset.iter().map(|k| at("unset", k))),
        )?;
        eb_options::check_properties(&self.wanted(), |key| vec!["set".into(), key.into()])
    }
}

#[async_trait]
impl Step for SetEnv {
    fn needs(&self) -> crate::iam::Needs {
        eb_needs::option_needs(&self.environment, &self.wanted())
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError> {
        eb_options::plan_options::<SetEnvUndo>(ctx, &self.environment, &self.wanted()).await
    }
}

/// Journaled before the change, as it always has been: each touched property before and after
/// (`None`: absent), and Elastic Beanstalk's words if the update failed. It is the shared
/// [`OptionsUndo`] of the properties namespace, so journals written before options were shared
/// roll back the same way.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetEnvUndo {
    environment: String,
    before: BTreeMap<String, Option<String>>,
    after: BTreeMap<String, Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failed: Option<String>,
}

impl From<OptionsUndo> for SetEnvUndo {
    fn from(u: OptionsUndo) -> Self {
        // `eb.set-env` writes only properties.
        let names = |options: Options| options.into_iter().map(|(k, v)| (k.name, v)).collect();
        Self {
            environment: u.environment,
            before: names(u.before),
            after: names(u.after),
            failed: u.failed,
        }
    }
}

impl From<&SetEnvUndo> for OptionsUndo {
    fn from(u: &SetEnvUndo) -> Self {
        let keys = |props: &BTreeMap<String, Option<String>>| {
            props
                .iter()
                .map(|(k, v)| (OptionKey::property(k), v.clone()))
                .collect()
        };
        Self {
            environment: u.environment.clone(),
            before: keys(&u.before),
            after: keys(&u.after),
            failed: u.failed.clone(),
        }
    }
}

impl super::Journaled for SetEnvUndo {
    const SHAPES: &'static [(&'static str, &'static str)] = &[(
        "",
        r#"`{"environment", "before": {NAME: value or null}, "after": {...}}`: each property the step changes, before and after (`null`: absent; undo removes it). The same as before `eb.set-options` shared its machinery: older journals roll back as written"#,
    )];
}

#[async_trait]
impl super::Undo for SetEnvUndo {
    async fn undo(&self, ctx: &Ctx, force: bool) -> Result<Vec<String>, StepError> {
        OptionsUndo::from(self).undo(ctx, force).await
    }

    fn by_hand(&self, aws: &AwsSettings) -> Vec<String> {
        OptionsUndo::from(self).by_hand(aws)
    }
}

#[cfg(test)]
mod tests {
    use super::super::find_kind;
    use super::*;

    /// A record as `eb.set-env` journaled it before the options machinery was shared.
    const OLD_RECORD: &str = r#"{"environment":"shop-staging","before":{"APP_ENV":"staging","NEW_FLAG":null,"QUEUE_URL":"https://sqs.example/q"},"after":{"APP_ENV":"production","NEW_FLAG":"on","QUEUE_URL":null}}"#;

    #[test]
    fn an_old_record_still_loads_and_undoes_every_property() {
        let record: serde_json::Value = serde_json::from_str(OLD_RECORD).unwrap();
        let kind = find_kind("eb.set-env").unwrap();
        let undo = (kind.load_undo)(record.clone()).expect("an old eb.set-env record loads");
        let aws = AwsSettings::default();
        let by_hand = undo.by_hand(&aws);
        assert_eq!(by_hand.len(), 2, "{by_hand:?}");
        assert!(
            by_hand[0].contains(
                r#"--option-settings='[{"Namespace":"aws:elasticbeanstalk:application:environment","OptionName":"APP_ENV","Value":"staging"},{"Namespace":"aws:elasticbeanstalk:application:environment","OptionName":"QUEUE_URL","Value":"https://sqs.example/q"}]'"#
            ) && by_hand[0].contains(
                r#"--options-to-remove='[{"Namespace":"aws:elasticbeanstalk:application:environment","OptionName":"NEW_FLAG"}]'"#
            ),
            "{by_hand:?}"
        );
        // Read as the shared undo, it restores each property in the properties namespace.
        let old: SetEnvUndo = serde_json::from_value(record.clone()).unwrap();
        let shared = OptionsUndo::from(&old);
        assert_eq!(
            shared.before.get(&OptionKey::property("NEW_FLAG")),
            Some(&None)
        );
        assert_eq!(
            shared.after.get(&OptionKey::property("APP_ENV")),
            Some(&Some("production".to_owned()))
        );
        // And the record eb.set-env journals now is the same document.
        assert_eq!(
            serde_json::to_value(SetEnvUndo::from(shared)).unwrap(),
            record
        );
    }
}
