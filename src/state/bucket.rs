//! Journals kept as objects of a state bucket: each record rewrites the whole object with
//! `If-Match` the ETag of this journal's last write, so no other writer's records can be lost
//! or interleaved unnoticed.

use std::io;

use crate::aws::s3::Object;
use crate::aws::Expect;
use crate::engine::journal::{Fence, Journal, Store, Superseded};
use crate::engine::record::ReadError;

/// A journal object, as this process last wrote (or read) it.
pub struct ObjectStore {
    object: Object,
    run_id: String,
    bytes: Vec<u8>,
    etag: String,
}

impl ObjectStore {
    async fn append(&mut self, line: &[u8]) -> io::Result<()> {
        let mut next = self.bytes.clone();
        next.extend_from_slice(line);
        let written = self
            .object
            .put(next.clone(), Expect::Version(&self.etag))
            .await
            .map_err(io::Error::other)?;
        let etag = match written {
            Some(etag) => etag,
            None => match self.object.get().await.map_err(io::Error::other)? {
                // Our own write, landed twice (the SDK retried it after a lost answer).
                Some((now, etag)) if now == next => etag,
                _ => {
                    return Err(io::Error::other(Superseded(format!(
                        "another process wrote the journal of run {} since this one did; stop and look (`standin status {}`, with the same --state)",
                        self.run_id, self.run_id
                    ))))
                }
            },
        };
        self.bytes = next;
        self.etag = etag;
        Ok(())
    }
}

impl Store for ObjectStore {
    /// The PUT answering is the durability point; no stop may cut it in half, so it blocks.
    fn append(&mut self, line: &[u8]) -> io::Result<()> {
        crate::aws::block_on(ObjectStore::append(self, line))?
    }

    fn bytes(&self) -> io::Result<Vec<u8>> {
        Ok(self.bytes.clone())
    }
}

fn journal(object: Object, run_id: &str, bytes: Vec<u8>, etag: String, fence: Fence) -> Journal {
    Journal::new(
        object.url(),
        Box::new(ObjectStore {
            object,
            run_id: run_id.to_owned(),
            bytes,
            etag,
        }),
        fence,
    )
}

/// Creates the journal of a new run as an object that must not exist yet.
pub async fn create(object: Object, run_id: &str, fence: Fence) -> io::Result<Journal> {
    let etag = object
        .put(Vec::new(), Expect::Absent)
        .await
        .map_err(io::Error::other)?
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("run {run_id} already has a journal"),
            )
        })?;
    Ok(journal(object, run_id, Vec::new(), etag, fence).created())
}

/// Reads a journal object, to append to it from where it is now.
pub async fn open(object: Object, run_id: &str, fence: Fence) -> Result<Journal, ReadError> {
    let io = |source| ReadError::Io {
        location: object.url(),
        source,
    };
    let (bytes, etag) = object
        .get()
        .await
        .map_err(|e| io(io::Error::other(e)))?
        .ok_or_else(|| io(io::ErrorKind::NotFound.into()))?;
    Ok(journal(object, run_id, bytes, etag, fence))
}
