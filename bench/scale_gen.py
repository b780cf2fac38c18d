#!/usr/bin/env python3
"""Generates the warehouse-shaped project of bench/scale.sh, twice over.

Usage: scale_gen.py DIR MODELS

DIR/project: a dbt project for Athena + Iceberg: 20 raw tables (seeds of 500 rows), MODELS models
in 5 layers (src -> sta -> dim/fact -> mart, in proportion 30/25/15/15/15 %), each model reading
1-4 nodes of earlier layers, 40 % of them using `var('pdate')`, not_null on every model and unique
on 80 % of them (1.8 data tests per model).

DIR/floor: Terraform's own floor for the same graph: one `terraform_data` per model carrying its
SQL, wired to what it reads, so Terraform walks the same DAG with a provider that does nothing.

Deterministic (fixed seed): runs are comparable.
"""
import json
import os
import random
import sys

out, count = sys.argv[1], int(sys.argv[2])
rng = random.Random(15)
RAW_TABLES, RAW_ROWS = 20, 500
LAYERS = [("src", 0.30, "table"), ("sta", 0.25, "view"), ("dim", 0.15, "table"),
          ("fact", 0.15, "table"), ("mart", 0.15, "table")]


def write(path, text):
    path = os.path.join(out, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


write("project/dbt_project.yml", f"""name: scale
profile: scale
config-version: 2
vars:
  pdate: '20261207'
seeds:
  scale:
    +schema: raw
models:
  scale:
""" + "".join(f"    {layer}: {{+schema: {layer}, +materialized: {mat}}}\n"
              for layer, _, mat in LAYERS))
write("project/profiles.yml", """scale:
  target: dev
  outputs:
    dev:
      type: athena
      region_name: us-east-1
      database: awsdatacatalog
      schema: mdw
      s3_staging_dir: s3://scale-results/
      s3_data_dir: s3://scale-warehouse/
      work_group: primary
      threads: 4
""")

for t in range(RAW_TABLES):
    rows = "".join(f"{i},{rng.randint(0, 999)}\n" for i in range(RAW_ROWS))
    write(f"project/seeds/raw_{t:02}.csv", "id,v\n" + rows)

# Nodes of earlier layers a model may read: (dbt name, is_seed).
earlier = [(f"raw_{t:02}", True) for t in range(RAW_TABLES)]
models = []  # (layer, name, sql, parents)
sizes = [int(count * share) for _, share, _ in LAYERS]
sizes[0] += count - sum(sizes)
for (layer, _, _), size in zip(LAYERS, sizes):
    mine = []
    for i in range(size):
        name = f"{layer}_{i:04}"
        parents = rng.sample(earlier, min(len(earlier), 1 if layer == "src" else rng.randint(1, 4)))
        first = parents[0][0]
        sql = "select t0.id, t0.v"
        for j, (parent, _) in enumerate(parents[1:], 1):
            sql += f" + t{j}.v"
        sql += " as v\nfrom {{ ref('" + first + "') }} t0\n"
        for j, (parent, _) in enumerate(parents[1:], 1):
            sql += "join {{ ref('" + parent + "') }} t" + str(j) + f" on t{j}.id = t0.id\n"
        if rng.random() < 0.4:
            sql += "where t0.id < 400 or '{{ var('pdate') }}' > '2026'\n"
        write(f"project/models/{layer}/{name}.sql", sql)
        models.append((layer, name, sql, [p for p, _ in parents]))
        mine.append((name, False))
    earlier += mine

for layer, _, _ in LAYERS:
    entries = []
    for model_layer, name, _, _ in models:
        if model_layer != layer:
            continue
        tests = "[not_null, unique]" if rng.random() < 0.8 else "[not_null]"
        entries.append(f"  - name: {name}\n    columns:\n      - name: id\n"
                       f"        data_tests: {tests}\n")
    write(f"project/models/{layer}/_{layer}.yml", "version: 2\nmodels:\n" + "".join(entries))

# The floor: the same DAG as terraform_data, each carrying its SQL.
resources = {}
for _, name, sql, parents in models:
    resources[name] = {
        "input": sql,
        "triggers_replace": [f"${{terraform_data.{p}.id}}" for p in parents],
    }
for t in range(RAW_TABLES):
    resources[f"raw_{t:02}"] = {"input": f"seeds/raw_{t:02}.csv"}
write("floor/main.tf.json", json.dumps({"resource": {"terraform_data": resources}}, indent=1))
print(f"{len(models)} models and {RAW_TABLES} seeds; the floor: {len(resources)} terraform_data")
