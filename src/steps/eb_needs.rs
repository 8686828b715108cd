//! What the `eb.*` kinds need of IAM: the Elastic Beanstalk actions themselves and what Elastic
//! Beanstalk calls underneath with the caller's permissions (CloudFormation, Auto Scaling, EC2,
//! S3, ...), which only these kinds need and which follow AWS's managed policy rather than any
//! one kind; apart from `eb_shared.rs` because they are the policy `standin iam` prints, not
//! what a step does.

use super::eb_options::Options;
use crate::aws::eb::OptionKey;
use crate::iam::{arn, Arn, Grant, Needs};

/// Reading environments (and their settings), plus `writes` on them when running, the events
/// those writes log, and what Elastic Beanstalk does underneath each write with the caller's
/// permissions ([`underneath`]).
pub(super) fn needs(environments: &[&str], writes: &'static [&'static str]) -> Needs {
    let arns: Vec<Arn> = environments.iter().map(|e| arn::environment(e)).collect();
    let mut run = Vec::new();
    if !writes.is_empty() {
        run.push(Grant::new(writes, arns));
        // How the operation a write started ended: the events it logged.
        run.push(Grant::any(&["elasticbeanstalk:DescribeEvents"]));
    }
    for write in writes {
        run.extend(underneath(write));
    }
    Needs {
        plan: vec![
            Grant::any(&["elasticbeanstalk:DescribeEnvironments"]),
            Grant::new(
                &["elasticbeanstalk:DescribeConfigurationSettings"],
                [Arn::Any],
            ),
        ],
        run,
    }
}

/// The environment's CloudFormation stack, Auto Scaling group and storage bucket, as AWS's
/// managed policy `AdministratorAccess-AWSElasticBeanstalk` scopes them.
fn stack() -> Arn {
    Arn::regional("cloudformation", "stack/awseb-*")
}
fn group() -> Arn {
    Arn::regional(
        "autoscaling",
        "autoScalingGroup:*:autoScalingGroupName/awseb-*",
    )
}
fn bucket() -> Arn {
    Arn::unowned("s3", "elasticbeanstalk-*")
}
fn objects() -> Arn {
    Arn::unowned("s3", "elasticbeanstalk-*/*")
}

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
                [stack()],
            ),
            Grant::new(
                &[
                    "autoscaling:ResumeProcesses",
                    "autoscaling:SuspendProcesses",
                ],
                [group()],
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
                [bucket()],
            ),
            Grant::new(
                &[
                    "s3:DeleteObject",
                    "s3:GetObject",
                    "s3:GetObjectAcl",
                    "s3:PutObject",
                    "s3:PutObjectAcl",
                ],
                [objects()],
            ),
        ],
        "elasticbeanstalk:RestartAppServer" => vec![
            Grant::new(stack_reads, [stack()]),
            Grant::any(&[
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "ec2:DescribeInstances",
            ]),
        ],
        "elasticbeanstalk:SwapEnvironmentCNAMEs" => vec![
            Grant::new(stack_reads, [stack()]),
            Grant::any(&["elasticloadbalancing:DescribeLoadBalancers"]),
        ],
        _ => Vec::new(),
    }
}

/// The Auto Scaling group's bounds.
const SCALING: &[(&str, &str)] = &[
    ("aws:autoscaling:asg", "MinSize"),
    ("aws:autoscaling:asg", "MaxSize"),
];
/// Options whose change replaces the environment's instances.
const REPLACING: &[(&str, &str)] = &[
    ("aws:ec2:instances", "InstanceTypes"),
    ("aws:autoscaling:launchconfiguration", "InstanceType"),
    ("aws:autoscaling:launchconfiguration", "IamInstanceProfile"),
];

/// The role of Elastic Beanstalk's default instance profile (profile and role share the name).
const DEFAULT_INSTANCE_ROLE: &str = "aws-elasticbeanstalk-ec2-role";

/// What writing (and restoring) `options` on `environment` takes: UpdateEnvironment and what
/// Elastic Beanstalk does underneath any update ([`needs`]), plus what these options make it
/// do with the caller's permissions: new bounds for the Auto Scaling group, or new instances
/// (a launch template version, instances run and terminated, registered with the load
/// balancer's target group, the instance role passed to them). The role is the default
/// instance profile's, and the one a value of `IamInstanceProfile` names; an environment
/// whose instances run under another role needs `iam:PassRole` on that one as well.
pub(super) fn option_needs(environment: &str, options: &Options) -> Needs {
    let mut needs = needs(&[environment], &["elasticbeanstalk:UpdateEnvironment"]);
    let is = |key: &OptionKey, list: &[(&str, &str)]| {
        list.iter()
            .any(|(ns, name)| key.namespace == *ns && key.name == *name)
    };
    let (mut scales, mut replaces) = (false, false);
    let mut roles = vec![DEFAULT_INSTANCE_ROLE.to_owned()];
    for (key, value) in options {
        let value = value.as_deref();
        scales |= is(key, SCALING);
        replaces |= is(key, REPLACING);
        if key.name == "IamInstanceProfile" {
            // A profile by name or ARN; standin assumes its role has its name, as the default's.
            if let Some(profile) = value
                .and_then(|v| v.rsplit('/').next())
                .filter(|p| !p.is_empty())
            {
                roles.push(profile.to_owned());
            }
        }
    }
    if scales || replaces {
        let actions: &'static [&'static str] = if replaces {
            &[
                "autoscaling:TerminateInstanceInAutoScalingGroup",
                "autoscaling:UpdateAutoScalingGroup",
            ]
        } else {
            &["autoscaling:UpdateAutoScalingGroup"]
        };
        needs.run.push(Grant::new(actions, [group()]));
    }
    if replaces {
        needs.run.extend([
            Grant::new(
                &["ec2:CreateLaunchTemplateVersion"],
                [Arn::regional("ec2", "launch-template/*")],
            ),
            Grant::any(&["ec2:CreateTags", "ec2:RunInstances"]),
            Grant::new(
                &["ec2:TerminateInstances"],
                [Arn::regional("ec2", "instance/*")],
            ),
            Grant::new(
                &[
                    "elasticloadbalancing:DeregisterTargets",
                    "elasticloadbalancing:RegisterTargets",
                ],
                [Arn::regional("elasticloadbalancing", "targetgroup/awseb-*")],
            ),
            Grant::new(
                &["iam:PassRole"],
                roles
                    .iter()
                    .map(|r| Arn::global("iam", format!("role/{r}"))),
            ),
        ]);
    }
    needs
}
