//! `eb.scale`: the capacity of an Elastic Beanstalk environment (its Auto Scaling group's
//! bounds, its instance types), given or copied from another environment (`from: shop-prod`,
//! read with DescribeConfigurationSettings, which answers even while production accepts no
//! change). One change per option, written as `eb.set-options` writes them, and undone the same
//! way. [`Capacity`] is what the plan compares where traffic moves to a stand-in.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::eb_options::{self, Options, OptionsUndo};
use super::{eb_needs, eb_shared};
use super::{limits, Ctx, FieldError, Kind, Prepared, Step, StepError};
use crate::aws::eb::OptionKey;

const ASG: &str = "aws:autoscaling:asg";
const INSTANCES: &str = "aws:ec2:instances";
const LAUNCH: &str = "aws:autoscaling:launchconfiguration";

/// The options that make an environment's capacity: how many instances (the Auto Scaling
/// group's bounds) and which types (`InstanceTypes`; the older `InstanceType` is what the
/// first of them stands for).
pub const CAPACITY: [(&str, &str); 4] = [
    (ASG, "MinSize"),
    (ASG, "MaxSize"),
    (INSTANCES, "InstanceTypes"),
    (LAUNCH, "InstanceType"),
];

/// Fields of an `eb.scale` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    /// The environment to scale, e.g. `shop-staging`.
    #[schemars(schema_with = "super::limits::environment_schema")]
    environment: String,
    /// The fewest instances (`aws:autoscaling:asg` `MinSize`), 1 to 10000. At least one of `min`,
    /// `max`, `instance_types` or `from` is required.
    #[serde(default)]
    min: Option<u32>,
    /// The most instances (`aws:autoscaling:asg` `MaxSize`), at least `min`.
    #[serde(default)]
    max: Option<u32>,
    /// The instance types, the first preferred, e.g. `[m5.large]` (`aws:ec2:instances`
    /// `InstanceTypes`).
    #[serde(default)]
    instance_types: Option<Vec<String>>,
    /// Another environment whose capacity to copy (production), instead of the fields above.
    #[serde(default)]
    #[schemars(schema_with = "super::limits::environment_schema")]
    from: Option<String>,
}

impl Scale {
    /// The options the playbook gives.
    fn given(&self) -> Options {
        let mut wanted = Options::new();
        let mut put = |ns: &str, name: &str, value: Option<String>| {
            if let Some(value) = value {
                wanted.insert(OptionKey::new(ns, name), Some(value));
            }
        };
        put(ASG, "MinSize", self.min.map(|n| n.to_string()));
        put(ASG, "MaxSize", self.max.map(|n| n.to_string()));
        put(
            INSTANCES,
            "InstanceTypes",
            self.instance_types.as_ref().map(|t| t.join(",")),
        );
        wanted
    }

    /// The capacity options `from` has a value for.
    async fn copied(ctx: &Ctx, from: &str) -> Result<Options, StepError> {
        let (_, theirs) = eb_options::read_options(ctx, from).await?;
        let wanted: Options = CAPACITY
            .iter()
            .map(|(ns, name)| OptionKey::new(ns, name))
            .filter_map(|key| theirs.get(&key).map(|v| (key.clone(), Some(v.clone()))))
            .collect();
        if wanted.is_empty() {
            return Err(StepError::failed(
                format!("environment {from}"),
                "sets none of MinSize, MaxSize, InstanceTypes, InstanceType: nothing to copy",
            ));
        }
        Ok(wanted)
    }
}

impl Kind for Scale {
    const NAME: &'static str = "eb.scale";
    const SUMMARY: &'static str = "set the capacity of an Elastic Beanstalk environment (instances, instance types), or copy another's (production's, with `from`); waits until it is Ready";
    const EXAMPLE: &'static str = r#"
environment: shop-staging
from: shop-prod
"#;
    const DOC: &'static str = r#"
The capacity of an environment: how many instances its Auto Scaling group keeps and of which
types, given, or copied from another environment (production). One change per option, written
and undone as `eb.set-options` writes and undoes them. With `from`, the plan reads the other
environment's `aws:autoscaling:asg` MinSize and MaxSize, `aws:ec2:instances` InstanceTypes and
`aws:autoscaling:launchconfiguration` InstanceType with DescribeConfigurationSettings, which
answers even while that environment is stuck and accepts no change, and copies those it has a
value for. The plan fails when the group would get a MinSize above its MaxSize.

Where the stand-in's capacity is compared with production's: in the plan, wherever it moves
traffic (below, Plans), not in the step: a playbook that forgets to scale is the one that
needs the warning.
"#;
    type Undo = OptionsUndo;

    fn check(&self) -> Result<(), FieldError> {
        eb_shared::check_environment("environment", &self.environment)?;
        if let Some(from) = &self.from {
            eb_shared::check_environment("from", from)?;
        }
        let explicit = self.min.is_some() || self.max.is_some() || self.instance_types.is_some();
        match &self.from {
            Some(_) if explicit => {
                return Err(FieldError::at(
                    "from",
                    "`from` and `min`/`max`/`instance_types` are exclusive",
                )
                .hint("`from: ENVIRONMENT` copies its capacity; to give the capacity yourself, leave `from` out"));
            }
            Some(from) if *from == self.environment => {
                return Err(
                    FieldError::at("from", "an environment cannot copy its own capacity")
                        .hint("name the environment to copy from, e.g. production's"),
                );
            }
            Some(_) => return Ok(()),
            None if !explicit => {
                return Err(FieldError::at("min", "nothing to scale").hint(
                    "give `min`, `max` and/or `instance_types`, or `from: ENVIRONMENT` to copy its capacity",
                ));
            }
            None => {}
        }
        for (field, size) in [("min", self.min), ("max", self.max)] {
            if let Some(size) = size {
                limits::group_size(size).map_err(|l| l.at(&[field]))?;
            }
        }
        if let (Some(min), Some(max)) = (self.min, self.max) {
            if min > max {
                return Err(
                    FieldError::at("min", format!("min {min} is above max {max}"))
                        .hint("`min` is the fewest instances, `max` the most"),
                );
            }
        }
        if let Some(types) = &self.instance_types {
            if types.is_empty() {
                return Err(FieldError::at("instance_types", "no instance type given")
                    .hint("give at least one, e.g. `[m5.large]`"));
            }
            if let Some((i, bad)) = types
                .iter()
                .enumerate()
                .find(|(_, t)| !eb_options::is_instance_type(t))
            {
                return Err(FieldError::new(
                    vec!["instance_types".into(), i.to_string()],
                    format!("`{bad}` is not an instance type"),
                )
                .hint("instance types look like `m5.large`"));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Step for Scale {
    fn needs(&self) -> crate::iam::Needs {
        // What `from` holds is known only once the plan reads it: any capacity option.
        let options: Options = match &self.from {
            Some(_) => CAPACITY
                .iter()
                .map(|(ns, name)| (OptionKey::new(ns, name), None))
                .collect(),
            None => self.given(),
        };
        eb_needs::option_needs(&self.environment, &options)
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError> {
        let wanted = match &self.from {
            Some(from) => Self::copied(ctx, from).await?,
            None => self.given(),
        };
        let (env, current) = eb_options::read_options(ctx, &self.environment).await?;
        let after = Capacity::of(|key| match wanted.get(key) {
            Some(value) => value.clone(),
            None => current.get(key).cloned(),
        });
        if let (Some(min), Some(max)) = (after.min, after.max) {
            if min > max {
                return Err(StepError::failed(
                    format!("environment {}", env.name),
                    format!("would have MinSize {min} above MaxSize {max}, which Auto Scaling refuses; give both `min` and `max`"),
                ));
            }
        }
        Ok(eb_options::write_options::<OptionsUndo>(
            &env, &current, &wanted,
        ))
    }
}

/// An environment's capacity as its options say; what is not set (or not a number) is unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capacity {
    pub min: Option<u32>,
    pub max: Option<u32>,
    /// The preferred instance type: the first of `InstanceTypes`, else `InstanceType`.
    pub instance_type: Option<String>,
}

impl Capacity {
    /// From each option's value (`None`: not set).
    pub fn of(value: impl Fn(&OptionKey) -> Option<String>) -> Self {
        let get = |ns: &str, name: &str| value(&OptionKey::new(ns, name));
        let size = |name: &str| get(ASG, name).and_then(|v| v.trim().parse().ok());
        let first = |v: String| {
            v.split(',')
                .map(str::trim)
                .find(|t| !t.is_empty())
                .map(str::to_owned)
        };
        Self {
            min: size("MinSize"),
            max: size("MaxSize"),
            instance_type: get(INSTANCES, "InstanceTypes")
                .and_then(first)
                .or_else(|| get(LAUNCH, "InstanceType").and_then(first)),
        }
    }

    /// Where this capacity (a stand-in's) has fewer instances than `other` (production's), or
    /// another instance type (standin cannot tell which is larger): one item each, empty when
    /// it has at least as much. What either side does not say is not compared.
    pub fn short_of(&self, other: &Self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, ours, theirs) in [
            ("MinSize", self.min, other.min),
            ("MaxSize", self.max, other.max),
        ] {
            if let (Some(ours), Some(theirs)) = (ours, theirs) {
                if ours < theirs {
                    out.push(format!("{name} {ours} < {theirs}"));
                }
            }
        }
        if let (Some(ours), Some(theirs)) = (&self.instance_type, &other.instance_type) {
            if ours != theirs {
                out.push(format!("instance type {ours}, not {theirs}"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(fields: &str) -> Result<(), FieldError> {
        eb_shared::check_fields::<Scale>(fields)
    }

    #[test]
    fn checks_what_to_scale() {
        assert_eq!(step("min: 4\nmax: 12\ninstance_types: [m5.large]"), Ok(()));
        assert_eq!(step("from: shop-prod"), Ok(()));
        assert_eq!(step("").unwrap_err().message, "nothing to scale");
        assert_eq!(step("from: shop-prod\nmax: 3").unwrap_err().path, ["from"]);
        assert_eq!(step("from: shop-staging").unwrap_err().path, ["from"]);
        assert_eq!(
            step("min: 5\nmax: 3").unwrap_err().message,
            "min 5 is above max 3"
        );
        assert_eq!(step("max: 0").unwrap_err().path, ["max"]);
        let bad = step("instance_types: [m5.large, large]").unwrap_err();
        assert_eq!(
            (bad.path, bad.message.as_str()),
            (
                vec!["instance_types".to_owned(), "1".to_owned()],
                "`large` is not an instance type"
            )
        );
    }

    #[test]
    fn a_stand_in_is_short_of_fewer_instances_or_other_types() {
        let capacity = |min: u32, max: u32, types: &str| {
            let values = [
                (ASG, "MinSize", min.to_string()),
                (ASG, "MaxSize", max.to_string()),
                (INSTANCES, "InstanceTypes", types.to_owned()),
            ];
            Capacity::of(|key| {
                values
                    .iter()
                    .find(|(ns, name, _)| key.namespace == *ns && key.name == *name)
                    .map(|(_, _, v)| v.clone())
            })
        };
        let prod = capacity(6, 18, "m5.large");
        assert_eq!(
            capacity(2, 6, "t3.large,t3a.large").short_of(&prod),
            [
                "MinSize 2 < 6",
                "MaxSize 6 < 18",
                "instance type t3.large, not m5.large"
            ]
        );
        assert!(capacity(6, 24, "m5.large, m5a.large")
            .short_of(&prod)
            .is_empty());
        // The older option stands for the first type; what is not set is not compared.
        let legacy = Capacity::of(|key| (key.name == "InstanceType").then(|| "m5.large".into()));
        assert_eq!(legacy.instance_type.as_deref(), Some("m5.large"));
        assert!(legacy.short_of(&prod).is_empty());
    }
}
