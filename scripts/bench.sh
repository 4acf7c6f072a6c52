#!/usr/bin/env bash
# scripts/bench.sh [SCALE]: sluice side by side with the PostgreSQL anchors
# (issue 8), in one run on the private test server (scripts/pg-server.sh).
#
#   1. the component-boundary microbenchmark (cargo bench --bench boundary)
#   2. database sluice_bench filled by make-bench-db.sh --scale SCALE
#      (default 5,000,000 rows in `big` + 20 small tables of SCALE/50 rows)
#   3. timed, RUNS times each (min and median), with hyperfine when present:
#      raw read limit (pg-raw-copy.sh: COPY big; two ctid halves on one
#      snapshot; the same through zstd -1), pg_dump -Fd -j2 (gzip and -Z0),
#      pg_restore -j2, and sluice dump -j2 (native, --stages wasm, identity
#      pass-through, mask on three columns of big, encrypted to an age
#      recipient, in passphrase mode) and sluice restore -j2,
#      each sluice run under /usr/bin/time -v for its peak RSS; then the
#      native dump to the private S3 server (scripts/s3-server.sh, moto on
#      this machine) at -j2 and -j8, side by side with the directory dump
#   4. a table of seconds, MB/s and ratios on stdout, and the same in
#      target/bench/results.txt and target/bench/results.json
#
# The dataset generator and the raw-read script are not copied here: they
# come from $SLUICE_BENCH_DIR (default ../shared/bench next to the checkout).
#
# Environment:
#   SLUICE_BENCH_DIR   where make-bench-db.sh and pg-raw-copy.sh live
#   SLUICE_BENCH_RUNS  timed runs per command (default 3, at least 3 is advised)
#   SLUICE_BENCH_ONLY  space-separated run ids to time (default: all; ids below)
#   SLUICE_BENCH_KEEP  1 = keep the dump directories under target/bench/work
#   SLUICE_BENCH_SKIP_BOUNDARY  1 = skip the microbenchmark
#
# The server is stopped on exit (like `just test`), and the bench databases
# are dropped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SCALE="${1:-5000000}"
[[ $SCALE =~ ^[0-9]+$ && $SCALE -gt 0 ]] || { echo "bench: SCALE must be a positive integer, not '$SCALE'" >&2; exit 2; }
RUNS="${SLUICE_BENCH_RUNS:-3}"
BENCH_DIR="${SLUICE_BENCH_DIR:-$ROOT/../shared/bench}"
PG="$ROOT/scripts/pg-server.sh"
SLUICE="$ROOT/target/release/sluice"
OUT="$ROOT/target/bench"
RAW="$OUT/raw"        # one JSON (hyperfine format) per run id, .rss, .err
WORK="$OUT/work"      # dump directories
SRC_DB=sluice_bench
DST_DB=sluice_bench_restore
export SLUICE_MASK_KEY="${SLUICE_MASK_KEY:-bench-key-0123456789abcdef}"
# sluice's compiled-component cache, private to the bench so the first
# (untimed) run of each variant fills it and the timed runs reuse it
export SLUICE_CACHE_DIR="$OUT/cache"

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
log() { printf '\n== %s\n' "$*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

for f in make-bench-db.sh pg-raw-copy.sh; do
    [[ -f $BENCH_DIR/$f ]] || die "$BENCH_DIR/$f not found: the bench dataset and anchor scripts live in
  ../shared/bench next to the checkout; set SLUICE_BENCH_DIR to the directory that holds
  make-bench-db.sh and pg-raw-copy.sh"
done
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"

as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
APT_UPDATED=""
apt_install() { # apt_install PACKAGE: best effort
    command -v apt-get >/dev/null || return 1
    if [[ -z $APT_UPDATED ]]; then as_root apt-get update -qq >&2 || return 1; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$1" >&2
}
command -v hyperfine >/dev/null || apt_install hyperfine \
    || echo "bench: hyperfine not available; timing with a bash loop instead" >&2
command -v zstd >/dev/null || apt_install zstd || die "zstd is needed (apt-get install zstd)"
[[ -x /usr/bin/time ]] || apt_install time || die "/usr/bin/time is needed for peak RSS (apt-get install time)"
command -v python3 >/dev/null || die "python3 is needed for the report"
HAVE_HYPERFINE=""
command -v hyperfine >/dev/null && HAVE_HYPERFINE=1

# ---- server and databases ------------------------------------------------------
"$PG" start
PATH="$("$PG" bindir):$PATH"   # psql, pg_dump, pg_restore of the server's version
export PATH
BASE="$("$PG" url)"
SERVER="${BASE%/*}"
SRC="$SERVER/$SRC_DB"
DST="$SERVER/$DST_DB"
admin() { psql -X -q -v ON_ERROR_STOP=1 -d "$BASE" "$@"; }
recreate() { # recreate DB: a fresh empty database
    admin -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1 TEMPLATE template0"
}
# Others' `just test` shares this server and stops it when it ends: before a
# run, and before retrying a failed one, make sure the server is up (the data
# directory, and so the bench database, survives a stop).
LOST_SERVER='connection refused\|terminating connection\|server closed the connection\|connection to server.*failed\|the database system is shutting down\|the database system is starting up'
ensure_server() {
    "$PG" status || { echo "bench: the server was stopped (by another run?); starting it again" >&2; "$PG" start; }
}

cleanup() {
    local rc=$?
    ensure_server >/dev/null 2>&1 || true
    admin -c "DROP DATABASE IF EXISTS $SRC_DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $DST_DB WITH (FORCE)" \
        >/dev/null 2>&1 || true
    [[ ${SLUICE_BENCH_KEEP:-} == 1 ]] || rm -rf "$WORK"
    "$PG" stop || true
    "$ROOT/scripts/s3-server.sh" stop || true
    exit "$rc"
}
trap cleanup EXIT

rm -rf "$RAW" "$WORK"
mkdir -p "$RAW" "$WORK"

log "cargo build --release"
cargo build --release

BOUNDARY_STATUS="skipped"
if [[ ${SLUICE_BENCH_SKIP_BOUNDARY:-} != 1 ]]; then
    log "component boundary microbenchmark (cargo bench -p sluice --bench boundary)"
    rm -f "$OUT/boundary.json"
    if SLUICE_BENCH_OUT="$OUT" cargo bench -p sluice --bench boundary 2>&1 | tee "$OUT/boundary.txt"; then
        BOUNDARY_STATUS="ok"
    else
        BOUNDARY_STATUS="failed (see target/bench/boundary.txt)"
        echo "bench: the boundary microbenchmark failed; going on with the end-to-end runs" >&2
    fi
fi

log "dataset: make-bench-db.sh --scale $SCALE into $SRC_DB"
for attempt in 1 2 3; do
    ensure_server
    recreate "$SRC_DB"
    t0=$(date +%s)
    if "$BENCH_DIR/make-bench-db.sh" --scale "$SCALE" --pg "$SRC"; then
        echo "dataset built in $(( $(date +%s) - t0 )) s" >&2
        break
    fi
    (( attempt < 3 )) || die "make-bench-db.sh failed three times"
    echo "bench: make-bench-db.sh failed (attempt $attempt); trying again" >&2
done
q() { psql -X -q -At -d "$SRC" -c "$1"; }
BIG_BYTES=$(q "SELECT pg_relation_size('public.big')")
ALL_BYTES=$(q "SELECT sum(pg_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'public' AND c.relkind = 'r'")
SERVER_VERSION=$(q 'SHOW server_version')
TABLES=$(q "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r'")

# ---- timing --------------------------------------------------------------------
# runs.tsv lists the runs in order: id, label, kind, bytes, output dir
printf 'id\tlabel\tkind\tbytes\toutput\n' > "$RAW/runs.tsv"
wanted() { [[ -z ${SLUICE_BENCH_ONLY:-} || " $SLUICE_BENCH_ONLY " == *" $1 "* ]]; }

# timeit ID WARMUP PREPARE COMMAND: RUNS timed runs of COMMAND (under bash),
# PREPARE before each ("" for none), WARMUP untimed runs first. Writes
# $RAW/ID.json in hyperfine's export format, or $RAW/ID.err on failure.
timeit() {
    local attempt
    for attempt in 1 2 3; do
        ensure_server
        timeit_once "$@" && return 0
        echo "bench: $1 failed (attempt $attempt of 3)" >&2
        sleep 3
    done
    echo "error: the command failed during the timed runs (3 attempts)" > "$RAW/$1.err"
    rm -f "$RAW/$1.json"
}
timeit_once() {
    local id=$1 warmup=$2 prepare=$3 cmd=$4
    echo ">>> $id: $cmd" >&2
    if [[ -n $HAVE_HYPERFINE ]]; then
        local args=(--shell=bash --runs "$RUNS" --warmup "$warmup" --export-json "$RAW/$id.json" -n "$id")
        [[ -z $prepare ]] || args+=(--prepare "$prepare")
        hyperfine "${args[@]}" "$cmd" >&2 && return 0
    else
        local i t0 t1 times=()
        for ((i = 0; i < warmup + RUNS; i++)); do
            if [[ -n $prepare ]]; then bash -c "$prepare" >/dev/null || break; fi
            t0=$(date +%s.%N)
            bash -c "$cmd" >/dev/null || break
            t1=$(date +%s.%N)
            (( i < warmup )) || times+=("$(python3 -c "print($t1 - $t0)")")
            echo "  run $((i + 1)): $(python3 -c "print(f'{$t1 - $t0:.3f} s')")" >&2
        done
        if (( ${#times[@]} == RUNS )); then
            python3 - "$RAW/$id.json" "$id" "${times[@]}" <<'EOF'
import json, statistics, sys
path, name, times = sys.argv[1], sys.argv[2], [float(t) for t in sys.argv[3:]]
json.dump({"results": [{"command": name, "times": times, "min": min(times), "max": max(times),
                         "median": statistics.median(times), "mean": statistics.mean(times)}]},
          open(path, "w"), indent=1)
EOF
            return 0
        fi
    fi
    return 1
}

# anchor ID LABEL BYTES WARMUP PREPARE COMMAND [OUTPUT]
anchor() {
    local id=$1 label=$2 bytes=$3 warmup=$4 prepare=$5 cmd=$6 output=${7:-}
    wanted "$id" || return 0
    printf '%s\t%s\tanchor\t%s\t%s\n' "$id" "$label" "$bytes" "$output" >> "$RAW/runs.tsv"
    timeit "$id" "$warmup" "$prepare" "$cmd"
}

# sluice_run ID LABEL PREPARE ARGS [OUTPUT]: one untimed run first (fills the
# compile cache; a failure there is recorded as n/a with its first error
# line), then the timed runs, each under /usr/bin/time -v for the peak RSS.
sluice_run() {
    local id=$1 label=$2 prepare=$3 args=$4 output=${5:-}
    wanted "$id" || return 0
    printf '%s\t%s\tsluice\t%s\t%s\n' "$id" "$label" "$ALL_BYTES" "$output" >> "$RAW/runs.tsv"
    local cmd="/usr/bin/time -v -a -o '$RAW/$id.rss' '$SLUICE' $args"
    local rc attempt
    for attempt in 1 2 3; do
        echo ">>> $id (untimed first run): sluice $args" >&2
        ensure_server
        rc=0
        if [[ -n $prepare ]]; then bash -c "$prepare" >"$RAW/$id.first.log" 2>&1 || rc=$?; fi
        (( rc != 0 )) || bash -c "'$SLUICE' $args" >"$RAW/$id.first.log" 2>&1 || rc=$?
        # a lost server is worth a retry; any other error is the result
        (( rc != 0 )) && grep -qi "$LOST_SERVER" "$RAW/$id.first.log" || break
        sleep 3
    done
    if (( rc != 0 )); then
        local first
        first=$(grep -v '^\s*$' "$RAW/$id.first.log" | head -n 3 | tr '\n' ' ' | cut -c1-300 || true)
        echo "error: exit $rc: ${first}" > "$RAW/$id.err"
        echo "bench: $id failed, recorded as n/a: ${first}" >&2
        return 0
    fi
    rm -f "$RAW/$id.rss"
    timeit "$id" 0 "$prepare" "$cmd"
}

raw="'$BENCH_DIR/pg-raw-copy.sh' --url '$SRC'"
log "warm-up read of every table (untimed)"
ensure_server
bash -c "$raw --workers 2 --tables all" || echo "bench: the warm-up read failed; going on" >&2

log "raw read limit"
anchor raw-copy-big "raw: COPY big TO STDOUT (1 session)" "$BIG_BYTES" 1 "" "$raw --workers 1"
anchor raw-par2 "raw: 2 sessions, 1 snapshot, all tables" "$ALL_BYTES" 1 "" "$raw --workers 2 --tables all"
anchor raw-par2-zstd "raw: 2 sessions + zstd -1, all tables" "$ALL_BYTES" 1 "" \
    "$raw --workers 2 --tables all --sink zstd"

log "pg_dump / pg_restore"
anchor pg-dump-gzip "pg_dump -Fd -j2 (gzip)" "$ALL_BYTES" 0 "rm -rf '$WORK/pg-gzip'" \
    "pg_dump -Fd -j 2 -f '$WORK/pg-gzip' '$SRC'" "$WORK/pg-gzip"
anchor pg-dump-z0 "pg_dump -Fd -Z0 -j2" "$ALL_BYTES" 0 "rm -rf '$WORK/pg-z0'" \
    "pg_dump -Fd -Z0 -j 2 -f '$WORK/pg-z0' '$SRC'" "$WORK/pg-z0"
RECREATE_DST="psql -X -q -v ON_ERROR_STOP=1 -d '$BASE' -c 'DROP DATABASE IF EXISTS $DST_DB WITH (FORCE)' -c 'CREATE DATABASE $DST_DB TEMPLATE template0'"
if [[ -d $WORK/pg-z0 ]]; then
    anchor pg-restore "pg_restore -j2 (of the -Z0 dump)" "$ALL_BYTES" 0 "$RECREATE_DST" \
        "pg_restore -j 2 -d '$DST' '$WORK/pg-z0'"
elif wanted pg-restore; then
    printf 'pg-restore\tpg_restore -j2 (of the -Z0 dump)\tanchor\t%s\t\n' "$ALL_BYTES" >> "$RAW/runs.tsv"
    echo "error: no -Z0 dump to restore (pg-dump-z0 did not run)" > "$RAW/pg-restore.err"
fi

log "sluice"
common="-j 2 --progress none"
cat > "$WORK/mask.toml" <<'EOF'
# three columns of big: a text column, a nullable text column, an integer
[[table]]
match = "public.big"
mask = { name = "hash", note = "redact", n = { rule = "noise", bound = 10 } }
EOF
sluice_run sluice-native "sluice dump -j2 (native, zstd:1)" "rm -rf '$WORK/s-native'" \
    "dump '$SRC' --out '$WORK/s-native' $common" "$WORK/s-native"
sluice_run sluice-wasm "sluice dump -j2 --stages wasm" "rm -rf '$WORK/s-wasm'" \
    "dump '$SRC' --out '$WORK/s-wasm' $common --stages wasm" "$WORK/s-wasm"
sluice_run sluice-identity "sluice dump -j2 + identity row stage" "rm -rf '$WORK/s-identity'" \
    "dump '$SRC' --out '$WORK/s-identity' $common --transform 'public.*=identity'" "$WORK/s-identity"
sluice_run sluice-mask "sluice dump -j2 + mask (3 cols of big)" "rm -rf '$WORK/s-mask'" \
    "dump '$SRC' --out '$WORK/s-mask' $common --config '$WORK/mask.toml'" "$WORK/s-mask"
# Every other format, side by side with the default (copy): the formatter
# runs as a component for these.
for f in csv jsonl sql; do
    sluice_run "sluice-$f" "sluice dump -j2 --format $f" "rm -rf '$WORK/s-$f'" \
        "dump '$SRC' --out '$WORK/s-$f' $common --format $f" "$WORK/s-$f"
done
# Encryption: a public recipient is all a dump needs (its private key was
# thrown away: nothing here decrypts); passphrase mode derives its key once.
BENCH_RECIPIENT=age1827awdkjtwgmx8x9man24luzgk9dnt9wwqesw0q4w4s55645jgcs866rad
printf 'bench passphrase, not a secret\n' > "$WORK/passphrase"
sluice_run sluice-encrypt "sluice dump -j2 --encrypt-to (age)" "rm -rf '$WORK/s-encrypt'" \
    "dump '$SRC' --out '$WORK/s-encrypt' $common --encrypt-to $BENCH_RECIPIENT" "$WORK/s-encrypt"
sluice_run sluice-passphrase "sluice dump -j2 --passphrase-file" "rm -rf '$WORK/s-passphrase'" \
    "dump '$SRC' --out '$WORK/s-passphrase' $common --passphrase-file '$WORK/passphrase'" "$WORK/s-passphrase"
if [[ -f $WORK/s-native/manifest.json ]]; then
    sluice_run sluice-restore "sluice restore -j2 (of the native dump)" "$RECREATE_DST" \
        "restore '$WORK/s-native' '$DST' $common"
elif wanted sluice-restore; then
    printf 'sluice-restore\tsluice restore -j2 (of the native dump)\tsluice\t%s\t\n' "$ALL_BYTES" >> "$RAW/runs.tsv"
    echo "error: no native sluice dump to restore" > "$RAW/sluice-restore.err"
fi

log "sluice to object storage (the private S3 server, moto, on this machine)"
if wanted sluice-s3 || wanted sluice-s3-j8; then
    "$ROOT/scripts/s3-server.sh" start
    eval "$("$ROOT/scripts/s3-server.sh" env)"
    export AWS_ENDPOINT_URL AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
    S3_ADMIN="'$ROOT/scripts/s3-server.sh' admin"
    # The server runs on the same two cores: its CPU time per dump says how
    # much of the difference to a directory is the server's.
    moto_ticks() { awk '{print $14 + $15}' "/proc/$(cat "$ROOT/target/test-s3/moto.pid")/stat"; }
    ticks0=$(moto_ticks)
    sluice_run sluice-s3 "sluice dump -j2 to s3:// (8 MiB parts)" "$S3_ADMIN rmprefix sluice-bench s-native/" \
        "dump '$SRC' --out s3://sluice-bench/s-native $common"
    # RUNS timed runs + the untimed first one; the clean-ups' CPU is in too.
    MOTO_CPU=$(python3 -c "print(f'{($(moto_ticks) - $ticks0) / $(getconf CLK_TCK) / ($RUNS + 1):.1f}')")
    echo "bench: the S3 server (moto) used $MOTO_CPU CPU seconds per dump" >&2
    sluice_run sluice-s3-j8 "sluice dump -j8 to s3:// (8 MiB parts)" "$S3_ADMIN rmprefix sluice-bench s-j8/" \
        "dump '$SRC' --out s3://sluice-bench/s-j8 -j 8 --progress none"
fi

# ---- report --------------------------------------------------------------------
ENV_LINE="$(nproc) cores, $(uname -sr), PostgreSQL $SERVER_VERSION, pg_dump $(pg_dump --version | awk '{print $3}'), $(if [[ -n $HAVE_HYPERFINE ]]; then hyperfine --version; else echo 'bash timing loop'; fi), load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RAW" "$OUT" "$SCALE" "$RUNS" "$BIG_BYTES" "$ALL_BYTES" "$TABLES" "$ENV_LINE" "$BOUNDARY_STATUS" "${MOTO_CPU:-}" <<'EOF'
import json, os, re, statistics, subprocess, sys
raw, out, scale, runs, big, total, tables, env, boundary_status, moto_cpu = sys.argv[1:]
scale, runs, big, total, tables = int(scale), int(runs), int(big), int(total), int(tables)

def du(path):
    if not path or not os.path.exists(path):
        return None
    return int(subprocess.run(["du", "-sb", path], capture_output=True, text=True).stdout.split()[0])

rows = []
for line in open(os.path.join(raw, "runs.tsv")).read().splitlines()[1:]:
    rid, label, kind, nbytes, output = (line.split("\t") + [""] * 5)[:5]
    r = {"id": rid, "run": label, "kind": kind, "bytes": int(nbytes), "min_s": None, "median_s": None,
         "times_s": None, "mb_per_s": None, "peak_rss_mib": None, "output": output or None, "output_bytes": du(output), "error": None}
    j, e, rss = (os.path.join(raw, rid + ext) for ext in (".json", ".err", ".rss"))
    if os.path.exists(j):
        t = json.load(open(j))["results"][0]["times"]
        r["times_s"] = t
        r["min_s"], r["median_s"] = min(t), statistics.median(t)
        r["mb_per_s"] = r["bytes"] / 1e6 / r["median_s"]
    else:
        r["error"] = open(e).read().strip() if os.path.exists(e) else "error: no timing recorded"
    if kind == "sluice" and os.path.exists(rss):
        kb = [int(m) for m in re.findall(r"Maximum resident set size \(kbytes\): (\d+)", open(rss).read())]
        if kb:
            r["peak_rss_mib"] = max(kb) / 1024
    rows.append(r)
by = {r["id"]: r for r in rows}

def med(i):
    r = by.get(i)
    return r["median_s"] if r else None

RATIOS = [  # name, numerator, denominator, target (time ratio at most), what the target means
    ("sluice dump ÷ pg_dump -Fd -j2 (gzip)", "sluice-native", "pg-dump-gzip", 0.30, "≤ 0.30"),
    ("sluice dump ÷ pg_dump -Fd -Z0 -j2", "sluice-native", "pg-dump-z0", 1.00, "≤ 1.00"),
    ("sluice dump ÷ raw parallel limit + zstd -1", "sluice-native", "raw-par2-zstd", 1 / 0.85, "≤ 1.18 (≥ 85% of its speed)"),
    ("sluice dump ÷ raw parallel limit (no zstd)", "sluice-native", "raw-par2", None, ""),
    ("--stages wasm ÷ native", "sluice-wasm", "sluice-native", None, ""),
    ("pass-through (identity) ÷ native", "sluice-identity", "sluice-native", 1.15, "≤ 1.15"),
    ("mask (3 columns) ÷ native", "sluice-mask", "sluice-native", 1.30, "≤ 1.30"),
    ("sluice restore ÷ pg_restore -j2", "sluice-restore", "pg-restore", 0.70, "≤ 0.70"),
    ("--format csv ÷ default (copy)", "sluice-csv", "sluice-native", 1.20, "≤ 1.20"),
    ("--format jsonl ÷ default (copy)", "sluice-jsonl", "sluice-native", 1.20, "≤ 1.20"),
    ("--format sql ÷ default (copy)", "sluice-sql", "sluice-native", 1.20, "≤ 1.20"),
    ("dump to s3:// (moto) ÷ to a directory", "sluice-s3", "sluice-native", 1.15, "≤ 1.15"),
    ("encrypted dump (age) ÷ unencrypted", "sluice-encrypt", "sluice-native", 1.10, "≤ 1.10"),
    ("passphrase-mode dump ÷ unencrypted", "sluice-passphrase", "sluice-native", 1.10, "≤ 1.10"),
]
# Memory of the uploads: 64 MiB + workers × part size × (parts in flight + 1).
RSS_TARGETS = [("sluice-s3", 64 + 2 * 8 * 3, "≤ 64 + 2 × 8 MiB × 3 = 112"), ("sluice-s3-j8", 300, "≤ 300")]
ratios = []
for name, a, b, target, says in RATIOS:
    x, y = med(a), med(b)
    value = x / y if x and y else None
    met = None if value is None or target is None else value <= target
    ratios.append({"ratio": name, "numerator": a, "denominator": b, "value": value, "target": says or None, "met": met})

boundary = None
bpath = os.path.join(out, "boundary.json")
if os.path.exists(bpath):
    boundary = json.load(open(bpath))

def fmt(v, spec, na="n/a"):
    return na if v is None else format(v, spec)

lines = []
lines.append(f"sluice bench: scale {scale:,} rows in big + {tables - 1} small tables, "
             f"{total / 1e6:,.0f} MB of tables (pg_relation_size; big {big / 1e6:,.0f} MB), "
             f"{runs} timed runs each, MB/s = table bytes / median")
lines.append(env)
lines.append("")
lines.append(f"{'run':<42} {'min s':>8} {'median s':>9} {'MB/s':>7} {'out MB':>8} {'RSS MiB':>8}")
for r in rows:
    if r["error"]:
        lines.append(f"{r['run']:<42} n/a ({r['error'][:150]})")
        continue
    ob = r["output_bytes"]
    lines.append(f"{r['run']:<42} {r['min_s']:>8.2f} {r['median_s']:>9.2f} {r['mb_per_s']:>7.0f} "
                 f"{fmt(ob and ob / 1e6, '8.0f', '       -')} {fmt(r['peak_rss_mib'], '8.0f', '       -')}")
lines.append("")
lines.append(f"{'ratio (medians)':<46} {'value':>6}  {'target':<30} verdict")
for x in ratios:
    verdict = "" if x["met"] is None else ("met" if x["met"] else "MISSED")
    if x["value"] is None:
        verdict = "n/a"
    lines.append(f"{x['ratio']:<46} {fmt(x['value'], '6.2f', '   n/a')}  {x['target'] or '':<30} {verdict}")
# Passphrase mode's scrypt is memory-hard by design (128 × r × N bytes, once
# per dump, r = 8, N as age calibrated it): that run has its own bound.
rss = [r["peak_rss_mib"] for r in rows if r["peak_rss_mib"] is not None and r["id"] != "sluice-passphrase"]
rss_met = None
if rss:
    rss_met = max(rss) <= 300
    lines.append(f"{'peak RSS of the sluice runs, MiB (max)':<46} {max(rss):>6.0f}  {'≤ 300':<30} {'met' if rss_met else 'MISSED'}")

def scrypt_log_n(dump):
    try:
        header = open(os.path.join(dump, "keys", "identity.age"), "rb").read(4096)
    except OSError:
        return None
    m = re.search(rb"^-> scrypt \S+ (\d+)$", header, re.M)
    return int(m.group(1)) if m else None

r = by.get("sluice-passphrase")
if r and r["peak_rss_mib"] is not None:
    log_n = scrypt_log_n(r["output"])
    if log_n is not None:
        bound = 300 + 128 * 8 * 2 ** log_n / 2 ** 20
        ok = r["peak_rss_mib"] <= bound
        rss_met = bool(rss_met) and ok if rss else ok
        says = f"≤ 300 + scrypt 2^{log_n} ({bound - 300:.0f}) = {bound:.0f}"
        lines.append(f"{'peak RSS, sluice-passphrase, MiB':<46} {r['peak_rss_mib']:>6.0f}  {says:<30} {'met' if ok else 'MISSED'}")
for rid, bound, says in RSS_TARGETS:
    r = by.get(rid)
    if r and r["peak_rss_mib"] is not None:
        ok = r["peak_rss_mib"] <= bound
        lines.append(f"{'peak RSS, ' + rid + ', MiB':<46} {r['peak_rss_mib']:>6.0f}  {says:<30} {'met' if ok else 'MISSED'}")
if moto_cpu:
    lines.append(f"  (the S3 server, moto, on the same cores: {moto_cpu} CPU seconds per dump to s3://)")
boundary_met = None
if boundary:
    ident = [b["mb_per_s"] for b in boundary["results"] if b["run"] == "identity round trip"]
    if ident:
        boundary_met = min(ident) >= boundary["target_identity_mb_per_s"]
        lines.append(f"{'boundary: identity MB/s per core (slowest size)':<46} {min(ident):>6.0f}  "
                     f"{'≥ 500':<30} {'met' if boundary_met else 'MISSED'}")
    floor = boundary.get("target_formatter_mb_per_s")
    for run in sorted({b["run"] for b in boundary["results"] if b["run"].endswith(("formatter", "formatter (pg)"))}):
        slowest = min(b["mb_per_s"] for b in boundary["results"] if b["run"] == run)
        if floor:
            ok = slowest >= floor
            boundary_met = bool(boundary_met) and ok if boundary_met is not None else ok
            lines.append(f"{'boundary: ' + run + ' MB/s per core':<46} {slowest:>6.0f}  "
                         f"{'≥ ' + format(floor, '.0f'):<30} {'met' if ok else 'MISSED'}")
    age = [b["mb_per_s"] for b in boundary["results"] if b["run"] == "age encrypt"]
    if age and "target_age_mb_per_s" in boundary:
        age_met = age[0] >= boundary["target_age_mb_per_s"]
        boundary_met = bool(boundary_met) and age_met if ident else age_met
        lines.append(f"{'boundary: age encryption MB/s per core':<46} {age[0]:>6.0f}  "
                     f"{'≥ 700':<30} {'met' if age_met else 'MISSED'}")
    lines.append("")
    lines.append("component boundary (cargo bench -p sluice --bench boundary, one thread, MB/s of batch data):")
    lines.append(f"  {'run':<22} {'rows/batch':>10} {'MB/s':>8} {'µs/batch':>10}")
    for b in boundary["results"]:
        lines.append(f"  {b['run']:<22} {b['rows_per_batch']:>10} {b['mb_per_s']:>8.0f} {b['us_per_batch']:>10.1f}")
else:
    lines.append(f"component boundary microbenchmark: {boundary_status}")
text = "\n".join(lines) + "\n"
print(text, end="")
open(os.path.join(out, "results.txt"), "w").write(text)
doc = {"scale": scale, "runs_per_command": runs, "tables": tables, "table_bytes": total, "big_bytes": big,
       "environment": env, "runs": rows, "ratios": ratios,
       "peak_rss_mib_max": max(rss) if rss else None, "peak_rss_met": rss_met,
       "s3_server_cpu_s_per_dump": float(moto_cpu) if moto_cpu else None,
       "boundary": boundary, "boundary_status": boundary_status, "boundary_met": boundary_met}
json.dump(doc, open(os.path.join(out, "results.json"), "w"), indent=2, ensure_ascii=False)
print(f"\nresults: {os.path.join(out, 'results.txt')}, {os.path.join(out, 'results.json')}")
EOF
