//! Salted SHA-256 digests: how standin compares a value it must not keep (a worker's setting,
//! a `--var` value) with another, without writing the value anywhere. A random salt per use
//! means a digest cannot be looked up in a table made in advance nor matched across uses; a
//! value with few possibilities can still be found by trying them, a random secret cannot.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

/// A fresh random salt, as 32 hex digits.
pub fn salt() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The SHA-256 of `salt`, a newline, then `text`, as hex: what `sha256sum` prints for the
/// same bytes.
pub fn salted(salt: &str, text: &str) -> String {
    format!("{:x}", Sha256::digest(format!("{salt}\n{text}")))
}
