//! S3 objects written only with conditions, for a state shared through a bucket (`--state
//! s3://BUCKET/PREFIX`): a write names the version it replaces (`If-Match`, the ETag of the
//! last read or write) or says there must be none (`If-None-Match: *`), so two writers never
//! overwrite each other unnoticed. The same scheme as Terraform's S3 lockfile.

use aws_sdk_s3::primitives::ByteStream;

use super::{AwsError, Call, Expect};

/// A bucket and a key prefix (empty, or without a trailing `/`).
#[derive(Clone, Debug)]
pub struct Bucket {
    client: aws_sdk_s3::Client,
    name: String,
    prefix: String,
}

/// One object, with the operations the state needs.
#[derive(Clone, Debug)]
pub struct Object {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
}

impl Bucket {
    /// Builds the client from `config`. A custom endpoint (an emulator, MinIO) gets path-style
    /// addressing, which such endpoints expect; AWS itself keeps virtual-hosted style.
    pub fn new(config: &aws_config::SdkConfig, name: &str, prefix: &str) -> Self {
        let s3 = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .interceptor(super::calls::Logged(None))
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(s3),
            name: name.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        }
    }

    fn key(&self, path: &str) -> String {
        if self.prefix.is_empty() {
            path.to_owned()
        } else {
            format!("{}/{path}", self.prefix)
        }
    }

    pub fn object(&self, path: &str) -> Object {
        Object {
            client: self.client.clone(),
            bucket: self.name.clone(),
            key: self.key(path),
        }
    }

    /// Every key under `PREFIX/dir/`, relative to it.
    pub async fn list(&self, dir: &str) -> Result<Vec<String>, AwsError> {
        let under = self.key(&format!("{dir}/"));
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.name)
            .prefix(&under)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.op("S3.ListObjectsV2")?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key()?.strip_prefix(&under).map(str::to_owned)),
            );
        }
        Ok(keys)
    }
}

impl Object {
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// The object's bytes and version (its ETag); `None` when there is no such object.
    pub async fn get(&self) -> Result<Option<(Vec<u8>, String)>, AwsError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .send()
            .await
            .op("S3.GetObject")
        {
            Ok(out) => out,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let etag = out.e_tag().unwrap_or_default().to_owned();
        let body = out.body.collect().await.map_err(|e| AwsError {
            operation: "S3.GetObject",
            code: None,
            message: format!("reading the body: {}", super::error_chain(&e)),
            kind: super::Kind::Other,
        })?;
        Ok(Some((body.to_vec(), etag)))
    }

    /// Writes `body` if the object is as expected (`If-None-Match: *`, `If-Match: ETAG`), and
    /// returns its new ETag; `None` when it is not (another writer came first, or it was
    /// deleted).
    pub async fn put(&self, body: Vec<u8>, expect: Expect<'_>) -> Result<Option<String>, AwsError> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        let request = match expect {
            Expect::Absent => request.if_none_match("*"),
            Expect::Version(etag) => request.if_match(etag),
        };
        match request.send().await.op("S3.PutObject") {
            Ok(out) => Ok(Some(out.e_tag().unwrap_or_default().to_owned())),
            Err(e) if e.is_condition_failed() || e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes the object if its ETag is still `etag`; `false` when it is not.
    pub async fn delete(&self, etag: &str) -> Result<bool, AwsError> {
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .if_match(etag)
            .send()
            .await
            .op("S3.DeleteObject")
        {
            Ok(_) => Ok(true),
            Err(e) if e.is_condition_failed() || e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

pub use crate::config::RetainMode as LockMode;

fn sdk_mode(mode: LockMode) -> aws_sdk_s3::types::ObjectLockMode {
    match mode {
        LockMode::Governance => aws_sdk_s3::types::ObjectLockMode::Governance,
        LockMode::Compliance => aws_sdk_s3::types::ObjectLockMode::Compliance,
    }
}

/// A bucket's S3 Object Lock, as GetObjectLockConfiguration says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// The bucket has no Object Lock: no object can be retained.
    Off,
    /// Object Lock is on; its default retention for new objects, if it has one (mode, days).
    On(Option<(LockMode, u64)>),
}

/// Where and until when an object is kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub mode: LockMode,
    pub until: std::time::SystemTime,
}

impl Bucket {
    /// The bucket's Object Lock (`s3:GetBucketObjectLockConfiguration`).
    pub async fn lock(&self) -> Result<Lock, AwsError> {
        let out = match self
            .client
            .get_object_lock_configuration()
            .bucket(&self.name)
            .send()
            .await
            .op("S3.GetObjectLockConfiguration")
        {
            Ok(out) => out,
            // Not a modelled error: AWS's code for a bucket without Object Lock.
            Err(e) if e.code.as_deref() == Some("ObjectLockConfigurationNotFoundError") => {
                return Ok(Lock::Off)
            }
            Err(e) => return Err(e),
        };
        let Some(config) = out.object_lock_configuration() else {
            return Ok(Lock::Off);
        };
        if config.object_lock_enabled() != Some(&aws_sdk_s3::types::ObjectLockEnabled::Enabled) {
            return Ok(Lock::Off);
        }
        let default = config
            .rule()
            .and_then(|r| r.default_retention())
            .and_then(|d| {
                let mode = match d.mode()? {
                    aws_sdk_s3::types::ObjectLockRetentionMode::Compliance => LockMode::Compliance,
                    _ => LockMode::Governance,
                };
                // Exactly one of days and years is set (AWS); a year of Object Lock is 365 days.
                let days = match (d.days(), d.years()) {
                    (Some(days), _) if days > 0 => u64::try_from(days).ok()?,
                    (_, Some(years)) if years > 0 => u64::try_from(years).ok()? * 365,
                    _ => return None,
                };
                Some((mode, days))
            });
        Ok(Lock::On(default))
    }

    /// Writes `PREFIX/path` (over any object there: each upload is a new version), retained
    /// as `retention` says, else as the bucket's default says.
    pub async fn upload(
        &self,
        path: &str,
        body: Vec<u8>,
        content_type: &str,
        retention: Option<Retention>,
    ) -> Result<(), AwsError> {
        let mut request = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(self.key(path))
            .content_type(content_type)
            .body(ByteStream::from(body));
        if let Some(r) = retention {
            request = request
                .object_lock_mode(sdk_mode(r.mode))
                .object_lock_retain_until_date(aws_smithy_types::DateTime::from(r.until));
        }
        request.send().await.op("S3.PutObject").map(drop)
    }
}
