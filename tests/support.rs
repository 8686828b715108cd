//! The integration-test harness: a fresh emulator world per test (moto's server, extended and
//! seeded by `harness/emulator.py`), the real `standin` binary run against it, and dumps of the
//! emulator's state read back through the real AWS SDK.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use aws_config::{BehaviorVersion, Region};
use tempfile::TempDir;

/// An IAM user's access key, as the variables that hand it to standin.
pub type Keys = [(String, String); 2];

/// The seeded secrets: they must never appear in anything standin prints or writes.
pub const SECRETS: [&str; 2] = ["prod-Sup3rSecret-7f3a9c", "staging-Sup3rSecret-1b2d4e"];

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every case in parallel on a few threads (most of a case is waiting on the emulator); panics
/// are collected so one failure names every failing case.
pub fn each<T: Sync>(cases: &[T], name: impl Fn(&T) -> String + Sync, check: impl Fn(&T) + Sync) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(case)));
                if let Err(panic) = result {
                    let message = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_default();
                    failures.lock().unwrap().push((name(case), message));
                }
            });
        }
    });
    let failures: Vec<(String, String)> = failures.into_inner().unwrap();
    // The names again at the end: a CI log keeps the head and the tail of a long message.
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}\n\nfailed cases: {}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .map(|(name, message)| format!("{name}: {message}"))
            .collect::<Vec<_>>()
            .join("\n\n"),
        failures
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    );
}

/// A running emulator with the incident world, and a scratch directory for state and playbooks.
pub struct World {
    child: Child,
    pub endpoint: String,
    /// `IP:PORT` of the emulated world's HTTP edge (harness/edge.py), plain HTTP and TLS.
    pub edge: String,
    /// The emulator's private CA (PEM): the edge's TLS certificates are issued by it, and
    /// standin trusts it through `SSL_CERT_FILE`.
    pub ca: String,
    pub dir: TempDir,
    runtime: tokio::runtime::Runtime,
    pub route53: aws_sdk_route53::Client,
    /// Parameter Store as the world itself: see [`AsWorld`].
    pub ssm: aws_sdk_ssm::Client,
    pub eb: aws_sdk_elasticbeanstalk::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    /// The configuration of the clients above, for more (S3, DynamoDB).
    pub config: aws_config::SdkConfig,
}

/// Marks a request as the emulated world's own (the header `x-emulator-world: 1`, see
/// harness/moto_ssm.py): a test's fixtures and its look at the state are the world as it
/// already is, so the emulator neither throttles them nor lags what they write or read, as it
/// does standin's calls.
#[derive(Debug)]
struct AsWorld;

impl aws_smithy_runtime_api::client::interceptors::Intercept for AsWorld {
    fn name(&self) -> &'static str {
        "the emulated world's own request"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-emulator-world", "1");
        Ok(())
    }
}

/// What a run of the binary printed and returned.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Out {
    fn from(out: std::process::Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Out {
    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl Out {
    /// Asserts a playbook refused as invalid: exit 2, `located` (`FILE:LINE:COL: message`) and
    /// `hint: HINT` on stderr; `what` names the case in a failure.
    #[track_caller]
    pub fn expect_invalid(&self, what: &str, located: &str, hint: &str) {
        assert_eq!(self.code, 2, "{what}: exit code\n{}", self.all());
        assert!(
            self.stderr.contains(located),
            "{what}: expected `{located}` in\n{}",
            self.stderr
        );
        assert!(
            self.stderr.contains(&format!("hint: {hint}")),
            "{what}: expected hint `{hint}` in\n{}",
            self.stderr
        );
    }
}

impl World {
    /// Starts an emulator seeded with the incident world.
    pub fn start() -> Self {
        Self::seeded("incident")
    }

    /// Starts an emulator seeded with `seed` (harness/seed.py: `incident`, `forgotten`, `other`,
    /// `none`).
    pub fn seeded(seed: &str) -> Self {
        Self::seeded_with(seed, &[])
    }

    /// Starts an emulator seeded with `seed`, with these environment variables (its knobs:
    /// `STANDIN_EMULATOR_SSM_PUT_RATE`, ..., see harness/knobs.py).
    pub fn seeded_with(seed: &str, env: &[(&str, &str)]) -> Self {
        let python = std::env::var_os("STANDIN_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo().join("harness/.venv/bin/python"));
        assert!(
            python.exists(),
            "no emulator python at {} - run `bash harness/setup.sh` first (scripts/test.sh does)",
            python.display()
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let log = std::fs::File::create(dir.path().join("emulator.log")).expect("log file");
        let mut child = Command::new(&python)
            .arg(repo().join("harness/emulator.py"))
            .args(["serve", "--port", "0", "--seed", seed])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start the emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout is piped"))
            .read_line(&mut line)
            .expect("read the emulator's READY line");
        let ready: Vec<&str> = line.split_whitespace().collect();
        let (endpoint, edge, ca) = match ready.as_slice() {
            ["READY", endpoint, edge, ca] if edge.starts_with("edge=") && ca.starts_with("ca=") => {
                (
                    (*endpoint).to_owned(),
                    edge["edge=".len()..].to_owned(),
                    ca["ca=".len()..].to_owned(),
                )
            }
            _ => {
                let log =
                    std::fs::read_to_string(dir.path().join("emulator.log")).unwrap_or_default();
                panic!("emulator did not start: {line:?}\n{log}")
            }
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let config = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .endpoint_url(&endpoint)
                .credentials_provider(aws_sdk_ssm::config::Credentials::new(
                    "testing", "testing", None, None, "tests",
                ))
                .load(),
        );
        Self {
            child,
            endpoint,
            edge,
            ca,
            dir,
            route53: aws_sdk_route53::Client::new(&config),
            ssm: aws_sdk_ssm::Client::from_conf(
                aws_sdk_ssm::config::Builder::from(&config)
                    .interceptor(AsWorld)
                    .build(),
            ),
            eb: aws_sdk_elasticbeanstalk::Client::new(&config),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(&config),
            config,
            runtime,
        }
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// `standin ARGS` in the world's directory, against the emulator, with no stdin.
    fn command(&self, args: &[&str]) -> Command {
        self.program(env!("CARGO_BIN_EXE_standin"), args)
    }

    /// `PROGRAM ARGS` with standin's environment: in the world's directory, against the
    /// emulator, with no stdin (e.g. `script`, to give standin a terminal).
    pub fn program(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", self.dir.path().join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.path().join("no-aws-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("SSL_CERT_FILE", &self.ca)
            .env_remove("AWS_PROFILE")
            .env_remove("STANDIN_STATE_DIR")
            .env_remove("STANDIN_STATE")
            .env_remove("STANDIN_LOCK")
            .env_remove("STANDIN_LEASE_SECS")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `standin ARGS` to the end.
    pub fn standin(&self, args: &[&str]) -> Out {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        self.standin_env(&[], &args)
    }

    /// Runs `standin ARGS` to the end in another directory: another machine, sharing only the
    /// emulated AWS account.
    pub fn standin_in(&self, dir: &Path, args: &[&str]) -> Out {
        self.command(args)
            .current_dir(dir)
            .output()
            .expect("run standin")
            .into()
    }

    /// An S3 client for the emulator (path-style addressing, as standin uses with an endpoint).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.config)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// The run ids with a journal in a state bucket's `PREFIX/runs/`.
    pub fn s3_run_ids(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let runs = format!("{prefix}/runs/");
        self.block_on(async {
            let out = self
                .s3()
                .list_objects_v2()
                .bucket(bucket)
                .prefix(&runs)
                .send()
                .await
                .expect("list");
            out.contents()
                .iter()
                .filter_map(|o| o.key()?.strip_prefix(runs.as_str()))
                .filter_map(|k| k.strip_suffix("/journal.jsonl").map(str::to_owned))
                .collect()
        })
    }

    /// An object of an S3 bucket, if it exists.
    pub fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.block_on(async {
            let out = self
                .s3()
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .ok()?;
            Some(out.body.collect().await.expect("body").to_vec())
        })
    }

    /// Creates an S3 bucket, for a shared state.
    pub fn create_bucket(&self, name: &str) {
        self.block_on(self.s3().create_bucket().bucket(name).send())
            .expect("create bucket");
    }

    /// Creates a DynamoDB table shaped as lock tables are: partition key `LockID`, a string.
    pub fn create_lock_table(&self, name: &str) {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let client = aws_sdk_dynamodb::Client::new(&self.config);
        let request = client
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("LockID")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("attribute"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("LockID")
                    .key_type(KeyType::Hash)
                    .build()
                    .expect("key"),
            );
        self.block_on(request.send()).expect("create table");
    }

    /// Starts `standin ARGS` in the background, its output collected as it comes.
    pub fn running(&self, args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        Running::start(command)
    }

    /// Starts `standin ARGS` in the background, for tests that act on the world mid-run.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start standin")
    }

    /// The records of run `run_id`'s journal in the local state.
    pub fn journal(&self, run_id: &str) -> Vec<serde_json::Value> {
        let path = self
            .dir
            .path()
            .join(".standin/runs")
            .join(run_id)
            .join("journal.jsonl");
        std::fs::read_to_string(path)
            .expect("the run's journal")
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON record"))
            .collect()
    }

    /// The directory of the one run in the local state (a test that made more asks by id).
    pub fn run_dir(&self) -> PathBuf {
        let runs = self.dir.path().join(".standin/runs");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(runs)
            .expect("the local state has runs")
            .map(|e| e.expect("a run's directory").path())
            .collect();
        assert_eq!(dirs.len(), 1, "one run expected: {dirs:?}");
        dirs.pop().expect("one run")
    }

    /// Waits (up to 30s) until the newest run's journal contains `text`.
    pub fn wait_for_journal(&self, text: &str) {
        let runs = self.dir.path().join(".standin/runs");
        for _ in 0..300 {
            let found = std::fs::read_dir(&runs)
                .into_iter()
                .flatten()
                .flatten()
                .any(|run| {
                    std::fs::read_to_string(run.path().join("journal.jsonl"))
                        .is_ok_and(|j| j.contains(text))
                });
            if found {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("no journal mentioned {text} within 30s");
    }

    /// Writes a playbook into the world's directory and returns its path.
    pub fn playbook(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write playbook");
        path.display().to_string()
    }

    /// The repository's incident playbook.
    pub fn incident_playbook(&self) -> String {
        repo()
            .join("playbooks/promote-staging.yaml")
            .display()
            .to_string()
    }

    /// The `--var`s that point a playbook's HTTP gates at the emulated world's edge.
    pub fn edge_vars(&self) -> Vec<String> {
        [
            "app_check_url=http://app.example.com/health".to_owned(),
            // Over TLS: the edge presents the staging listener's certificate, which standin
            // trusts through SSL_CERT_FILE.
            "staging_check_url=https://staging.example.com/".to_owned(),
            format!("edge={}", self.edge),
        ]
        .into_iter()
        .flat_map(|v| ["--var".to_owned(), v])
        .collect()
    }

    /// Runs `standin ARGS... --var (edge vars) PLAYBOOK` on the incident playbook.
    pub fn incident(&self, args: &[&str]) -> Out {
        self.with_playbook(args, &self.incident_playbook())
    }

    /// Runs `standin ARGS... --var (edge vars) PLAYBOOK`, passing the edge vars the playbook
    /// declares (standin refuses overrides of undeclared variables).
    pub fn with_playbook(&self, args: &[&str], playbook: &str) -> Out {
        self.standin_env(&[], &self.playbook_args(args, playbook))
    }

    /// `ARGS... --var (edge vars) PLAYBOOK`, as `with_playbook` passes them.
    pub fn playbook_args(&self, args: &[&str], playbook: &str) -> Vec<String> {
        let text = std::fs::read_to_string(playbook).expect("read playbook");
        let vars = self.edge_vars();
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        for pair in vars.chunks(2) {
            let name = pair[1].split('=').next().unwrap_or_default();
            if text.contains(&format!("\n  {name}:")) {
                all.extend(pair.iter().cloned());
            }
        }
        all.push(playbook.to_owned());
        all
    }

    /// Runs `standin ARGS` to the end with extra environment variables.
    pub fn standin_env(&self, env: &[(&str, &str)], args: &[String]) -> Out {
        self.command(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .envs(env.iter().copied())
            .output()
            .expect("run standin")
            .into()
    }

    /// Everything the emulator holds that standin may touch, history included, byte for byte:
    /// every version of every parameter, every record set, every environment.
    pub fn full_dump(&self) -> String {
        self.block_on(async {
            let mut out = String::new();
            for name in self.parameter_names().await {
                let mut pages = self
                    .ssm
                    .get_parameter_history()
                    .name(&name)
                    .with_decryption(true)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    for p in page.expect("history").parameters() {
                        out.push_str(&format!("{p:?}\n"));
                    }
                }
            }
            for (zone, rs) in self.record_sets().await {
                out.push_str(&format!("{zone} {rs:?}\n"));
            }
            for env in self.environments().await {
                out.push_str(&format!("{env:?}\n"));
            }
            for (env, props) in self.properties().await {
                out.push_str(&format!("{env} {props:?}\n"));
            }
            for rule in self.listener_rules().await {
                out.push_str(&format!("{rule:?}\n"));
            }
            out
        })
    }

    /// The current state as `resource -> value`: what a rollback must restore exactly
    /// (parameter versions necessarily move on; values, types and keys must not).
    pub fn state(&self) -> BTreeMap<String, String> {
        self.block_on(async {
            let mut state = BTreeMap::new();
            for name in self.parameter_names().await {
                let p = self
                    .ssm
                    .get_parameter()
                    .name(&name)
                    .with_decryption(true)
                    .send()
                    .await
                    .expect("parameter");
                let p = p.parameter().expect("parameter");
                let meta = self
                    .ssm
                    .get_parameter_history()
                    .name(&name)
                    .send()
                    .await
                    .expect("history");
                let key = meta
                    .parameters()
                    .last()
                    .and_then(|m| m.key_id())
                    .unwrap_or("-")
                    .to_owned();
                state.insert(
                    format!("ssm {name}"),
                    format!(
                        "{} {} key={key}",
                        p.r#type().map_or("?", |t| t.as_str()),
                        p.value().unwrap_or_default()
                    ),
                );
            }
            for (_, rs) in self.record_sets().await {
                let id = rs
                    .set_identifier()
                    .map(|s| format!(" [{s}]"))
                    .unwrap_or_default();
                state.insert(
                    format!("dns {} {}{id}", rs.name(), rs.r#type().as_str()),
                    format!("{rs:?}"),
                );
            }
            for env in self.environments().await {
                state.insert(
                    format!("eb {}", env.environment_name().unwrap_or_default()),
                    format!("{:?} {:?} {:?}", env.cname(), env.status(), env.health()),
                );
            }
            for (env, props) in self.properties().await {
                state.insert(format!("eb {env} properties"), format!("{props:?}"));
            }
            for rule in self.listener_rules().await {
                let id = format!("{:?} {:?}", rule.priority(), rule.conditions());
                // Target groups by name: their ARNs' random ids differ between worlds.
                let actions = rule.actions().iter().map(|a| {
                    let mut a = a.clone();
                    a.target_group_arn = a.target_group_arn.map(|arn| {
                        arn.rsplit_once('/')
                            .map_or(arn.clone(), |(name, _)| name.to_owned())
                    });
                    a
                });
                state.insert(
                    format!("alb rule {id}"),
                    format!("{:?}", actions.collect::<Vec<_>>()),
                );
            }
            state
        })
    }

    async fn environments(&self) -> Vec<aws_sdk_elasticbeanstalk::types::EnvironmentDescription> {
        let out = self
            .eb
            .describe_environments()
            .send()
            .await
            .expect("environments");
        out.environments().to_vec()
    }

    /// Every environment's properties.
    async fn properties(&self) -> Vec<(String, BTreeMap<String, String>)> {
        let mut all = Vec::new();
        for env in self.environments().await {
            let (app, name) = (
                env.application_name().unwrap_or_default(),
                env.environment_name().unwrap_or_default(),
            );
            let out = self
                .eb
                .describe_configuration_settings()
                .application_name(app)
                .environment_name(name)
                .send()
                .await
                .expect("settings");
            let props = out
                .configuration_settings()
                .iter()
                .flat_map(|c| c.option_settings())
                .map(|o| {
                    (
                        o.option_name().unwrap_or_default().to_owned(),
                        o.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            all.push((name.to_owned(), props));
        }
        all
    }

    /// Every rule of every listener of every load balancer.
    async fn listener_rules(&self) -> Vec<aws_sdk_elasticloadbalancingv2::types::Rule> {
        let mut rules = Vec::new();
        let lbs = self
            .elbv2
            .describe_load_balancers()
            .send()
            .await
            .expect("load balancers");
        for lb in lbs.load_balancers() {
            let listeners = self
                .elbv2
                .describe_listeners()
                .load_balancer_arn(lb.load_balancer_arn().unwrap_or_default())
                .send()
                .await
                .expect("listeners");
            for listener in listeners.listeners() {
                let out = self
                    .elbv2
                    .describe_rules()
                    .listener_arn(listener.listener_arn().unwrap_or_default())
                    .send()
                    .await
                    .expect("rules");
                rules.extend(out.rules().iter().cloned());
            }
        }
        rules
    }

    /// An IAM user of the emulator whose only policy is `doc`: its access key.
    pub fn iam_user(&self, name: &str, doc: &serde_json::Value) -> Keys {
        let file = self.dir.path().join(format!("{name}.json"));
        std::fs::write(&file, doc.to_string()).unwrap();
        let out = self.control(&["iam-user", name, &file.display().to_string()]);
        let (id, secret) = out.split_once(' ').expect("key id and secret");
        [
            ("AWS_ACCESS_KEY_ID".into(), id.to_owned()),
            ("AWS_SECRET_ACCESS_KEY".into(), secret.to_owned()),
        ]
    }

    /// `standin ARGS` to the end as the IAM user whose key this is.
    pub fn as_user(&self, keys: &Keys, args: &[impl AsRef<str>]) -> Out {
        let env: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let args: Vec<String> = args.iter().map(|a| a.as_ref().to_owned()).collect();
        self.standin_env(&env, &args)
    }

    /// Changes the world through harness/control.py (tags that steer the emulator); returns
    /// what it printed.
    pub fn control(&self, args: &[&str]) -> String {
        let python = std::env::var_os("STANDIN_PYTHON")
            .map_or_else(|| repo().join("harness/.venv/bin/python"), PathBuf::from);
        let out = Command::new(python)
            .arg(repo().join("harness/control.py"))
            .arg(&self.endpoint)
            .args(args)
            .output()
            .expect("run harness/control.py");
        assert!(
            out.status.success(),
            "control {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// An environment's current state: (status, health, CNAME).
    pub fn environment(&self, name: &str) -> (String, String, String) {
        self.block_on(async {
            let env = self
                .environments()
                .await
                .into_iter()
                .find(|e| e.environment_name() == Some(name))
                .expect("environment");
            (
                env.status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                env.health()
                    .map(|h| h.as_str().to_owned())
                    .unwrap_or_default(),
                env.cname().unwrap_or_default().to_owned(),
            )
        })
    }

    /// One environment's properties.
    pub fn env_properties(&self, name: &str) -> BTreeMap<String, String> {
        self.block_on(self.properties())
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p)
            .expect("environment")
    }

    /// The number of fixed-response (lock) rules on all listeners.
    pub fn lock_rules(&self) -> usize {
        self.block_on(self.listener_rules())
            .iter()
            .filter(|r| {
                r.actions()
                    .iter()
                    .any(|a| a.fixed_response_config().is_some())
            })
            .count()
    }

    /// The certificates of every HTTPS listener of a load balancer, by label (`HTTPS:443`):
    /// `(ARN, is default)` as DescribeListenerCertificates lists them.
    pub fn listener_certificates(
        &self,
        load_balancer: &str,
    ) -> BTreeMap<String, Vec<(String, bool)>> {
        self.block_on(async {
            let lbs = self
                .elbv2
                .describe_load_balancers()
                .names(load_balancer)
                .send()
                .await
                .expect("load balancer");
            let arn = lbs.load_balancers()[0]
                .load_balancer_arn()
                .unwrap_or_default();
            let listeners = self
                .elbv2
                .describe_listeners()
                .load_balancer_arn(arn)
                .send()
                .await
                .expect("listeners");
            let mut all = BTreeMap::new();
            for l in listeners.listeners() {
                if l.protocol().map(|p| p.as_str()) != Some("HTTPS") {
                    continue;
                }
                let out = self
                    .elbv2
                    .describe_listener_certificates()
                    .listener_arn(l.listener_arn().unwrap_or_default())
                    .send()
                    .await
                    .expect("listener certificates");
                let certs = out
                    .certificates()
                    .iter()
                    .map(|c| {
                        (
                            c.certificate_arn().unwrap_or_default().to_owned(),
                            c.is_default().unwrap_or(false),
                        )
                    })
                    .collect();
                all.insert(format!("HTTPS:{}", l.port().unwrap_or_default()), certs);
            }
            all
        })
    }

    async fn parameter_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        let mut pages = self.ssm.describe_parameters().into_paginator().send();
        while let Some(page) = pages.next().await {
            names.extend(
                page.expect("describe parameters")
                    .parameters()
                    .iter()
                    .filter_map(|p| p.name().map(str::to_owned)),
            );
        }
        names.sort();
        names
    }

    async fn record_sets(&self) -> Vec<(String, aws_sdk_route53::types::ResourceRecordSet)> {
        let mut all = Vec::new();
        for zone in self
            .route53
            .list_hosted_zones()
            .send()
            .await
            .expect("zones")
            .hosted_zones()
        {
            let mut request = self
                .route53
                .list_resource_record_sets()
                .hosted_zone_id(zone.id());
            loop {
                let page = request.clone().send().await.expect("record sets");
                all.extend(
                    page.resource_record_sets()
                        .iter()
                        .map(|rs| (zone.name().to_owned(), rs.clone())),
                );
                if !page.is_truncated() {
                    break;
                }
                request = request
                    .set_start_record_name(page.next_record_name().map(str::to_owned))
                    .set_start_record_type(page.next_record_type().cloned());
            }
        }
        all
    }

    /// A parameter's current value (decrypted).
    pub fn param(&self, name: &str) -> Option<String> {
        self.block_on(async {
            match self
                .ssm
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
            {
                Ok(out) => out.parameter().and_then(|p| p.value().map(str::to_owned)),
                Err(_) => None,
            }
        })
    }

    pub fn put_param(&self, name: &str, value: &str) {
        self.block_on(async {
            self.ssm
                .put_parameter()
                .name(name)
                .value(value)
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .overwrite(true)
                .send()
                .await
                .expect("put parameter");
        });
    }

    /// Sets a record by hand (UPSERT), as an operator in the console would.
    pub fn upsert_record(&self, zone_name: &str, name: &str, rtype: &str, value: &str) {
        use aws_sdk_route53::types::{
            Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
        };
        self.block_on(async {
            let zones = self
                .route53
                .list_hosted_zones_by_name()
                .dns_name(zone_name)
                .send()
                .await
                .expect("zones");
            let zone = zones.hosted_zones()[0].id().to_owned();
            let set = ResourceRecordSet::builder()
                .name(name)
                .r#type(RrType::from(rtype))
                .ttl(60)
                .resource_records(ResourceRecord::builder().value(value).build().unwrap())
                .build()
                .unwrap();
            let change = Change::builder()
                .action(ChangeAction::Upsert)
                .resource_record_set(set)
                .build()
                .unwrap();
            self.route53
                .change_resource_record_sets()
                .hosted_zone_id(zone)
                .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
                .send()
                .await
                .expect("change the record");
        });
    }

    /// Sets an environment property by hand (UpdateEnvironment), then waits until the
    /// environment is Ready again.
    pub fn set_env_property(&self, environment: &str, name: &str, value: &str) {
        use aws_sdk_elasticbeanstalk::types::ConfigurationOptionSetting;
        self.block_on(async {
            self.eb
                .update_environment()
                .environment_name(environment)
                .option_settings(
                    ConfigurationOptionSetting::builder()
                        .namespace("aws:elasticbeanstalk:application:environment")
                        .option_name(name)
                        .value(value)
                        .build(),
                )
                .send()
                .await
                .expect("update the environment");
        });
        for _ in 0..100 {
            if self.environment(environment).0 == "Ready" {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("{environment} did not come back to Ready");
    }

    /// The value of a non-routed record, as `values` joined by commas.
    pub fn record(&self, name: &str, rtype: &str) -> Option<String> {
        self.block_on(async {
            self.record_sets()
                .await
                .into_iter()
                .find(|(_, rs)| {
                    rs.name() == name
                        && rs.r#type().as_str() == rtype
                        && rs.set_identifier().is_none()
                })
                .map(|(_, rs)| {
                    rs.resource_records()
                        .iter()
                        .map(|r| r.value().to_owned())
                        .collect::<Vec<_>>()
                        .join(",")
                })
        })
    }

    /// Every file standin wrote in the world's directory (journals, lock, saved plans): all
    /// but the tests' playbooks and the emulator's own log, concatenated.
    pub fn written_files(&self) -> String {
        fn walk(dir: &Path, out: &mut String) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension() != Some("yaml".as_ref())
                    && path.file_name() != Some("emulator.log".as_ref())
                {
                    out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
                }
            }
        }
        let mut out = String::new();
        walk(self.dir.path(), &mut out);
        assert!(!out.is_empty(), "standin wrote no state to check");
        out
    }

    /// Fails the test (after stopping the emulator) if any Run Command invocation's output, of
    /// any command the emulator ran, holds a SecureString value of its Parameter Store: any
    /// version, in any account and region, and each value of a SecureString that is a whole
    /// `.env`. Run Command keeps outputs in its history, where every reader of the account sees
    /// them. Values shorter than 6 characters are left out: they turn up in any output by chance
    /// (a hex digest holds most 2-character strings). Does nothing while the test is already
    /// failing.
    fn assert_no_secret_in_run_command_output(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let read = |path: &str| -> Result<Vec<serde_json::Value>, String> {
            let url = format!("{}/moto-api/standin/{path}", self.endpoint);
            let text = self
                .block_on(async { reqwest::get(&url).await?.text().await })
                .map_err(|e| format!("{url}: {e}"))?;
            serde_json::from_str(&text).map_err(|e| format!("{url}: {e}"))
        };
        let leak = read("run-command-outputs").and_then(|outputs| {
            let mut secrets = Vec::new();
            for s in read("secure-strings")? {
                let name = s["name"].as_str().unwrap_or_default();
                let value = s["value"].as_str().unwrap_or_default();
                secrets.push((format!("{name} (version {})", s["version"]), value.to_owned()));
                for line in value.lines().map(str::trim) {
                    let line = line.strip_prefix("export ").unwrap_or(line);
                    if let Some((key, v)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
                        let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
                        secrets.push((format!("{} in the .env {name}", key.trim()), v.to_owned()));
                    }
                }
            }
            for output in &outputs {
                let text = format!("{}\n{}", output["stdout"].as_str().unwrap_or_default(), output["stderr"].as_str().unwrap_or_default());
                if let Some((what, _)) = secrets
                    .iter()
                    .find(|(_, secret)| secret.chars().count() >= 6 && text.contains(secret.as_str()))
                {
                    return Err(format!(
                        "the output of Run Command {} on {} holds the value of the SecureString {what}",
                        output["command_id"], output["instance_id"]
                    ));
                }
            }
            Ok(())
        });
        if let Err(leak) = leak {
            let _ = self.child.kill();
            let _ = self.child.wait();
            panic!("{leak}");
        }
    }

    /// Asserts that no seeded secret appears in `text`.
    #[track_caller]
    pub fn assert_no_secrets(text: &str) {
        for secret in SECRETS {
            assert!(
                !text.contains(secret),
                "a seeded secret leaked into output or files"
            );
        }
    }
}

impl World {
    /// The requests the oracle (harness/oracle.py) found AWS would refuse for their form,
    /// so far: one JSON object per broken rule (`service`, `operation`, `member`, `rule`,
    /// `constraint`, `value`, `request`).
    pub fn violations(&self) -> Vec<serde_json::Value> {
        self.oracle(reqwest::Method::GET)
    }

    /// The oracle's violations so far, forgotten: a test that sends a bad request on purpose
    /// takes them, and asserts on them, so that dropping the world does not fail it.
    pub fn take_violations(&self) -> Vec<serde_json::Value> {
        self.oracle(reqwest::Method::DELETE)
    }

    fn oracle(&self, method: reqwest::Method) -> Vec<serde_json::Value> {
        let url = format!("{}/__oracle/violations", self.endpoint);
        let text = self
            .block_on(async {
                reqwest::Client::new()
                    .request(method, url)
                    .send()
                    .await?
                    .text()
                    .await
            })
            .expect("the oracle answers");
        serde_json::from_str(&text).expect("violations as JSON")
    }

    /// Fails the test whose requests broke a rule of AWS's models (unless it is failing
    /// already, or its emulator is gone): the emulator is stopped, then the panic names each.
    fn fail_on_violations(&mut self) {
        if std::thread::panicking() || !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let found = self.violations();
        if found.is_empty() {
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let lines: Vec<String> = found
            .iter()
            .map(|v| {
                let field = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
                format!(
                    "  {} {} {} [{}]: {}{} ({})",
                    field("service"),
                    field("operation"),
                    field("member"),
                    field("rule"),
                    field("constraint"),
                    v["value"]
                        .as_str()
                        .map(|value| format!(", value {value:?}"))
                        .unwrap_or_default(),
                    field("request"),
                )
            })
            .collect();
        panic!(
            "the oracle found {} violation(s) of AWS's service models in this test's requests \
             (harness/oracle.py; a test that sends them on purpose takes them with \
             World::take_violations):\n{}",
            found.len(),
            lines.join("\n")
        );
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.assert_no_secret_in_run_command_output();
        self.fail_on_violations();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// harness/proxy.py in front of a world's emulator.
pub struct Proxy {
    child: Child,
    pub url: String,
}

impl Proxy {
    pub fn start(world: &World) -> Self {
        let python = std::env::var("STANDIN_PYTHON").unwrap_or_else(|_| {
            repo()
                .join("harness/.venv/bin/python")
                .display()
                .to_string()
        });
        let mut child = Command::new(python)
            .arg(repo().join("harness/proxy.py"))
            .arg(&world.endpoint)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the proxy");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("READY line");
        let url = line
            .strip_prefix("READY ")
            .expect("READY")
            .trim()
            .to_owned();
        Self { child, url }
    }

    /// The calls made so far, by action (GET /__proxy/counts).
    pub fn counts(&self, world: &World) -> BTreeMap<String, u64> {
        let text = world
            .block_on(async {
                reqwest::Client::new()
                    .get(format!("{}/__proxy/counts", self.url))
                    .send()
                    .await?
                    .text()
                    .await
            })
            .expect("the proxy answers");
        serde_json::from_str(&text).expect("counts as JSON")
    }

    /// Forgets the calls counted so far.
    pub fn reset_counts(&self, world: &World) {
        world
            .block_on(
                reqwest::Client::new()
                    .delete(format!("{}/__proxy/counts", self.url))
                    .send(),
            )
            .expect("the proxy answers");
    }

    /// POST /__proxy/faults: the faults from now on.
    pub fn faults(&self, world: &World, rules: &serde_json::Value) {
        let answer = world
            .block_on(
                reqwest::Client::new()
                    .post(format!("{}/__proxy/faults", self.url))
                    .header("Content-Type", "application/json")
                    .body(rules.to_string())
                    .send(),
            )
            .expect("the proxy answers");
        assert!(answer.status().is_success(), "{answer:?}");
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `standin` process running in the background, its output collected as it comes, so a
/// test can act when a line appears (e.g. that a signal was seen) instead of sleeping.
pub struct Running {
    child: Child,
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Running {
    fn start(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start standin");
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let collect = |stream: Box<dyn std::io::Read + Send>,
                       into: std::sync::Arc<std::sync::Mutex<String>>| {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    into.lock().unwrap().push_str(&line);
                    line.clear();
                }
            })
        };
        let readers = vec![
            collect(
                Box::new(child.stdout.take().expect("piped")),
                stdout.clone(),
            ),
            collect(
                Box::new(child.stderr.take().expect("piped")),
                stderr.clone(),
            ),
        ];
        Self {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    /// Sends a signal (`INT`, `TERM`, `HUP`, `KILL`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits (up to 30 s) until stderr or stdout contains `text`.
    #[track_caller]
    pub fn wait_for(&self, text: &str) {
        for _ in 0..300 {
            if self.stderr.lock().unwrap().contains(text)
                || self.stdout.lock().unwrap().contains(text)
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!(
            "no output mentioned {text:?} within 30s\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        );
    }

    /// Waits for the process to end.
    pub fn finish(mut self) -> Out {
        let status = self.child.wait().expect("wait");
        for reader in self.readers.drain(..) {
            reader.join().expect("reader");
        }
        Out {
            code: status.code().unwrap_or(-1),
            stdout: self.stdout.lock().unwrap().clone(),
            stderr: self.stderr.lock().unwrap().clone(),
        }
    }
}

/// splitmix64: tiny, fast, and the same sequence on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Random cases per test: small by default (these run on every `cargo test`), more on request.
pub fn cases(default: usize) -> usize {
    std::env::var("STANDIN_PROPERTY_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}
