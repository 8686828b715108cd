//! What guards read from the live world. One trait, so that the guards' logic is tested
//! without AWS ([`super::fake`]) and the reads that reach AWS are in one place.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

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

/// The live reads, from AWS. Several checks of one evaluation ask about the same environments
/// (each guard, the capacity and TLS checks): each is read once per `LiveAws`, which lives for
/// one evaluation, so a check right before a change still reads afresh.
///
/// A playbook that acts in several accounts (`accounts:`) is checked against all of them: a
/// record in a networking account points at an environment in the application's. Each read
/// asks the playbook's own account first, then the others by name, and takes the first that
/// has the thing; what it reads next about it (options, listeners) comes from that account.
pub struct LiveAws<'a> {
    ctx: &'a Ctx,
    environments: Memo<Option<(usize, Env)>>,
    /// By account (its place in `Accounts::all`) and CNAME.
    by_cname: Memo<Option<Env>>,
    options: Memo<Option<BTreeMap<eb::OptionKey, String>>>,
}

type Memo<T> = Mutex<HashMap<String, T>>;

impl<'a> LiveAws<'a> {
    pub fn new(ctx: &'a Ctx) -> Self {
        Self {
            ctx,
            environments: Memo::default(),
            by_cname: Memo::default(),
            options: Memo::default(),
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

    /// An environment by name (DescribeEnvironments), once, with its account.
    async fn env_at(&self, name: &str) -> Result<Option<(usize, Env)>, AwsError> {
        once(&self.environments, name, || {
            self.first(|_, aws| eb::describe(&aws.elasticbeanstalk, name))
        })
        .await
    }

    async fn env(&self, name: &str) -> Result<Option<Env>, AwsError> {
        Ok(self.env_at(name).await?.map(|(_, env)| env))
    }

    /// The environment whose CNAME this is, with its account.
    async fn by_cname_at(&self, cname: &str) -> Result<Option<(usize, Env)>, AwsError> {
        self.first(|at, aws| self.by_cname_in(at, aws, cname)).await
    }

    /// The environment whose CNAME this is in the account at `at` (`aws`), once.
    async fn by_cname_in(
        &self,
        at: usize,
        aws: &Clients,
        cname: &str,
    ) -> Result<Option<Env>, AwsError> {
        once(&self.by_cname, &format!("{at} {cname}"), || {
            eb::by_cname(&aws.elasticbeanstalk, cname)
        })
        .await
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
        once(&self.options, name, || async {
            eb::options(&self.account(at).elasticbeanstalk, &env)
                .await
                .map(Some)
        })
        .await
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

/// `read()`'s answer for `key`, read the first time it is asked for (errors are not kept).
async fn once<T: Clone, F: std::future::Future<Output = Result<T, AwsError>>>(
    memo: &Memo<T>,
    key: &str,
    read: impl FnOnce() -> F,
) -> Result<T, AwsError> {
    let known = memo
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(key)
        .cloned();
    if let Some(known) = known {
        return Ok(known);
    }
    let value = read().await?;
    memo.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key.to_owned(), value.clone());
    Ok(value)
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
            Resource::Parameter { name } => Ok(self
                .first(|_, aws| ssm::get(&aws.ssm, name))
                .await
                .map_err(&failed)?
                .map(|(_, p)| steps::param_value(&p))),
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
                let Some((at, zone)) = self
                    .first(|_, aws| route53::find_zone(&aws.route53, zone))
                    .await
                    .map_err(&failed)?
                else {
                    return Err(unreadable(format!("no hosted zone {zone}")));
                };
                let aws = self.account(at);
                Ok(
                    route53::get_record(&aws.route53, &zone, name, rtype, set_id.as_deref())
                        .await
                        .map_err(&failed)?
                        .map(|record| Value::Record { record }),
                )
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
        let Some((at, lb)) = self
            .first(|_, aws| elbv2::by_dns_name(&aws.elbv2, dns_name))
            .await
            .map_err(reading(format!("load balancer {dns_name}")))?
        else {
            return Ok(None);
        };
        eb::fronted_by(&self.account(at).elasticbeanstalk, &lb)
            .await
            .map(Some)
            .map_err(reading(format!(
                "the environments load balancer {dns_name} fronts"
            )))
    }

    async fn record(&self, name: &str) -> Read<Option<RecordSet>> {
        let failed = reading(format!("the record of {name}"));
        let Some((at, zone)) = self
            .first(|_, aws| route53::zone_containing(&aws.route53, name))
            .await
            .map_err(&failed)?
        else {
            return Ok(None);
        };
        let client = &self.account(at).route53;
        for rtype in ["CNAME", "A", "AAAA"] {
            if let Some(rs) = route53::get_record(client, &zone, name, rtype, None)
                .await
                .map_err(&failed)?
            {
                return Ok(Some(rs));
            }
        }
        Ok(None)
    }

    async fn front(&self, target: &str) -> Read<Option<Front>> {
        let failed = reading(format!("what serves {target}"));
        // In each account, the load balancer of that DNS name, else the one of the
        // environment whose CNAME it is.
        let found = self
            .first(|at, aws| async move {
                if let Some(lb) = elbv2::by_dns_name(&aws.elbv2, target).await? {
                    return Ok(Some(lb));
                }
                let Some(env) = self.by_cname_in(at, aws, target).await? else {
                    return Ok(None);
                };
                for id in eb::load_balancers_of(&aws.elasticbeanstalk, &env.name).await? {
                    if let Some(lb) = elbv2::by_name_or_arn(&aws.elbv2, &id).await? {
                        return Ok(Some(lb));
                    }
                }
                Ok(None)
            })
            .await
            .map_err(&failed)?;
        let Some((at, lb)) = found else {
            return Ok(None);
        };
        let aws = self.account(at);
        let mut listeners = Vec::new();
        for l in elbv2::listeners(&aws.elbv2, &lb.arn)
            .await
            .map_err(&failed)?
        {
            let mut certificates = Vec::new();
            if l.protocol == "HTTPS" {
                for (arn, _) in elbv2::listener_certificates(&aws.elbv2, &l.arn)
                    .await
                    .map_err(&failed)?
                {
                    if let Some(c) = acm::certificate(&aws.acm, &arn).await.map_err(&failed)? {
                        certificates.push(c);
                    }
                }
            }
            let rules = elbv2::rules(&aws.elbv2, &l.arn).await.map_err(&failed)?;
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

    async fn workers(
        &self,
        application: &str,
    ) -> Read<Vec<(Env, std::collections::BTreeMap<String, String>)>> {
        let failed = reading(format!("the workers of {application}"));
        let mut out = Vec::new();
        for (name, aws) in self.ctx.accounts.all() {
            let client = &aws.elasticbeanstalk;
            let failed = |e| failed(in_account(e, name));
            for env in eb::list(client, Some(application)).await.map_err(failed)? {
                if env.tier == "Worker" {
                    let props = eb::properties(client, &env).await.map_err(failed)?;
                    out.push((env, props));
                }
            }
        }
        Ok(out)
    }
}
