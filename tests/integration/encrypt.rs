//! Encryption at rest: dumps encrypted to age X25519 recipients (or in
//! passphrase mode), for all three engines, local and `s3://`, checked with
//! the real `age`, `zstd` and `minisign` CLIs: plain `verify` needs no key,
//! tampering and swapped chunks are caught, a wrong or missing key fails
//! closed, and no plaintext value is anywhere in the dump directory.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_tests::{
    DumpDir, MyDb, S3Prefix, SqliteDb, TestDb, assert_same_database, assert_same_mysql, assert_same_sqlite, chunk_path,
    chunks_of, run, run_s3, run_with_env, sha256_file, sluice_command, table_entry,
};
use tempfile::TempDir;

/// An age key pair made by the real `age-keygen`: the identity file and its
/// public recipient.
struct AgeKey {
    _dir: TempDir,
    identity: String,
    recipient: String,
}

impl AgeKey {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let out = Command::new("age-keygen")
            .arg("-o")
            .arg(dir.path().join("key.txt"))
            .output()
            .expect("age-keygen (installed by scripts/setup.sh)");
        assert!(out.status.success(), "age-keygen failed: {}", String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let recipient = stderr
            .lines()
            .find_map(|l| l.strip_prefix("Public key: "))
            .unwrap_or_else(|| panic!("no public key in {stderr:?}"))
            .trim()
            .to_owned();
        let identity = dir.path().join("key.txt").to_str().expect("utf-8").to_owned();
        AgeKey { _dir: dir, identity, recipient }
    }

    fn identity(&self) -> &Path {
        Path::new(&self.identity)
    }

    /// The identity file as a command-line argument.
    fn identity_arg(&self) -> &str {
        &self.identity
    }

    /// The secret line of the identity file.
    fn secret(&self) -> String {
        std::fs::read_to_string(self.identity())
            .expect("read key")
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .expect("a secret key line")
            .to_owned()
    }
}

/// `sluice dump SOURCE --out DIR --progress none ARGS…`.
fn dump_args<'a>(source: &'a str, dir: &'a DumpDir, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["dump", source, "--out", dir.arg(), "-j", "2", "--progress", "none"];
    args.extend_from_slice(extra);
    args
}

/// The checks every encrypted dump passes: only `*.age` files apart from the
/// manifest, `verify` with no key, `verify --decrypt` with the key.
#[track_caller]
fn assert_encrypted_and_verifiable(dir: &DumpDir, key: &AgeKey) {
    for file in files_under(dir.path()) {
        let rel = file.strip_prefix(dir.path()).expect("under the dump").to_string_lossy().into_owned();
        assert!(rel == "manifest.json" || rel.ends_with(".age"), "{rel} is stored in the clear");
    }
    let manifest = dir.manifest();
    assert_eq!(manifest["encryption"]["scheme"], "age-v1-x25519");
    let recipients = manifest["encryption"]["recipients"].as_array().expect("recipients");
    assert!(recipients.iter().any(|r| r == key.recipient.as_str()), "{recipients:?}");
    assert!(!dir.manifest_text().contains("AGE-SECRET-KEY"), "the manifest holds a secret key");
    run(["verify", dir.arg(), "--progress", "none"]).assert_success().assert_stdout_contains(": ok");
    run(["verify", dir.arg(), "--decrypt", "--progress", "none"])
        .assert_code(2)
        .assert_stderr_contains("verify --decrypt needs a key");
    run(["verify", dir.arg(), "--decrypt", "--identity", key.identity_arg(), "--progress", "none"])
        .assert_success()
        .assert_stdout_contains("rows: ok");
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())).flatten() {
            let path = entry.path();
            if path.is_dir() { todo.push(path) } else { out.push(path) }
        }
    }
    out.sort();
    out
}

/// Whether any file under `dir` holds `needle`.
fn found_in(dir: &Path, needle: &str) -> Option<PathBuf> {
    files_under(dir).into_iter().find(|f| {
        let bytes = std::fs::read(f).expect("read");
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
    })
}

#[test]
fn an_encrypted_postgres_dump_round_trips_and_verifies_without_the_key() {
    let key = AgeKey::new();
    let source = TestDb::pagila();
    let dir = DumpDir::new();
    // CSV here (the interop test below has COPY text): every format is sealed alike.
    let out = run(dump_args(source.url(), &dir, &["--encrypt-to", &key.recipient, "--format", "csv"]));
    out.assert_success();
    assert_encrypted_and_verifiable(&dir, &key);
    assert!(dir.chunk_file("public", "film", 0).to_string_lossy().ends_with(".csv.zst.age"));
    let manifest = dir.manifest_text();
    assert!(!manifest.contains(&key.secret()), "the manifest holds the secret key");
    assert!(!out.stderr.contains("AGE-SECRET-KEY") && !out.stdout.contains("AGE-SECRET-KEY"));

    let target = TestDb::new();
    run(["restore", dir.arg(), target.url(), "-j", "2", "--identity", key.identity_arg(), "--progress", "none"])
        .assert_success();
    assert_same_database(&source, &target);
}

#[test]
fn an_encrypted_mariadb_dump_round_trips_with_the_identity_from_the_environment() {
    let key = AgeKey::new();
    let source = MyDb::sakila();
    let dir = DumpDir::new();
    run(dump_args(source.url(), &dir, &["--encrypt-to", &key.recipient])).assert_success();
    assert_encrypted_and_verifiable(&dir, &key);
    let target = MyDb::new();
    let identity = key.identity();
    run_with_env(
        ["restore", dir.arg(), target.url(), "-j", "2", "--progress", "none"],
        &[("SLUICE_AGE_IDENTITY_FILE", identity.as_os_str())],
    )
    .assert_success();
    assert_same_mysql(&source, &target);
}

/// 20,000 rows of random text in `t`, and one known value in `u`.
fn random_sqlite() -> SqliteDb {
    let db = SqliteDb::new();
    db.exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL); \
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) \
         INSERT INTO t SELECT x, hex(randomblob(16)) FROM c; \
         CREATE TABLE u (id INTEGER PRIMARY KEY, w TEXT); INSERT INTO u VALUES (1, 'plainly-visible-sentinel');",
    );
    db
}

/// The recipients file form, with comments and two recipients (either opens).
#[test]
fn an_encrypted_sqlite_dump_round_trips_to_a_recipients_file() {
    let key = AgeKey::new();
    let other = AgeKey::new();
    let source = random_sqlite();
    let dir = DumpDir::new();
    let list = dir.path().with_extension("recipients");
    std::fs::write(&list, format!("# backup keys\n{}\n\n  {}  # the spare\n", key.recipient, other.recipient))
        .expect("write recipients");
    let url = source.url();
    run(dump_args(&url, &dir, &["--encrypt-to-file", list.to_str().expect("utf-8"), "--chunk-size", "64KiB"]))
        .assert_success();
    assert_encrypted_and_verifiable(&dir, &key);
    assert_eq!(dir.manifest()["encryption"]["recipients"].as_array().map(Vec::len), Some(2));
    assert!(found_in(dir.path(), "plainly-visible-sentinel").is_none());
    for k in [&key, &other] {
        let target = SqliteDb::new();
        run(["restore", dir.arg(), &target.url(), "--identity", k.identity_arg(), "--progress", "none"])
            .assert_success();
        assert_same_sqlite(&source, &target);
    }
}

/// `age -d` then `zstd -d` of an encrypted chunk gives the bytes that the
/// same chunk of an unencrypted dump decompresses to.
#[test]
fn an_encrypted_chunk_decrypts_with_the_age_cli_to_the_unencrypted_chunk() {
    let key = AgeKey::new();
    let source = TestDb::pagila();
    let plain = DumpDir::new();
    run(dump_args(source.url(), &plain, &[])).assert_success();
    let sealed = DumpDir::new();
    run(dump_args(source.url(), &sealed, &["--encrypt-to", &key.recipient])).assert_success();

    let encrypted = sealed.chunk_file("public", "rental", 0);
    assert!(encrypted.to_string_lossy().ends_with(".zst.age"), "{}", encrypted.display());
    let decrypted = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(key.identity())
        .arg(&encrypted)
        .output()
        .expect("age (installed by scripts/setup.sh)");
    assert!(decrypted.status.success(), "age -d failed: {}", String::from_utf8_lossy(&decrypted.stderr));
    let from_age = zstd_decompress(&decrypted.stdout);
    let from_plain = zstd_decompress(&std::fs::read(plain.chunk_file("public", "rental", 0)).expect("read chunk"));
    assert!(!from_plain.is_empty());
    assert!(from_age == from_plain, "the age CLI's plaintext differs from the unencrypted dump's chunk");
}

fn zstd_decompress(bytes: &[u8]) -> Vec<u8> {
    let mut child = Command::new("zstd")
        .args(["-d", "-c", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("zstd");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
    let out = child.wait_with_output().expect("zstd output");
    writer.join().expect("writer").expect("write to zstd");
    assert!(out.status.success(), "zstd -d failed");
    out.stdout
}

/// Flip a byte: `verify` names the file, `restore` names the chunk. Swap two
/// chunks and fix the manifest's sizes and checksums: plain `verify` cannot
/// tell, but `restore` and `verify --decrypt` fail on the binding.
#[test]
fn a_flipped_byte_and_swapped_chunks_are_caught() {
    let key = AgeKey::new();
    let source = random_sqlite();
    let url = source.url();
    let dir = DumpDir::new();
    run(dump_args(&url, &dir, &["--encrypt-to", &key.recipient, "--chunk-size", "64KiB"])).assert_success();
    let manifest = dir.manifest();
    let chunks: Vec<String> = chunks_of(table_entry(&manifest, "main", "t"))
        .iter()
        .map(|c| c["file"].as_str().expect("file").to_owned())
        .collect();
    assert!(chunks.len() >= 3, "want several chunks: {chunks:?}");

    // The swap: two chunk files trade places; the manifest follows.
    let (a, b) = (chunk_path(dir.path(), &chunks[1]), chunk_path(dir.path(), &chunks[2]));
    let (bytes_a, bytes_b) = (std::fs::read(&a).expect("read"), std::fs::read(&b).expect("read"));
    std::fs::write(&a, &bytes_b).expect("write");
    std::fs::write(&b, &bytes_a).expect("write");
    let mut fixed = manifest.clone();
    fix_up_chunks(&mut fixed, dir.path());
    std::fs::write(dir.manifest_path(), serde_json::to_vec_pretty(&fixed).expect("json")).expect("write manifest");
    run(["verify", dir.arg(), "--progress", "none"]).assert_success();
    run(["verify", dir.arg(), "--decrypt", "--identity", key.identity_arg(), "--progress", "none"])
        .assert_code(1)
        .assert_stderr_contains("the file was moved, swapped or copied in from elsewhere");
    let target = SqliteDb::new();
    run(["restore", dir.arg(), &target.url(), "--identity", key.identity_arg(), "--progress", "none"])
        .assert_code(1)
        .assert_stderr_contains(&format!("{} is bound to {}", chunks[1], chunks[2]));

    // The flip, on a fresh copy of the original.
    std::fs::write(&a, &bytes_a).expect("write");
    std::fs::write(&b, &bytes_b).expect("write");
    std::fs::write(dir.manifest_path(), serde_json::to_vec_pretty(&manifest).expect("json")).expect("write manifest");
    run(["verify", dir.arg(), "--progress", "none"]).assert_success();
    let mut flipped = bytes_a.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    std::fs::write(&a, &flipped).expect("write");
    run(["verify", dir.arg(), "--progress", "none"]).assert_code(1).assert_stderr_contains(&chunks[1]);
    let target = SqliteDb::new();
    run(["restore", dir.arg(), &target.url(), "--identity", key.identity_arg(), "--progress", "none"])
        .assert_code(1)
        .assert_stderr_contains(&chunks[1]);
}

/// Sets every chunk's `bytes` and `sha256` to the file now at its place.
fn fix_up_chunks(manifest: &mut Value, dir: &Path) {
    for table in manifest["tables"].as_array_mut().expect("tables") {
        for chunk in table["chunks"].as_array_mut().expect("chunks") {
            let path = chunk_path(dir, chunk["file"].as_str().expect("file"));
            chunk["sha256"] = Value::from(sha256_file(&path));
            chunk["bytes"] = Value::from(std::fs::metadata(&path).expect("stat").len());
        }
    }
}

/// Bad recipients are exit 2 before anything is touched: no directory, and
/// no connection (the source is a server nobody listens on).
#[test]
fn invalid_or_empty_recipients_are_refused_before_anything_is_written() {
    let key = AgeKey::new();
    let dir = DumpDir::new();
    let empty = dir.path().with_extension("empty");
    std::fs::write(&empty, "# nobody yet\n\n").expect("write");
    let typo = format!("{}x", key.recipient);
    let nowhere = "postgres://sluice@127.0.0.1:1/none";
    let cases: [&[&str]; 4] = [
        &["--encrypt-to", "age1notakey"],
        &["--encrypt-to", &typo],
        &["--encrypt-to", ""],
        &["--encrypt-to-file", empty.to_str().expect("utf-8")],
    ];
    for extra in cases {
        let out = run(dump_args(nowhere, &dir, extra));
        out.assert_code(2).assert_stderr_contains("cannot encrypt");
        assert_eq!(out.stderr.trim().lines().count(), 1, "not one line: {out}");
        assert!(!out.stderr.contains("connect"), "it tried to connect: {out}");
        assert!(!dir.path().exists(), "{extra:?} created the dump directory");
    }
    let missing = dir.path().with_extension("missing");
    run(dump_args(nowhere, &dir, &["--encrypt-to-file", missing.to_str().expect("utf-8")])).assert_code(2);
    assert!(!dir.path().exists());
}

/// No identity: exit 2 naming the flags. A wrong identity: exit 1, one clear
/// line, nothing loaded into the target.
#[test]
fn a_missing_or_wrong_identity_fails_closed_and_loads_nothing() {
    let key = AgeKey::new();
    let wrong = AgeKey::new();
    let source = TestDb::small();
    let dir = DumpDir::new();
    run(dump_args(source.url(), &dir, &["--encrypt-to", &key.recipient])).assert_success();
    let target = TestDb::new();
    run(["restore", dir.arg(), target.url(), "--progress", "none"])
        .assert_code(2)
        .assert_stderr_contains("is encrypted: give --identity FILE");
    let out = run(["restore", dir.arg(), target.url(), "--identity", wrong.identity_arg(), "--progress", "none"]);
    out.assert_code(1).assert_stderr_contains("is not one of this dump's recipients");
    assert_eq!(out.stderr.trim().lines().count(), 1, "not one line: {out}");
    assert!(!out.stderr.contains("AGE-SECRET-KEY"));
    assert_eq!(target.query_i64("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"), 0);
    run(["inspect", dir.arg(), "--identity", wrong.identity_arg()]).assert_code(1);
    run(["inspect", dir.arg()]).assert_success().assert_stdout_contains("sealed");
}

/// Masked and unmasked plaintext values of pagila are nowhere in the dump
/// directory, whatever the file.
#[test]
fn no_plaintext_value_is_anywhere_in_an_encrypted_masked_dump() {
    let key = AgeKey::new();
    let source = TestDb::pagila();
    let email = source.query("SELECT email FROM public.customer ORDER BY customer_id LIMIT 1");
    let title = source.query("SELECT title FROM public.film ORDER BY film_id LIMIT 1");
    let dir = DumpDir::new();
    let config = dir.path().with_extension("toml");
    std::fs::write(&config, "[[table]]\nmatch = \"public.customer\"\nmask = { email = \"email\" }\n").expect("write");
    let args = dump_args(
        source.url(),
        &dir,
        &["--encrypt-to", &key.recipient, "--config", config.to_str().expect("utf-8"), "--chunk-size", "64KiB"],
    );
    run_with_env(&args, &[("SLUICE_MASK_KEY", OsStr::new("encrypt-test-mask-key-0123456789"))]).assert_success();
    for needle in [email.trim(), title.trim(), "customer_id", "CREATE TABLE", "rental_date"] {
        assert!(!needle.is_empty());
        assert_eq!(found_in(dir.path(), needle), None, "{needle:?} is in the clear");
    }
    // The check can fail: the same dump without encryption has them.
    let plain = DumpDir::new();
    run(dump_args(source.url(), &plain, &["--format", "csv", "--compress", "none"])).assert_success();
    assert!(found_in(plain.path(), title.trim()).is_some());
}

/// Passphrase mode: one identity per dump, sealed by the passphrase; the
/// right passphrase restores, a wrong one fails with one line.
#[test]
fn a_passphrase_dump_round_trips_and_a_wrong_passphrase_is_refused() {
    let source = random_sqlite();
    let url = source.url();
    let dir = DumpDir::new();
    let pass = dir.path().with_extension("pass");
    let wrong = dir.path().with_extension("wrong");
    std::fs::write(&pass, "correct horse battery staple\n").expect("write");
    std::fs::write(&wrong, "incorrect horse\n").expect("write");
    let pass_arg = pass.to_str().expect("utf-8");
    let out = run(dump_args(&url, &dir, &["--passphrase-file", pass_arg, "--chunk-size", "64KiB"]));
    out.assert_success();
    assert!(!out.stderr.contains("correct horse") && !dir.manifest_text().contains("correct horse"));
    assert!(found_in(dir.path(), "plainly-visible-sentinel").is_none());
    run(["verify", dir.arg(), "--progress", "none"]).assert_success();
    run(["verify", dir.arg(), "--decrypt", "--passphrase-file", pass_arg, "--progress", "none"]).assert_success();

    let target = SqliteDb::new();
    let out = run([
        "restore",
        dir.arg(),
        &target.url(),
        "--passphrase-file",
        wrong.to_str().expect("utf-8"),
        "--progress",
        "none",
    ]);
    out.assert_code(1);
    assert_eq!(out.stderr.trim().lines().count(), 1, "not one line: {out}");
    assert!(!out.stderr.contains("horse"));
    let target = SqliteDb::new();
    run(["restore", dir.arg(), &target.url(), "--passphrase-file", pass_arg, "--progress", "none"]).assert_success();
    assert_same_sqlite(&source, &target);
}

/// A dump killed mid-way resumes with its key (the plan and journal are
/// sealed) and restores exactly; without a key the resume is refused.
#[test]
fn a_killed_encrypted_dump_resumes_with_its_key() {
    let key = AgeKey::new();
    let source = TestDb::new();
    source.exec(
        "CREATE TABLE public.wide (id int PRIMARY KEY, a text); \
         INSERT INTO public.wide SELECT g, md5(g::text) FROM generate_series(1, 300000) AS g;",
    );
    let dir = DumpDir::new();
    let args = vec![
        "dump",
        source.url(),
        "--out",
        dir.arg(),
        "-j",
        "1",
        "--chunk-size",
        "64KiB",
        "--progress",
        "none",
        "--encrypt-to",
        &key.recipient,
    ];
    let mut child = sluice_command(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while journalled(dir.path()) < 3 {
        assert!(child.try_wait().expect("wait").is_none(), "the dump ended before it was killed");
        assert!(Instant::now() < deadline, "no chunks journalled within 60 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    assert!(!dir.manifest_path().exists());
    for file in files_under(dir.path()) {
        let name = file.to_string_lossy();
        assert!(name.ends_with(".age") || name.ends_with(".partial"), "{name} is stored in the clear");
    }

    let mut resume = args.clone();
    resume.extend(["--resume", "--accept-new-snapshot"]);
    let refused = run(&resume);
    refused.assert_code(2).assert_stderr_contains("--identity");
    resume.extend(["--identity", key.identity_arg()]);
    run(&resume).assert_success();
    run(["verify", dir.arg(), "--decrypt", "--identity", key.identity_arg(), "--progress", "none"]).assert_success();
    let target = TestDb::new();
    run(["restore", dir.arg(), target.url(), "--identity", key.identity_arg(), "--progress", "none"]).assert_success();
    assert_same_database(&source, &target);
}

fn journalled(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("journal")).map(|d| d.flatten().count()).unwrap_or(0)
}

#[test]
fn an_encrypted_dump_round_trips_through_a_bucket() {
    let key = AgeKey::new();
    let source = random_sqlite();
    let prefix = S3Prefix::new();
    let url = prefix.url();
    run_s3(["dump", &source.url(), "--out", &url, "--encrypt-to", &key.recipient, "--progress", "none"])
        .assert_success();
    let objects = prefix.objects();
    assert!(objects.iter().any(|(k, _, _)| k == "sealed.json.age"), "{objects:?}");
    for (k, _, _) in &objects {
        assert!(k == "manifest.json" || k.ends_with(".age"), "{k} is stored in the clear");
    }
    run_s3(["verify", &url, "--progress", "none"]).assert_success();
    let target = SqliteDb::new();
    run_s3(["restore", &url, &target.url(), "--identity", key.identity_arg(), "--progress", "none"]).assert_success();
    assert_same_sqlite(&source, &target);
}

/// A minisign key pair made by the real `minisign -G` (no password).
fn minisign_keys(dir: &Path) -> (PathBuf, PathBuf) {
    let (public, secret) = (dir.join("sign.pub"), dir.join("sign.key"));
    let out = Command::new("minisign")
        .args(["-G", "-W", "-p"])
        .arg(&public)
        .arg("-s")
        .arg(&secret)
        .output()
        .expect("minisign (installed by scripts/setup.sh)");
    assert!(out.status.success(), "minisign -G failed: {}", String::from_utf8_lossy(&out.stderr));
    (public, secret)
}

/// `--sign-key` signs the manifest; `verify --signer` and the Debian
/// `minisign -V` accept it, and reject it once the manifest changes or the
/// signer is someone else.
#[test]
fn a_signed_manifest_verifies_with_sluice_and_minisign_and_a_change_is_caught() {
    let key = AgeKey::new();
    let keys = tempfile::tempdir().expect("temporary directory");
    let (public, secret) = minisign_keys(keys.path());
    let other = keys.path().join("other");
    std::fs::create_dir(&other).expect("mkdir");
    let (other_public, _) = minisign_keys(&other);
    let source = random_sqlite();
    let dir = DumpDir::new();
    let url = source.url();
    let out =
        run(dump_args(&url, &dir, &["--encrypt-to", &key.recipient, "--sign-key", secret.to_str().expect("utf-8")]));
    out.assert_success();
    let public_arg = public.to_str().expect("utf-8");
    run(["verify", dir.arg(), "--signer", public_arg, "--progress", "none"]).assert_success();
    let minisign_verify = |public: &Path| -> bool {
        Command::new("minisign")
            .arg("-V")
            .arg("-p")
            .arg(public)
            .arg("-m")
            .arg(dir.manifest_path())
            .arg("-x")
            .arg(dir.path().join("manifest.json.minisig"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("minisign")
            .success()
    };
    assert!(minisign_verify(&public), "minisign -V rejects sluice's signature");
    assert!(!minisign_verify(&other_public), "minisign -V accepts another key");
    run(["verify", dir.arg(), "--signer", other_public.to_str().expect("utf-8"), "--progress", "none"]).assert_code(1);

    let mut manifest = dir.manifest();
    manifest["tables"][0]["name"] = Value::from("renamed");
    std::fs::write(dir.manifest_path(), serde_json::to_vec_pretty(&manifest).expect("json")).expect("write");
    assert!(!minisign_verify(&public), "minisign -V accepts a changed manifest");
    run(["verify", dir.arg(), "--signer", public_arg, "--progress", "none"]).assert_code(1);
    let secret_text = std::fs::read_to_string(&secret).expect("read");
    let secret_line = secret_text.lines().nth(1).expect("the key line");
    assert!(!out.stderr.contains(secret_line) && !dir.manifest_text().contains(secret_line));
}
