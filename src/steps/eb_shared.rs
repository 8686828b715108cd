//! What the `eb.*` kinds share: finding an environment, refusing to touch one that is not
//! Ready, and waiting until environments settle.

use super::{Ctx, StepError};
use crate::aws::cli::Line;
use crate::aws::eb::{self, Env};
use crate::config::AwsSettings;
use crate::iam::{arn, Grant, Needs};

/// Reading environments (and their settings), plus `writes` on them when running, plus what
/// Elastic Beanstalk does underneath each write with the caller's permissions
/// ([`underneath`]).
pub(super) fn needs(environments: &[&str], writes: &'static [&'static str]) -> Needs {
    let arns: Vec<String> = environments.iter().map(|e| arn::environment(e)).collect();
    let mut run = Vec::new();
    if !writes.is_empty() {
        run.push(Grant::new(writes, arns));
    }
    for write in writes {
        run.extend(underneath(write));
    }
    Needs {
        plan: vec![
            Grant::any(&["elasticbeanstalk:DescribeEnvironments"]),
            Grant::new(
                &["elasticbeanstalk:DescribeConfigurationSettings"],
                ["*".to_owned()],
            ),
        ],
        run,
    }
}

/// The environment's CloudFormation stack, Auto Scaling group and storage bucket, as AWS's
/// managed policy `AdministratorAccess-AWSElasticBeanstalk` scopes them.
const STACK: &str = "arn:aws:cloudformation:*:*:stack/awseb-*";
const GROUP: &str = "arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/awseb-*";
const BUCKET: &str = "arn:aws:s3:::elasticbeanstalk-*";
const OBJECTS: &str = "arn:aws:s3:::elasticbeanstalk-*/*";

/// What Elastic Beanstalk calls on the services underneath when the caller makes `write`:
/// it acts with the caller's permissions (AWS: "Elastic Beanstalk requires AWS CloudFormation
/// permissions to orchestrate resource deployments and updates"), so a role allowed only the
/// Elastic Beanstalk action is refused on the bad day. AWS lists no dependent actions for
/// these calls; the lists follow the managed policy's resource patterns and the calls users of
/// Elastic Beanstalk deploy tools found denied (docs/playbook.md, "Least privilege").
fn underneath(write: &str) -> Vec<Grant> {
    let stack_reads: &'static [&'static str] = &[
        "cloudformation:DescribeStackResource",
        "cloudformation:DescribeStackResources",
        "cloudformation:DescribeStacks",
    ];
    match write {
        "elasticbeanstalk:UpdateEnvironment" => vec![
            Grant::new(
                &[
                    "cloudformation:DescribeStackEvents",
                    "cloudformation:DescribeStackResource",
                    "cloudformation:DescribeStackResources",
                    "cloudformation:DescribeStacks",
                    "cloudformation:GetTemplate",
                    "cloudformation:ListStackResources",
                    "cloudformation:UpdateStack",
                ],
                [STACK.to_owned()],
            ),
            Grant::new(
                &[
                    "autoscaling:ResumeProcesses",
                    "autoscaling:SuspendProcesses",
                ],
                [GROUP.to_owned()],
            ),
            Grant::any(&[
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "ec2:DescribeAccountAttributes",
                "ec2:DescribeAddresses",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeKeyPairs",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
                "elasticbeanstalk:CreateStorageLocation",
                "elasticloadbalancing:DescribeInstanceHealth",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth",
            ]),
            Grant::new(
                &[
                    "s3:CreateBucket",
                    "s3:GetBucketLocation",
                    "s3:GetBucketPolicy",
                    "s3:ListBucket",
                ],
                [BUCKET.to_owned()],
            ),
            Grant::new(
                &[
                    "s3:DeleteObject",
                    "s3:GetObject",
                    "s3:GetObjectAcl",
                    "s3:PutObject",
                    "s3:PutObjectAcl",
                ],
                [OBJECTS.to_owned()],
            ),
        ],
        "elasticbeanstalk:RestartAppServer" => vec![
            Grant::new(stack_reads, [STACK.to_owned()]),
            Grant::any(&[
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "ec2:DescribeInstances",
            ]),
        ],
        "elasticbeanstalk:SwapEnvironmentCNAMEs" => vec![
            Grant::new(stack_reads, [STACK.to_owned()]),
            Grant::any(&["elasticloadbalancing:DescribeLoadBalancers"]),
        ],
        _ => Vec::new(),
    }
}

/// The live environment named `name`, or a step error saying there is none.
pub(super) async fn environment(ctx: &Ctx, name: &str) -> Result<Env, StepError> {
    eb::describe(&ctx.aws.elasticbeanstalk, name)
        .await
        .map_err(StepError::aws(format!("environment {name}")))?
        .ok_or_else(|| {
            StepError::failed(
                format!("environment {name}"),
                "no such Elastic Beanstalk environment",
            )
        })
}

/// Fails unless the environment can take a change now.
pub(super) fn require_ready(env: &Env) -> Result<(), StepError> {
    if env.is_ready() {
        return Ok(());
    }
    Err(StepError::failed(
        format!("environment {}", env.name),
        format!(
            "is {}, not Ready: Elastic Beanstalk accepts no change until it is",
            env.describe()
        ),
    ))
}

/// Waits until every environment in `names` is Ready (the step's timeout bounds the wait).
pub(super) async fn wait_ready(ctx: &Ctx, names: &[&str]) -> Result<Vec<Env>, StepError> {
    eb::wait(&ctx.aws.elasticbeanstalk, names, &ctx.waits, Env::is_ready)
        .await
        .map_err(StepError::aws(format!("environment {}", names.join(", "))))
}

/// The aws CLI line that waits, as standin does, until environments are Ready after a change
/// made by hand (Elastic Beanstalk refuses the next change until then).
pub fn wait_by_hand(aws: &AwsSettings, environments: &[&str]) -> String {
    Line::new(aws, "elasticbeanstalk", "wait")
        .flag("environment-updated")
        .args("--environment-names", environments)
        .text()
}
