//! Dumps straight to object storage: `s3://` locations on the private S3
//! server (moto, with authentication on and 64 KiB minimum parts), for all
//! three engines, with real faults: a tampered object, a dump killed
//! mid-upload, a proxy that cuts a connection mid-part, refused
//! credentials, a missing bucket, an endpoint nobody listens on. The
//! harness reads the bucket through boto3, not through sluice.

use std::process::Stdio;
use std::time::{Duration, Instant};

use sluice_tests::{
    Cut, CutProxy, MyDb, S3Prefix, SqliteDb, TestDb, assert_same_database, assert_same_mysql, assert_same_sqlite,
    parts_of, run_s3, run_s3_env, s3_endpoint, sluice_command,
};

/// 64 KiB parts: several per file from a few hundred KiB of data.
const PART: &str = "64KiB";

/// `sluice dump SOURCE --out URL -j JOBS` with small parts, then `extra`.
fn dump_args<'a>(source: &'a str, url: &'a str, jobs: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["dump", source, "--out", url, "-j", jobs, "--s3-part-size", PART, "--progress", "none"];
    args.extend_from_slice(extra);
    args
}

/// Dumps `source` to a fresh prefix with `-j 2` and small parts; checks
/// that some file took at least three parts and that `verify` passes.
fn dump_to_bucket(source: &str, extra: &[&str]) -> S3Prefix {
    let prefix = S3Prefix::new();
    let url = prefix.url();
    run_s3(dump_args(source, &url, "2", extra)).assert_success();
    let objects = prefix.objects();
    assert!(objects.iter().any(|(k, _, _)| k == "manifest.json"), "no manifest.json in {objects:?}");
    let most = objects.iter().map(|(_, _, etag)| parts_of(etag)).max().unwrap_or(0);
    assert!(most >= 3, "no file took three parts: {objects:?}");
    assert!(!objects.iter().any(|(k, _, _)| k.starts_with("uploads/")), "upload records left: {objects:?}");
    assert!(prefix.unfinished_uploads().is_empty(), "unfinished uploads after a finished dump");
    run_s3(["verify", &url, "--progress", "none"]).assert_success().assert_stdout_contains(": ok");
    prefix
}

fn restore_from(prefix: &S3Prefix, target: &str) {
    run_s3(["restore", &prefix.url(), target, "-j", "2", "--progress", "none"]).assert_success();
}

#[test]
fn a_postgres_dump_round_trips_through_a_bucket() {
    let source = TestDb::pagila();
    let prefix = dump_to_bucket(source.url(), &[]);
    run_s3(["inspect", &prefix.url()]).assert_success().assert_stdout_contains("public.rental");
    let target = TestDb::new();
    restore_from(&prefix, target.url());
    assert_same_database(&source, &target);
}

#[test]
fn a_mariadb_dump_round_trips_through_a_bucket() {
    let source = MyDb::sakila();
    let prefix = dump_to_bucket(source.url(), &[]);
    let target = MyDb::new();
    restore_from(&prefix, target.url());
    assert_same_mysql(&source, &target);
}

/// 100,000 rows of random text and bytes: about 4 MiB compressed.
fn random_sqlite() -> SqliteDb {
    let db = SqliteDb::new();
    db.exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL, b BLOB); \
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) \
         INSERT INTO t SELECT x, hex(randomblob(16)), randomblob(8) FROM c;",
    );
    db
}

#[test]
fn a_sqlite_dump_round_trips_through_a_bucket_and_a_tampered_object_is_named() {
    let source = random_sqlite();
    let prefix = dump_to_bucket(&source.url(), &[]);
    let target = SqliteDb::new();
    restore_from(&prefix, &target.url());
    assert_same_sqlite(&source, &target);

    let (victim, _, _) = prefix
        .objects()
        .into_iter()
        .filter(|(k, _, _)| k.starts_with("data/"))
        .max_by_key(|(_, size, _)| *size)
        .expect("a data file");
    prefix.tamper(&victim);
    run_s3(["verify", &prefix.url(), "--progress", "none"]).assert_code(1).assert_stderr_contains(&victim);
}

/// The operator's crash: a dump killed with SIGKILL while a file is being
/// uploaded in parts leaves no manifest and an unfinished upload on the
/// server; `sluice gc` aborts it, and `dump --resume` finishes the dump.
#[test]
fn a_dump_killed_mid_upload_leaves_no_manifest_and_gc_aborts_its_uploads() {
    let source = TestDb::new();
    source.exec(
        "CREATE TABLE public.wide (id int PRIMARY KEY, a text, b text); \
         INSERT INTO public.wide SELECT g, md5(g::text), md5((g * 7)::text) FROM generate_series(1, 400000) AS g;",
    );
    let prefix = S3Prefix::new();
    let url = prefix.url();
    // A slow uplink (1 MB/s): the dump is sure to be mid-upload when it is
    // killed, however fast the machine.
    let slow = CutProxy::start(s3_endpoint().trim_start_matches("http://"), Cut::SlowUpload { bytes_per_sec: 1 << 20 });
    let endpoint = format!("http://127.0.0.1:{}", slow.port());
    let args = dump_args(source.url(), &url, "1", &["--s3-endpoint", &endpoint]);
    let mut child =
        sluice_command(args).envs(S3Prefix::env()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    // An upload's record is written once the server has started it.
    while !prefix.objects().iter().any(|(k, _, _)| k.starts_with("uploads/") && k.ends_with(".json")) {
        assert!(child.try_wait().expect("wait").is_none(), "the dump ended before an upload was seen");
        assert!(Instant::now() < deadline, "no upload started within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().expect("SIGKILL");
    assert!(child.wait().expect("reap").code().is_none(), "the dump had finished before the kill");
    assert!(!prefix.has("manifest.json"), "a killed dump left a manifest");
    let orphans = prefix.unfinished_uploads();
    assert!(!orphans.is_empty(), "the kill left no unfinished upload to clean up");

    let gc = run_s3(["gc", &url]);
    gc.assert_success().assert_stdout_contains("removed");
    assert!(prefix.unfinished_uploads().is_empty(), "gc left unfinished uploads");

    run_s3(dump_args(source.url(), &url, "1", &["--resume", "--accept-new-snapshot"])).assert_success();
    assert!(prefix.unfinished_uploads().is_empty());
    run_s3(["verify", &url, "--progress", "none"]).assert_success();
    let target = TestDb::new();
    restore_from(&prefix, target.url());
    assert_same_database(&source, &target);
}

/// A connection cut while parts are being sent: the request is retried,
/// the summary says so, and the dump is whole.
#[test]
fn a_connection_cut_mid_part_is_retried_and_the_dump_verifies() {
    let source = random_sqlite();
    let server = s3_endpoint();
    let proxy = CutProxy::start(server.trim_start_matches("http://"), Cut::UploadOnce { after: 40_000 });
    let prefix = S3Prefix::new();
    let url = prefix.url();
    let endpoint = format!("http://127.0.0.1:{}", proxy.port());
    let source_url = source.url();
    let args = [
        "dump",
        &source_url,
        "--out",
        &url,
        "-j",
        "2",
        "--s3-part-size",
        PART,
        "--s3-endpoint",
        &endpoint,
        "--progress",
        "none",
    ];
    let dumped = run_s3(args);
    dumped.assert_success();
    assert_eq!(proxy.cuts(), 1, "the proxy cut no connection\n{dumped}");
    dumped.assert_stdout_contains("retried");
    run_s3(["verify", &url, "--progress", "none"]).assert_success();
    let target = SqliteDb::new();
    restore_from(&prefix, &target.url());
    assert_same_sqlite(&source, &target);
    assert!(prefix.unfinished_uploads().is_empty());
}

/// Refused credentials, a bucket that does not exist, an endpoint nobody
/// listens on, a user who may only read, a scheme sluice does not know:
/// each fails before any database work with one line that names the
/// problem, writes nothing, and never shows a secret.
#[test]
fn bad_locations_fail_at_once_with_one_clear_line_and_no_secret() {
    let source = SqliteDb::new();
    source.exec("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);");
    // A database nobody can reach: the location must fail first.
    let nowhere_db = "postgres://nobody@127.0.0.1:1/none";
    let prefix = S3Prefix::new();
    let url = prefix.url();
    let secret = S3Prefix::secret();

    let mut wrong = S3Prefix::env();
    for (key, value) in &mut wrong {
        if key == "AWS_SECRET_ACCESS_KEY" {
            *value = "wrong-secret-do-not-print".into();
        }
    }
    let refused = run_s3_env(["dump", nowhere_db, "--out", &url], &wrong);
    refused.assert_code(2).assert_stderr_contains("credentials were refused");
    assert!(
        !refused.stderr.contains("wrong-secret-do-not-print") && !refused.stdout.contains("wrong-secret"),
        "{refused}"
    );
    run_s3_env(["verify", &url], &wrong).assert_code(2).assert_stderr_contains("credentials were refused");

    run_s3(["dump", nowhere_db, "--out", "s3://sluice-no-such-bucket/p"])
        .assert_code(2)
        .assert_stderr_contains("bucket sluice-no-such-bucket does not exist");

    let reader = run_s3_env(["dump", nowhere_db, "--out", &url], &S3Prefix::env_as("reader"));
    reader.assert_code(2).assert_stderr_contains("access denied");

    let started = Instant::now();
    let unreachable = run_s3(["dump", &source.url(), "--out", &url, "--s3-endpoint", "http://127.0.0.1:1"]);
    unreachable.assert_code(1).assert_stderr_contains("cannot reach the endpoint");
    assert!(started.elapsed() < Duration::from_secs(60), "the retries are not bounded: {:?}", started.elapsed());

    for output in [&refused, &reader, &unreachable] {
        assert!(!output.stderr.contains(&secret) && !output.stdout.contains(&secret), "a secret was shown\n{output}");
        let errors: Vec<&str> = output.stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "one error line\n{output}");
    }
    assert!(prefix.objects().is_empty(), "a failed dump wrote {:?}", prefix.objects());

    let cwd = tempfile::tempdir().expect("tempdir");
    let gs = sluice_command(["dump", &source.url(), "--out", "gs://bucket/p"])
        .current_dir(cwd.path())
        .output()
        .expect("run");
    assert_eq!(gs.status.code(), Some(2), "{}", String::from_utf8_lossy(&gs.stderr));
    assert!(String::from_utf8_lossy(&gs.stderr).contains("gs:// is not supported"));
    assert_eq!(std::fs::read_dir(cwd.path()).expect("read").count(), 0, "something was created for gs://");
}

/// `snapshot hold --until s3://…`: the holder ends by itself once the dump
/// that read in its snapshot has written its manifest to the bucket.
#[test]
fn a_held_snapshot_is_released_once_the_bucket_dump_is_complete() {
    use std::io::{BufRead, BufReader};

    let source = TestDb::small();
    let prefix = S3Prefix::new();
    let url = prefix.url();
    let mut holder = sluice_command(["snapshot", "hold", source.url(), "--until", &url])
        .envs(S3Prefix::env())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn snapshot hold");
    let mut name = String::new();
    BufReader::new(holder.stdout.as_mut().expect("stdout")).read_line(&mut name).expect("first line");
    let name = name.trim().to_owned();
    assert!(!name.is_empty(), "snapshot hold printed no name");
    run_s3(["dump", source.url(), "--out", &url, "--snapshot", &name, "--progress", "none"]).assert_success();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = holder.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the holder did not see the manifest in the bucket");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "snapshot hold ended {status}");
    let target = TestDb::new();
    restore_from(&prefix, target.url());
    assert_same_database(&source, &target);
}
