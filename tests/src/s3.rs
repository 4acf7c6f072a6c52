//! The private S3 server (`scripts/s3-server.sh`, moto) for object-storage
//! tests: a fresh prefix per test in the `sluice-test` bucket, the keys of
//! its users, and the harness's own view of the bucket through boto3
//! (`scripts/s3-admin.py`), independent of sluice's client.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::process::Command;

use serde_json::Value;

use crate::db::workspace_root;

/// The bucket every test prefix lives in.
pub const BUCKET: &str = "sluice-test";

/// The server's endpoint, from `SLUICE_TEST_S3_ENDPOINT`.
pub fn s3_endpoint() -> String {
    std::env::var("SLUICE_TEST_S3_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "SLUICE_TEST_S3_ENDPOINT is not set: run the tests with `just test`, which starts a private S3 \
             server and sets it (or start one with `scripts/s3-server.sh start` and export \
             SLUICE_TEST_S3_ENDPOINT=$(scripts/s3-server.sh url))"
        )
    })
}

/// A fresh prefix of the test bucket: `s3://sluice-test/<random>`.
pub struct S3Prefix {
    prefix: String,
}

impl S3Prefix {
    pub fn new() -> Self {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(std::process::id().into());
        S3Prefix { prefix: format!("t{:016x}", hasher.finish()) }
    }

    /// `s3://sluice-test/<prefix>`.
    pub fn url(&self) -> String {
        format!("s3://{BUCKET}/{}", self.prefix)
    }

    /// The environment sluice reads its S3 settings from, as `user`
    /// (`writer` or `reader`).
    pub fn env_as(user: &str) -> Vec<(String, String)> {
        let users: Value = serde_json::from_str(
            &std::fs::read_to_string(workspace_root().join("target/test-s3/users.json"))
                .expect("target/test-s3/users.json (written by scripts/s3-server.sh start)"),
        )
        .expect("users.json");
        let keys = &users[user];
        vec![
            ("AWS_ENDPOINT_URL".into(), s3_endpoint()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID".into(), keys["id"].as_str().expect("id").into()),
            ("AWS_SECRET_ACCESS_KEY".into(), keys["secret"].as_str().expect("secret").into()),
        ]
    }

    /// The writer's environment.
    pub fn env() -> Vec<(String, String)> {
        Self::env_as("writer")
    }

    /// The writer's secret key, to look for in outputs.
    pub fn secret() -> String {
        Self::env().into_iter().find(|(k, _)| k == "AWS_SECRET_ACCESS_KEY").expect("secret").1
    }

    /// (key relative to the prefix, size, etag) of every object, as the
    /// server lists them.
    pub fn objects(&self) -> Vec<(String, u64, String)> {
        admin(&["keys", BUCKET, &format!("{}/", self.prefix)])
            .lines()
            .map(|line| {
                let mut parts = line.split(' ');
                let key = parts.next().expect("key");
                let size = parts.next().expect("size").parse().expect("size");
                let etag = parts.next().unwrap_or_default().to_owned();
                (key[self.prefix.len() + 1..].to_owned(), size, etag)
            })
            .collect()
    }

    /// Whether the object `key` exists.
    pub fn has(&self, key: &str) -> bool {
        self.objects().iter().any(|(k, _, _)| k == key)
    }

    /// Keys of the multipart uploads under the prefix the server still
    /// holds unfinished.
    pub fn unfinished_uploads(&self) -> Vec<String> {
        admin(&["uploads", BUCKET, &format!("{}/", self.prefix)]).lines().map(str::to_owned).collect()
    }

    /// Flips one byte of the object `key` in the bucket.
    pub fn tamper(&self, key: &str) {
        admin(&["tamper", BUCKET, &format!("{}/{key}", self.prefix)]);
    }
}

impl Default for S3Prefix {
    fn default() -> Self {
        Self::new()
    }
}

/// Parts of a multipart object, from its ETag (`<md5>-<parts>`); 1 for a
/// single PUT.
pub fn parts_of(etag: &str) -> u32 {
    etag.rsplit_once('-').map_or(1, |(_, n)| n.parse().expect("part count"))
}

fn admin(args: &[&str]) -> String {
    let output = Command::new(workspace_root().join("scripts/s3-server.sh"))
        .arg("admin")
        .args(args)
        .output()
        .expect("run scripts/s3-server.sh admin");
    assert!(output.status.success(), "s3-admin {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8")
}

/// Runs `sluice ARGS…` with `env` set (the S3 settings), bounded in time.
pub fn run_s3_env<I, S>(args: I, env: &[(String, String)]) -> crate::RunOutput
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let env: Vec<(&str, &std::ffi::OsStr)> = env.iter().map(|(k, v)| (k.as_str(), std::ffi::OsStr::new(v))).collect();
    crate::run_with_env(args, &env)
}

/// Runs `sluice ARGS…` as the writer.
pub fn run_s3<I, S>(args: I) -> crate::RunOutput
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    run_s3_env(args, &S3Prefix::env())
}
