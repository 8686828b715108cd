//! `http.check`: a gate. GETs a URL until it answers the expected status (and body text), e.g.
//! "production now answers from staging" or "the old staging URL answers 403".

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;

use crate::aws::error_chain;
use schemars::JsonSchema;
use serde::Deserialize;

use super::{
    duration, irreversible, one_line, Act, Action, Ctx, FieldError, Kind, NoUndo, Prepared,
    Resource, Step, StepError,
};

/// Fields of an `http.check` step.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    /// The URL to GET, http or https. Redirects are not followed: a redirect is an answer.
    url: String,
    /// The status to wait for.
    #[serde(default = "default_status")]
    expect_status: u16,
    /// Text the body must contain, when given.
    #[serde(default)]
    expect_body: Option<String>,
    /// How long to keep trying, the last try included: the gate never takes longer.
    #[serde(default = "default_within", deserialize_with = "duration::deserialize")]
    #[schemars(schema_with = "duration::schema")]
    within: Duration,
    /// Pause between tries.
    #[serde(default = "default_every", deserialize_with = "duration::deserialize")]
    #[schemars(schema_with = "duration::schema")]
    every: Duration,
    /// Connect to this address (`IP` or `IP:PORT`) instead of resolving the URL's host, like `curl
    /// --connect-to`: check an environment directly before DNS has moved, or where resolvers still
    /// cache the old answer. Empty: ordinary DNS.
    #[serde(default)]
    via: Option<String>,
}

/// What a gate reports before any answer came.
const NOTHING: &str = "nothing";

/// The longest a plan waits for the URL's current answer.
const PLAN_LOOK: Duration = Duration::from_secs(3);

fn default_status() -> u16 {
    200
}

fn default_within() -> Duration {
    Duration::from_secs(120)
}

fn default_every() -> Duration {
    Duration::from_secs(2)
}

impl Kind for HttpCheck {
    const NAME: &'static str = "http.check";
    const SUMMARY: &'static str =
        "gate: GET a URL until it answers the expected status (and body text), or fail the run";
    const EXAMPLE: &'static str = r#"
url: https://app.example.com/health
expect_status: 200
within: 3m
"#;
    const DOC: &'static str = r#"
GET a URL until it answers the expected status (and body text), or fail the run. Redirects are
not followed: a redirect is an answer.

The URL is shown and kept (plan, journal, reports, a drill's webhook) as scheme, host, port
and path only: credentials (`user:password@`), the query and the fragment are dropped (`?…`
says a query was there). A URL with credentials written anywhere in a playbook is a warning of
`validate` and `plan`, located (`FILE:LINE:COL: warning: ...`): pass such a URL with `--var`.
"#;
    type Undo = NoUndo;
    const GATE: bool = true;

    fn check(&self) -> Result<(), FieldError> {
        // A URL parser drops tabs and line breaks anywhere, and control characters and spaces
        // at either end, without a word (WHATWG URL): the URL checked would not be the one
        // written, e.g. from a `--var` with a stray line break.
        if let Some(c) = self
            .url
            .chars()
            .find(|c| matches!(c, '\t' | '\n' | '\r'))
            .or_else(|| {
                [self.url.chars().next(), self.url.chars().last()]
                    .into_iter()
                    .flatten()
                    .find(|c| c.is_ascii_control() || *c == ' ')
            })
        {
            return Err(FieldError::at(
                "url",
                format!(
                    "the URL holds {}, which URLs drop silently",
                    match c {
                        '\n' | '\r' => "a line break".to_owned(),
                        '\t' => "a tab".to_owned(),
                        ' ' => "a space at one end".to_owned(),
                        c => format!("a control character (U+{:04X}) at one end", c as u32),
                    }
                ),
            )
            .hint("write the URL on one line, with nothing around it"));
        }
        let url = reqwest::Url::parse(&self.url)
            .map_err(|e| FieldError::at("url", format!("invalid URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FieldError::at(
                "url",
                "only http and https URLs can be checked",
            ));
        }
        if self.via().is_err() {
            return Err(FieldError::at(
                "via",
                format!(
                    "`{}` is not an address",
                    self.via.as_deref().unwrap_or_default()
                ),
            )
            .hint("write an IP address, optionally with a port: `10.0.1.5` or `127.0.0.1:8080`"));
        }
        if !(100..=599).contains(&self.expect_status) {
            return Err(FieldError::at(
                "expect_status",
                "an HTTP status is between 100 and 599",
            ));
        }
        Ok(())
    }
}

impl HttpCheck {
    /// The URL as it may be shown and journaled: no credentials, query or fragment.
    fn shown(&self) -> String {
        crate::escape::url(&self.url)
    }

    fn wanted(&self) -> String {
        match &self.expect_body {
            Some(text) => format!("{} containing {text:?}", self.expect_status),
            None => self.expect_status.to_string(),
        }
    }

    /// `via` as a socket address (port 0: the URL's port); `None` when not given or empty.
    fn via(&self) -> Result<Option<SocketAddr>, ()> {
        match self.via.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => text
                .parse::<SocketAddr>()
                .or_else(|_| text.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 0)))
                .map(Some)
                .map_err(drop),
        }
    }

    fn client(&self) -> Result<reqwest::Client, StepError> {
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none());
        if let (Ok(Some(addr)), Some(host)) = (
            self.via(),
            reqwest::Url::parse(&self.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned)),
        ) {
            builder = builder.resolve(&host, addr);
        }
        builder.build().map_err(|e| {
            StepError::failed(self.shown(), format!("cannot build an HTTP client: {e}"))
        })
    }

    /// One GET: `Ok(())` when it answers as wanted, else what it answered.
    async fn probe(&self, client: &reqwest::Client) -> Result<(), String> {
        let response = client
            .get(&self.url)
            .send()
            .await
            .map_err(|e| error_chain(&e.without_url()))?;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        let body_ok = self
            .expect_body
            .as_ref()
            .is_none_or(|text| body.contains(text.as_str()));
        if status == self.expect_status && body_ok {
            Ok(())
        } else if status == self.expect_status {
            Err(format!("{status} without the expected text"))
        } else {
            Err(status.to_string())
        }
    }
}

#[async_trait]
impl Step for HttpCheck {
    async fn plan(&self, _ctx: &Ctx) -> Result<Prepared, StepError> {
        // One quick look, for the plan to show; the gate itself tries for `within`.
        let client = self.client()?;
        let look = tokio::time::timeout(self.within.min(PLAN_LOOK), self.probe(&client));
        let now = match look.await {
            Ok(Ok(())) => self.wanted(),
            Ok(Err(answer)) => answer,
            Err(_) => "no answer in time".to_owned(),
        };
        Ok(one_line(
            Action::Check,
            Resource::Url { url: self.shown() },
            Some(now),
            format!(
                "answers {} within {}",
                self.wanted(),
                humantime::format_duration(self.within)
            ),
            irreversible(self.clone(), "an HTTP check changes nothing"),
        ))
    }
}

#[async_trait]
impl Act for HttpCheck {
    /// Tries until the answer is right, within `within` in all: the last attempt is cut
    /// short too, so the gate never outlasts what the playbook says.
    async fn act(&self, ctx: &Ctx) -> Result<(), StepError> {
        let client = self.client()?;
        let resource = format!("GET {}", self.shown());
        let deadline = tokio::time::Instant::now() + self.within;
        let mut last = NOTHING.to_owned();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(StepError::failed(
                    resource,
                    format!(
                        "answered {last}, not {}, for {}",
                        self.wanted(),
                        humantime::format_duration(self.within)
                    ),
                ));
            }
            let attempt = tokio::time::timeout(left, self.probe(&client));
            match ctx.waits.stop.until(attempt).await {
                Err(stopped) => return Err(StepError::interrupted(&resource)(stopped)),
                Ok(Ok(Ok(()))) => return Ok(()),
                Ok(Ok(Err(answer))) => last = answer,
                // A slow last try does not hide what earlier tries were answered.
                Ok(Err(_)) if last == NOTHING => last = "no answer in time".to_owned(),
                Ok(Err(_)) => {}
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            ctx.waits.told.tell(
                &format!("{resource} answered {last}"),
                self.within.saturating_sub(left),
            );
            ctx.waits
                .stop
                .sleep(self.every.min(left))
                .await
                .map_err(StepError::interrupted(&resource))?;
        }
    }
}
