//! What guards read from the live world. One trait, so that the guards' logic is tested
//! without AWS ([`super::fake`]) and the reads that reach AWS are in one place.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use tokio::sync::OnceCell;

use crate::aws::eb::{self, Env};
use crate::aws::route53::RecordSet;
use crate::aws::{acm, elbv2, route53, ssm, AwsError, Clients};
use crate::steps::{self, Ctx, Resource, Value};

/// A live read, or why it failed.
pub type Read<T> = Result<T, ReadError>;

/// A read that failed, saying what could not be read and why: the guard that needed it fails
/// with this as its reason.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {what}: {source}")]
    Aws { what: String, source: AwsError },
    /// Nothing to ask AWS: the resource cannot be located, or guards do not read its kind.
    #[error("cannot read {what}: {why}")]
    Unreadable { what: String, why: String },
}

/// Names what a failed AWS read was for.
fn reading(what: impl std::fmt::Display) -> impl Fn(AwsError) -> ReadError {
    move |source| ReadError::Aws {
        what: what.to_string(),
        source,
    }
}

/// The live reads guards need.
#[async_trait]
pub trait Live: Sync {
    /// A resource's value as plans show it; `zone` locates a record.
    async fn value(&self, resource: &Resource, zone: Option<&str>) -> Read<Option<Value>>;
    /// An Elastic Beanstalk environment by name.
    async fn environment(&self, name: &str) -> Read<Option<Env>>;
    /// The environment whose CNAME this is, if any in this region and account.
    async fn environment_by_cname(&self, cname: &str) -> Read<Option<Env>>;
    /// The environments a load balancer (by DNS name) fronts; `None` when no load balancer
    /// of this region and account has that name.
    async fn environments_behind(&self, dns_name: &str) -> Read<Option<Vec<Env>>>;
    /// The non-routed CNAME, A or AAAA record of `name` in a hosted zone of the account,
    /// if the account has one for it.
    async fn record(&self, name: &str) -> Read<Option<RecordSet>>;
    /// What serves HTTPS for `target` (an environment's CNAME, or a load balancer's DNS
    /// name): its load balancer, and each listener with its certificates and host rules.
    /// `None` when no load balancer of this region and account is behind it.
    async fn front(&self, target: &str) -> Read<Option<Front>>;
    /// The worker-tier environments of an application, and their properties.
    async fn workers(
        &self,
        application: &str,
    ) -> Read<Vec<(Env, std::collections::BTreeMap<String, String>)>>;
}

/// A load balancer as the TLS check sees it.
#[derive(Debug, Clone)]
pub struct Front {
    pub name: String,
    pub listeners: Vec<FrontListener>,
}

/// One listener: its label (`HTTPS:443`), its certificates (the default first) and rules.
#[derive(Debug, Clone)]
pub struct FrontListener {
    pub label: String,
    pub certificates: Vec<acm::Certificate>,
    pub rules: Vec<elbv2::HostRule>,
}

/// The live reads, from AWS. Several checks of one evaluation ask about the same things
/// (each guard, the capacity and TLS checks), and run at once: each answer (an environment,
/// its options, a parameter, a record, a load balancer...) is read once per `LiveAws`, by the
/// first check that asks while the others wait for it, and a failed read is every asker's
/// answer. A `LiveAws` lives for one evaluation, so a check right before a change still reads
/// afresh. Environments come from one DescribeEnvironments per account (by name or by CNAME, however
/// many are asked about), where a read per name would cost a round trip each.
///
/// A playbook that acts in several accounts (`accounts:`) is checked against all of them: a
/// record in a networking account points at an environment in the application's. Each read
/// asks the playbook's own account first, then the others by name, and takes the first that
/// has the thing; what it reads next about it (options, listeners) comes from that account.
pub struct LiveAws<'a> {
    ctx: &'a Ctx,
    answers: Answers,
}

/// What one evaluation has read, by what it asked.
#[derive(Default)]
struct Answers {
    /// Every live environment, by account (its place in `Accounts::all`).
    environments: Memo<Vec<Env>>,
    options: Memo<Option<BTreeMap<eb::OptionKey, String>>>,
    parameters: Memo<Option<Value>>,
    zones: Memo<Option<(usize, route53::Zone)>>,
    records: Memo<Option<RecordSet>>,
    named: Memo<Option<RecordSet>>,
    behind: Memo<Option<Vec<Env>>>,
    fronts: Memo<Option<Front>>,
    workers: Memo<Vec<(Env, BTreeMap<String, String>)>>,
}

/// Answers by key, each read by the first to ask (see [`once`]).
type Memo<T> = Mutex<HashMap<String, Arc<OnceCell<Result<T, AwsError>>>>>;

impl<'a> LiveAws<'a> {
    pub fn new(ctx: &'a Ctx) -> Self {
        Self {
            ctx,
            answers: Answers::default(),
        }
    }

    /// The first account whose `read` finds something, by its place in
    /// [`crate::aws::Accounts::all`], with what it found.
    async fn first<T, F>(
        &self,
        read: impl Fn(usize, &'a Clients) -> F,
    ) -> Result<Option<(usize, T)>, AwsError>
    where
        F: std::future::Future<Output = Result<Option<T>, AwsError>>,
    {
        for (at, (name, aws)) in self.ctx.accounts.all().enumerate() {
            if let Some(found) = read(at, aws).await.map_err(|e| in_account(e, name))? {
                return Ok(Some((at, found)));
            }
        }
        Ok(None)
    }

    /// The clients of the account at `at` in [`crate::aws::Accounts::all`].
    fn account(&self, at: usize) -> &'a Clients {
        self.ctx
            .accounts
            .all()
            .nth(at)
            .map_or_else(|| self.ctx.accounts.own(), |(_, aws)| aws)
    }

    /// The live environments of the account at `at`, once.
    async fn environments_in(&self, at: usize) -> Result<Vec<Env>, AwsError> {
        once(&self.answers.environments, &at.to_string(), || {
            eb::list(&self.account(at).elasticbeanstalk)
        })
        .await
    }

    /// An environment by name, with its account.
    async fn env_at(&self, name: &str) -> Result<Option<(usize, Env)>, AwsError> {
        self.first(|at, _| async move {
            let all = self.environments_in(at).await?;
            Ok(all.into_iter().find(|e| e.name == name))
        })
        .await
    }

    async fn env(&self, name: &str) -> Result<Option<Env>, AwsError> {
        Ok(self.env_at(name).await?.map(|(_, env)| env))
    }

    /// The environment whose CNAME this is, with its account.
    async fn by_cname_at(&self, cname: &str) -> Result<Option<(usize, Env)>, AwsError> {
        self.first(|at, _| self.by_cname_in(at, cname)).await
    }

    /// The environment whose CNAME this is (any letter case, with or without the final dot)
    /// in the account at `at`.
    async fn by_cname_in(&self, at: usize, cname: &str) -> Result<Option<Env>, AwsError> {
        let all = self.environments_in(at).await?;
        Ok(all.into_iter().find(|e| e.has_cname(cname)))
    }

    /// An environment's options (DescribeConfigurationSettings), once; `None` when the
    /// environment does not exist.
    async fn options_of(
        &self,
        name: &str,
    ) -> Result<Option<BTreeMap<eb::OptionKey, String>>, AwsError> {
        let Some((at, env)) = self.env_at(name).await? else {
            return Ok(None);
        };
        once(&self.answers.options, name, || async {
            eb::options(&self.account(at).elasticbeanstalk, &env)
                .await
                .map(Some)
        })
        .await
    }
}

/// The reads behind [`Live`]'s answers, before they are kept.
impl LiveAws<'_> {
    async fn behind(&self, dns_name: &str) -> Result<Option<Vec<Env>>, AwsError> {
        let found = self
            .first(|_, aws| elbv2::by_dns_name(&aws.elbv2, dns_name))
            .await?;
        let Some((at, lb)) = found else {
            return Ok(None);
        };
        let envs = self.environments_in(at).await?;
        eb::fronted_by(&self.account(at).elasticbeanstalk, envs, &lb)
            .await
            .map(Some)
    }

    async fn named(&self, name: &str) -> Result<Option<RecordSet>, AwsError> {
        let found = self
            .first(|_, aws| route53::zone_containing(&aws.route53, name))
            .await?;
        let Some((at, zone)) = found else {
            return Ok(None);
        };
        let client = &self.account(at).route53;
        for rtype in ["CNAME", "A", "AAAA"] {
            if let Some(rs) = route53::get_record(client, &zone, name, rtype, None).await? {
                return Ok(Some(rs));
            }
        }
        Ok(None)
    }

    async fn front_of(&self, target: &str) -> Result<Option<Front>, AwsError> {
        // In each account, the load balancer of that DNS name, else the one of the
        // environment whose CNAME it is.
        let found = self
            .first(|at, aws| async move {
                // Both at once: the environments are read for other checks anyway.
                let (lb, env) = tokio::join!(
                    elbv2::by_dns_name(&aws.elbv2, target),
                    self.by_cname_in(at, target)
                );
                if let Some(lb) = lb? {
                    return Ok(Some(lb));
                }
                let Some(env) = env? else {
                    return Ok(None);
                };
                for id in eb::load_balancers_of(&aws.elasticbeanstalk, &env.name).await? {
                    if let Some(lb) = elbv2::by_name_or_arn(&aws.elbv2, &id).await? {
                        return Ok(Some(lb));
                    }
                }
                Ok(None)
            })
            .await?;
        let Some((at, lb)) = found else {
            return Ok(None);
        };
        let aws = self.account(at);
        let mut listeners = Vec::new();
        for l in elbv2::listeners(&aws.elbv2, &lb.arn).await? {
            let mut certificates = Vec::new();
            if l.protocol == "HTTPS" {
                for (arn, _) in elbv2::listener_certificates(&aws.elbv2, &l.arn).await? {
                    if let Some(c) = acm::certificate(&aws.acm, &arn).await? {
                        certificates.push(c);
                    }
                }
            }
            let rules = elbv2::rules(&aws.elbv2, &l.arn).await?;
            listeners.push(FrontListener {
                label: l.label(),
                certificates,
                rules,
            });
        }
        Ok(Some(Front {
            name: lb.name,
            listeners,
        }))
    }

    async fn workers_of(
        &self,
        application: &str,
    ) -> Result<Vec<(Env, BTreeMap<String, String>)>, AwsError> {
        let mut out = Vec::new();
        for (at, (name, aws)) in self.ctx.accounts.all().enumerate() {
            let workers: Vec<Env> = (self.environments_in(at).await)
                .map_err(|e| in_account(e, name))?
                .into_iter()
                .filter(|e| e.application == application && e.tier == "Worker")
                .collect();
            let props = eb::properties_of(&aws.elasticbeanstalk, &workers)
                .await
                .map_err(|e| in_account(e, name))?;
            out.extend(workers.into_iter().zip(props));
        }
        Ok(out)
    }
}

/// A failed read in the account of `accounts:` named `name` says which (one that cannot be
/// reached fails reads of things the playbook's own account does not have).
fn in_account(mut e: AwsError, name: Option<&str>) -> AwsError {
    if let Some(name) = name {
        e.message = format!("{} (in account {name})", e.message);
    }
    e
}

/// `read()`'s answer for `key`, read by the first caller; callers meanwhile wait for it
/// rather than read again. A failed read is the answer too, for the evaluation: every check
/// that needs the thing fails closed the same way, and a throttled read is not made again by
/// each of them in turn.
async fn once<T: Clone, F: std::future::Future<Output = Result<T, AwsError>>>(
    memo: &Memo<T>,
    key: &str,
    read: impl FnOnce() -> F,
) -> Result<T, AwsError> {
    let cell = memo
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(key.to_owned())
        .or_default()
        .clone();
    cell.get_or_init(read).await.clone()
}

#[async_trait]
impl Live for LiveAws<'_> {
    async fn value(&self, resource: &Resource, zone: Option<&str>) -> Read<Option<Value>> {
        let failed = reading(resource);
        let unreadable = |why: String| ReadError::Unreadable {
            what: resource.to_string(),
            why,
        };
        match resource {
            Resource::Parameter { name } => once(&self.answers.parameters, name, || async {
                let found = self.first(|_, aws| ssm::get(&aws.ssm, name)).await?;
                Ok(found.map(|(_, p)| steps::param_value(&p)))
            })
            .await
            .map_err(failed),
            Resource::Property { environment, .. } | Resource::EnvOption { environment, .. } => {
                let Some(options) = self.options_of(environment).await.map_err(&failed)? else {
                    return Ok(None);
                };
                let key = resource.option_key();
                Ok(key
                    .and_then(|k| options.get(&k))
                    .map(|v| Value::text(v.clone())))
            }
            Resource::Cname { environment } => Ok(self
                .env(environment)
                .await
                .map_err(&failed)?
                .and_then(|e| e.cname)
                .map(Value::text)),
            Resource::Record {
                name,
                rtype,
                set_id,
            } => {
                let zone = zone.ok_or_else(|| unreadable("no zone to read it from".into()))?;
                let found = once(&self.answers.zones, zone, || {
                    self.first(|_, aws| route53::find_zone(&aws.route53, zone))
                })
                .await
                .map_err(&failed)?;
                let Some((at, zone)) = found else {
                    return Err(unreadable(format!("no hosted zone {zone}")));
                };
                let key = format!("{at} {} {resource}", zone.id);
                let record = once(&self.answers.records, &key, || {
                    let client = &self.account(at).route53;
                    route53::get_record(client, &zone, name, rtype, set_id.as_deref())
                })
                .await
                .map_err(&failed)?;
                Ok(record.map(|record| Value::Record { record }))
            }
            _ => Err(unreadable(
                "guards do not read this kind of resource".into(),
            )),
        }
    }

    async fn environment(&self, name: &str) -> Read<Option<Env>> {
        self.env(name)
            .await
            .map_err(reading(format!("environment {name}")))
    }

    async fn environment_by_cname(&self, cname: &str) -> Read<Option<Env>> {
        self.by_cname_at(cname)
            .await
            .map(|found| found.map(|(_, env)| env))
            .map_err(reading(format!("the environment behind {cname}")))
    }

    async fn environments_behind(&self, dns_name: &str) -> Read<Option<Vec<Env>>> {
        once(&self.answers.behind, dns_name, || self.behind(dns_name))
            .await
            .map_err(reading(format!(
                "the environments load balancer {dns_name} fronts"
            )))
    }

    async fn record(&self, name: &str) -> Read<Option<RecordSet>> {
        once(&self.answers.named, name, || self.named(name))
            .await
            .map_err(reading(format!("the record of {name}")))
    }

    async fn front(&self, target: &str) -> Read<Option<Front>> {
        once(&self.answers.fronts, target, || self.front_of(target))
            .await
            .map_err(reading(format!("what serves {target}")))
    }

    async fn workers(
        &self,
        application: &str,
    ) -> Read<Vec<(Env, std::collections::BTreeMap<String, String>)>> {
        once(&self.answers.workers, application, || {
            self.workers_of(application)
        })
        .await
        .map_err(reading(format!("the workers of {application}")))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn callers_at_once_share_one_read_and_a_failed_read_is_every_caller_s_answer() {
        let memo: Memo<u32> = Memo::default();
        let reads = AtomicUsize::new(0);
        let read = || async {
            reads.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(7)
        };
        let (a, b) = tokio::join!(once(&memo, "k", read), once(&memo, "k", read));
        assert_eq!((a.unwrap(), b.unwrap()), (7, 7));
        assert_eq!(
            reads.load(Ordering::SeqCst),
            1,
            "the second caller waited for the first"
        );
        assert_eq!(once(&memo, "k", read).await.unwrap(), 7);
        assert_eq!(reads.load(Ordering::SeqCst), 1, "then it is known");

        // Every check of the evaluation fails closed alike, without asking again.
        let denied = || async { Err(AwsError::new("EB.Describe", "AccessDenied", "no")) };
        assert!(once(&memo, "e", denied).await.is_err());
        assert!(once(&memo, "e", || async { Ok(1) }).await.is_err());
    }
}
