//! What a playbook says production is and what its coverage leaves out on purpose
//! (`production:`, `coverage:`); [`crate::coverage`] compares the account with them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// What production is, when the steps do not say it well enough.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Production {
    /// Production's endpoints: the names its traffic goes to (an Elastic Beanstalk
    /// environment's CNAME, a load balancer's DNS name). Every DNS record that points at one
    /// must be repointed. Default: what the records the playbook repoints point at now.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// Tags production's resources carry (`{Environment: prod}`): its EC2 instances that look
    /// like queue workers (a `Role` or `Name` tag with `worker` in it) are found by them, and
    /// rules and schedules that send to its tagged queues and functions.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Path prefixes of production's parameters (`/shop/prod/`), in the playbook's own
    /// account: the SQS queues their values name must still be named by the stand-in's after
    /// the copy. Default: the `from:` of each `ssm.copy-parameters`.
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// `coverage:`: what the plan's coverage leaves out on purpose.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// Findings left out on purpose, each with why: the plan still counts them.
    #[serde(default)]
    pub ignore: Vec<Ignore>,
}

/// One finding left out on purpose.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ignore {
    /// The finding's id, as the plan prints it (`dns:api.example.com:CNAME`).
    #[schemars(length(min = 1))]
    pub id: String,
    /// Why it is left out: plans keep it with the finding.
    #[schemars(length(min = 1))]
    pub reason: String,
}
