//! Microbenchmark of the component boundary: how many MB/s of batch data one
//! core pushes through a built-in component, with nothing else in the way (no
//! database, no compression, no files). A regression in the batch encoding
//! or in the guest's per-batch work shows up here by itself.
//!
//! Runs: a pass-through row transform (`identity`, batch in and batch out)
//! and every built-in formatter (batch in, bytes out): `copy`, `csv`,
//! `jsonl` and `sql` on PostgreSQL tables, `sql` and `tsv` on MySQL ones
//! (target: ≥ 400 MB/s per core each, at its slowest batch size), at 100, 1,000
//! and 10,000 rows per batch, on synthetic rows shaped like a typical table
//! (int, text ~40 bytes, numeric, timestamptz, bool, nullable text).
//!
//! MB/s = `Batch::data_bytes()` (values + offsets) of every batch handed in
//! ÷ the wall time of the calls, on one thread. Cloning the input batch
//! (the formatters consume it) happens outside the timed section.
//!
//! Also the native `encrypt` stage's cipher on its own: age v1 encryption
//! (and decryption) of 8 MiB files of incompressible bytes, as a compressed
//! chunk is, to one X25519 recipient plus the binding stanza; MB/s of
//! plaintext per core (issue 20's target: ≥ 700).
//!
//! ```sh
//! cargo bench -p sluice --bench boundary
//! SLUICE_BENCH_OUT=target/bench cargo bench -p sluice --bench boundary   # also writes boundary.json there
//! BOUNDARY_SECONDS=0.2 cargo bench -p sluice --bench boundary            # shorter runs
//! ```

use std::time::{Duration, Instant};

use anyhow::Context;
use sluice::batch::{Batch, ColumnData};
use sluice::catalog::{Column, ColumnKind, Table};
use sluice::db::Engine;
use sluice::stage::row::wit_table;
use sluice::stage::{ComponentRef, Instances, Limits, Runtime, World};

/// Batch sizes measured, in rows.
const SIZES: [u32; 3] = [100, 1_000, 10_000];

/// What the "per core" target of issue 8 asks of a pass-through component.
const TARGET_MB_S: f64 = 500.0;

/// What issue 20 asks of age encryption, per core.
const TARGET_AGE_MB_S: f64 = 700.0;

/// Issue 21's floor for every component formatter, MB/s of batch data per
/// core at its slowest batch size.
const TARGET_FORMATTER_MB_S: f64 = 400.0;

/// splitmix64: deterministic synthetic values without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn column(name: &str, sql_type: &str, kind: ColumnKind, nullable: bool) -> Column {
    Column { name: name.into(), sql_type: sql_type.into(), kind, nullable }
}

/// The table the synthetic batches belong to.
fn table() -> Table {
    Table {
        schema: "public".into(),
        name: "bench".into(),
        columns: vec![
            column("id", "integer", ColumnKind::Integer, false),
            column("name", "text", ColumnKind::Text, false),
            column("amount", "numeric(12,2)", ColumnKind::Decimal, false),
            column("created_at", "timestamp with time zone", ColumnKind::TimestampTz, false),
            column("flag", "boolean", ColumnKind::Boolean, false),
            column("note", "text", ColumnKind::Text, true),
        ],
        primary_key: vec!["id".into()],
        estimated_rows: -1,
        ..Table::default()
    }
}

/// `rows` rows of the table above, values in PostgreSQL's text form (what a
/// batch carries); ~20% of `note` is NULL, a few values need escaping.
fn batch(rows: u32, seed: u64) -> Batch {
    const WORDS: [&str; 12] =
        ["sun", "moon", "rust", "wit", "pony", "lily", "hill", "joy", "grip", "twin", "müsli", "tab\there"];
    let mut rng = Rng(seed);
    let mut b = Batch::with_columns(6);
    let mut text = String::new();
    for i in 0..rows {
        let id = (seed as u32).wrapping_mul(1_000_003).wrapping_add(i);
        b.columns[0].push(Some(id.to_string().as_bytes()));

        text.clear();
        while text.len() < 34 + rng.below(12) as usize {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        }
        b.columns[1].push(Some(text.as_bytes()));

        let cents = rng.below(2_000_000_000) as i64 - 1_000_000_000;
        let amount = format!("{}{}.{:02}", if cents < 0 { "-" } else { "" }, cents.abs() / 100, cents.abs() % 100);
        b.columns[2].push(Some(amount.as_bytes()));

        let ts = format!(
            "20{:02}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00",
            15 + rng.below(10),
            1 + rng.below(12),
            1 + rng.below(28),
            rng.below(24),
            rng.below(60),
            rng.below(60),
            rng.below(1_000_000)
        );
        b.columns[3].push(Some(ts.as_bytes()));

        b.columns[4].push(Some(if rng.below(3) == 0 { b"t" } else { b"f" }));

        if rng.below(5) == 0 {
            b.columns[5].push(None);
        } else {
            let note = format!("ref-{:016x}", rng.next());
            b.columns[5].push(Some(&note.as_bytes()[..8 + rng.below(12) as usize]));
        }
    }
    for c in &mut b.columns {
        c.seal();
    }
    b.rows = rows;
    b
}

/// Bytes of values only (no offsets), for the "bytes per row" column.
fn value_bytes(b: &Batch) -> usize {
    b.columns.iter().map(|c: &ColumnData| c.data.len()).sum()
}

struct Measured {
    run: &'static str,
    rows: u32,
    batches: u64,
    bytes: u64,
    busy: Duration,
    output_bytes: u64,
    value_bytes: usize,
}

impl Measured {
    fn mb_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.busy.as_secs_f64()
    }
}

/// Calls `step` on copies of `input` until `budget` of timed work is done
/// (at least 3 calls); `step` returns (time spent in the call, output bytes).
fn measure(
    run: &'static str,
    input: &Batch,
    budget: Duration,
    mut step: impl FnMut(Batch) -> anyhow::Result<(Duration, usize)>,
) -> anyhow::Result<Measured> {
    // One untimed call: instance warm, guest allocator grown.
    step(input.clone())?;
    let per_batch = input.data_bytes() as u64;
    let mut m = Measured {
        run,
        rows: input.rows,
        batches: 0,
        bytes: 0,
        busy: Duration::ZERO,
        output_bytes: 0,
        value_bytes: value_bytes(input),
    };
    while m.busy < budget || m.batches < 3 {
        let (took, out) = step(input.clone())?;
        m.busy += took;
        m.batches += 1;
        m.bytes += per_batch;
        m.output_bytes += out as u64;
    }
    Ok(m)
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench` (and any filter) to a harness-less bench.
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wanted = |run: &str| filter.is_empty() || filter.iter().any(|f| run.contains(f.as_str()));
    let budget =
        Duration::from_secs_f64(std::env::var("BOUNDARY_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0));

    let runtime = Runtime::new(Limits::default())?;
    let table = table();
    let wit = wit_table(&table, sluice::pipeline::dialect(Engine::Postgres));
    // `sql` writes the dialect of the table's engine.
    let wit_mysql = wit_table(&table, sluice::pipeline::dialect(Engine::Mysql));
    let mut instances = Instances::default();
    let identity = ComponentRef::builtin("identity", World::RowTransform)?;
    let formatters = [
        ("copy formatter", "copy", &wit),
        ("csv formatter", "csv", &wit),
        ("jsonl formatter", "jsonl", &wit),
        ("sql formatter (pg)", "sql", &wit),
        ("sql formatter", "sql", &wit_mysql),
        ("tsv formatter", "tsv", &wit_mysql),
    ];

    let mut results = Vec::new();
    for rows in SIZES {
        let input = batch(rows, 0x5eed ^ u64::from(rows));

        if wanted("identity") {
            let row = instances.row(&runtime, &identity).context("identity instance")?;
            row.start(&runtime, &wit, "").context("identity start")?;
            results.push(measure("identity round trip", &input, budget, |b| {
                let t = Instant::now();
                let out = row.transform(&runtime, b)?;
                let took = t.elapsed();
                anyhow::ensure!(out.rows == rows, "identity returned {} rows for {rows}", out.rows);
                Ok((took, out.data_bytes()))
            })?);
        }

        for &(run, name, wit) in &formatters {
            if !wanted(run) {
                continue;
            }
            let component = ComponentRef::builtin(name, World::Formatter)?;
            let f = instances.formatter(&runtime, &component).with_context(|| format!("{name} instance"))?;
            f.header(&runtime, wit, "").with_context(|| format!("{name} header"))?;
            results.push(measure(run, &input, budget, |b| {
                let t = Instant::now();
                let out = f.format(&runtime, b)?;
                Ok((t.elapsed(), out.len()))
            })?);
            f.trailer(&runtime).with_context(|| format!("{name} trailer"))?;
        }
    }

    let mut age_runs = Vec::new();
    if wanted("age") {
        age_runs = measure_age(budget)?;
    }

    println!(
        "component boundary, one thread, built-in components (MB/s of batch data in; target for identity: ≥ {TARGET_MB_S:.0} MB/s per core)"
    );
    println!(
        "{:<20} {:>7} {:>9} {:>9} {:>11} {:>10} {:>9}",
        "run", "rows", "B/row", "batches", "µs/batch", "MB/s", "Mrows/s"
    );
    let mut json = Vec::new();
    for m in &results {
        let per_row = m.bytes as f64 / m.batches as f64 / f64::from(m.rows);
        let us = m.busy.as_secs_f64() * 1e6 / m.batches as f64;
        let mrows = m.batches as f64 * f64::from(m.rows) / m.busy.as_secs_f64() / 1e6;
        println!(
            "{:<20} {:>7} {:>9.1} {:>9} {:>11.1} {:>10.0} {:>9.2}",
            m.run,
            m.rows,
            per_row,
            m.batches,
            us,
            m.mb_s(),
            mrows
        );
        json.push(serde_json::json!({
            "run": m.run,
            "rows_per_batch": m.rows,
            "batch_bytes": m.bytes / m.batches,
            "value_bytes": m.value_bytes,
            "batches": m.batches,
            "seconds": m.busy.as_secs_f64(),
            "us_per_batch": us,
            "mb_per_s": m.mb_s(),
            "mrows_per_s": mrows,
            "output_bytes_per_batch": m.output_bytes / m.batches,
        }));
    }
    let identity_min =
        results.iter().filter(|m| m.run == "identity round trip").map(Measured::mb_s).fold(f64::INFINITY, f64::min);
    if identity_min.is_finite() {
        let verdict = if identity_min >= TARGET_MB_S { "met" } else { "missed" };
        println!("identity at its slowest batch size: {identity_min:.0} MB/s (target ≥ {TARGET_MB_S:.0}): {verdict}");
    }

    for &(run, _, _) in &formatters {
        let slowest = results.iter().filter(|m| m.run == run).map(Measured::mb_s).fold(f64::INFINITY, f64::min);
        if slowest.is_finite() {
            let verdict = if slowest >= TARGET_FORMATTER_MB_S { "met" } else { "missed" };
            println!(
                "{run} at its slowest batch size: {slowest:.0} MB/s (target ≥ {TARGET_FORMATTER_MB_S:.0}): {verdict}"
            );
        }
    }

    for (run, mb_s) in &age_runs {
        println!("{run:<20} {:>7} {:>9} {:>9} {:>11} {mb_s:>10.0} {:>9}", "8 MiB", "-", "-", "-", "-");
        json.push(serde_json::json!({ "run": run, "rows_per_batch": 0, "mb_per_s": mb_s, "us_per_batch": 0.0 }));
    }
    if let Some((_, mb_s)) = age_runs.iter().find(|(run, _)| *run == "age encrypt") {
        let verdict = if *mb_s >= TARGET_AGE_MB_S { "met" } else { "missed" };
        println!("age encryption: {mb_s:.0} MB/s per core (target ≥ {TARGET_AGE_MB_S:.0}): {verdict}");
    }

    if let Some(dir) = std::env::var_os("SLUICE_BENCH_OUT") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("boundary.json");
        let doc = serde_json::json!({
            "target_identity_mb_per_s": TARGET_MB_S,
            "target_age_mb_per_s": TARGET_AGE_MB_S,
            "target_formatter_mb_per_s": TARGET_FORMATTER_MB_S,
            "results": json,
        });
        std::fs::write(&path, serde_json::to_vec_pretty(&doc)?).with_context(|| format!("{}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// age encryption and decryption through the encrypt stage's own `Sealer`
/// and `Keys`, one thread: (run, MB/s of plaintext of the median file of
/// those done within `budget`, at least 5: a file the scheduler interrupts
/// does not decide the verdict).
fn measure_age(budget: Duration) -> anyhow::Result<Vec<(&'static str, f64)>> {
    use std::io::{Read, Write};

    use sluice::stage::encrypt::{Keys, Recipients, Sealer};

    const FILE: usize = 8 << 20;
    let mut rng = Rng(0xa9e);
    let plain: Vec<u8> = (0..FILE / 8).flat_map(|_| rng.next().to_le_bytes()).collect();
    let identity = age::x25519::Identity::generate();
    let sealer = Sealer::new(Recipients::one(identity.to_public()), "bench");
    let keys = Keys::one(identity, "bench").bound_to("bench");
    let key = "data/public.t.00000.copy.zst.age";

    // One output buffer, reused: the stage writes into a file or an upload
    // part buffer that is already mapped, not fresh pages every file.
    let mut sealed = Vec::with_capacity(FILE + 4096);
    let mut times = Vec::new();
    while times.iter().sum::<Duration>() < budget || times.len() < 5 {
        sealed.clear();
        let t = Instant::now();
        let mut writer = sealer.writer(key, &mut sealed)?;
        // In 128 KiB writes, as the stage sees a compressor's output.
        for piece in plain.chunks(128 << 10) {
            writer.write_all(piece)?;
        }
        writer.finish()?;
        times.push(t.elapsed());
    }
    let encrypt = median_mb_s(FILE, &mut times);

    let mut times = Vec::new();
    let mut back = Vec::with_capacity(FILE);
    while times.iter().sum::<Duration>() < budget || times.len() < 5 {
        back.clear();
        let t = Instant::now();
        let (mut reader, _) = keys.reader(key, sealed.as_slice()).map_err(|e| anyhow::anyhow!("{e}"))?;
        reader.read_to_end(&mut back)?;
        times.push(t.elapsed());
    }
    let decrypt = median_mb_s(FILE, &mut times);
    anyhow::ensure!(back == plain, "age decryption gave other bytes");
    Ok(vec![("age encrypt", encrypt), ("age decrypt", decrypt)])
}

/// MB/s of `bytes` in the median of `times`.
fn median_mb_s(bytes: usize, times: &mut [Duration]) -> f64 {
    times.sort();
    bytes as f64 / 1e6 / times[times.len() / 2].as_secs_f64()
}
