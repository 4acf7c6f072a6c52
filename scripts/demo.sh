#!/usr/bin/env bash
# The main job on the embedded default, no server needed: a sample SQLite shop
# database with personal data, then sluice plan, a masked parallel dump,
# verify, inspect, restore into a new SQLite file, and a before/after look at
# the masked customers. Leaves its files under target/demo/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SLUICE=target/release/sluice
DEMO=target/demo
# A demo key, shown here on purpose; a real one comes from a secret store.
export SLUICE_MASK_KEY="demo-key-not-a-secret-0123456789"

rm -rf "$DEMO"
mkdir -p "$DEMO"
echo "== creating $DEMO/shop.db (a sample shop: customers, products, orders, payments)"
python3 scripts/demo-db.py "$DEMO/shop.db"

cat > "$DEMO/mask.toml" <<'TOML'
# Personal columns of the shop, masked with keyed, deterministic rules: the
# same input always gives the same output, so joins still match.
[[table]]
match = "main.customers"
mask = { first_name = "first_name", last_name = "last_name", email = "email", phone = "digits", birth_date = { rule = "noise", bound = "365d" }, street = { rule = "redact", keep_last = 6 } }

[[table]]
match = "main.payments"
mask = { card_number = { rule = "digits", luhn = true } }
TOML

echo "== sluice plan"
$SLUICE plan "sqlite://$DEMO/shop.db" --config "$DEMO/mask.toml"
echo "== sluice dump -j 2 (masked)"
$SLUICE dump "sqlite://$DEMO/shop.db" --out "$DEMO/dump" -j 2 --config "$DEMO/mask.toml" --progress none
echo "== sluice verify"
$SLUICE verify "$DEMO/dump" --progress none
echo "== sluice inspect"
$SLUICE inspect "$DEMO/dump"
echo "== sluice restore"
$SLUICE restore "$DEMO/dump" "sqlite://$DEMO/restored.db" --progress none

echo "== customers and payments before and after (same ids, so the same rows)"
python3 - "$DEMO/shop.db" "$DEMO/restored.db" <<'PY'
import sqlite3, sys
before, after = (sqlite3.connect(p) for p in sys.argv[1:3])
queries = [
    "SELECT id, first_name, last_name, email, phone, birth_date, street FROM customers ORDER BY id LIMIT 4",
    "SELECT order_id, card_number, amount FROM payments ORDER BY rowid LIMIT 3",
]
for q in queries:
    for b, a in zip(before.execute(q), after.execute(q)):
        print("before:", " | ".join(map(str, b)))
        print("after: ", " | ".join(map(str, a)))
print()
print(f"{'table':<16} {'source':>8} {'restored':>9}")
for (name,) in before.execute("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"):
    n, m = (db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for db in (before, after))
    print(f"{name:<16} {n:>8} {m:>9}{'' if n == m else '  <- differs'}")
PY
echo "dump left in $DEMO/dump, restored database in $DEMO/restored.db"
