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
repo=$(cd "$here/.." && pwd)
rows=${1:-${ROWS:-1000000}}
profile=${PROFILE:-release}
target_dir=${CARGO_TARGET_DIR:-$HOME/.cache/mdw-target}
bin=$target_dir/$profile/terraform-provider-mdw
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)
os_arch=$(uname -s | tr 'A-Z' 'a-z')_$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')

command -v terraform >/dev/null || { echo "terraform is required" >&2; exit 1; }
[ -x "$bin" ] || { echo "no provider at $bin (build it first; PROFILE=debug for the debug one)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mdw-microbatch-bench.XXXXXX")
cleanup() { if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
plugin_dir=$work/mirror/registry.terraform.io/mdw/mdw/$version/$os_arch
mkdir -p "$plugin_dir"
cp "$bin" "$plugin_dir/terraform-provider-mdw_v$version"
use_mirror "$work"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); provider=$profile rows=$rows"

# The source: `rows` events, event i at second i * 2592000 / rows of September; `version`
# changes the amount of 1 % of them.
config() {
    local version=$1 start=$2
    cat > "$work/main.tf" <<HCL
terraform {
  required_providers {
    mdw = { source = "mdw/mdw" }
  }
}

provider "mdw" {
  engine   = "embedded"
  embedded = { warehouse = "$work/warehouse" }
}

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

seconds() {
    local start end
    start=$(date +%s.%N)
    (cd "$work" && terraform apply -auto-approve -input=false -no-color >"$work/last.log" 2>&1) || {
        tail -40 "$work/last.log" >&2
        exit 1
    }
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }'
}
table_rows() {
    python3 - "$work/warehouse" <<'PY'
import json, sqlite3, sys
# The model's row count from its current Iceberg metadata (the summary of its snapshot).
db = sqlite3.connect(sys.argv[1] + "/catalog.db")
(location,) = db.execute(
    "select metadata_location from iceberg_tables where table_name = 'daily'").fetchone()
meta = json.load(open(location.replace("file://", "")))
current = [s for s in meta["snapshots"] if s["snapshot-id"] == meta["current-snapshot-id"]][0]
print(current["summary"].get("total-records", "?"))
PY
}

printf '\n| step | apply s | model rows |\n|---|---|---|\n' > "$work/table.md"
config 0 ""
(cd "$work" && terraform init -input=false -no-color >/dev/null)
t=$(seconds); echo "| first apply (source + 30 batches) | $t | $(table_rows) |" >> "$work/table.md"
config 1 "2024-09-29"
t=$(seconds); echo "| 1 % changed, run of 2 days (source + 2 merges) | $t | $(table_rows) |" >> "$work/table.md"
config 1 "2024-09-24"
t=$(seconds); echo "| backfill of 7 days, nothing new (7 merges) | $t | $(table_rows) |" >> "$work/table.md"
cat "$work/table.md"
