//! The check that a worker runs with the settings it should: a script for Run Command that
//! reads the environment of the worker's service's main process (`/proc/PID/environ`, what it
//! loaded when it last started; a root shell's own environment holds none of it) and prints,
//! for each setting, a salted SHA-256 digest of `NAME=VALUE`, which standin compares with the
//! digest of the value expected. No value leaves the instance: Run Command keeps a command's
//! output in its history, and the output holds digests only.
//!
//! What someone who reads that history learns: the names checked, which ones a worker lacks,
//! and whether workers of one check hold the same value (same salt). The salt is random per
//! check and printed in the command, so a value cannot be looked up in a table made in advance
//! nor followed from one check to the next, but a guess can be tested: a value with few
//! possibilities (`true`, a host among a handful) can be found by trying them, a random secret
//! cannot.

use std::collections::BTreeMap;

/// One check: the service whose process is read, the settings, and this check's salt.
pub struct EnvCheck {
    service: String,
    keys: Vec<String>,
    salt: String,
}

/// What a worker's process holds for a setting.
#[derive(Debug, PartialEq, Eq)]
pub enum Held {
    Missing,
    /// The salted digest of `NAME=VALUE`, as hex.
    Digest(String),
}

impl EnvCheck {
    /// A check with a fresh random salt. `service` and `keys` are checked by the kind
    /// (a unit name; environment variable names), so they need no quoting in the script.
    pub fn new(service: &str, keys: &[String]) -> std::io::Result<Self> {
        Ok(Self {
            service: service.to_owned(),
            keys: keys.to_vec(),
            salt: crate::digest::salt()?,
        })
    }

    /// The script's lines (POSIX sh; `systemctl`, GNU `grep -z`, `sha256sum`). `systemctl show
    /// -p MainPID` without `--value`, which systemd before 230 (Amazon Linux 2) lacks.
    pub fn script(&self) -> Vec<String> {
        let service = &self.service;
        let environ = "/proc/$pid/environ";
        [
            format!("pid=$(systemctl show -p MainPID {service}); pid=${{pid#MainPID=}}"),
            format!("if [ -z \"$pid\" ] || [ \"$pid\" = 0 ] || [ ! -r {environ} ]; then echo \"{service} is not running\" >&2; exit 3; fi"),
            format!("salt={}", self.salt),
            format!("for key in {}; do", self.keys.join(" ")),
            format!("  if grep -qz \"^$key=\" {environ}; then"),
            format!("    printf '%s %s\\n' \"$key\" \"$({{ printf '%s\\n' \"$salt\"; grep -z -m 1 \"^$key=\" {environ} | tr -d '\\000'; }} | sha256sum | cut -c 1-64)\""),
            "  else printf '%s -\\n' \"$key\"; fi".to_owned(),
            "done".to_owned(),
        ]
        .into()
    }

    /// The digest the script prints for `key` holding `value`.
    pub fn digest(&self, key: &str, value: &str) -> String {
        crate::digest::salted(&self.salt, &format!("{key}={value}"))
    }

    /// What the script printed: each key's digest or absence. `Err` when the output is not the
    /// script's (the message never quotes it).
    pub fn read(&self, stdout: &str) -> Result<BTreeMap<String, Held>, String> {
        let mut held = BTreeMap::new();
        for line in stdout.lines() {
            let (key, digest) = line
                .split_once(' ')
                .filter(|(k, _)| self.keys.iter().any(|wanted| wanted == k))
                .ok_or("its answer is not one `NAME DIGEST` line per setting")?;
            let now = match digest {
                "-" => Held::Missing,
                d if d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    Held::Digest(d.to_ascii_lowercase())
                }
                _ => return Err(format!("its digest of {key} is not SHA-256 hex")),
            };
            held.insert(key.to_owned(), now);
        }
        match self.keys.iter().find(|k| !held.contains_key(*k)) {
            Some(key) => Err(format!("its answer has nothing about {key}")),
            None => Ok(held),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> EnvCheck {
        EnvCheck::new("queue-worker", &["QUEUE_URL".into(), "DB_HOST".into()]).unwrap()
    }

    #[test]
    fn salts_differ_and_digests_bind_the_name() {
        let (a, b) = (check(), check());
        assert_ne!(a.salt, b.salt);
        assert_ne!(a.digest("K", "v"), b.digest("K", "v"));
        assert_ne!(a.digest("K", "v"), a.digest("L", "v"));
        assert_eq!(a.digest("K", "v").len(), 64);
    }

    #[test]
    fn reads_only_the_scripts_answer() {
        let c = check();
        let d = c.digest("QUEUE_URL", "q");
        let held = c.read(&format!("QUEUE_URL {d}\nDB_HOST -\n")).unwrap();
        assert_eq!(held["QUEUE_URL"], Held::Digest(d));
        assert_eq!(held["DB_HOST"], Held::Missing);
        assert!(c.read("QUEUE_URL=q\nDB_HOST -\n").is_err());
        assert!(c.read("QUEUE_URL -\n").unwrap_err().contains("DB_HOST"));
        assert!(c.read("QUEUE_URL secret\nDB_HOST -\n").is_err());
        let err = c.read("PASSWORD hunter2\n").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }

    /// The script, run by `sh` against a real process whose environment holds awkward values,
    /// prints the digests standin computes, and `-` for a name the process lacks.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_script_agrees_with_standin_on_a_real_process() {
        use std::process::{Command, Stdio};
        let values = [
            ("QUEUE_URL", "https://sqs.example/q?a=b&c=d"),
            ("DB_HOST", "line one\nline 'two' \"three\" $HOME `x` é\n"),
        ];
        let mut worker = Command::new("sleep")
            .arg("30")
            .env_clear()
            .envs(values)
            .spawn()
            .unwrap();
        let bin = tempfile::tempdir().unwrap();
        let fake = bin.path().join("systemctl");
        std::fs::write(&fake, format!("#!/bin/sh\necho MainPID={}\n", worker.id())).unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let c = EnvCheck::new(
            "queue-worker",
            &["QUEUE_URL".into(), "DB_HOST".into(), "MISSING".into()],
        )
        .unwrap();
        let out = Command::new("sh")
            .arg("-c")
            .arg(c.script().join("\n"))
            .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        worker.kill().unwrap();
        worker.wait().unwrap();
        assert!(out.status.success(), "{out:?}");
        let held = c.read(&String::from_utf8(out.stdout).unwrap()).unwrap();
        for (key, value) in values {
            assert_eq!(held[key], Held::Digest(c.digest(key, value)), "{key}");
        }
        assert_eq!(held["MISSING"], Held::Missing);
    }
}
