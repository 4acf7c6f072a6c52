#!/usr/bin/env python3
"""Creates the demo's sample SQLite database: a small shop with personal data
worth masking and some tens of thousands of rows. Deterministic (fixed seed),
standard library only.

    python3 scripts/demo-db.py target/demo/shop.db
"""
import random
import sqlite3
import sys
from datetime import date, datetime, timedelta

FIRST = ["Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger",
         "Radia", "Donald", "Sophie", "John", "Hedy", "Niklaus", "Karen", "Tim", "Shafi", "Leslie"]
LAST = ["Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen",
        "Dijkstra", "Perlman", "Knuth", "Wilson", "Backus", "Lamarr", "Wirth", "Spärck Jones", "Berners-Lee",
        "Goldwasser", "Lamport"]
CITIES = ["Lisbon", "Oslo", "Kraków", "Toulouse", "Utrecht", "Graz", "Aarhus", "Bilbao", "Turku", "Brno"]
STREETS = ["Main St", "Harbour Rd", "Elm Ave", "Mill Lane", "Station Sq", "Kirkegata", "Rua Nova", "Hauptstraße"]
PRODUCTS = ["kettle", "lamp", "chair", "desk", "mug", "notebook", "pen", "backpack", "umbrella", "scarf"]

SCHEMA = """
PRAGMA journal_mode = WAL;
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT,
    birth_date DATE,
    street TEXT,
    city TEXT,
    created_at DATETIME NOT NULL
);
CREATE TABLE products (
    sku TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    price REAL NOT NULL,
    photo BLOB
) WITHOUT ROWID;
CREATE TABLE orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    ordered_at DATETIME NOT NULL,
    status TEXT NOT NULL DEFAULT 'new'
);
CREATE TABLE order_items (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    sku TEXT NOT NULL REFERENCES products(sku),
    quantity INTEGER NOT NULL,
    PRIMARY KEY (order_id, sku)
) WITHOUT ROWID;
CREATE TABLE payments (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    card_number TEXT NOT NULL,
    amount NUMERIC NOT NULL
);
CREATE INDEX orders_by_customer ON orders(customer_id);
CREATE INDEX customers_by_email ON customers(email);
CREATE VIEW revenue_by_city AS
    SELECT c.city, sum(p.amount) AS revenue FROM payments p
    JOIN orders o ON o.id = p.order_id JOIN customers c ON c.id = o.customer_id GROUP BY c.city;
CREATE TRIGGER orders_paid AFTER INSERT ON payments BEGIN
    UPDATE orders SET status = 'paid' WHERE id = NEW.order_id;
END;
"""


def luhn(digits):
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


def main(path):
    rnd = random.Random(42)
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    customers = []
    for i in range(1, 20001):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        email = f"{first}.{last}.{i}@example.com".lower().replace(" ", "")
        phone = f"+{rnd.randint(30, 49)} {rnd.randint(100, 999)} {rnd.randint(100000, 999999)}"
        born = date(1950, 1, 1) + timedelta(days=rnd.randint(0, 20000))
        street = f"{rnd.randint(1, 250)} {rnd.choice(STREETS)}"
        created = datetime(2020, 1, 1) + timedelta(seconds=rnd.randint(0, 150_000_000))
        customers.append((i, first, last, email, phone if i % 17 else None, born.isoformat(), street,
                          rnd.choice(CITIES), created.isoformat(sep=" ")))
    db.executemany("INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?)", customers)
    products = [(f"SKU-{i:04d}", f"{rnd.choice(PRODUCTS)} #{i}", round(rnd.uniform(1, 300), 2),
                 bytes(rnd.randrange(256) for _ in range(32)) if i % 3 == 0 else None) for i in range(1, 501)]
    db.executemany("INSERT INTO products VALUES (?,?,?,?)", products)
    items, payments = [], []
    for order in range(1, 40001):
        customer = rnd.randint(1, 20000)
        at = datetime(2023, 1, 1) + timedelta(seconds=rnd.randint(0, 60_000_000))
        db.execute("INSERT INTO orders (id, customer_id, ordered_at) VALUES (?,?,?)",
                   (order, customer, at.isoformat(sep=" ")))
        for sku in rnd.sample(products, rnd.randint(1, 3)):
            items.append((order, sku[0], rnd.randint(1, 5)))
        if order % 10:
            card = "4" + "".join(str(rnd.randint(0, 9)) for _ in range(14))
            payments.append((order, card + luhn(card), round(rnd.uniform(5, 900), 2)))
    db.executemany("INSERT INTO order_items VALUES (?,?,?)", items)
    db.executemany("INSERT INTO payments VALUES (?,?,?)", payments)
    db.commit()
    db.close()


if __name__ == "__main__":
    main(sys.argv[1])
