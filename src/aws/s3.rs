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
