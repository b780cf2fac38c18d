#!/usr/bin/env python3
"""Writes the retail example's five seed CSVs at scale, for bench/dbt-duckdb.sh.

    gen_retail.py SEEDS_DIR ORDER_LINES

Same columns and value formats as examples/retail/seeds/*.csv, so every model compiles and the
project's data tests pass:
- every order's customer and store exist, every line's order and product exist (relationships);
- every store opened before the default pdate (20261127): dbt_stores_syvh keeps only those, and
  fct_orders.store_id must find its store in dim_stores;
- ids are unique; regions are north/south/east/west (the test checks them upper-cased);
- statuses keep the seeds' mixed case ('PLACED') plus one that maps to 'unknown';
- discounts are 0, a fraction or empty, so revenue is never negative.
The first rows of each file already show every shape a column takes (decimals in `discount`,
an empty `category`): the embedded engine infers CSV types from a sample at the top of the file.
Output is deterministic for a given size (fixed RNG seed), so runs compare like with like.
"""
import csv
import os
import random
import sys

FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken"]
LAST = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Hamilton", "Thompson"]
PRODUCTS = [("Espresso Beans", "Coffee"), ("Green Tea", "Tea"), ("Ceramic Mug", "Kitchen"), ("Oat Milk", ""),
            ("Drip Filter", "Kitchen"), ("Cold Brew", "Coffee"), ("Chai", "Tea"), ("Grinder", "Kitchen")]
REGIONS = ["north", "south", "east", "west"]
STORE_NAMES = ["Downtown", "Harbor", "Airport", "Hillside", "Riverside", "Old Town", "Station", "Campus"]
# Weighted like a real feed; 'Cancelled' is not an accepted status and lands as 'unknown'.
STATUSES = ["completed"] * 6 + ["shipped"] * 3 + ["PLACED", "returned", "Cancelled"]
DISCOUNTS = ["0", "0.1", "", "0", "0.25", "0", "0.05"]


def day(rng, year_from, year_to, last_month=12, last_day=28):
    """A YYYY-MM-DD date; days stop at 28 so every month is valid."""
    year = rng.randint(year_from, year_to)
    month = rng.randint(1, last_month if year == year_to else 12)
    return f"{year:04d}-{month:02d}-{rng.randint(1, last_day):02d}"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out, lines_wanted = sys.argv[1], int(sys.argv[2])
    if lines_wanted < 5:
        sys.exit("ORDER_LINES must be at least 5")
    rng = random.Random(20261127)
    os.makedirs(out, exist_ok=True)

    # Ratios of a small web shop: ~2.5 lines per order, ~10 orders per customer.
    n_orders = max(4, lines_wanted * 2 // 5)
    n_customers = max(3, n_orders // 10)
    n_products = max(4, min(5000, lines_wanted // 200))
    n_stores = max(4, min(500, lines_wanted // 5000))

    def writer(name, header):
        f = open(os.path.join(out, f"{name}.csv"), "w", newline="")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        return f, w

    f, w = writer("stores", ["store_id", "store_name", "region", "opened_on"])
    for i in range(n_stores):
        name = STORE_NAMES[i % len(STORE_NAMES)] + ("" if i < len(STORE_NAMES) else f" {i}")
        w.writerow([i + 1, name, REGIONS[i % 4], day(rng, 2015, 2025)])
    f.close()

    f, w = writer("products", ["product_id", "product_name", "category", "list_price"])
    prices = []
    for i in range(n_products):
        base, category = PRODUCTS[i % len(PRODUCTS)]
        price = rng.randint(199, 4999)  # list_price is in cents, an integer
        prices.append(price)
        w.writerow([10 + i, base if i < len(PRODUCTS) else f"{base} {i}", category, price])
    f.close()

    f, w = writer("customers", ["customer_id", "first_name", "last_name", "email", "signup_date"])
    for i in range(n_customers):
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
        email = f"{first}.{last}.{i}@example.com"
        w.writerow([100 + i, first, last, email.upper() if i % 7 == 0 else email.lower(), day(rng, 2021, 2025)])
    f.close()

    # Orders and their lines together: each order gets 1-4 lines until the wanted count is met.
    fo, wo = writer("orders", ["order_id", "customer_id", "store_id", "order_date", "status"])
    fl, wl = writer("order_lines", ["order_line_id", "order_id", "product_id", "quantity", "unit_price", "discount"])
    line_id = 0
    order = 0
    while line_id < lines_wanted:
        order_id = 1000 + order
        wo.writerow([order_id, 100 + rng.randrange(n_customers), 1 + rng.randrange(n_stores),
                     day(rng, 2025, 2026, last_month=11), STATUSES[rng.randrange(len(STATUSES))]])
        for _ in range(min(1 + rng.randrange(4), lines_wanted - line_id)):
            line_id += 1
            product = rng.randrange(n_products)
            # unit_price is a decimal amount with two places (the seed types it decimal(10,2)).
            wl.writerow([line_id, order_id, 10 + product, 1 + rng.randrange(6),
                         f"{prices[product] / 100:.2f}", DISCOUNTS[line_id % len(DISCOUNTS)]])
        order += 1
    fo.close()
    fl.close()
    print(f"seeds: {line_id} order_lines, {order} orders, {n_customers} customers, "
          f"{n_products} products, {n_stores} stores -> {out}")


if __name__ == "__main__":
    main()
