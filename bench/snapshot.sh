#!/usr/bin/env bash
# A dbt snapshot on the embedded engine: a source table of N rows (a model) and a timestamp
# snapshot of it (hard deletes invalidated), applied by terraform with the release provider.
# Steps: the first apply (source and the snapshot's first build), 1 % of the rows changed and
# 0.1 % deleted (source rebuild and a snapshot run), a forced run with nothing new
# (`run_trigger`: the snapshot alone), and the same forced run once the snapshot holds the
# history of 5 changes. A run rebuilds the snapshot table, so its cost grows with the table.
#
#   bench/snapshot.sh [ROWS]     ROWS default 1000000
#
# Env: PROFILE=release|debug (default release), CARGO_TARGET_DIR (default ~/.cache/mdw-target),
# KEEP_WORK=1 keeps the work directory. Never runs cargo: build the provider first.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/mirror.sh
. "$here/mirror.sh"
# shellcheck source=bench/embedded.sh
. "$here/embedded.sh"
repo=$(cd "$here/.." && pwd)
rows=${1:-${ROWS:-1000000}}
profile=${PROFILE:-release}
target_dir=${CARGO_TARGET_DIR:-$HOME/.cache/mdw-target}
embedded_workdir snapshot
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); provider=$profile rows=$rows"

# The source: `rows` ids; `version` changes 1 % of them (a later updated_at) and drops 0.1 %.
config() {
    local version=$1 run=$2
    write_root <<HCL
resource "mdw_iceberg_model" "customers" {
  database = "raw"
  name     = "customers"
  sql      = <<-SQL
    select id, 'name ' || cast(id as varchar) || case when id % 100 < $version then ' v$version' else '' end as name,
      case when id % 100 < $version then timestamp '2026-01-01' + interval '$version' day else timestamp '2026-01-01' end as updated_at
    from (select a.x * 1000 + b.y as id
          from unnest(sequence(0, $(( (rows + 999) / 1000 - 1 )))) as a(x)
          cross join unnest(sequence(1, 1000)) as b(y)) t
    where id <= $rows and not ($version > 0 and id % 1000 = 999)
  SQL
}

resource "mdw_iceberg_model" "customers_snapshot" {
  database     = "snapshots"
  name         = "customers_snapshot"
  materialized = "snapshot"
  sql          = "select id, name, updated_at from raw.customers"
  snapshot     = { strategy = "timestamp", unique_key = ["id"], updated_at = "updated_at", hard_deletes = "invalidate" }
  upstream     = { "model.customers" = mdw_iceberg_model.customers.build_id }
  run_trigger  = "$run"
}
HCL
}

printf '\n| step | apply s | snapshot rows |\n|---|---|---|\n' > "$work/table.md"
config 0 ""
(cd "$work" && terraform init -input=false -no-color >/dev/null)
t=$(apply_seconds); echo "| first apply (source + first build) | $t | $(iceberg_rows customers_snapshot) |" >> "$work/table.md"
config 1 ""
t=$(apply_seconds); echo "| 1 % changed, 0.1 % deleted (source + run) | $t | $(iceberg_rows customers_snapshot) |" >> "$work/table.md"
config 1 "a"
t=$(apply_seconds); echo "| forced run, nothing new (snapshot only) | $t | $(iceberg_rows customers_snapshot) |" >> "$work/table.md"
for v in 2 3 4 5; do config "$v" "a"; apply_seconds >/dev/null; done
config 5 "b"
t=$(apply_seconds); echo "| forced run after 5 changes (snapshot only) | $t | $(iceberg_rows customers_snapshot) |" >> "$work/table.md"
cat "$work/table.md"
