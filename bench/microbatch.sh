#!/usr/bin/env bash
# A dbt microbatch model on the embedded engine: a source table of N events spread over the 30
# days of September 2024 (a model) and a microbatch model of it (day batches, merged by id),
# applied by terraform with the release provider. Steps: the first apply (the source and the
# model's first build: 30 batches, the first creating the table), a run of the last 2 days
# after 1 % of the events changed (source rebuild, 2 merges), and a 7-day backfill with
# nothing new (7 merges). The run's window is pinned with event_time_start/event_time_end.
#
#   bench/microbatch.sh [ROWS]     ROWS default 1000000
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
embedded_workdir microbatch
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); provider=$profile rows=$rows"

# The source: `rows` events, event i at second i * 2592000 / rows of September; `version`
# changes the amount of 1 % of them.
config() {
    local version=$1 start=$2
    write_root <<HCL
resource "mdw_iceberg_model" "events" {
  database = "raw"
  name     = "events"
  sql      = <<-SQL
    select id, case when id % 100 < $version then id + $version else id end as amount,
      date_add('second', id * 2592000 / $rows, timestamp '2024-09-01 00:00:00') as ts
    from (select a.x * 1000 + b.y - 1 as id
          from unnest(sequence(0, $(( (rows + 999) / 1000 - 1 )))) as a(x)
          cross join unnest(sequence(1, 1000)) as b(y)) t
    where id < $rows
  SQL
}

resource "mdw_iceberg_model" "daily" {
  database             = "mart"
  name                 = "daily"
  materialized         = "incremental"
  incremental_strategy = "microbatch"
  unique_key           = ["id"]
  microbatch           = { batch_size = "day", begin = "2024-09-01", event_time_start = "$start", event_time_end = "2024-10-01" }
  sql                  = <<-SQL
    select id, amount, ts, '__mdw_batch_id__' as batch_id
    from (select * from raw.events where cast(ts as timestamp) >= timestamp '__mdw_batch_start__' and cast(ts as timestamp) < timestamp '__mdw_batch_end__')
  SQL
  upstream             = { "model.events" = mdw_iceberg_model.events.build_id }
}
HCL
}

printf '\n| step | apply s | model rows |\n|---|---|---|\n' > "$work/table.md"
config 0 ""
(cd "$work" && terraform init -input=false -no-color >/dev/null)
t=$(apply_seconds); echo "| first apply (source + 30 batches) | $t | $(iceberg_rows daily) |" >> "$work/table.md"
config 1 "2024-09-29"
t=$(apply_seconds); echo "| 1 % changed, run of 2 days (source + 2 merges) | $t | $(iceberg_rows daily) |" >> "$work/table.md"
config 1 "2024-09-24"
t=$(apply_seconds); echo "| backfill of 7 days, nothing new (7 merges) | $t | $(iceberg_rows daily) |" >> "$work/table.md"
cat "$work/table.md"
