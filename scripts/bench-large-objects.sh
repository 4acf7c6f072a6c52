#!/usr/bin/env bash
# scripts/bench-large-objects.sh: sluice side by side with pg_dump/pg_restore
# on PostgreSQL large objects (issue 16), on the private test server
# (scripts/pg-server.sh).
#
#   1. database sluice_bench_lo: SLUICE_LO_SMALL objects (default 10,000) of
#      1-64 KiB of poorly compressible bytes (pgcrypto's gen_random_bytes when
#      the server has pgcrypto, else sha256 of a series; the extension is
#      dropped again before anything is dumped), one object of
#      SLUICE_LO_BIG_MIB MiB (default 1024) written with lo_put in 1 MiB pieces
#      (so the server never holds it in memory), and a small table lo_index
#      (one row per object: its OID, its size)
#   2. timed, RUNS times each (min and median), with hyperfine when present
#      (else a bash loop), every run under /usr/bin/time -v for its peak RSS:
#      pg_dump -Fd -j2 (default gzip), sluice dump -j2 (default zstd:1),
#      pg_restore -j2 (of the pg_dump dump) and sluice restore -j2 (of the
#      sluice dump), each restore into a freshly created empty database and
#      checked after every run against the source: the small objects' count and
#      an MD5 over their OIDs and contents, the big object's length and the MD5
#      of nine 1 MiB ranges spread over it (lo_get(oid, offset, len): the big
#      object is never read into memory whole), and lo_index's row count
#   3. a table of seconds, MB/s and ratios on stdout, and the same in
#      target/bench/large-objects.txt and target/bench/large-objects.json
#
# MB/s is the large objects' bytes (sum of their lengths) divided by the median.
#
# Environment:
#   SLUICE_LO_SMALL    number of small objects (default 10000)
#   SLUICE_LO_BIG_MIB  size of the big object in MiB (default 1024)
#   SLUICE_BIN         the sluice binary (default target/release/sluice; a copy
#                      elsewhere keeps the bench independent of a rebuild)
#   SLUICE_BENCH_RUNS  timed runs per command (default 3, at least 3 is advised)
#   SLUICE_BENCH_ONLY  space-separated run ids to time (default: all; ids below)
#   SLUICE_BENCH_KEEP  1 = keep the dump directories under target/bench/lo-work
#   SLUICE_LO_NO_PGCRYPTO  1 = build the bytes from sha256 even when pgcrypto
#                      exists (slower; the fallback's own test)
#
# Unlike scripts/bench.sh, the server is NOT stopped on exit: it is shared
# with others' runs (`cargo test` by hand, other benches) that may be using it
# at the same time. It is started if it is not running (idempotent), and only
# the bench databases are dropped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SMALL="${SLUICE_LO_SMALL:-10000}"
BIG_MIB="${SLUICE_LO_BIG_MIB:-1024}"
RUNS="${SLUICE_BENCH_RUNS:-3}"
SLUICE="${SLUICE_BIN:-$ROOT/target/release/sluice}"
[[ $SMALL =~ ^[0-9]+$ ]] || { echo "bench-large-objects: SLUICE_LO_SMALL must be a non-negative integer, not '$SMALL'" >&2; exit 2; }
[[ $BIG_MIB =~ ^[0-9]+$ && $BIG_MIB -gt 0 ]] || { echo "bench-large-objects: SLUICE_LO_BIG_MIB must be a positive integer, not '$BIG_MIB'" >&2; exit 2; }
[[ $RUNS =~ ^[0-9]+$ && $RUNS -gt 0 ]] || { echo "bench-large-objects: SLUICE_BENCH_RUNS must be a positive integer, not '$RUNS'" >&2; exit 2; }
PG="$ROOT/scripts/pg-server.sh"
OUT="$ROOT/target/bench"
RAW="$OUT/lo-raw"     # one JSON (hyperfine format) per run id, .rss, .err, .log
WORK="$OUT/lo-work"   # dump directories
SRC_DB=sluice_bench_lo
DST_DB=sluice_bench_lo_restore
RSS_LIMIT_MIB=100

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
log() { printf '\n== %s\n' "$*" >&2; }
die() { echo "bench-large-objects: $*" >&2; exit 1; }

[[ -x $SLUICE ]] || die "$SLUICE not found: build it first (cargo build --release) or set SLUICE_BIN"
SLUICE="$(cd "$(dirname "$SLUICE")" && pwd)/$(basename "$SLUICE")"

# Two runs at once would drop and refill each other's databases: one at a time.
mkdir -p "$OUT"
exec 9>"$OUT/.bench-large-objects.lock"
if command -v flock >/dev/null && ! flock -n 9; then
    die "another scripts/bench-large-objects.sh is running (lock $OUT/.bench-large-objects.lock); wait for it to finish"
fi

as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
APT_UPDATED=""
apt_install() { # apt_install PACKAGE: best effort
    command -v apt-get >/dev/null || return 1
    if [[ -z $APT_UPDATED ]]; then as_root apt-get update -qq >&2 || return 1; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$1" >&2
}
[[ -x /usr/bin/time ]] || apt_install time || die "/usr/bin/time is needed for peak RSS (apt-get install time)"
command -v python3 >/dev/null || die "python3 is needed for the report"
HAVE_HYPERFINE=""
if command -v hyperfine >/dev/null; then HAVE_HYPERFINE=1
else echo "bench-large-objects: hyperfine not available; timing with a bash loop instead" >&2; fi

# ---- server and databases ------------------------------------------------------
# Started if needed, never stopped here: others use the same server meanwhile.
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
ensure_server() {
    "$PG" status || { echo "bench-large-objects: the server was stopped (by another run?); starting it again" >&2; "$PG" start; }
}

cleanup() {
    local rc=$?
    ensure_server >/dev/null 2>&1 || true
    admin -c "DROP DATABASE IF EXISTS $SRC_DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $DST_DB WITH (FORCE)" \
        >/dev/null 2>&1 || true
    [[ ${SLUICE_BENCH_KEEP:-} == 1 ]] || rm -rf "$WORK"
    # no "$PG" stop: the server is shared (see the header)
    exit "$rc"
}
trap cleanup EXIT

rm -rf "$RAW" "$WORK"
mkdir -p "$RAW" "$WORK"

# ---- dataset -------------------------------------------------------------------
log "dataset: $SMALL objects of 1-64 KiB and one of $BIG_MIB MiB into $SRC_DB"
ensure_server
recreate "$SRC_DB"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$SRC" -c "$1"; }
t0=$(date +%s)
USE_PGCRYPTO=""
[[ $(q "SELECT count(*) FROM pg_available_extensions WHERE name = 'pgcrypto'") == 1 && ${SLUICE_LO_NO_PGCRYPTO:-} != 1 ]] \
    && USE_PGCRYPTO=1
if [[ -n $USE_PGCRYPTO ]]; then
    # gen_random_bytes gives at most 1024 bytes a call
    q "CREATE EXTENSION pgcrypto"
    kib() { echo "gen_random_bytes(1024)"; }   # kib SEED: 1 KiB of random bytes
    BYTES_FROM="pgcrypto gen_random_bytes"
else
    # 32 sha256 digests of SEED:j, j = 1..32 (the SEED expression must differ per KiB)
    kib() { echo "(SELECT string_agg(sha256(convert_to($1 || ':' || j, 'UTF8')), ''::bytea ORDER BY j) FROM generate_series(1, 32) j)"; }
    BYTES_FROM="sha256 of a series (no pgcrypto)"
fi
q "CREATE TABLE public.lo_index (id int PRIMARY KEY, obj oid NOT NULL, bytes bigint NOT NULL, kind text NOT NULL)"
# small objects: each of a random length of 1 KiB..64 KiB, built of whole KiB and cut
if (( SMALL > 0 )); then
    q "SELECT setseed(0.16);
       INSERT INTO public.lo_index
       SELECT i, lo_from_bytea(0, substring((SELECT string_agg($(kib "i || ':' || k"), ''::bytea ORDER BY k)
                                             FROM generate_series(1, (len + 1023) / 1024) k) FROM 1 FOR len)),
              len, 'small'
       FROM (SELECT i, 1024 + floor(random() * (65536 - 1024 + 1))::int AS len
             FROM generate_series(1, $SMALL) i) s"
fi
# the big object: lo_put of 1 MiB pieces, a commit every 64 pieces (the WAL
# and the server's memory stay small)
q "DO \$\$
   DECLARE o oid := lo_create(0);
   BEGIN
     INSERT INTO public.lo_index VALUES ($SMALL + 1, o, $BIG_MIB::bigint * 1048576, 'big');
     FOR p IN 0 .. $BIG_MIB - 1 LOOP
       PERFORM lo_put(o, p::bigint * 1048576,
                      (SELECT string_agg($(kib "'big:' || p || ':' || k"), ''::bytea ORDER BY k)
                       FROM generate_series(1, 1024) k));
       IF p % 64 = 63 THEN COMMIT; END IF;
     END LOOP;
   END \$\$"
if [[ -n $USE_PGCRYPTO ]]; then q "DROP EXTENSION pgcrypto"; fi
q "VACUUM ANALYZE public.lo_index"
q "CHECKPOINT" 2>/dev/null || true
BIG_OID=$(q "SELECT obj FROM public.lo_index WHERE kind = 'big'")
SMALL_BYTES=$(q "SELECT coalesce(sum(bytes), 0) FROM public.lo_index WHERE kind = 'small'")
LO_BYTES=$(q "SELECT sum(length(data)) FROM pg_largeobject")   # also the warm-up read
[[ $LO_BYTES == $(( SMALL_BYTES + BIG_MIB * 1048576 )) ]] \
    || die "the objects hold $LO_BYTES bytes, lo_index says $(( SMALL_BYTES + BIG_MIB * 1048576 ))"
SERVER_VERSION=$(q 'SHOW server_version')
echo "dataset built in $(( $(date +%s) - t0 )) s: $SMALL small objects ($SMALL_BYTES bytes), big object $BIG_OID ($BIG_MIB MiB), bytes from $BYTES_FROM" >&2

# fingerprint URL: one line the source and every restored copy must agree on
cat > "$WORK/fingerprint.sh" <<EOF
#!/usr/bin/env bash
set -euo pipefail
psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 -d "\$1" -c "
  WITH small AS (
         SELECT count(*) AS n, md5(string_agg(oid::text || ':' || md5(lo_get(oid)), ',' ORDER BY oid)) AS md5
         FROM pg_largeobject_metadata WHERE oid <> $BIG_OID),
       fd AS (SELECT lo_open($BIG_OID, 262144) AS fd),
       big AS (SELECT lo_lseek64(fd, 0, 2) AS size FROM fd),
       samples AS (
         SELECT md5(string_agg(md5(lo_get($BIG_OID, (s * (big.size - least(big.size, 1048576)) / 8)::bigint,
                                          least(big.size, 1048576)::int)), ',' ORDER BY s)) AS md5
         FROM big, generate_series(0, 8) s)
  SELECT 'small=' || small.n, small.md5, 'big=' || big.size, samples.md5,
         'lo_index=' || (SELECT count(*) FROM public.lo_index)
  FROM small, big, samples"
EOF
chmod +x "$WORK/fingerprint.sh"
"$WORK/fingerprint.sh" "$SRC" > "$RAW/source.fingerprint"
echo "source fingerprint: $(cat "$RAW/source.fingerprint")" >&2
# check: compare the restored copy with the source (a mismatch fails the run)
CHECK="'$WORK/fingerprint.sh' '$DST' > '$RAW/restored.fingerprint' && cmp -s '$RAW/source.fingerprint' '$RAW/restored.fingerprint' || { echo \"restored copy differs from the source: \$(cat '$RAW/restored.fingerprint' 2>/dev/null)\" >&2; false; }"

# ---- timing --------------------------------------------------------------------
# runs.tsv lists the runs in order: id, label, kind, output dir
printf 'id\tlabel\tkind\toutput\n' > "$RAW/runs.tsv"
wanted() { [[ -z ${SLUICE_BENCH_ONLY:-} || " $SLUICE_BENCH_ONLY " == *" $1 "* ]]; }

# run ID LABEL KIND PREPARE COMMAND CHECK [OUTPUT]: RUNS timed runs of COMMAND
# (under bash and /usr/bin/time -v, its output in $RAW/ID.log), PREPARE before
# and CHECK after each ("" for none), untimed. Writes $RAW/ID.json in
# hyperfine's export format, or $RAW/ID.err with the first lines of the error.
run() {
    local id=$1 label=$2 kind=$3 prepare=$4 cmd=$5 check=$6 output=${7:-}
    wanted "$id" || return 0
    printf '%s\t%s\t%s\t%s\n' "$id" "$label" "$kind" "$output" >> "$RAW/runs.tsv"
    local timed="/usr/bin/time -v -a -o '$RAW/$id.rss' $cmd > '$RAW/$id.log' 2>&1"
    local i t0 t1 times=() why=""
    rm -f "$RAW/$id.rss"
    echo ">>> $id: $cmd" >&2
    for ((i = 1; i <= RUNS; i++)); do
        ensure_server
        if [[ -n $prepare ]] && ! bash -c "$prepare" > "$RAW/$id.prepare.log" 2>&1; then
            why="prepare failed: $(head -c 300 "$RAW/$id.prepare.log")"; break
        fi
        if [[ -n $HAVE_HYPERFINE ]]; then
            hyperfine --shell=bash --runs 1 --export-json "$RAW/$id.run.json" -n "$id" "$timed" >"$RAW/$id.hf.log" 2>&1 \
                || { why="exit status non-zero: $(grep -v '^\s*$' "$RAW/$id.log" | tail -n 3 | tr '\n' ' ' | cut -c1-300)"; break; }
            times+=("$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][0]['times'][0])" "$RAW/$id.run.json")")
        else
            t0=$(date +%s.%N)
            bash -c "$timed" \
                || { why="exit status non-zero: $(grep -v '^\s*$' "$RAW/$id.log" | tail -n 3 | tr '\n' ' ' | cut -c1-300)"; break; }
            t1=$(date +%s.%N)
            times+=("$(python3 -c "print($t1 - $t0)")")
        fi
        echo "  run $i: $(python3 -c "print(f'{${times[-1]}:.3f} s')")" >&2
        if [[ -n $check ]] && ! bash -c "$check" 2> "$RAW/$id.check.log"; then
            why="check failed after run $i: $(head -c 300 "$RAW/$id.check.log")"; break
        fi
        [[ -z $check ]] || echo "  run $i: restored copy matches the source" >&2
    done
    if [[ -n $why ]]; then
        echo "error: $why" > "$RAW/$id.err"
        echo "bench-large-objects: $id: $why (command: $cmd; output in $RAW/$id.log)" >&2
        return 0
    fi
    python3 - "$RAW/$id.json" "$id" "${times[@]}" <<'EOF'
import json, statistics, sys
path, name, times = sys.argv[1], sys.argv[2], [float(t) for t in sys.argv[3:]]
json.dump({"results": [{"command": name, "times": times, "min": min(times), "max": max(times),
                         "median": statistics.median(times), "mean": statistics.mean(times)}]},
          open(path, "w"), indent=1)
EOF
}

RECREATE_DST="psql -X -q -v ON_ERROR_STOP=1 -d '$BASE' -c 'DROP DATABASE IF EXISTS $DST_DB WITH (FORCE)' -c 'CREATE DATABASE $DST_DB TEMPLATE template0'"
common="-j 2 --progress none"

log "dump"
run pg-dump "pg_dump -Fd -j2 (default gzip)" anchor "rm -rf '$WORK/pg'" \
    "pg_dump -Fd -j 2 -f '$WORK/pg' '$SRC'" "" "$WORK/pg"
run sluice-dump "sluice dump -j2 (default zstd:1)" sluice "rm -rf '$WORK/sluice'" \
    "'$SLUICE' dump '$SRC' --out '$WORK/sluice' $common" "" "$WORK/sluice"

log "restore (each into a fresh empty database, checked against the source)"
if [[ -f $WORK/pg/toc.dat ]]; then
    run pg-restore "pg_restore -j2 (of the pg_dump dump)" anchor "$RECREATE_DST" \
        "pg_restore -j 2 -d '$DST' '$WORK/pg'" "$CHECK"
elif wanted pg-restore; then
    printf 'pg-restore\tpg_restore -j2 (of the pg_dump dump)\tanchor\t\n' >> "$RAW/runs.tsv"
    echo "error: no pg_dump dump to restore (pg-dump did not run or failed)" > "$RAW/pg-restore.err"
fi
if [[ -f $WORK/sluice/manifest.json ]]; then
    run sluice-restore "sluice restore -j2 (of the sluice dump)" sluice "$RECREATE_DST" \
        "'$SLUICE' restore '$WORK/sluice' '$DST' $common" "$CHECK"
elif wanted sluice-restore; then
    printf 'sluice-restore\tsluice restore -j2 (of the sluice dump)\tsluice\t\n' >> "$RAW/runs.tsv"
    echo "error: no sluice dump to restore (sluice-dump did not run or failed)" > "$RAW/sluice-restore.err"
fi

# ---- report --------------------------------------------------------------------
ENV_LINE="$(nproc) cores, $(uname -sr), PostgreSQL $SERVER_VERSION, pg_dump $(pg_dump --version | awk '{print $3}'), $("$SLUICE" --version), $(if [[ -n $HAVE_HYPERFINE ]]; then hyperfine --version; else echo 'bash timing loop'; fi), load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RAW" "$OUT" "$SMALL" "$SMALL_BYTES" "$BIG_MIB" "$LO_BYTES" "$RUNS" "$RSS_LIMIT_MIB" "$ENV_LINE" "$BYTES_FROM" <<'EOF'
import json, os, re, statistics, subprocess, sys
raw, out, small, small_bytes, big_mib, total, runs, rss_limit, env, bytes_from = sys.argv[1:]
small, small_bytes, big_mib, total, runs, rss_limit = (int(x) for x in (small, small_bytes, big_mib, total, runs, rss_limit))

def du(path):
    if not path or not os.path.exists(path):
        return None
    return int(subprocess.run(["du", "-sb", path], capture_output=True, text=True).stdout.split()[0])

def time_v(path, key):
    if not os.path.exists(path):
        return []
    return [float(m) for m in re.findall(re.escape(key) + r": ([\d.]+)", open(path).read())]

rows = []
for line in open(os.path.join(raw, "runs.tsv")).read().splitlines()[1:]:
    rid, label, kind, output = (line.split("\t") + [""] * 4)[:4]
    r = {"id": rid, "run": label, "kind": kind, "bytes": total, "min_s": None, "median_s": None,
         "times_s": None, "mb_per_s": None, "peak_rss_mib": None, "cpu_s_median": None,
         "output_bytes": du(output), "error": None}
    j, e, rss = (os.path.join(raw, rid + ext) for ext in (".json", ".err", ".rss"))
    if os.path.exists(j):
        t = json.load(open(j))["results"][0]["times"]
        r["times_s"] = t
        r["min_s"], r["median_s"] = min(t), statistics.median(t)
        r["mb_per_s"] = total / 1e6 / r["median_s"]
    else:
        r["error"] = open(e).read().strip() if os.path.exists(e) else "error: no timing recorded"
    kb = time_v(rss, "Maximum resident set size (kbytes)")
    if kb:
        r["peak_rss_mib"] = max(kb) / 1024
    user, system = time_v(rss, "User time (seconds)"), time_v(rss, "System time (seconds)")
    if user and len(user) == len(system):
        r["cpu_s_median"] = statistics.median(u + s for u, s in zip(user, system))
    rows.append(r)
by = {r["id"]: r for r in rows}

def med(i):
    r = by.get(i)
    return r["median_s"] if r else None

ratios = []
for name, a, b in [("sluice dump ÷ pg_dump -Fd -j2", "sluice-dump", "pg-dump"),
                   ("sluice restore ÷ pg_restore -j2", "sluice-restore", "pg-restore")]:
    x, y = med(a), med(b)
    value = x / y if x and y else None
    ratios.append({"ratio": name, "numerator": a, "denominator": b, "value": value, "target": "≤ 1.00",
                   "met": None if value is None else value <= 1.0})
rss_checks = []
for rid in ("sluice-dump", "sluice-restore"):
    r = by.get(rid)
    if r and r["peak_rss_mib"] is not None:
        rss_checks.append({"run": rid, "peak_rss_mib": r["peak_rss_mib"], "target": f"≤ {rss_limit}",
                           "met": r["peak_rss_mib"] <= rss_limit})

def fmt(v, spec, na="n/a"):
    return na if v is None else format(v, spec)

lines = []
lines.append(f"sluice large-objects bench: {small:,} objects of 1-64 KiB ({small_bytes / 1e6:,.0f} MB) + one of "
             f"{big_mib:,} MiB, {total / 1e6:,.0f} MB of large objects ({bytes_from}), "
             f"{runs} timed run(s) each, MB/s = object bytes / median")
lines.append(env)
lines.append("")
lines.append(f"{'run':<42} {'min s':>8} {'median s':>9} {'MB/s':>7} {'out MB':>8} {'RSS MiB':>8} {'CPU s':>7}")
for r in rows:
    if r["error"]:
        lines.append(f"{r['run']:<42} n/a ({r['error'][:200]})")
        continue
    ob = r["output_bytes"]
    lines.append(f"{r['run']:<42} {r['min_s']:>8.2f} {r['median_s']:>9.2f} {r['mb_per_s']:>7.0f} "
                 f"{fmt(ob and ob / 1e6, '8.0f', '       -')} {fmt(r['peak_rss_mib'], '8.0f', '       -')} "
                 f"{fmt(r['cpu_s_median'], '7.1f', '      -')}")
lines.append("(RSS and CPU s = user + system: of the client process only, not of the server's backends)")
lines.append("")
lines.append(f"{'ratio (medians) / limit':<46} {'value':>6}  {'target':<10} verdict")
for x in ratios:
    verdict = "n/a" if x["value"] is None else ("met" if x["met"] else "MISSED")
    lines.append(f"{x['ratio']:<46} {fmt(x['value'], '6.2f', '   n/a')}  {x['target']:<10} {verdict}")
for x in rss_checks:
    lines.append(f"{'peak RSS of ' + x['run'] + ', MiB':<46} {x['peak_rss_mib']:>6.0f}  {x['target']:<10} "
                 f"{'met' if x['met'] else 'MISSED'}")
text = "\n".join(lines) + "\n"
print(text, end="")
open(os.path.join(out, "large-objects.txt"), "w").write(text)
doc = {"small_objects": small, "small_bytes": small_bytes, "big_mib": big_mib, "large_object_bytes": total,
       "bytes_from": bytes_from, "runs_per_command": runs, "environment": env, "runs": rows, "ratios": ratios,
       "peak_rss_limit_mib": rss_limit, "peak_rss": rss_checks,
       "peak_rss_met": all(x["met"] for x in rss_checks) if rss_checks else None}
json.dump(doc, open(os.path.join(out, "large-objects.json"), "w"), indent=2, ensure_ascii=False)
print(f"\nresults: {os.path.join(out, 'large-objects.txt')}, {os.path.join(out, 'large-objects.json')}")
EOF
