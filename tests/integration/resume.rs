//! Interrupted dumps and `dump --resume`, with real faults: SIGKILL at
//! about half of the chunks, SIGTERM and SIGINT, a writer moving money
//! between accounts while the dump is down, a held snapshot that outlives
//! the killed dump, a damaged chunk file. Every test checks the data, not
//! only the exit code: the resumed dump restores to exactly the source (at
//! its snapshot, or, under a new snapshot, as it is once quiet).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use sluice_tests::{
    Cut, CutProxy, DumpDir, MyDb, SqliteDb, TestDb, assert_same_database, assert_same_mysql, assert_same_sqlite,
    restore_into, run, schema_dump, sluice_command, table_checksums,
};

/// Accounts and a table without a key, big enough for many 256 KiB chunks.
fn bank() -> TestDb {
    let db = TestDb::new();
    db.exec(
        "CREATE TABLE public.account (id int PRIMARY KEY, balance bigint NOT NULL, pad text NOT NULL); \
         INSERT INTO public.account SELECT g, 1000, repeat('x', 100) FROM generate_series(1, 60000) AS g; \
         CREATE TABLE public.journal_entry (account int, note text); \
         INSERT INTO public.journal_entry SELECT g % 100, md5(g::text) FROM generate_series(1, 40000) AS g; \
         ANALYZE;",
    );
    db
}

const TOTAL: i64 = 60_000 * 1000;

/// MariaDB: 60,000 accounts (chunked by their integer key), then `more`,
/// with statistics fresh so big tables split.
fn my_bank(more: &str) -> MyDb {
    let db = MyDb::new();
    db.exec(&format!(
        "CREATE TABLE account (id int PRIMARY KEY, balance bigint NOT NULL, pad varchar(200) NOT NULL); \
         INSERT INTO account SELECT seq, 1000, REPEAT('x', 100) FROM seq_1_to_60000; {more}"
    ));
    for table in db.tables() {
        db.exec(&format!("ANALYZE TABLE `{table}`"));
    }
    db
}

/// Moves money between accounts, one committed transfer at a time: every
/// row it touches gets a new version elsewhere in the table (the pages are
/// full, so no update stays on its page), which moves rows between ctid
/// chunks.
fn move_money(db: &TestDb, transfers: u32) {
    db.exec(&format!(
        "DO $$ DECLARE a int; b int; BEGIN \
           FOR i IN 1..{transfers} LOOP \
             a := 1 + (i * 7919) % 60000; b := 1 + (i * 104729) % 60000; \
             UPDATE public.account SET balance = balance - 5 WHERE id = a; \
             UPDATE public.account SET balance = balance + 5 WHERE id = b; \
             INSERT INTO public.journal_entry VALUES (a, 'transfer ' || i); \
             COMMIT; \
           END LOOP; END $$;"
    ));
}

fn journalled(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("journal")).map(|d| d.count()).unwrap_or(0)
}

fn planned(dir: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(dir.join("plan.json")).ok()?;
    let plan: serde_json::Value = serde_json::from_str(&text).ok()?;
    plan["chunks"].as_array().map(Vec::len)
}

/// Starts `sluice ARGS` and waits until `fraction` of its planned chunks
/// are journalled (the dump writes to `dir`).
fn start_until(args: &[&str], dir: &Path, fraction: f64) -> (Child, usize) {
    let mut child = sluice_command(args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn sluice");
    let started = Instant::now();
    loop {
        if let Some(total) = planned(dir) {
            let done = journalled(dir);
            if done as f64 >= total as f64 * fraction {
                return (child, total);
            }
        }
        if let Some(status) = child.try_wait().expect("wait") {
            let mut stderr = String::new();
            let _ = std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut stderr);
            panic!("the dump ended ({status}) before {fraction} of its chunks were done: make it bigger\n{stderr}");
        }
        assert!(started.elapsed() < Duration::from_secs(120), "the dump made no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// SIGKILLs the dump at about half of its chunks; checks it left no
/// manifest and not every chunk.
fn kill_midway(args: &[&str], dir: &Path) -> usize {
    let (mut child, total) = start_until(args, dir, 0.5);
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let done = journalled(dir);
    assert!(!dir.join("manifest.json").exists(), "a killed dump left a manifest");
    assert!(done < total, "every chunk was done before the kill: {done} of {total}");
    done
}

fn partials(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for sub in ["", "data", "schema", "journal"] {
        if let Ok(entries) = std::fs::read_dir(dir.join(sub)) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".partial") {
                    found.push(format!("{sub}/{name}"));
                }
            }
        }
    }
    found
}

/// `dump URL --out DIR -j 1 --progress none`, in chunks of 256 KiB unless
/// `extra` says otherwise.
fn dump_args<'a>(url: &'a str, dir: &'a DumpDir, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["dump", url, "--out", dir.arg(), "-j", "1", "--progress", "none"];
    if !extra.contains(&"--chunk-size") {
        args.extend(["--chunk-size", "256KiB"]);
    }
    args.extend_from_slice(extra);
    args
}

/// A snapshot held by `sluice snapshot hold`: its name, and the holder.
struct Holder {
    child: Child,
    name: String,
}

impl Holder {
    fn start(db: &TestDb) -> Self {
        let mut child = sluice_command(["snapshot", "hold", db.url()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn snapshot hold");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout")).read_line(&mut line).expect("first line");
        let name = line.trim().to_owned();
        assert!(!name.is_empty() && name.contains('-'), "snapshot hold printed {line:?} first");
        Holder { child, name }
    }

    /// Ends it with SIGTERM; it releases the snapshot and exits 0.
    fn stop(mut self) {
        signal(&self.child, "TERM");
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "snapshot hold ended {status} on SIGTERM");
    }
}

fn signal(child: &Child, name: &str) {
    let status = std::process::Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status();
    assert!(status.expect("kill").success(), "kill -{name} failed");
}

/// The operator's case: a held snapshot, a dump killed halfway, money
/// moving while it is down, then `--resume` in the same snapshot. The
/// restored database is the source as it was at the snapshot, and the
/// balances still add up.
#[test]
fn a_killed_dump_resumes_in_its_held_snapshot_while_money_moves() {
    let db = bank();
    let holder = Holder::start(&db);
    // Nothing has written since the snapshot was exported: this is the
    // source at the snapshot.
    let (schema, at_snapshot) = (schema_dump(&db), table_checksums(&db));
    let dir = DumpDir::new();
    let args = dump_args(db.url(), &dir, &["--snapshot", &holder.name]);
    kill_midway(&args, dir.path());

    move_money(&db, 500);
    assert_ne!(table_checksums(&db), at_snapshot, "the writer changed nothing");
    let mut resume = args.clone();
    resume.push("--resume");
    let writer = {
        let url = db.url().to_owned();
        std::thread::spawn(move || {
            let status = std::process::Command::new("psql")
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", &url, "-c"])
                .arg(
                    "DO $$ BEGIN FOR i IN 1..300 LOOP \
                       UPDATE public.account SET balance = balance - 1 WHERE id = i; \
                       UPDATE public.account SET balance = balance + 1 WHERE id = 60001 - i; COMMIT; \
                     END LOOP; END $$;",
                )
                .status()
                .expect("psql");
            assert!(status.success(), "the concurrent writer failed");
        })
    };
    let out = run(&resume);
    writer.join().expect("writer");
    out.assert_success().assert_stderr_contains("in the same snapshot");
    holder.stop();

    run(["verify", dir.arg()]).assert_success();
    let target = TestDb::new();
    restore_into(&dir, &target, &[]).assert_success();
    assert_eq!(schema_dump(&target), schema);
    assert_eq!(table_checksums(&target), at_snapshot, "the resumed dump is not the source at its snapshot");
    assert_eq!(target.query_i64("SELECT sum(balance) FROM public.account"), TOTAL);
    assert!(db.query_i64("SELECT count(*) FROM public.journal_entry") > 40_000);
}

/// Without a live snapshot a resume is refused, naming both ways on; with
/// `--accept-new-snapshot` a table chunked by ctid that received non-HOT
/// updates in between is dumped again whole: no row twice, none missing.
#[test]
fn without_its_snapshot_a_resume_is_refused_unless_a_new_one_is_accepted() {
    let db = bank();
    let dir = DumpDir::new();
    let args = dump_args(db.url(), &dir, &[]);
    kill_midway(&args, dir.path());
    let last_page = db.query_i64("SELECT max((ctid::text::point)[0])::bigint FROM public.account");
    move_money(&db, 2000);
    let moved =
        db.query_i64(&format!("SELECT count(*) FROM public.account WHERE (ctid::text::point)[0] > {last_page}"));
    assert!(moved > 0, "no updated row moved to a new page");

    let mut resume = args.clone();
    resume.push("--resume");
    let out = run(&resume);
    out.assert_code(2).assert_stderr_contains("--accept-new-snapshot").assert_stderr_contains("is gone");
    assert!(!dir.manifest_path().exists());

    resume.push("--accept-new-snapshot");
    let out = run(&resume);
    out.assert_success().assert_stderr_contains("is chunked by position: under the new snapshot all");
    let manifest = dir.manifest();
    assert!(manifest["snapshot"]["id"].is_string());
    let target = TestDb::new();
    restore_into(&dir, &target, &[]).assert_success();
    assert_same_database(&db, &target);
    assert_eq!(target.query_i64("SELECT count(DISTINCT id) FROM public.account"), 60_000);
    assert_eq!(target.query_i64("SELECT sum(balance) FROM public.account"), TOTAL);
}

/// SIGTERM and SIGINT: the dump stops taking chunks, lets the running one
/// end, leaves no `*.partial` and no manifest, exits 143 or 130 saying how
/// to resume; the resume completes it exactly.
#[test]
fn a_signal_stops_the_dump_cleanly_and_the_resume_completes_it() {
    let db = bank();
    let holder = Holder::start(&db);
    for (name, code) in [("TERM", 143), ("INT", 130)] {
        let dir = DumpDir::new();
        let args = dump_args(db.url(), &dir, &["--snapshot", &holder.name]);
        let (mut child, total) = start_until(&args, dir.path(), 0.3);
        signal(&child, name);
        let started = Instant::now();
        let status = child.wait().expect("wait");
        let mut stderr = String::new();
        let _ = std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut stderr);
        assert!(started.elapsed() < Duration::from_secs(6), "SIG{name} took {:?}", started.elapsed());
        assert_eq!(status.code(), Some(code), "SIG{name}: {status}\n{stderr}");
        assert!(stderr.contains(&format!("interrupted by SIG{name}")), "{stderr}");
        assert!(stderr.contains("run the same command with --resume"), "{stderr}");
        assert!(partials(dir.path()).is_empty(), "SIG{name} left {:?}", partials(dir.path()));
        assert!(!dir.manifest_path().exists());
        assert!(journalled(dir.path()) < total);

        let mut resume = args.clone();
        resume.push("--resume");
        run(&resume).assert_success();
        let target = TestDb::new();
        restore_into(&dir, &target, &[]).assert_success();
        assert_same_database(&db, &target);
    }
    holder.stop();
}

/// What a resume refuses (exit 2, naming why) and what it repairs: other
/// flags, another database, a damaged journalled file (dumped again), a
/// complete dump (exit 0, nothing to do), a plain rerun into the directory.
#[test]
fn a_resume_refuses_other_flags_and_databases_and_redoes_a_damaged_chunk() {
    let db = bank();
    let holder = Holder::start(&db);
    let dir = DumpDir::new();
    let args = dump_args(db.url(), &dir, &["--snapshot", &holder.name]);
    let done = kill_midway(&args, dir.path());
    assert!(done >= 2);

    let mut plain = args.clone();
    plain.retain(|a| *a != "--snapshot" && *a != holder.name);
    run(&plain).assert_code(2).assert_stderr_contains("holds an interrupted dump").assert_stderr_contains("--resume");
    let mut other_flags = args.clone();
    other_flags.extend(["--format", "csv", "--resume"]);
    run(&other_flags)
        .assert_code(2)
        .assert_stderr_contains("--format: the interrupted dump used 'copy', this run asks for 'csv'");
    let other = TestDb::new();
    other.exec("CREATE TABLE public.account (id int)");
    let other_args = dump_args(other.url(), &dir, &["--resume", "--accept-new-snapshot"]);
    run(&other_args).assert_code(2).assert_stderr_contains("is not the database of the interrupted dump");

    // Damage one journalled chunk file: the resume finds it and dumps it again.
    let first = std::fs::read_dir(dir.path().join("journal")).expect("journal").flatten().next().expect("a record");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(first.path()).expect("read record")).expect("record JSON");
    let damaged = dir.path().join(record["file"].as_str().expect("file"));
    let mut bytes = std::fs::read(&damaged).expect("read chunk");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&damaged, bytes).expect("damage chunk");
    std::fs::write(dir.path().join("data/leftover.copy.zst.partial"), b"half").expect("write partial");

    let mut resume = args.clone();
    resume.push("--resume");
    run(&resume).assert_success();
    assert!(partials(dir.path()).is_empty());
    run(["verify", dir.arg()]).assert_success();
    let target = TestDb::new();
    restore_into(&dir, &target, &[]).assert_success();
    assert_same_database(&db, &target);
    run(&resume).assert_success().assert_stdout_contains("already complete");
    assert!(!dir.path().join("journal").exists(), "a complete dump kept its journal");
    holder.stop();
}

/// MariaDB cannot read in an old snapshot again: a resume is refused
/// without `--accept-new-snapshot`, and with it key-range chunks are kept
/// and the rest dumped; on a quiet source the result is identical.
#[test]
fn a_killed_mariadb_dump_resumes_under_a_new_snapshot_when_accepted() {
    let db = my_bank("CREATE TABLE note (n int, t text); INSERT INTO note SELECT seq, MD5(seq) FROM seq_1_to_20000;");
    let dir = DumpDir::new();
    let args = dump_args(db.url(), &dir, &[]);
    kill_midway(&args, dir.path());
    let mut resume = args.clone();
    resume.push("--resume");
    run(&resume).assert_code(2).assert_stderr_contains("cannot read in an earlier snapshot again");
    resume.push("--accept-new-snapshot");
    let out = run(&resume);
    out.assert_success();
    assert!(!out.stderr.contains("is chunked by position"), "key ranges were redone\n{out}");
    // Chunks of both runs are kept, and the manifest says which is which.
    let manifest = dir.manifest();
    let runs: Vec<u64> =
        manifest["snapshots"].as_array().expect("snapshots").iter().map(|s| s["run"].as_u64().expect("run")).collect();
    assert_eq!(runs, [1, 2]);
    let chunk_runs: std::collections::BTreeSet<u64> = manifest["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .flat_map(|t| t["chunks"].as_array().expect("chunks").iter().map(|c| c["run"].as_u64().expect("run")))
        .collect();
    assert_eq!(chunk_runs.into_iter().collect::<Vec<_>>(), [1, 2]);
    run(["inspect", dir.arg()]).assert_success().assert_stdout_contains("resumed: the chunks come from 2 snapshots");
    let target = MyDb::new();
    run(["restore", dir.arg(), target.url(), "--progress", "none"]).assert_success();
    assert_same_mysql(&db, &target);
}

/// SQLite: a killed dump resumes under a new snapshot; the table without a
/// declared key (chunked by rowid) is dumped again whole, the keyed one
/// keeps its finished chunks.
#[test]
fn a_killed_sqlite_dump_resumes_and_redoes_the_table_chunked_by_rowid() {
    let db = SqliteDb::new();
    db.exec(
        "CREATE TABLE keyless (a int, b text); \
         WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 80000) \
         INSERT INTO keyless SELECT n, hex(randomblob(40)) FROM g; \
         CREATE TABLE keyed (id INTEGER PRIMARY KEY, b text); \
         WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 80000) \
         INSERT INTO keyed SELECT n, hex(randomblob(40)) FROM g;",
    );
    let url = db.url();
    let dir = DumpDir::new();
    let args = dump_args(&url, &dir, &[]);
    kill_midway(&args, dir.path());
    let mut resume = args.clone();
    resume.push("--resume");
    run(&resume).assert_code(2).assert_stderr_contains("--accept-new-snapshot");
    resume.push("--accept-new-snapshot");
    let out = run(&resume);
    out.assert_success();
    let target = SqliteDb::new();
    run(["restore", dir.arg(), &target.url(), "--progress", "none"]).assert_success();
    assert_same_sqlite(&db, &target);
}

fn host_port(url: &str) -> String {
    let parsed = url::Url::parse(url).expect("a URL");
    format!("{}:{}", parsed.host_str().expect("host"), parsed.port().expect("port"))
}

/// A connection cut mid-chunk (a real TCP cut, by a proxy between sluice
/// and PostgreSQL): the chunk is read again on a new connection in the same
/// snapshot, the summary says so, and the dump is exact.
#[test]
fn a_postgres_connection_cut_mid_chunk_is_retried_in_the_same_snapshot() {
    let db = bank();
    let proxy = CutProxy::start(&host_port(db.url()), Cut::Once { after: 2 << 20 });
    let url = proxy.url(db.url());
    let dir = DumpDir::new();
    let args = dump_args(&url, &dir, &["--chunk-size", "16MiB"]);
    let out = run(&args);
    out.assert_success().assert_stdout_contains("1 chunk retry after connection loss");
    assert_eq!(proxy.cuts(), 1, "the proxy cut nothing: the test tested nothing\n{out}");
    let target = TestDb::new();
    restore_into(&dir, &target, &[]).assert_success();
    assert_same_database(&db, &target);
}

/// A connection that keeps being cut: three retries, then the dump stops
/// saying in plain words what happened and where, the low-level cause on
/// the next line, and how to go on; the resume finishes it exactly.
#[test]
fn a_connection_cut_on_every_try_fails_in_plain_words_and_the_resume_finishes() {
    let db = bank();
    // The link goes down once 3 MiB have passed, after some chunks of
    // 256 KiB are done: from then on every connection, new ones too, is cut
    // 64 KiB into its chunk. pg_dump's connections (the schema, taken while
    // the rows are read) are spared: this is about the readers' retries.
    let outage = Cut::Outage { from_total: 3 << 20, after: 64 << 10, spare: Some("pg_dump") };
    let proxy = CutProxy::start(&host_port(db.url()), outage);
    let url = proxy.url(db.url());
    let dir = DumpDir::new();
    let args = dump_args(&url, &dir, &[]);
    let out = run(&args);
    out.assert_code(1);
    let first = out.stderr.lines().find(|l| l.starts_with("error:")).unwrap_or_default();
    let expected =
        format!("error: lost the connection to PostgreSQL at 127.0.0.1:{} while dumping public.", proxy.port());
    assert!(first.starts_with(&expected) && first.contains("retried 3 times"), "first line: {first}\n{out}");
    assert!(out.stderr.contains("  cause: "), "{out}");
    assert!(out.stderr.contains("--resume"), "{out}");
    assert!(proxy.cuts() >= 4, "{} cuts", proxy.cuts());
    assert!(!dir.manifest_path().exists());
    drop(proxy);

    let mut resume = dump_args(db.url(), &dir, &[]);
    resume.extend(["--resume", "--accept-new-snapshot"]);
    run(&resume).assert_success();
    let target = TestDb::new();
    restore_into(&dir, &target, &[]).assert_success();
    assert_same_database(&db, &target);
}

/// MariaDB: a new connection cannot join the dump's snapshot, so a cut
/// stops the dump cleanly (exit 1, no manifest, no `*.partial`), saying
/// so; `--resume --accept-new-snapshot` completes it identically.
#[test]
fn a_mariadb_connection_cut_stops_the_dump_cleanly_and_the_resume_completes_it() {
    let db = my_bank("");
    let proxy = CutProxy::start(&host_port(db.url()), Cut::Once { after: 2 << 20 });
    let url = proxy.url(db.url());
    let dir = DumpDir::new();
    let args = dump_args(&url, &dir, &[]);
    let out = run(&args);
    out.assert_code(1).assert_stderr_contains("a new connection cannot join this dump's snapshot");
    assert_eq!(proxy.cuts(), 1);
    assert!(journalled(dir.path()) > 0, "no chunk was done before the cut\n{out}");
    assert!(out.stderr.contains("lost the connection to MySQL at 127.0.0.1:"), "{out}");
    assert!(!dir.manifest_path().exists() && partials(dir.path()).is_empty());
    let mut resume = dump_args(db.url(), &dir, &[]);
    resume.extend(["--resume", "--accept-new-snapshot"]);
    run(&resume).assert_success();
    let target = MyDb::new();
    run(["restore", dir.arg(), target.url(), "--progress", "none"]).assert_success();
    assert_same_mysql(&db, &target);
}

/// A small tmpfs mounted on a dump directory (the tests run as root, as CI
/// does); unmounted when dropped.
struct Tmpfs {
    path: std::path::PathBuf,
}

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Self {
        std::fs::create_dir_all(path).expect("create the mount point");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .expect("run mount");
        assert!(status.success(), "cannot mount a tmpfs on {} (the disk-full test needs root)", path.display());
        Tmpfs { path: path.to_owned() }
    }

    fn resize(&self, size: &str) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.path)
            .status()
            .expect("run mount");
        assert!(status.success(), "cannot resize the tmpfs");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.path).status();
    }
}

/// A disk that fills (a real one: a 2 MiB tmpfs): the dump stops with exit
/// 1 and one clear line naming the file and the free space, keeps the
/// journal and the finished chunks, leaves no `*.partial` and no manifest;
/// once space is freed, `--resume` completes it exactly.
#[test]
fn a_full_disk_stops_the_dump_cleanly_and_the_resume_completes_it() {
    let db = bank();
    let holder = Holder::start(&db);
    let dir = DumpDir::new();
    let disk = Tmpfs::mount(dir.path(), "2m");
    let args = dump_args(db.url(), &dir, &["--compress", "none", "--snapshot", &holder.name]);
    let out = run(&args);
    out.assert_code(1);
    let first = out.stderr.lines().find(|l| l.starts_with("error:")).unwrap_or_default();
    let expected = format!("error: disk full writing {}/data/", dir.arg());
    assert!(first.starts_with(&expected), "first line: {first}\n{out}");
    assert!(first.contains("bytes free; free space and run the same dump with --resume"), "{out}");
    assert!(!dir.manifest_path().exists() && partials(dir.path()).is_empty(), "{:?}", partials(dir.path()));
    assert!(journalled(dir.path()) > 0, "no chunk was done before the disk filled\n{out}");

    disk.resize("64m");
    let mut resume = args.clone();
    resume.push("--resume");
    run(&resume).assert_success();
    let target = TestDb::new();
    restore_into(&dir, &target, &[]).assert_success();
    assert_same_database(&db, &target);
    holder.stop();
}

/// Polls `ready` until it holds, while `child` runs.
fn wait_for(child: &mut Child, what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut stderr = String::new();
            let _ = std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut stderr);
            panic!("the restore ended ({status}) before {what}: make it bigger\n{stderr}");
        }
        assert!(started.elapsed() < Duration::from_secs(120), "never saw {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn restore_args<'a>(dir: &'a DumpDir, url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["restore", dir.arg(), url, "-j", "1", "--progress", "none"];
    args.extend_from_slice(extra);
    args
}

/// A restore killed inside a file's transaction, into a table without a
/// key: `restore --resume` gives exactly the source's rows (none twice,
/// none missing), refuses another dump's restore and a plain rerun, and
/// leaves no bookkeeping behind.
#[test]
fn a_killed_postgres_restore_resumes_exactly_once_on_a_table_without_a_key() {
    let db = bank();
    let dir = DumpDir::new();
    run(dump_args(db.url(), &dir, &[])).assert_success();
    let target = TestDb::new();
    let args = restore_args(&dir, target.url(), &[]);
    let mut child = sluice_command(&args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
    let recorded = || {
        target
            .query(
                "SELECT count(*) FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid \
                 WHERE n.nspname = '_sluice' AND c.relname = 'restore_progress'",
            )
            .trim()
            == "1"
            && target.query_i64("SELECT count(*) FROM _sluice.restore_progress WHERE item LIKE 'data/%'") >= 3
    };
    wait_for(&mut child, "three files recorded", recorded);
    // Now inside a file's transaction: a COPY is running.
    let copying = || {
        db.query_i64(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND query LIKE 'COPY%'",
            target.name()
        )) > 0
    };
    wait_for(&mut child, "a COPY in progress", copying);
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");

    run(&args).assert_code(2).assert_stderr_contains("--resume");
    let other = DumpDir::new();
    run(dump_args(db.url(), &other, &[])).assert_success();
    run(restore_args(&other, target.url(), &["--resume"])).assert_code(2).assert_stderr_contains("of another dump");
    let mut resume = args.clone();
    resume.push("--resume");
    run(&resume).assert_success().assert_stdout_contains("resumed the restore");
    assert_same_database(&db, &target);
    assert_eq!(target.query_i64("SELECT count(*) FROM pg_namespace WHERE nspname = '_sluice'"), 0);
    assert_eq!(target.query_i64("SELECT count(*) FROM public.journal_entry"), 40_000);
}

/// SIGTERM stops a restore cleanly (exit 143, how to resume); the resume
/// finishes it exactly.
#[test]
fn a_signal_stops_a_restore_and_the_resume_finishes_it() {
    let db = bank();
    let dir = DumpDir::new();
    run(dump_args(db.url(), &dir, &[])).assert_success();
    let target = TestDb::new();
    let args = restore_args(&dir, target.url(), &[]);
    let mut child = sluice_command(&args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
    let recorded = || {
        target.query("SELECT to_regclass('_sluice.restore_progress') IS NOT NULL") == "t"
            && target.query_i64("SELECT count(*) FROM _sluice.restore_progress WHERE item LIKE 'data/%'") >= 2
    };
    wait_for(&mut child, "two files recorded", recorded);
    signal(&child, "TERM");
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    let _ = std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut stderr);
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM") && stderr.contains("--resume"), "{stderr}");
    let mut resume = args.clone();
    resume.push("--resume");
    run(&resume).assert_success();
    assert_same_database(&db, &target);
}

/// MariaDB: a killed restore resumes; an InnoDB table keeps its recorded
/// files, a MyISAM one (no transactions) is emptied and loaded again whole.
#[test]
fn a_killed_mariadb_restore_resumes_and_reloads_a_myisam_table_whole() {
    let db = my_bank(
        "CREATE TABLE loose (n int PRIMARY KEY, t varchar(64)) ENGINE=MyISAM; \
         INSERT INTO loose SELECT seq, MD5(seq) FROM seq_1_to_200000;",
    );
    let dir = DumpDir::new();
    run(dump_args(db.url(), &dir, &[])).assert_success();
    let target = MyDb::new();
    let url = target.url().to_owned();
    let args = restore_args(&dir, &url, &[]);
    let mut child = sluice_command(&args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
    let recorded = || {
        target.query("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_sluice_restore_progress'") == "1"
            && target.query("SELECT COUNT(*) FROM _sluice_restore_progress WHERE item LIKE 'data/%loose%'").parse::<i64>().unwrap_or(0) >= 2
    };
    wait_for(&mut child, "two files of the MyISAM table recorded", recorded);
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let mut resume = args.clone();
    resume.push("--resume");
    let out = run(&resume);
    out.assert_success().assert_stderr_contains("table ");
    assert!(out.stderr.contains("loads without transactions: it is emptied and loaded again whole"), "{out}");
    assert_same_mysql(&db, &target);
}

/// SQLite: a restore killed between files resumes exactly.
#[test]
fn a_killed_sqlite_restore_resumes_exactly() {
    let db = SqliteDb::new();
    db.exec(
        "CREATE TABLE keyless (a int, b text); \
         WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 120000) \
         INSERT INTO keyless SELECT n, hex(randomblob(40)) FROM g;",
    );
    let url = db.url();
    let dir = DumpDir::new();
    run(dump_args(&url, &dir, &[])).assert_success();
    let target = SqliteDb::new();
    let target_url = target.url();
    let args = restore_args(&dir, &target_url, &[]);
    let mut child = sluice_command(&args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
    let recorded = || {
        std::process::Command::new("sqlite3")
            .arg(target.path())
            .arg("SELECT count(*) FROM _sluice_restore_progress WHERE item LIKE 'data/%'")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<i64>().ok())
            .is_some_and(|n| n >= 3)
    };
    wait_for(&mut child, "three files recorded", recorded);
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let mut resume = args.clone();
    resume.push("--resume");
    run(&resume).assert_success();
    assert_same_sqlite(&db, &target);
}
