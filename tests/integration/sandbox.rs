//! The sandbox holds: each hostile component of `components/hostile/` (files,
//! sockets, environment, clocks, endless loops, memory hoarding, deep
//! recursion, oversized or malformed output, panics) fails its dump with
//! exit 1 and a first error line that names the component, its digest, the
//! table and the chunk; no manifest is written, and the next dump of the same
//! database works. `sluice component check` finds the same faults without a
//! database, and a corrupt compile cache is never trusted.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use sluice_tests::{
    DumpDir, RunOutput, TestDb, assert_same_database, component_wasm, dump, restore_into, run, run_measuring_peak_rss,
    run_with_env, run_with_env_measuring_peak_rss, short_sha256,
};

/// `--memory-limit` of the contained dumps: small, so hoarding fails fast.
const MEMORY_LIMIT: &str = "64MiB";
/// `--cpu-limit` of the contained dumps: short, so spinning fails fast.
const CPU_LIMIT: &str = "2s";
/// What the sluice process may use beyond its guests' memory limit, in MiB.
const HOST_MARGIN_MIB: u64 = 40;
/// How big the sluice process may grow while a component hoards memory
/// under [`MEMORY_LIMIT`] on two workers.
const PEAK_RSS_LIMIT: u64 = 400 << 20;

/// Words (matched case-insensitively) the failure of each hostile component
/// must mention: the limit that stopped it, or the WASI interface it called.
const REASONS: [(&str, &[&str]); 13] = [
    ("hostile_file", &["trapped", "wasi:filesystem"]),
    ("hostile_socket", &["wasi:sockets"]),
    ("hostile_env", &["trapped", "wasi:cli/environment"]),
    ("hostile_clock", &["trapped", "wasi:clocks"]),
    ("hostile_spin", &["CPU time limit"]),
    ("hostile_memory", &["memory"]),
    ("hostile_recursion", &["stack"]),
    ("hostile_huge", &["output"]),
    ("hostile_panic", &["panicked or aborted"]),
    ("hostile_rows", &["rows"]),
    ("hostile_offsets", &["offset"]),
    ("hostile_oob", &["out-of-bounds memory access"]),
    ("hostile_talk", &["failed: invalid input", "says:"]),
];

/// The built-in components and the world each implements.
const BUILTINS: [(&str, &str); 8] = [
    ("identity", "row-transform"),
    ("copy", "formatter"),
    ("csv", "formatter"),
    ("sql", "formatter"),
    ("jsonl", "formatter"),
    ("tsv", "formatter"),
    ("zstd", "byte-transform"),
    ("gzip", "byte-transform"),
];

fn reasons(component: &str) -> &'static [&'static str] {
    REASONS.iter().find(|(name, _)| *name == component).map(|(_, words)| *words).expect("a hostile component")
}

/// The words of `words` that `text` does not contain, ignoring case.
fn missing<'a>(text: &str, words: &[&'a str]) -> Vec<&'a str> {
    let text = text.to_lowercase();
    words.iter().copied().filter(|w| !text.contains(&w.to_lowercase())).collect()
}

/// A database holding `public.t (id int primary key, name text)` with 100 rows.
fn hundred_rows() -> TestDb {
    let db = TestDb::new();
    db.exec(
        "CREATE TABLE public.t (id int PRIMARY KEY, name text); \
         INSERT INTO public.t SELECT i, 'name ' || i FROM generate_series(1, 100) AS i",
    );
    db
}

/// One dump of `public.t` through a hostile component, and what it left.
struct HostileDump {
    component: String,
    db: TestDb,
    wasm: PathBuf,
    dir: DumpDir,
    out: RunOutput,
    peak_rss: u64,
}

impl HostileDump {
    /// `sluice dump` of a fresh 100-row `public.t` through `component` on
    /// two workers, with [`CPU_LIMIT`] and the given memory limit.
    fn run(component: &str, memory_limit: &str) -> Self {
        let db = hundred_rows();
        let wasm = component_wasm(component);
        let dir = DumpDir::new();
        let transform = format!("public.t={}", wasm.display());
        let args = ["dump", db.url(), "--out", dir.arg(), "--transform", &transform, "-j", "2"];
        let limits = ["--cpu-limit", CPU_LIMIT, "--memory-limit", memory_limit];
        let (out, peak_rss) = run_measuring_peak_rss(args.iter().chain(&limits));
        HostileDump { component: component.to_owned(), db, wasm, dir, out, peak_rss }
    }

    /// Exit 1; a first stderr line naming the component file and the first
    /// 12 hex digits of its SHA-256; stderr mentioning the component's
    /// [`REASONS`]; no manifest; and a plain dump of the same database
    /// succeeding right after.
    #[track_caller]
    fn assert_contained(&self) -> &Self {
        let out = &self.out;
        out.assert_code(1);
        self.assert_first_line_names(&[format!("{}.wasm", self.component), short_sha256(&self.wasm)]);
        let absent = missing(&out.stderr, reasons(&self.component));
        assert!(absent.is_empty(), "stderr does not mention {absent:?}\n{out}");
        assert!(!self.dir.manifest_path().exists(), "a failed dump left a manifest.json\n{out}");
        dump(&self.db, &[]);
        self
    }

    /// The first stderr line also names the table and the chunk that failed.
    #[track_caller]
    fn assert_blames_the_chunk(&self) -> &Self {
        self.assert_first_line_names(&["public.t".to_owned(), "chunk 0".to_owned()]);
        self
    }

    #[track_caller]
    fn assert_first_line_names(&self, needles: &[String]) {
        let first = self.out.stderr.lines().next().unwrap_or_default();
        for needle in needles {
            assert!(first.contains(needle.as_str()), "the first stderr line does not name {needle:?}\n{}", self.out);
        }
    }
}

/// Dumps through `component` with the usual limits and asserts the failure
/// was contained in chunk 0; returns the peak RSS of the failed dump.
#[track_caller]
fn assert_contained(component: &str) -> u64 {
    let dump = HostileDump::run(component, MEMORY_LIMIT);
    dump.assert_contained().assert_blames_the_chunk();
    dump.peak_rss
}

#[test]
fn a_component_reading_a_file_is_contained() {
    assert_contained("hostile_file");
}

#[test]
fn a_component_importing_sockets_is_refused_before_reading_data() {
    let dump = HostileDump::run("hostile_socket", MEMORY_LIMIT);
    dump.assert_contained();
    let data = dump.dir.path().join("data");
    let written: Vec<_> = fs::read_dir(&data).map(|d| d.flatten().map(|e| e.file_name()).collect()).unwrap_or_default();
    assert!(written.is_empty(), "a refused component still let data through: {written:?}\n{}", dump.out);
}

#[test]
fn a_component_reading_the_environment_is_contained() {
    assert_contained("hostile_env");
}

#[test]
fn a_component_reading_the_clock_is_contained() {
    assert_contained("hostile_clock");
}

#[test]
fn a_component_that_never_returns_is_stopped_by_the_cpu_limit() {
    assert_contained("hostile_spin");
}

#[test]
fn a_component_hoarding_memory_is_stopped_by_the_memory_limit() {
    let peak = assert_contained("hostile_memory");
    assert!(peak > 0, "the peak RSS of the dump was never read from /proc");
    assert!(peak < PEAK_RSS_LIMIT, "sluice grew to {} MiB while a component hoarded memory", peak >> 20);
}

#[test]
fn a_component_recursing_without_end_is_stopped_by_the_stack_limit() {
    assert_contained("hostile_recursion");
}

#[test]
fn a_component_returning_far_more_bytes_than_it_got_is_stopped_by_the_output_limit() {
    // 256MiB (the default), not MEMORY_LIMIT: the ~64 MiB answer must fit in
    // the component's memory for the output limit, not the memory limit, to
    // be what stops it.
    HostileDump::run("hostile_huge", "256MiB").assert_contained().assert_blames_the_chunk();
}

#[test]
fn a_panicking_component_is_contained() {
    assert_contained("hostile_panic");
}

#[test]
fn a_component_returning_more_rows_than_it_got_is_rejected() {
    assert_contained("hostile_rows");
}

#[test]
fn a_component_returning_offsets_past_its_data_is_rejected() {
    assert_contained("hostile_offsets");
}

#[test]
fn a_component_reading_outside_its_memory_is_contained() {
    assert_contained("hostile_oob");
}

/// Each kind of trap is said in plain words on the first line, beside the
/// component, its digest, the table and the chunk; no wasm backtrace
/// follows unless `SLUICE_LOG=debug` asks for it.
#[test]
fn every_kind_of_trap_is_named_on_the_first_line() {
    let kinds = [
        ("hostile_spin", "trapped: CPU time limit per call exceeded (--cpu-limit)"),
        ("hostile_memory", "trapped: memory limit exceeded (--memory-limit)"),
        ("hostile_recursion", "trapped: wasm stack limit exceeded (--stack-limit)"),
        ("hostile_oob", "trapped: out-of-bounds memory access"),
        ("hostile_env", "trapped: called `wasi:cli/environment"),
        ("hostile_panic", "trapped: the component panicked or aborted"),
    ];
    for (component, words) in kinds {
        let dump = HostileDump::run(component, MEMORY_LIMIT);
        dump.assert_contained().assert_blames_the_chunk();
        dump.assert_first_line_names(&[words.to_owned()]);
        assert!(!dump.out.stderr.contains("backtrace"), "a backtrace without SLUICE_LOG=debug\n{}", dump.out);
    }
}

/// A component's own words reach the terminal escaped, on one line after
/// `component x says:`, cut at 1 KiB: no clear-screen escape, no carriage
/// return, no forged "dump complete" line, not 10 MiB of text.
#[test]
fn a_components_own_words_are_escaped_capped_and_prefixed() {
    let dump = HostileDump::run("hostile_talk", MEMORY_LIMIT);
    dump.assert_contained().assert_blames_the_chunk();
    let stderr = &dump.out.stderr;
    assert!(stderr.len() < 4096, "{} bytes on stderr", stderr.len());
    assert!(!stderr.bytes().any(|b| b == 0x1b || b == b'\r'), "a raw control byte on stderr\n{stderr:?}");
    let said: Vec<&str> = stderr.lines().filter(|l| l.contains("dump complete")).collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(said[0].starts_with("  component hostile_talk.wasm (sha256 "), "{stderr}");
    assert!(said[0].contains(" says: \"\\x1b[2J\\x1b[H\\rdumped 1 tables"), "{stderr}");
    assert!(said[0].ends_with("more bytes not shown)"), "{stderr}");
}

/// The `keyed` import holds against a guest that calls it directly:
/// - a flood of items fails naming the per-call limit, before the host
///   allocates for it: the process stays within the guest's memory and a
///   small margin, since the host reads the arguments in place (it once
///   grew by 48 bytes per item, over 400 MiB here);
/// - a domain of 40 MiB fails naming the domain's limit, within the same
///   bound;
/// - one FF1 item of a million numerals fails at once naming FF1's limit
///   (it once ran for hours);
/// - full-size FF1 calls in an endless loop are stopped by the CPU limit.
#[test]
fn the_keyed_import_holds_against_floods_long_items_and_endless_calls() {
    let db = TestDb::new();
    db.exec(
        "CREATE TABLE public.flood (id int PRIMARY KEY, name text); INSERT INTO public.flood VALUES (1, 'a'); \
         CREATE TABLE public.long_ff1 (id int PRIMARY KEY, name text); INSERT INTO public.long_ff1 VALUES (1, 'a'); \
         CREATE TABLE public.ff1_loop (id int PRIMARY KEY, name text); INSERT INTO public.ff1_loop VALUES (1, 'a'); \
         CREATE TABLE public.domain_flood (id int PRIMARY KEY, name text); INSERT INTO public.domain_flood VALUES (1, 'a');",
    );
    // A masking config, so the run has a key and the import does its work.
    let config_dir = tempfile::tempdir().expect("tempdir");
    let config = config_dir.path().join("mask.toml");
    fs::write(&config, "[[table]]\nmatch = 'public.*'\nmask = { name = 'email' }\n").expect("write config");
    let wasm = component_wasm("hostile_keyed");
    let key = OsStr::new("0123456789abcdef0123456789abcdef");
    let attack = |table: &str| {
        let dir = DumpDir::new();
        let include = format!("public.{table}");
        let transform = format!("public.{table}={}", wasm.display());
        let args = [
            "dump",
            db.url(),
            "--out",
            dir.arg(),
            "--include",
            &include,
            "--config",
            config.to_str().expect("utf-8 path"),
            "--transform",
            &transform,
            "--cpu-limit",
            CPU_LIMIT,
            "--memory-limit",
            MEMORY_LIMIT,
        ];
        let started = std::time::Instant::now();
        let (out, peak) = run_with_env_measuring_peak_rss(args, &[("SLUICE_MASK_KEY", key)]);
        out.assert_code(1);
        assert!(!dir.manifest_path().exists(), "a failed dump left a manifest.json\n{out}");
        (out, peak, started.elapsed())
    };

    let (out, peak, _) = attack("flood");
    out.assert_stderr_contains("over the limit of 65536 items per call");
    // The guest's 64 MiB plus the host's margin: the rest of the process is
    // about 30 MiB with two workers, and the import reads the guest's 48 MiB
    // of offsets in place (copying them out, as bindgen's glue did, made it
    // 113 MiB).
    let within = |peak: u64| peak < (64 + HOST_MARGIN_MIB) << 20;
    assert!(within(peak), "peak RSS {} MiB during the flood\n{out}", peak >> 20);
    let (out, peak, _) = attack("domain_flood");
    out.assert_stderr_contains("a domain of 41943040 bytes, over the limit of 4096 bytes");
    assert!(within(peak), "peak RSS {} MiB during the domain flood\n{out}", peak >> 20);

    let (out, _, took) = attack("long_ff1");
    out.assert_stderr_contains("item 0 has 1000000 numerals, over FF1's limit of 256 per item");
    assert!(took < std::time::Duration::from_secs(30), "the long FF1 item took {took:?}\n{out}");

    let (out, _, took) = attack("ff1_loop");
    out.assert_stderr_contains("CPU time limit per call exceeded");
    assert!(took < std::time::Duration::from_secs(30), "the FF1 loop took {took:?} under a 2 s limit\n{out}");
}

/// `sluice component check FILE`.
fn check(path: &Path) -> RunOutput {
    run([OsStr::new("component"), OsStr::new("check"), path.as_os_str()])
}

#[test]
fn component_check_accepts_every_builtin_and_names_its_world() {
    for (name, world) in BUILTINS {
        let out = check(&component_wasm(name));
        out.assert_success();
        let absent = missing(&out.stdout, &[world, "sluice:pipeline@0.1.0"]);
        assert!(absent.is_empty(), "component check of {name} does not name {absent:?}\n{out}");
    }
}

#[test]
fn component_check_finds_what_each_hostile_component_does() {
    let mut report = String::new();
    for (name, words) in REASONS {
        let out = check(&component_wasm(name));
        let absent = missing(&format!("{}\n{}", out.stdout, out.stderr), words);
        if out.code != Some(1) || !absent.is_empty() {
            report.push_str(&format!("{name}: expected exit 1 mentioning {words:?} (missing {absent:?})\n{out}\n\n"));
        }
    }
    assert!(report.is_empty(), "component check missed hostile components:\n{report}");
}

#[test]
fn component_check_of_a_file_that_is_not_wasm_fails_saying_so() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let text = dir.path().join("notes.wasm");
    fs::write(&text, "just some text\n").expect("write notes.wasm");
    check(&text).assert_code(1).assert_stderr_contains("not a WebAssembly component");
}

#[test]
fn component_check_of_a_missing_file_is_bad_input() {
    check(Path::new("/nonexistent/component.wasm"))
        .assert_code(2)
        .assert_stderr_contains("/nonexistent/component.wasm");
}

/// Every compiled component (`*.cwasm`) under `dir`, recursively.
fn cwasm_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).expect("list the cache directory").flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(cwasm_files(&path));
        } else if path.extension().is_some_and(|e| e == "cwasm") {
            found.push(path);
        }
    }
    found
}

/// Turns a cache entry's bytes into a damaged entry.
type Corruption = fn(&[u8]) -> Vec<u8>;

#[test]
fn a_corrupt_compile_cache_entry_is_ignored() {
    let db = hundred_rows();
    let cache = tempfile::tempdir().expect("temporary cache directory");
    let dump_with_cache = || {
        let dir = DumpDir::new();
        let args = ["dump", db.url(), "--out", dir.arg(), "--transform", "public.t=identity"];
        run_with_env(args, &[("SLUICE_CACHE_DIR", cache.path().as_os_str())]).assert_success();
        run(["verify", dir.arg()]).assert_success();
        let target = TestDb::new();
        restore_into(&dir, &target, &[]).assert_success();
        assert_same_database(&db, &target);
    };
    dump_with_cache();
    // Each corruption replaces every entry; each dump must recompile and
    // rewrite them, so the next corruption finds them again.
    let corruptions: [(&str, Corruption); 3] = [
        ("garbage", |_| b"this is not a compiled component".repeat(64)),
        ("truncated", |entry| entry[..entry.len() / 2].to_vec()),
        // An entry is `sha256(payload) ‖ payload` (host/src/stage/cache.rs):
        // this one passes the digest check, so only wasmtime's own checks
        // stand between it and the engine.
        ("garbage under a matching digest", |_| {
            use sha2::{Digest, Sha256};
            let payload = b"\x7fELF not really".repeat(64);
            [Sha256::digest(&payload).as_slice(), &payload].concat()
        }),
    ];
    for (what, corrupt) in corruptions {
        let entries = cwasm_files(cache.path());
        assert!(!entries.is_empty(), "no *.cwasm under {} before the {what} run", cache.path().display());
        for entry in &entries {
            let bytes = fs::read(entry).expect("read a cache entry");
            fs::write(entry, corrupt(&bytes)).expect("corrupt a cache entry");
        }
        dump_with_cache();
    }
}

#[test]
fn a_fuel_budget_stops_a_spinning_component_before_the_cpu_limit_would() {
    let db = hundred_rows();
    let spin = format!("public.t={}", component_wasm("hostile_spin").display());
    let dir = DumpDir::new();
    let args = ["dump", db.url(), "--out", dir.arg(), "--transform", &spin, "--cpu-limit", "60s", "--fuel", "50000000"];
    run_measuring_peak_rss(args).0.assert_code(1).assert_stderr_contains("fuel budget per call exhausted (--fuel)");
    assert!(!dir.manifest_path().exists(), "a failed dump left a manifest.json");
    let fine = DumpDir::new();
    let args = ["dump", db.url(), "--out", fine.arg(), "--transform", "public.t=identity", "--fuel", "50000000"];
    run_measuring_peak_rss(args).0.assert_success();
}
