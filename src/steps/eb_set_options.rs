//! `eb.set-options`: set or remove configuration options of an Elastic Beanstalk environment, in
//! any namespace (`aws:autoscaling:asg` `MinSize`, `aws:ec2:instances` `InstanceTypes`, ...),
//! in one UpdateEnvironment, then wait until it is Ready again. Undo puts every touched option
//! back exactly: its value, or not set (removed). `eb.set-env` is its case of the properties
//! namespace; both are [`eb_options::write_options`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::eb_options::{self, Options, OptionsUndo};
use super::{eb_needs, eb_shared};
use super::{limits, Ctx, FieldError, Kind, Prepared, Step, StepError};
use crate::aws::eb::{OptionKey, PROPERTIES};

/// Fields of an `eb.set-options` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetOptions {
    /// The environment's name, e.g. `shop-staging`.
    #[schemars(schema_with = "super::limits::environment_schema")]
    environment: String,
    /// Options to set: namespace, then option name to value (values are text: quote numbers).
    #[serde(default)]
    set: BTreeMap<String, BTreeMap<String, String>>,
    /// Options to remove: namespace, then the option names.
    #[serde(default)]
    unset: BTreeMap<String, Vec<String>>,
}

impl SetOptions {
    /// Every option the step names, set (`Some`) or removed (`None`).
    fn wanted(&self) -> Options {
        let set = self.set.iter().flat_map(|(ns, options)| {
            options
                .iter()
                .map(move |(name, value)| (OptionKey::new(ns, name), Some(value.clone())))
        });
        let unset = self.unset.iter().flat_map(|(ns, names)| {
            names
                .iter()
                .map(move |name| (OptionKey::new(ns, name), None))
        });
        set.chain(unset).collect()
    }

    /// Each option the step names with its path below the step (`set`/`unset`, namespace, and
    /// the name or its position in the list).
    fn named(&self) -> Vec<(Vec<String>, &str, &str)> {
        let set = self.set.iter().flat_map(|(ns, options)| {
            options.keys().map(move |name| {
                (
                    vec!["set".into(), ns.clone(), name.clone()],
                    ns.as_str(),
                    name.as_str(),
                )
            })
        });
        let unset = self.unset.iter().flat_map(|(ns, names)| {
            names.iter().enumerate().map(move |(i, name)| {
                (
                    vec!["unset".into(), ns.clone(), i.to_string()],
                    ns.as_str(),
                    name.as_str(),
                )
            })
        });
        set.chain(unset).collect()
    }
}

impl Kind for SetOptions {
    const NAME: &'static str = "eb.set-options";
    const SUMMARY: &'static str = "set or remove configuration options of an Elastic Beanstalk environment, in any namespace; waits until it is Ready";
    const EXAMPLE: &'static str = r#"
environment: shop-staging
set:
  aws:autoscaling:asg: {MinSize: "4", MaxSize: "12"}
"#;
    const DOC: &'static str = r#"
Set or remove configuration options of an Elastic Beanstalk environment in any namespace, in one
UpdateEnvironment, then wait until the update has ended (`eb.set-env` is its case of the properties
namespace, `aws:elasticbeanstalk:application:environment`; options there show and guard as
properties). The environment must be Ready first. The plan shows one line per option, as
`shop-staging aws:autoscaling:asg MinSize`. Undo puts every touched option back exactly: its
value, or, for an option the step added, its absence (removed with `OptionsToRemove`, so
Elastic Beanstalk's default applies again). Option names that look secret are refused in every
namespace, as `eb.set-env` refuses them.

```yaml
- id: capacity
  kind: eb.set-options
  environment: shop-staging
  unset:
    aws:autoscaling:launchconfiguration: [InstanceType]
  set:
    aws:autoscaling:asg: {MinSize: "4", MaxSize: "12"}
    aws:ec2:instances: {InstanceTypes: m5.large}
```

Elastic Beanstalk lists the options it knows with their defaults; an option it lists without a
value counts as not set. `aws:autoscaling:asg` MinSize and MaxSize must be whole numbers from 1
to 10000, and properties follow `eb.set-env`'s limits; other options' names and values are
Elastic Beanstalk's to judge (the platform decides which exist). Options that replace instances (instance types, the instance profile)
take as long as the replacement: the step's `timeout` bounds the wait.

How an `eb.*` step ends: a write starts an operation that runs on after the call, so the step
waits until that operation has ended: the environment Ready again and, since the call, seen
Updating or modified (its `DateUpdated`) no earlier than the operation's first event (a restart
or swap leaves it Ready a moment before it turns Updating; Ready alone proves nothing). It then
reads the events the operation logged (DescribeEvents, by the call's RequestId) and, if Elastic
Beanstalk reported errors, fails with its words, e.g. `environment shop-staging: Elastic
Beanstalk reports the change failed (now shop-staging Ready, Red (Severe)): ... Failed to deploy
configuration. The environment was reverted to the previous configuration setting.`, and the run
rolls back. While an update deploys, or after one failed, Elastic Beanstalk lists its values as
a draft beside the deployed configuration; standin reads only what is deployed (plans, guards,
undo), so the undo of a step whose update failed finds the values as before and says the
change never deployed.
"#;
    type Undo = OptionsUndo;

    fn check(&self) -> Result<(), FieldError> {
        eb_shared::check_environment("environment", &self.environment)?;
        let named = self.named();
        if named.is_empty() {
            return Err(FieldError::at("set", "nothing to set or unset").hint(
                "give `set: {NAMESPACE: {Option: value}}` and/or `unset: {NAMESPACE: [Option]}`",
            ));
        }
        for (path, ns, name) in &named {
            if !ns.starts_with("aws:") || ns.contains(char::is_whitespace) {
                return Err(FieldError::new(
                    path[..2].to_vec(),
                    format!("`{ns}` is not an option namespace"),
                )
                .hint("Elastic Beanstalk's namespaces look like `aws:autoscaling:asg`"));
            }
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(FieldError::new(
                    path.clone(),
                    format!("`{name}` is not an option name"),
                )
                .hint("option names are Elastic Beanstalk's, e.g. `MinSize`"));
            }
        }
        if let Some((path, ns, name)) = named.iter().find(|(path, ns, name)| {
            path[0] == "unset" && self.set.get(*ns).is_some_and(|o| o.contains_key(*name))
        }) {
            return Err(FieldError::new(
                path.clone(),
                format!("`{ns} {name}` is both set and unset"),
            )
            .hint("set it, or remove it"));
        }
        eb_options::refuse_secrets(named.into_iter().map(|(path, _, name)| (path, name)))?;
        for name in ["MinSize", "MaxSize"] {
            if let Some(size) = self
                .set
                .get("aws:autoscaling:asg")
                .and_then(|o| o.get(name))
            {
                limits::group_size_text(size)
                    .map_err(|l| l.at(&["set", "aws:autoscaling:asg", name]))?;
            }
        }
        eb_options::check_properties(&self.wanted(), |key| {
            vec!["set".into(), PROPERTIES.into(), key.into()]
        })
    }
}

#[async_trait]
impl Step for SetOptions {
    fn needs(&self) -> crate::iam::Needs {
        eb_needs::option_needs(&self.environment, &self.wanted())
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError> {
        eb_options::plan_options::<OptionsUndo>(ctx, &self.environment, &self.wanted()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(fields: &str) -> Result<(), FieldError> {
        eb_shared::check_fields::<SetOptions>(fields)
    }

    #[test]
    fn checks_namespaces_names_overlaps_and_secrets() {
        assert_eq!(
            step("set: {\"aws:autoscaling:asg\": {MinSize: \"4\"}}\nunset: {\"aws:ec2:instances\": [InstanceTypes]}"),
            Ok(())
        );
        let nothing = step("set: {}").unwrap_err();
        assert_eq!(nothing.message, "nothing to set or unset");
        let ns = step("set: {autoscaling: {MinSize: \"4\"}}").unwrap_err();
        assert_eq!(
            (ns.path, ns.message.as_str()),
            (
                vec!["set".to_owned(), "autoscaling".to_owned()],
                "`autoscaling` is not an option namespace"
            )
        );
        let both = step("set: {\"aws:autoscaling:asg\": {MinSize: \"4\"}}\nunset: {\"aws:autoscaling:asg\": [MaxSize, MinSize]}").unwrap_err();
        assert_eq!(
            (both.path, both.message.as_str()),
            (
                vec![
                    "unset".to_owned(),
                    "aws:autoscaling:asg".to_owned(),
                    "1".to_owned()
                ],
                "`aws:autoscaling:asg MinSize` is both set and unset"
            )
        );
        let secret = step("set: {\"aws:rds:dbinstance\": {DBPassword: \"hunter2\"}}").unwrap_err();
        assert_eq!(secret.message, "`DBPassword` looks like a secret");
        let property =
            step("set: {\"aws:elasticbeanstalk:application:environment\": {API_TOKEN: \"x\"}}")
                .unwrap_err();
        assert_eq!(
            property.path,
            [
                "set",
                "aws:elasticbeanstalk:application:environment",
                "API_TOKEN"
            ]
        );
    }

    #[test]
    fn an_undo_record_is_options_by_namespace() {
        let record = serde_json::json!({
            "environment": "shop-staging",
            "before": {"aws:autoscaling:asg": {"MinSize": "2"}, "aws:ec2:instances": {"InstanceTypes": null}},
            "after": {"aws:autoscaling:asg": {"MinSize": "4"}, "aws:ec2:instances": {"InstanceTypes": "m5.large"}},
        });
        let undo: OptionsUndo = serde_json::from_value(record.clone()).unwrap();
        assert_eq!(
            undo.before
                .get(&OptionKey::new("aws:ec2:instances", "InstanceTypes")),
            Some(&None)
        );
        assert_eq!(serde_json::to_value(&undo).unwrap(), record);
    }
}
