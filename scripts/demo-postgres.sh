#!/usr/bin/env bash
# The main job on a sample database: plan, a masked parallel dump, verify,
# inspect, restore into an empty database, and a before/after look at the
# masked customers. Uses the private PostgreSQL of scripts/pg-server.sh and
# the pagila sample (tests/fixtures/datasets, or SLUICE_DATASETS_DIR).
# Leaves its files under target/demo/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PG=scripts/pg-server.sh
SLUICE=target/release/sluice
DATASETS="${SLUICE_DATASETS_DIR:-$ROOT/tests/fixtures/datasets}"
# A demo key, shown here on purpose; a real one comes from a secret store.
export SLUICE_MASK_KEY="demo-key-not-a-secret-0123456789"

$PG start
base="$($PG url)"
server="${base%/*}"
export PATH="$($PG bindir):$PATH"
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$base" -c "$1"; }
cleanup() {
    sql 'DROP DATABASE IF EXISTS sluice_demo_src WITH (FORCE)' || true
    sql 'DROP DATABASE IF EXISTS sluice_demo_dst WITH (FORCE)' || true
    $PG stop
}
trap cleanup EXIT
sql 'DROP DATABASE IF EXISTS sluice_demo_src WITH (FORCE)'
sql 'DROP DATABASE IF EXISTS sluice_demo_dst WITH (FORCE)'
sql 'CREATE DATABASE sluice_demo_src TEMPLATE template0'
sql 'CREATE DATABASE sluice_demo_dst TEMPLATE template0'
echo "== loading pagila"
for part in schema data; do
    psql -X -q -v ON_ERROR_STOP=1 -d "$server/sluice_demo_src" -f "$DATASETS/pagila/pagila-$part.sql"
done

rm -rf target/demo
mkdir -p target/demo
cat > target/demo/mask.toml <<'TOML'
# Personal columns of pagila, masked with keyed, deterministic rules.
[[table]]
match = "public.customer"
mask = { email = "email", first_name = "first_name", last_name = "last_name", customer_id = { rule = "ff1", min = 1, max = 999999 } }

[[table]]
match = "public.staff"
mask = { email = "email", first_name = "first_name", last_name = "last_name", password = "null", picture = "null" }

[[table]]
match = "public.address"
mask = { phone = "digits", address = { rule = "redact", keep_last = 4 } }

# pagila's last payment partition has no foreign keys: declare the one that matters.
[[fk]]
table = "public.payment_p2022_07"
columns = ["customer_id"]
references = "public.customer"
ref_columns = ["customer_id"]
TOML

echo "== sluice plan"
$SLUICE plan "$server/sluice_demo_src" --config target/demo/mask.toml
echo "== sluice dump -j 2 (masked)"
$SLUICE dump "$server/sluice_demo_src" --out target/demo/dump -j 2 --config target/demo/mask.toml --progress none
echo "== sluice verify"
$SLUICE verify target/demo/dump
echo "== sluice inspect"
$SLUICE inspect target/demo/dump
echo "== sluice restore -j 2"
$SLUICE restore target/demo/dump "$server/sluice_demo_dst" -j 2 --progress none

echo "== customers before and after (same address, so the same people)"
sample='SELECT address_id, customer_id, first_name, last_name, email FROM customer ORDER BY address_id LIMIT 5'
paste -d '\n' \
    <(psql -X -q -At -F ' | ' -d "$server/sluice_demo_src" -c "$sample" | sed 's/^/before: /') \
    <(psql -X -q -At -F ' | ' -d "$server/sluice_demo_dst" -c "$sample" | sed 's/^/after:  /')

echo "== rows: source vs restored"
counts() { psql -X -q -At -d "$server/$1" -f scripts/row-counts.sql | LC_ALL=C sort -t '|' -k1,1; }
LC_ALL=C join -t '|' -a 1 -a 2 -e missing -o 0,1.2,2.2 <(counts sluice_demo_src) <(counts sluice_demo_dst) \
    | awk -F '|' 'BEGIN { printf "%-32s %10s %10s\n", "table", "source", "restored" }
                  { printf "%-32s %10s %10s%s\n", $1, $2, $3, ($2 == $3 ? "" : "  <- differs") }'
echo "dump left in target/demo/dump"
