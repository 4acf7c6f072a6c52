#!/usr/bin/env bash
# scripts/bench-mariadb.sh [SCALE]: sluice side by side with the MariaDB
# anchors (issue 8), in one run on the private test server
# (scripts/mariadb-server.sh, mysql://root@127.0.0.1:33069/).
#
#   1. database sluice_bench filled by make-bench-db.sh --scale SCALE
#      (default 5,000,000 rows in `big` + 20 small tables of SCALE/50 rows),
#      then ANALYZE TABLE on every table (so data_length is current)
#   2. timed, RUNS times each (min and median), with hyperfine when present:
#      the raw read limit (the anchors-maria.sh commands: SELECT * FROM big
#      in one session, every table in one session, big in two id halves in
#      parallel; plus, not in anchors-maria.sh, every table in two parallel
#      sessions), mydumper -t 2 -r 500000 (no compression), mydumper -t 2 -c
#      (gzip), myloader -t 2 (of the -r 500000 dump), and sluice dump -j 2
#      (default zstd:1) and sluice restore -j 2 (of that dump), each sluice run
#      under /usr/bin/time -v for its peak RSS
#   3. a table of seconds, MB/s and ratios on stdout, and the same in
#      target/bench/maria-results.txt and target/bench/maria-results.json
#
# MB/s is information_schema data_length (of `big` for the runs that read only
# `big`, of all base tables otherwise) divided by the median time.
#
# The dataset generator and the anchor commands are not copied here: the
# dataset comes from $SLUICE_BENCH_DIR/make-bench-db.sh, and the anchor
# commands below are the ones in $SLUICE_BENCH_DIR/anchors-maria.sh, written
# out again (same ids, same command lines) so they share this script's runs,
# retries and report.
#
# Environment:
#   SLUICE_BENCH_DIR   where make-bench-db.sh and anchors-maria.sh live
#   SLUICE_BENCH_RUNS  timed runs per command (default 3, at least 3 is advised)
#   SLUICE_BENCH_ONLY  space-separated run ids to time (default: all; ids below)
#   SLUICE_BENCH_KEEP  1 = keep the dump directories under target/bench/maria-work
#
# The server is stopped on exit (like `just test`), and the bench databases
# are dropped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SCALE="${1:-5000000}"
[[ $SCALE =~ ^[0-9]+$ && $SCALE -gt 0 ]] || { echo "bench-mariadb: SCALE must be a positive integer, not '$SCALE'" >&2; exit 2; }
RUNS="${SLUICE_BENCH_RUNS:-3}"
BENCH_DIR="${SLUICE_BENCH_DIR:-$ROOT/../shared/bench}"
MYSRV="$ROOT/scripts/mariadb-server.sh"
SLUICE="$ROOT/target/release/sluice"
OUT="$ROOT/target/bench"
RAW="$OUT/maria-raw"    # one JSON (hyperfine format) per run id, .rss, .err
WORK="$OUT/maria-work"  # dump directories
SRC_DB=sluice_bench
DST_DB=sluice_bench_restore
ROWS=500000             # mydumper -r (anchors-maria.sh --rows default)

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
log() { printf '\n== %s\n' "$*" >&2; }
die() { echo "bench-mariadb: $*" >&2; exit 1; }

for f in make-bench-db.sh anchors-maria.sh; do
    [[ -f $BENCH_DIR/$f ]] || die "$BENCH_DIR/$f not found: the bench dataset and anchor scripts live in
  ../shared/bench next to the checkout; set SLUICE_BENCH_DIR to the directory that holds
  make-bench-db.sh and anchors-maria.sh"
done
BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"
[[ -x $SLUICE ]] || die "$SLUICE not found: build it first (cargo build --release)"

# Two runs at once would drop and refill each other's sluice_bench (seen:
# "Duplicate entry '1' for key 'PRIMARY'", "Unknown database 'sluice_bench'"
# from make-bench-db.sh): one run at a time.
mkdir -p "$OUT"
exec 9>"$OUT/.bench-mariadb.lock"
if command -v flock >/dev/null && ! flock -n 9; then
    die "another scripts/bench-mariadb.sh is running (lock $OUT/.bench-mariadb.lock); wait for it to finish"
fi

as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
APT_UPDATED=""
apt_install() { # apt_install PACKAGE: best effort
    command -v apt-get >/dev/null || return 1
    if [[ -z $APT_UPDATED ]]; then as_root apt-get update -qq >&2 || return 1; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$1" >&2
}
command -v hyperfine >/dev/null || apt_install hyperfine \
    || echo "bench-mariadb: hyperfine not available; timing with a bash loop instead" >&2
# Debian 12's mydumper package (0.10.1) provides both mydumper and myloader
{ command -v mydumper >/dev/null && command -v myloader >/dev/null; } || apt_install mydumper \
    || echo "bench-mariadb: mydumper not available; its anchors will read n/a" >&2
[[ -x /usr/bin/time ]] || apt_install time || die "/usr/bin/time is needed for peak RSS (apt-get install time)"
command -v python3 >/dev/null || die "python3 is needed for the report"
HAVE_HYPERFINE=""
command -v hyperfine >/dev/null && HAVE_HYPERFINE=1
HAVE_MYDUMPER=""
command -v mydumper >/dev/null && command -v myloader >/dev/null && HAVE_MYDUMPER=1

# ---- server and databases ------------------------------------------------------
"$MYSRV" start           # installs mariadb-server/-client if missing
command -v mariadb >/dev/null || die "no mariadb client on PATH"
BASE="$("$MYSRV" url)"   # mysql://root@127.0.0.1:33069/
SRC="$BASE$SRC_DB"
DST="$BASE$DST_DB"
# The connection as anchors-maria.sh spells it (its parse of the URL)
hostport=${BASE#*@}; hostport=${hostport%%/*}
H=${hostport%%:*} P=${hostport#*:} U=root
CONN="-h $H -P $P -u $U"
MY="mariadb $CONN"
admin() { $MY -N -B "$@"; }
q() { $MY -N -B "$SRC_DB" -e "$1"; }
RECREATE_DST="$MY -e 'DROP DATABASE IF EXISTS \`$DST_DB\`; CREATE DATABASE \`$DST_DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci'"
LOST_SERVER="can't connect to\|lost connection\|server has gone away\|connection refused\|shutdown in progress\|broken pipe"
ensure_server() {
    "$MYSRV" status || { echo "bench-mariadb: the server was stopped (by another run?); starting it again" >&2; "$MYSRV" start; }
}

cleanup() {
    local rc=$?
    if "$MYSRV" status; then
        admin -e "DROP DATABASE IF EXISTS \`$SRC_DB\`; DROP DATABASE IF EXISTS \`$DST_DB\`" >/dev/null 2>&1 || true
    fi
    [[ ${SLUICE_BENCH_KEEP:-} == 1 ]] || rm -rf "$WORK"
    "$MYSRV" stop || true
    exit "$rc"
}
trap cleanup EXIT

rm -rf "$RAW" "$WORK"
mkdir -p "$RAW" "$WORK"

log "dataset: make-bench-db.sh --scale $SCALE into $SRC_DB"
for attempt in 1 2 3; do
    ensure_server
    admin -e "DROP DATABASE IF EXISTS \`$SRC_DB\`"
    t0=$(date +%s)
    if "$BENCH_DIR/make-bench-db.sh" --scale "$SCALE" --maria "mariadb://$U@$H:$P/$SRC_DB"; then
        echo "dataset built in $(( $(date +%s) - t0 )) s" >&2
        break
    fi
    (( attempt < 3 )) || die "make-bench-db.sh failed three times"
    echo "bench-mariadb: make-bench-db.sh failed (attempt $attempt); trying again" >&2
done
TABLES=$(q "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1")
log "ANALYZE TABLE on $(wc -w <<<"$TABLES") tables"
q "$(for t in $TABLES; do printf 'ANALYZE TABLE `%s`; ' "$t"; done)" >/dev/null
BIG_BYTES=$(q "SELECT data_length FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'big'")
ALL_BYTES=$(q "SELECT sum(data_length) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'")
INDEX_BYTES=$(q "SELECT sum(index_length) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'")
NTABLES=$(wc -w <<<"$TABLES")
SERVER_VERSION=$(q 'SELECT version()')
MAXID=$(q "SELECT max(id) FROM big")
HALF=$(( MAXID / 2 ))
# expected row counts, to check each restore against
q "$(for t in $TABLES; do printf "SELECT '%s', count(*) FROM \`%s\`; " "$t" "$t"; done)" > "$RAW/source-counts.tsv"

# ---- timing --------------------------------------------------------------------
# runs.tsv lists the runs in order: id, label, kind, bytes, output dir
printf 'id\tlabel\tkind\tbytes\toutput\n' > "$RAW/runs.tsv"
: > "$RAW/notes.tsv"
wanted() { [[ -z ${SLUICE_BENCH_ONLY:-} || " $SLUICE_BENCH_ONLY " == *" $1 "* ]]; }
note() { printf '%s\t%s\n' "$1" "$2" | tee -a "$RAW/notes.tsv" >&2; }

# timeit ID WARMUP PREPARE COMMAND: RUNS timed runs of COMMAND (under bash),
# PREPARE before each ("" for none), WARMUP untimed runs first. Writes
# $RAW/ID.json in hyperfine's export format, or $RAW/ID.err on failure.
timeit() {
    local attempt
    for attempt in 1 2 3; do
        ensure_server
        timeit_once "$@" && return 0
        echo "bench-mariadb: $1 failed (attempt $attempt of 3)" >&2
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
# mydumper_anchor ...: an anchor that needs mydumper/myloader
mydumper_anchor() {
    if [[ -n $HAVE_MYDUMPER ]]; then anchor "$@"; return; fi
    wanted "$1" || return 0
    printf '%s\t%s\tanchor\t%s\t\n' "$1" "$2" "$3" >> "$RAW/runs.tsv"
    echo "error: mydumper/myloader not installed" > "$RAW/$1.err"
}

# sluice_run ID LABEL PREPARE ARGS [OUTPUT]: one untimed run first (a failure
# there is recorded as n/a with its first error lines), then the timed runs,
# each under /usr/bin/time -v for the peak RSS.
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
        echo "bench-mariadb: $id failed, recorded as n/a: ${first}" >&2
        return 0
    fi
    rm -f "$RAW/$id.rss"
    timeit "$id" 0 "$prepare" "$cmd"
}

# check_restore ID: the restore database's row counts against the source's
check_restore() {
    local id=$1 got
    wanted "$id" && [[ -f $RAW/$id.json ]] || return 0
    got=$($MY -N -B "$DST_DB" -e "$(for t in $TABLES; do printf "SELECT '%s', count(*) FROM \`%s\`; " "$t" "$t"; done)" 2>&1 || true)
    if [[ $got == "$(cat "$RAW/source-counts.tsv")" ]]; then
        note "check:$id" "row counts of all $NTABLES tables match the source (big: $(awk '$1 == "big" {print $2}' "$RAW/source-counts.tsv"))"
    else
        note "check:$id" "ROW COUNTS DIFFER from the source: $(diff <(printf '%s\n' "$got") "$RAW/source-counts.tsv" | tr '\n' ' ' | cut -c1-300)"
    fi
}

log "warm-up read of every table (untimed)"
ensure_server
all_sel=$(for t in $TABLES; do printf 'SELECT * FROM `%s`; ' "$t"; done)
$MY --quick $SRC_DB -e "$all_sel" > /dev/null || echo "bench-mariadb: the warm-up read failed; going on" >&2

# The anchor commands are anchors-maria.sh's, character for character (its
# $MY, $DB, $HALF, $ROWS, $WORK, $RDB; its $PWOPT is empty: no password).
DB=$SRC_DB RDB=$DST_DB
log "raw read limit"
anchor my-select-big "raw: SELECT * FROM big (1 session)" "$BIG_BYTES" 1 "" \
    "$MY --quick $DB -e 'SELECT * FROM big' > /dev/null"
anchor my-select-all-serial "raw: SELECT * every table (1 session)" "$ALL_BYTES" 1 "" \
    "$MY --quick $DB -e '$all_sel' > /dev/null"
anchor my-select-big-par2 "raw: big in 2 id halves, in parallel" "$BIG_BYTES" 1 "" \
    "$MY --quick $DB -e 'SELECT * FROM big WHERE id <= $HALF' > /dev/null & $MY --quick $DB -e 'SELECT * FROM big WHERE id > $HALF' > /dev/null & wait"
# Not in anchors-maria.sh: the same two sessions reading every table (big's
# halves plus half of the small tables each), the bytes sluice dump reads.
sel_half() { local t i=0; for t in $TABLES; do [[ $t == big ]] && continue; (( i++ % 2 == $1 )) && printf 'SELECT * FROM `%s`; ' "$t"; done; true; }
anchor my-select-all-par2 "raw: every table, 2 sessions (not anchor)" "$ALL_BYTES" 1 "" \
    "$MY --quick $DB -e 'SELECT * FROM big WHERE id <= $HALF; $(sel_half 0)' > /dev/null & $MY --quick $DB -e 'SELECT * FROM big WHERE id > $HALF; $(sel_half 1)' > /dev/null & wait"

# mydumper 0.10.1 (Debian 12) has every flag anchors-maria.sh uses (-B -t -r
# -c -o; myloader -d -B -t -o), so nothing is adapted. Worth knowing: its -c
# is gzip, it takes FTWRL for the snapshot (no --lock-mode choice), and
# myloader writes with sql_log_bin = 0 unless -e (sluice restore's rows do go
# to the binary log, which this server keeps).
log "mydumper / myloader ($(mydumper --version 2>&1 || echo 'not installed'))"
md() { echo "mydumper $CONN  -B $DB -t 2 $1 -o '$WORK/$2'"; }
mydumper_anchor mydumper-t2-r "mydumper -t 2 -r $ROWS" "$ALL_BYTES" 0 "rm -rf '$WORK/t2-r'" \
    "$(md "-r $ROWS" t2-r)" "$WORK/t2-r"
mydumper_anchor mydumper-t2-c "mydumper -t 2 -c (gzip)" "$ALL_BYTES" 0 "rm -rf '$WORK/t2-c'" \
    "$(md '-c' t2-c)" "$WORK/t2-c"
ml() { echo "myloader $CONN  -d '$WORK/$1' -B $RDB -t 2 -o"; }
# anchors-maria.sh only drops the restore database before each run; here it
# is dropped and created again, as for sluice restore (myloader accepts both).
if [[ -d $WORK/t2-r ]]; then
    mydumper_anchor myloader-t2-r "myloader -t 2 (of the -r $ROWS dump)" "$ALL_BYTES" 0 "$RECREATE_DST" "$(ml t2-r)"
    check_restore myloader-t2-r
elif wanted myloader-t2-r; then
    printf 'myloader-t2-r\tmyloader -t 2 (of the -r %s dump)\tanchor\t%s\t\n' "$ROWS" "$ALL_BYTES" >> "$RAW/runs.tsv"
    echo "error: no mydumper -r dump to restore (mydumper-t2-r did not run)" > "$RAW/myloader-t2-r.err"
fi

log "sluice"
common="-j 2 --progress none"
sluice_run sluice-dump "sluice dump -j 2 (zstd:1)" "rm -rf '$WORK/s-dump'" \
    "dump '$SRC' --out '$WORK/s-dump' $common" "$WORK/s-dump"
# Every other format, side by side with the default (sql).
for f in tsv csv jsonl; do
    sluice_run "sluice-$f" "sluice dump -j 2 --format $f" "rm -rf '$WORK/s-$f'" \
        "dump '$SRC' --out '$WORK/s-$f' $common --format $f" "$WORK/s-$f"
done
if [[ -f $WORK/s-dump/manifest.json ]]; then
    sluice_run sluice-restore "sluice restore -j 2 (of that dump)" "$RECREATE_DST" \
        "restore '$WORK/s-dump' '$DST' $common"
    check_restore sluice-restore
elif wanted sluice-restore; then
    printf 'sluice-restore\tsluice restore -j 2 (of that dump)\tsluice\t%s\t\n' "$ALL_BYTES" >> "$RAW/runs.tsv"
    echo "error: no sluice dump to restore" > "$RAW/sluice-restore.err"
fi

# ---- report --------------------------------------------------------------------
ENV_LINE="$(nproc) cores, $(uname -sr), MariaDB $SERVER_VERSION, $(mydumper --version 2>&1 || echo 'no mydumper'), $(if [[ -n $HAVE_HYPERFINE ]]; then hyperfine --version; else echo 'bash timing loop'; fi), load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RAW" "$OUT" "$SCALE" "$RUNS" "$BIG_BYTES" "$ALL_BYTES" "$INDEX_BYTES" "$NTABLES" "$ENV_LINE" <<'EOF'
import json, os, re, statistics, subprocess, sys
raw, out, scale, runs, big, total, index, tables, env = sys.argv[1:]
scale, runs, big, total, index, tables = int(scale), int(runs), int(big), int(total), int(index), int(tables)

def du(path):
    if not path or not os.path.exists(path):
        return None
    return int(subprocess.run(["du", "-sb", path], capture_output=True, text=True).stdout.split()[0])

rows = []
for line in open(os.path.join(raw, "runs.tsv")).read().splitlines()[1:]:
    rid, label, kind, nbytes, output = (line.split("\t") + [""] * 5)[:5]
    r = {"id": rid, "run": label, "kind": kind, "bytes": int(nbytes), "min_s": None, "median_s": None,
         "times_s": None, "mb_per_s": None, "peak_rss_mib": None, "output_bytes": du(output), "error": None}
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

def per_byte(i):  # seconds per byte, for runs that read different amounts
    r = by.get(i)
    return r["median_s"] / r["bytes"] if r and r["median_s"] and r["bytes"] else None

RATIOS = [  # name, numerator, denominator, target (time ratio at most), what the target means, per byte
    ("sluice dump ÷ mydumper -t 2 -c (gzip)", "sluice-dump", "mydumper-t2-c", 0.30, "≤ 0.30", False),
    (f"sluice dump ÷ mydumper -t 2 -r {500000}", "sluice-dump", "mydumper-t2-r", 1.50, "≤ 1.50", False),
    ("sluice restore ÷ myloader -t 2", "sluice-restore", "myloader-t2-r", 0.70, "≤ 0.70", False),
    ("--format tsv ÷ default (sql)", "sluice-tsv", "sluice-dump", 1.20, "≤ 1.20", False),
    ("--format csv ÷ default (sql)", "sluice-csv", "sluice-dump", 1.20, "≤ 1.20", False),
    ("--format jsonl ÷ default (sql)", "sluice-jsonl", "sluice-dump", 1.20, "≤ 1.20", False),
    ("sluice dump ÷ raw read, big in 2 halves (s/byte)", "sluice-dump", "my-select-big-par2", None, "", True),
    ("sluice dump ÷ raw read, all tables, 2 sessions", "sluice-dump", "my-select-all-par2", None, "", False),
]
ratios = []
for name, a, b, target, says, pb in RATIOS:
    x, y = (per_byte(a), per_byte(b)) if pb else (med(a), med(b))
    value = x / y if x and y else None
    met = None if value is None or target is None else value <= target
    ratios.append({"ratio": name, "numerator": a, "denominator": b, "value": value, "target": says or None,
                   "met": met, "per_byte": pb})

notes = [l.split("\t", 1) for l in open(os.path.join(raw, "notes.tsv")).read().splitlines() if "\t" in l]

def fmt(v, spec, na="n/a"):
    return na if v is None else format(v, spec)

W = 44
lines = []
lines.append(f"sluice MariaDB bench: scale {scale:,} rows in big + {tables - 1} small tables, "
             f"{total / 1e6:,.0f} MB of tables (data_length; big {big / 1e6:,.0f} MB; indexes {index / 1e6:,.0f} MB), "
             f"{runs} timed runs each, MB/s = data_length read / median")
lines.append(env)
lines.append("")
lines.append(f"{'run':<{W}} {'min s':>8} {'median s':>9} {'MB/s':>7} {'out MB':>8} {'RSS MiB':>8}")
for r in rows:
    if r["error"]:
        lines.append(f"{r['run']:<{W}} n/a ({r['error'][:200]})")
        continue
    ob = r["output_bytes"]
    lines.append(f"{r['run']:<{W}} {r['min_s']:>8.2f} {r['median_s']:>9.2f} {r['mb_per_s']:>7.0f} "
                 f"{fmt(ob and ob / 1e6, '8.0f', '       -')} {fmt(r['peak_rss_mib'], '8.0f', '       -')}")
lines.append("")
lines.append(f"{'ratio (medians)':<{W + 4}} {'value':>6}  {'target':<8} verdict")
for x in ratios:
    verdict = "(no target)" if x["met"] is None else ("met" if x["met"] else "MISSED")
    if x["value"] is None:
        verdict = "n/a"
    lines.append(f"{x['ratio']:<{W + 4}} {fmt(x['value'], '6.2f', '   n/a')}  {x['target'] or '-':<8} {verdict}")
rss_rows = [r for r in rows if r["kind"] == "sluice" and r["peak_rss_mib"] is not None]
rss_met = None
for r in rss_rows:
    ok = r["peak_rss_mib"] <= 300
    rss_met = ok if rss_met is None else (rss_met and ok)
    lines.append(f"{'peak RSS, ' + r['id'] + ', MiB':<{W + 4}} {r['peak_rss_mib']:>6.0f}  {'≤ 300':<8} {'met' if ok else 'MISSED'}")
if notes:
    lines.append("")
    for k, v in notes:
        lines.append(f"{k}: {v}")
text = "\n".join(lines) + "\n"
print(text, end="")
open(os.path.join(out, "maria-results.txt"), "w").write(text)
doc = {"scale": scale, "runs_per_command": runs, "tables": tables, "table_bytes": total, "big_bytes": big,
       "index_bytes": index, "environment": env, "runs": rows, "ratios": ratios,
       "peak_rss_mib_max": max((r["peak_rss_mib"] for r in rss_rows), default=None), "peak_rss_met": rss_met,
       "notes": dict(notes)}
json.dump(doc, open(os.path.join(out, "maria-results.json"), "w"), indent=2, ensure_ascii=False)
print(f"\nresults: {os.path.join(out, 'maria-results.txt')}, {os.path.join(out, 'maria-results.json')}")
EOF
