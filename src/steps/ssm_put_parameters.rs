//! `ssm.put-parameters`: set parameters to values given in the playbook (or by `--var`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

use super::params::{self, Wanted};
use super::{limits, Ctx, FieldError, Kind, Prepared, Step, StepError};
use crate::aws::ssm::{self, Param};
use crate::iam::{arn, Needs};

/// Fields of an `ssm.put-parameters` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PutParameters {
    /// Map of full parameter name to value, e.g. `/myapp/staging/MAINTENANCE: "false"`.
    #[schemars(schema_with = "limits::parameter_values_schema")]
    values: BTreeMap<String, String>,
    /// `true` writes SecureStrings, `false` plain Strings. Default: keep each parameter's
    /// current type (String for new ones), so a secret is never downgraded by omission.
    #[serde(default)]
    secure: Option<bool>,
    /// KMS key for SecureStrings. Default: the parameter's current key, else `alias/aws/ssm`.
    #[serde(default)]
    #[schemars(
        length(min = 1, max = 256),
        regex(pattern = r"^([a-zA-Z0-9:/_-]+|.*\$\{.+)$")
    )]
    key_id: Option<String>,
}

impl Kind for PutParameters {
    const NAME: &'static str = "ssm.put-parameters";
    const SUMMARY: &'static str = "set parameters to given values (optionally as SecureStrings)";
    const EXAMPLE: &'static str = r#"
values:
  /shop/staging/RUN_MIGRATIONS: "false"
"#;
    const DOC: &'static str = r#"
Set parameters to values given in the playbook (or by `--var`).

Parameter Store's limits hold for every `ssm.*` kind: a name has letters, digits, `_.-` and `/`
between at most 15 levels (starting with `/`), does not start with `aws` or `ssm`, and is at
most 1011 characters with the ARN before it (`arn:aws:ssm:REGION:ACCOUNT:parameter/`: at most
966 in the shortest regions); a value is at most 4,096 characters in the Standard tier and 8,192
in the Advanced; a `key_id` is 1 to 256 of `a-zA-Z0-9:/_-`. The plan refuses a value longer than
its parameter's tier holds (a new parameter is Standard: make it Advanced first), a name too
long in its region, and a value the parameter's allowed pattern does not match.

Both `ssm.*` kinds undo the same way: every parameter they wrote goes back to its previous
value, type and KMS key (written as a new version, read back from the parameter's history), and
parameters they created are deleted. The journal holds versions, never SecureString values.
"#;
    type Undo = params::ParamsUndo;

    fn check(&self) -> Result<(), FieldError> {
        if self.values.is_empty() {
            return Err(FieldError::at("values", "no parameters given")
                .hint("map full parameter names to values"));
        }
        if let Some((name, _)) = self.values.iter().find(|(_, v)| v.is_empty()) {
            return Err(FieldError::new(
                vec!["values".into(), name.clone()],
                "Parameter Store does not accept empty values",
            ));
        }
        if self.key_id.is_some() && self.secure == Some(false) {
            return Err(
                FieldError::at("key_id", "`key_id` only applies to SecureStrings")
                    .hint("remove `key_id` or set `secure: true`"),
            );
        }
        if let Some(key) = &self.key_id {
            limits::key_id(key).map_err(|l| l.at(&["key_id"]))?;
        }
        for (name, value) in &self.values {
            let at = |l: limits::Limit| l.at(&["values", name.as_str()]);
            limits::parameter_name(name, limits::SHORTEST_ARN_PREFIX).map_err(at)?;
            // The tier is the parameter's, read by the plan; no tier holds more than this.
            limits::parameter_value(value, Some("Advanced")).map_err(at)?;
        }
        Ok(())
    }
}

#[async_trait]
impl Step for PutParameters {
    fn needs(&self) -> Needs {
        let names: Vec<_> = self.values.keys().map(|n| arn::parameter(n)).collect();
        Needs {
            plan: params::plan_grants(&["ssm:GetParameter"], names.clone(), names.clone()),
            run: params::write_grants(names),
        }
    }

    async fn plan(&self, ctx: &Ctx) -> Result<Prepared, StepError> {
        let mut wanted = Vec::with_capacity(self.values.len());
        for (name, value) in &self.values {
            let current = ssm::get(&ctx.aws.ssm, name)
                .await
                .map_err(StepError::aws(name))?;
            let ptype = match (self.secure, &current) {
                (Some(true), _) => ssm::ParameterType::SecureString,
                (Some(false), _) | (None, None) => ssm::ParameterType::String,
                (None, Some(c)) => c.ptype.clone(),
            };
            let key_id = self
                .key_id
                .clone()
                .or_else(|| current.as_ref().and_then(|c| c.key_id.clone()));
            wanted.push(Wanted {
                desired: Param {
                    name: name.clone(),
                    ptype,
                    value: value.clone(),
                    version: 0,
                    key_id,
                    // Attributes stay as they are.
                    attrs: Default::default(),
                    modified: None,
                },
                current,
            });
        }
        params::prepare(ctx, wanted).await
    }
}
