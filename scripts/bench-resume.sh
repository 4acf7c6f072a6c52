#!/usr/bin/env bash
# scripts/bench-resume.sh [SCALE]: what resuming costs and saves (issue 18),
# on the bench dataset in the private PostgreSQL server:
#
#   1. a full dump in a held snapshot (`sluice snapshot hold`, --snapshot),
#      RUNS times: the median is T_full
#   2. the same dump SIGKILLed once chunks holding half of its estimated
#      bytes are journalled, then
#      `--resume` in the same snapshot, RUNS times: the median resume is
#      T_resume; target T_resume / T_full <= 0.6
#   3. with SLUICE_BASELINE=/path/to/sluice (a build without the journal and
#      the restore bookkeeping, e.g. one of the commit before them), the
#      default dump and the restore of both builds side by side, RUNS times
#      each, interleaved: target <= 1.02 x the baseline
#
# Results on stdout and in target/bench/resume.txt. Environment as for
# scripts/bench.sh (SLUICE_BENCH_DIR, SLUICE_BENCH_RUNS). The server is
# stopped on exit, and the bench databases are dropped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SCALE="${1:-5000000}"
[[ $SCALE =~ ^[0-9]+$ && $SCALE -gt 0 ]] || { echo "bench-resume: SCALE must be a positive integer" >&2; exit 2; }
RUNS="${SLUICE_BENCH_RUNS:-3}"
BENCH_DIR="${SLUICE_BENCH_DIR:-$ROOT/../shared/bench}"
PG="$ROOT/scripts/pg-server.sh"
SLUICE="$ROOT/target/release/sluice"
BASELINE="${SLUICE_BASELINE:-}"
OUT="$ROOT/target/bench"
WORK="$OUT/resume-work"
SRC_DB=sluice_bench
DST_DB=sluice_bench_restore
die() { echo "bench-resume: $*" >&2; exit 1; }
[[ -f $BENCH_DIR/make-bench-db.sh ]] || die "$BENCH_DIR/make-bench-db.sh not found (set SLUICE_BENCH_DIR)"
[[ -z $BASELINE || -x $BASELINE ]] || die "SLUICE_BASELINE=$BASELINE is not an executable"

"$PG" start
PATH="$("$PG" bindir):$PATH"
export PATH
BASE="$("$PG" url)"
SRC="${BASE%/*}/$SRC_DB"
DST="${BASE%/*}/$DST_DB"
admin() { psql -X -q -v ON_ERROR_STOP=1 -d "$BASE" "$@"; }
HOLDER=""
cleanup() {
    local rc=$?
    [[ -n $HOLDER ]] && kill "$HOLDER" 2>/dev/null || true
    admin -c "DROP DATABASE IF EXISTS $SRC_DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $DST_DB WITH (FORCE)" \
        >/dev/null 2>&1 || true
    rm -rf "$WORK"
    "$PG" stop || true
    exit "$rc"
}
trap cleanup EXIT
rm -rf "$WORK"
mkdir -p "$WORK"
cargo build --release

admin -c "DROP DATABASE IF EXISTS $SRC_DB WITH (FORCE)" -c "CREATE DATABASE $SRC_DB TEMPLATE template0"
"$BENCH_DIR/make-bench-db.sh" --scale "$SCALE" --pg "$SRC"
psql -X -q -d "$SRC" -c "SELECT count(*) FROM big" >/dev/null   # warm the cache

now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# Percent of the plan's estimated bytes whose chunks are journalled (chunks
# go largest first, so half the chunks would be far more than half the data).
done_percent() {
    python3 - "$1" <<'PY' 2>/dev/null || echo 0
import json, os, sys
d = sys.argv[1]
plan = json.load(open(os.path.join(d, "plan.json")))
size = {c["id"]: c["estimated_bytes"] for c in plan["chunks"]}
done = [int(f.split(".")[0]) for f in os.listdir(os.path.join(d, "journal")) if f.endswith(".json")]
print(int(100 * sum(size.get(i, 0) for i in done) / max(1, sum(size.values()))))
PY
}

# A held snapshot: the resumed dump reads in the same one.
"$SLUICE" snapshot hold "$SRC" > "$WORK/holder.out" 2>/dev/null &
HOLDER=$!
for _ in $(seq 100); do [[ -s $WORK/holder.out ]] && break; sleep 0.1; done
SNAPSHOT="$(head -1 "$WORK/holder.out")"
[[ -n $SNAPSHOT ]] || die "snapshot hold printed no name"
common=(-j 2 --progress none --chunk-size 64MiB --snapshot "$SNAPSHOT")

full=()
for _ in $(seq "$RUNS"); do
    rm -rf "$WORK/full"
    t0=$(now); "$SLUICE" dump "$SRC" --out "$WORK/full" "${common[@]}" >/dev/null; t1=$(now)
    full+=("$(calc "$t1 - $t0")")
done

resumed=()
for _ in $(seq "$RUNS"); do
    rm -rf "$WORK/killed"
    "$SLUICE" dump "$SRC" --out "$WORK/killed" "${common[@]}" >/dev/null 2>&1 &
    pid=$!
    while :; do
        if (( $(done_percent "$WORK/killed") >= 50 )); then break; fi
        kill -0 "$pid" 2>/dev/null || die "the dump ended before half of its chunks were done"
        sleep 0.02
    done
    kill -9 "$pid"; wait "$pid" 2>/dev/null || true
    t0=$(now); "$SLUICE" dump "$SRC" --out "$WORK/killed" "${common[@]}" --resume >/dev/null; t1=$(now)
    resumed+=("$(calc "$t1 - $t0")")
done
"$SLUICE" verify "$WORK/killed" >/dev/null

T_FULL=$(median "${full[@]}")
T_RESUME=$(median "${resumed[@]}")
{
    echo "resume bench: scale $SCALE, $(nproc) cores, runs $RUNS, -j 2, chunks of 64 MiB, held snapshot"
    printf 'full dump (median of %s)            %8.2f s   [%s]\n' "$RUNS" "$T_FULL" "${full[*]}"
    printf 'resume after SIGKILL at 50%% of bytes%8.2f s   [%s]\n' "$T_RESUME" "${resumed[*]}"
    printf 'resume / full                        %8.2f     target <= 0.60\n' "$(calc "$T_RESUME / $T_FULL")"
} | tee "$OUT/resume.txt"

if [[ -n $BASELINE ]]; then
    declare -A dump_t restore_t
    for run in $(seq "$RUNS"); do
        # Alternate which build goes first, so neither always gets the
        # other's warm caches.
        order="current baseline"; (( run % 2 == 0 )) && order="baseline current"
        for build in $order; do
            bin="$SLUICE"; [[ $build == baseline ]] && bin="$BASELINE"
            rm -rf "$WORK/$build"
            t0=$(now); "$bin" dump "$SRC" --out "$WORK/$build" -j 2 --progress none >/dev/null; t1=$(now)
            dump_t[$build]+="$(calc "$t1 - $t0") "
            admin -c "DROP DATABASE IF EXISTS $DST_DB WITH (FORCE)" -c "CREATE DATABASE $DST_DB TEMPLATE template0"
            t0=$(now); "$bin" restore "$WORK/$build" "$DST" -j 2 --progress none >/dev/null; t1=$(now)
            restore_t[$build]+="$(calc "$t1 - $t0") "
        done
    done
    {
        for what in dump restore; do
            if [[ $what == dump ]]; then cur_t=${dump_t[current]}; base_t=${dump_t[baseline]}
            else cur_t=${restore_t[current]}; base_t=${restore_t[baseline]}; fi
            cur=$(median $cur_t); base=$(median $base_t)
            printf '%-8s with bookkeeping %7.2f s, baseline %7.2f s, ratio %5.3f (target <= 1.02)   [%s| %s]\n' \
                "$what" "$cur" "$base" "$(calc "$cur / $base")" "$cur_t" "$base_t"
        done
    } | tee -a "$OUT/resume.txt"
fi
