#!/usr/bin/env python3
"""Generates a layered dbt project (Athena + Iceberg) for bench/compiler.sh.

Usage: compiler_gen.py DIR MODELS
Layers stg -> int -> dim/fct -> mart; every non-staging model refs 2-3 models of earlier layers,
calls project macros, sets config(); every folder has a schema yml with docs and two tests per
model. Deterministic (fixed random seed), so runs are comparable.
"""
import os
import random
import sys

out, count = sys.argv[1], int(sys.argv[2])
rng = random.Random(42)
layers = [("stg", 0.3), ("int", 0.25), ("dim", 0.15), ("fct", 0.15), ("mart", 0.15)]
sources = 50


def write(path, text):
    path = os.path.join(out, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


write("dbt_project.yml", """name: bench
profile: bench
config-version: 2
vars:
  pdate: 20261127
models:
  bench:
    +materialized: view
    stg: {+schema: stg, +materialized: table, +tags: [staging]}
    int: {+schema: int}
    dim: {+schema: dwh, +materialized: table}
    fct: {+schema: dwh, +materialized: incremental, +incremental_strategy: merge, +unique_key: id}
    mart: {+materialized: table, +tags: [mart]}
""")
write("profiles.yml", """bench:
  target: dev
  outputs:
    dev:
      type: athena
      region_name: us-west-2
      database: awsdatacatalog
      schema: mdw
      s3_staging_dir: s3://mdw-work-zone/results/
      s3_data_dir: s3://mdw-warehouse/
      work_group: mdw
      threads: 4
""")
write("macros/bench.sql", """{% macro money(column, scale=2) -%}
    cast({{ column }} as decimal(18, {{ scale }}))
{%- endmacro %}

{% macro cols(names, prefix) -%}
    {%- set out = [] -%}
    {%- for n in names -%}{%- do out.append(prefix ~ '.' ~ n) -%}{%- endfor -%}
    {{ return(out | join(', ')) }}
{%- endmacro %}

{% macro day_filter(column) -%}
    {{ column }} <= cast('{{ var("pdate") }}' as varchar)
{%- endmacro %}
""")
write("models/_sources.yml", "version: 2\nsources:\n  - name: raw\n    schema: iceberg\n    tables:\n"
      + "".join(f"      - name: t{i}\n" for i in range(sources)))

names = []
index = 0
for layer, share in layers:
    n = max(1, round(count * share)) if layer != "mart" else count - index
    layer_names = []
    yml = ["version: 2", "models:"]
    for _ in range(n):
        name = f"{layer}_{index:05d}"
        index += 1
        if layer == "stg":
            body = f"""{{{{ config(tags=['src_{index % 7}']) }}}}
select
    id,
    {{{{ money('amount') }}}} as amount,
    {{{{ cols(['a', 'b', 'c'], 's') }}}},
    updated_at
from {{{{ source('raw', 't{rng.randrange(sources)}') }}}} s
where {{{{ day_filter('s.updated_at') }}}}
"""
        else:
            parents = rng.sample(names, min(len(names), rng.choice([2, 3])))
            joins = "\n".join(
                f"left join {{{{ ref('{p}') }}}} p{k} on p{k}.id = p0.id" for k, p in enumerate(parents[1:], 1)
            )
            body = f"""{{{{ config(alias='{name}') }}}}
select
    p0.id,
    {{{{ money('p0.amount') }}}} as amount,
    {{{{ cols(['a', 'b'], 'p0') }}}},
    p0.updated_at
from {{{{ ref('{parents[0]}') }}}} p0
{joins}
{{% if is_incremental() %}}
where p0.updated_at > (select max(updated_at) from {{{{ this }}}})
{{% endif %}}
"""
        write(f"models/{layer}/{name}.sql", body)
        yml += [f"  - name: {name}", f"    description: Generated model {name}.", "    columns:",
                "      - name: id", "        description: Key.", "        data_tests: [not_null, unique]"]
        layer_names.append(name)
    write(f"models/{layer}/_{layer}.yml", "\n".join(yml) + "\n")
    names += layer_names
