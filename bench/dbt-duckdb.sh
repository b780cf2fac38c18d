#!/usr/bin/env bash
# Builds the retail example at scale twice over and compares: mdw (mdwc-compiled Terraform,
# `terraform apply` on the embedded DataFusion + Iceberg engine) vs dbt-duckdb (`dbt seed` +
# `dbt build` into a DuckDB file). Both do the same work from empty: load the five seed CSVs,
# build the 12 models (tables; the two facts are incremental and so build in full on an empty
# warehouse; mart_daily_store_sales is a view on both sides) and run the 31 data tests.
# dbt-duckdb writes DuckDB tables, not Iceberg: mdw also writes Iceberg metadata and Parquet.
#
#   bench/dbt-duckdb.sh [ROWS]        ROWS = order_lines rows (default 1000000)
#
# Env: ROWS, RUNS (repetitions per side, alternating, medians reported; default 3),
# PROFILE=release|debug (provider and mdwc build; default release), CARGO_TARGET_DIR
# (default ~/.cache/mdw-target), MDW_DUCKDB_VENV (default ~/.cache/mdw-duckdb-venv, created with
# dbt-duckdb from PyPI when missing), DBT_THREADS (default 4, as the project's Athena profile),
# KEEP_WORK=1 keeps the work directory. Never runs cargo: build the binaries first.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/mirror.sh
. "$here/mirror.sh"
repo=$(cd "$here/.." && pwd)
rows=${1:-${ROWS:-1000000}}
runs=${RUNS:-3}
profile=${PROFILE:-release}
threads=${DBT_THREADS:-4}
target_dir=${CARGO_TARGET_DIR:-$HOME/.cache/mdw-target}
venv=${MDW_DUCKDB_VENV:-$HOME/.cache/mdw-duckdb-venv}
bin=$target_dir/$profile/terraform-provider-mdw
mdwc=$target_dir/$profile/mdwc
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)
os_arch=$(uname -s | tr 'A-Z' 'a-z')_$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')

for need in terraform python3 /usr/bin/time; do
    command -v "$need" >/dev/null || { echo "$need is required" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "no provider at $bin (build it first; PROFILE=debug for the debug one)" >&2; exit 1; }
# mdwc only renders SQL: any build of it compiles the same project.
[ -x "$mdwc" ] || mdwc=$target_dir/$([ "$profile" = release ] && echo debug || echo release)/mdwc
[ -x "$mdwc" ] || { echo "no mdwc under $target_dir/{release,debug}" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mdw-duckdb-bench.XXXXXX")
cleanup() { if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rows=$rows runs=$runs provider=$profile work=$work"

# --- dbt-duckdb in its own venv (kept apart from ~/.cache/mdw-venv, which holds dbt-athena) ---
if ! "$venv/bin/python" -c 'import dbt.adapters.duckdb' 2>/dev/null; then
    echo "==> creating $venv with dbt-duckdb"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "dbt-core>=1.11,<1.12" "dbt-duckdb>=1.10,<1.12"
fi
dbt=$venv/bin/dbt
echo "dbt: $("$venv/bin/python" -c 'import importlib.metadata as m; print(
    "dbt-core", m.version("dbt-core"), "dbt-duckdb", m.version("dbt-duckdb"), "duckdb", m.version("duckdb"))')"

# --- the scratch project: a copy of examples/retail with generated seeds ---
project=$work/retail
cp -R "$repo/examples/retail" "$project"
rm -rf "$project/target" "$project/logs" "$project/seeds"
python3 "$here/gen_retail.py" "$project/seeds" "$rows"

# --- mdw: compile once (like CI does), then a Terraform root that uses the module ---
tf=$work/mdw
mkdir -p "$tf"
secs() { awk -v now="$(date +%s.%N)" -v start="$1" 'BEGIN { printf "%.2f", now - start }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
t0=$(date +%s.%N)
# One resource per model, whatever the size: the comparison is of engines (and of provider
# builds that predate mdw_model_group).
"$mdwc" compile --project-dir "$project" --profiles-dir "$project" --out "$tf/models" --group-by none >/dev/null
echo "mdwc compile: $(secs "$t0") s (not in the timings below)"
cat > "$tf/main.tf" <<'HCL'
terraform {
  required_providers {
    mdw = { source = "mdw/mdw" }
  }
}

provider "mdw" {
  engine   = "embedded"
  embedded = { warehouse = ".mdw/warehouse" }
}

module "models" {
  source = "./models"
}
HCL

# The provider as Terraform installs it (a filesystem mirror, as scripts/demo.sh does), but the
# mirrored file is a wrapper that runs the binary under /usr/bin/time and appends its peak RSS
# (KiB) per process, as bench/provider-plan.sh does. The binary is snapshotted into the work
# directory first: a cargo build running meanwhile must not swap it between repetitions.
mkdir -p "$work/bin"
ln "$bin" "$work/bin/terraform-provider-mdw" 2>/dev/null || cp "$bin" "$work/bin/terraform-provider-mdw"
plugin_dir=$work/mirror/registry.terraform.io/mdw/mdw/$version/$os_arch
mkdir -p "$plugin_dir"
cat > "$plugin_dir/terraform-provider-mdw_v$version" <<WRAP
#!/bin/sh
exec /usr/bin/time -a -o "$work/provider-rss.txt" -f "%M" "$work/bin/terraform-provider-mdw" "\$@"
WRAP
chmod +x "$plugin_dir/terraform-provider-mdw_v$version"
use_mirror "$work"
(cd "$tf" && terraform init -input=false -no-color >/dev/null)

# --- dbt-duckdb: a profile of its own (the project's profiles.yml targets Athena) ---
# The file is named awsdatacatalog.duckdb so its catalog is "awsdatacatalog": the sources say
# database awsdatacatalog, schema iceberg, and the seeds land in schema iceberg of the target
# database, so source('iceberg', ...) resolves to the seeded tables as on the embedded engine.
mkdir -p "$work/dbt-profiles" "$work/duckdb"
cat > "$work/dbt-profiles/profiles.yml" <<YML
retail:
  target: duckdb
  outputs:
    duckdb:
      type: duckdb
      path: $work/duckdb/awsdatacatalog.duckdb
      schema: mdw
      threads: $threads
YML
export DBT_PROFILES_DIR=$work/dbt-profiles DBT_TARGET_PATH=$work/dbt-target DBT_LOG_PATH=$work/dbt-logs
export DBT_SEND_ANONYMOUS_USAGE_STATS=false DBT_USE_COLORS=false
dbt_args=(--project-dir "$project" --target duckdb)
# Parse once untimed (mdwc compile above is untimed too); later commands reuse it (partial parse).
"$dbt" parse "${dbt_args[@]}" >"$work/dbt-parse.log" 2>&1 || { cat "$work/dbt-parse.log" >&2; exit 1; }

# --- one repetition per side ---

# mdw: an empty warehouse and state each time, so the apply builds everything.
# Prints "<wall s> <provider peak KiB> <terraform peak KiB>". Terraform's own peak is read from
# /proc/<pid>/status VmHWM while it runs (a high-water mark, so the last sample is the peak up
# to ~0.1 s before exit); /usr/bin/time cannot give it, as it folds in the providers' peaks.
run_mdw() {
    local log=$work/apply.log start pid hwm=0 key val rc=0
    rm -rf "$tf/.mdw" "$tf/terraform.tfstate" "$tf/terraform.tfstate.backup"
    : >"$work/provider-rss.txt"
    start=$(date +%s.%N)
    (cd "$tf" && exec terraform apply -input=false -auto-approve -no-color) >"$log" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        while read -r key val _; do
            [ "$key" = VmHWM: ] && hwm=$val
        done 2>/dev/null <"/proc/$pid/status" || true
        sleep 0.1
    done
    wait "$pid" || rc=$?
    local wall
    wall=$(secs "$start")
    if [ "$rc" != 0 ]; then cat "$log" >&2; echo "terraform apply failed" >&2; return 1; fi
    # A failing check block is only a warning to Terraform; dbt build fails on a failing test.
    if grep -q "Check block assertion failed" "$log"; then
        grep -A3 "Check block assertion failed" "$log" >&2; echo "mdw: data tests failed" >&2; return 1
    fi
    echo "$wall $(sort -n "$work/provider-rss.txt" | tail -1) $hwm"
}

# One dbt command under /usr/bin/time; prints "<wall s> <peak KiB>".
run_dbt_step() {
    local log=$work/dbt-$1.log
    if ! /usr/bin/time -o "$work/time.txt" -f "%e %M" "$dbt" "$@" "${dbt_args[@]}" >"$log" 2>&1; then
        cat "$log" >&2; echo "dbt $1 failed" >&2; return 1
    fi
    tail -1 "$work/time.txt"
}

# dbt-duckdb: an empty database each time. `dbt seed` then `dbt build` without the seeds (the
# models and all tests, source tests included) = what one terraform apply does.
# Prints "<seed s> <seed KiB> <build s> <build KiB>".
run_dbt() {
    local seed build
    rm -rf "$work/duckdb" && mkdir -p "$work/duckdb"
    seed=$(run_dbt_step seed) || return 1
    build=$(run_dbt_step build --exclude resource_type:seed) || return 1
    echo "$seed $build"
}

results=$work/results.txt
: >"$results"
for i in $(seq "$runs"); do
    # Alternate which side goes first, so neither always runs on a warmer page cache.
    if [ $((i % 2)) = 1 ]; then order="mdw dbt"; else order="dbt mdw"; fi
    for side in $order; do
        if [ "$side" = mdw ]; then
            read -r w p t < <(run_mdw)
            echo "mdw $w $p $t" >>"$results"
            printf 'run %d  mdw apply %7.2f s  provider %5s MiB  terraform %4s MiB\n' "$i" "$w" \
                "$(mib "$p")" "$(mib "$t")"
        else
            read -r sw sk bw bk < <(run_dbt)
            echo "dbt $sw $sk $bw $bk" >>"$results"
            printf 'run %d  dbt seed %6.2f s + build %6.2f s  peak %5s / %4s MiB\n' "$i" "$sw" "$bw" \
                "$(mib "$sk")" "$(mib "$bk")"
        fi
    done
done

# Same answers? The marts and the fact summarised on both sides, after the last repetitions.
check_sql="select 'fct_order_lines' as t, count(*) as n, cast(sum(revenue) as varchar) as total from awsdatacatalog.dwh.fct_order_lines
union all select 'fct_orders', count(*), cast(sum(revenue) as varchar) from awsdatacatalog.dwh.fct_orders
union all select 'mart_customer_ltv', count(*), cast(sum(lifetime_revenue) as varchar) from awsdatacatalog.mdw.mart_customer_ltv
union all select 'mart_daily_store_sales', count(*), cast(sum(revenue) as varchar) from awsdatacatalog.mdw.mart_daily_store_sales"
mkdir -p "$work/verify"
python3 - "$work/verify/main.tf.json" "$tf/.mdw/warehouse" "$check_sql" <<'PY'
import json, sys
out, warehouse, sql = sys.argv[1:]
json.dump({
    "terraform": {"required_providers": {"mdw": {"source": "mdw/mdw"}}},
    "provider": {"mdw": {"engine": "embedded", "embedded": {"warehouse": warehouse}}},
    "data": {"mdw_query": {"check": {"sql": sql}}},
    "output": {"rows": {"value": "${[for r in data.mdw_query.check.rows : join(\" \", [r.t, r.n, r.total])]}"}},
}, open(out, "w"))
PY
(cd "$work/verify" && terraform init -input=false -no-color >/dev/null &&
    terraform apply -input=false -auto-approve -no-color >/dev/null &&
    terraform output -json rows) | python3 -c 'import json, sys; print("\n".join(sorted(json.load(sys.stdin))))' >"$work/mdw-check.txt"
"$venv/bin/python" - "$work/duckdb/awsdatacatalog.duckdb" "$check_sql" <<'PY' >"$work/dbt-check.txt"
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
# Both engines print sums of decimal(18,2) columns; normalise the text of the number only.
print("\n".join(sorted(f"{t} {n} {total}" for t, n, total in con.execute(sys.argv[2]).fetchall())))
PY
if diff "$work/mdw-check.txt" "$work/dbt-check.txt" >/dev/null; then
    echo "results agree (row count and sum of revenue of the facts and marts):"
    sed 's/^/    /' "$work/mdw-check.txt"
else
    echo "RESULTS DIFFER: mdw (<) vs dbt-duckdb (>)"
    diff "$work/mdw-check.txt" "$work/dbt-check.txt" | sed 's/^/    /' || true
fi

# --- summary: median wall time, max peak RSS over the runs ---
python3 - "$results" "$rows" "$runs" <<'PY'
import statistics, sys
path, rows, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
mdw = [list(map(float, l.split()[1:])) for l in open(path) if l.startswith("mdw ")]
dbt = [list(map(float, l.split()[1:])) for l in open(path) if l.startswith("dbt ")]
med = lambda xs: statistics.median(xs)
mib = lambda kib: kib / 1024
m_wall = med([r[0] for r in mdw])
m_prov, m_tf = max(r[1] for r in mdw), max(r[2] for r in mdw)
d_seed, d_build = med([r[0] for r in dbt]), med([r[2] for r in dbt])
d_wall = med([r[0] + r[2] for r in dbt])
d_rss = max(max(r[1], r[3]) for r in dbt)
print(f"\n{rows:,} order_lines, median of {runs} runs per side (peak RSS: max over the runs)")
print(f"{'':34}{'wall s':>9}{'peak RSS MiB':>14}")
print(f"{'mdw: terraform apply (embedded)':34}{m_wall:9.2f}{mib(m_prov + m_tf):14.0f}"
      f"   provider {mib(m_prov):.0f} + terraform {mib(m_tf):.0f}")
print(f"{'dbt-duckdb: seed + build':34}{d_wall:9.2f}{mib(d_rss):14.0f}"
      f"   seed {d_seed:.2f} s / {mib(max(r[1] for r in dbt)):.0f} MiB, build {d_build:.2f} s / {mib(max(r[3] for r in dbt)):.0f} MiB")
print(f"{'ratio mdw / dbt-duckdb':34}{m_wall / d_wall:9.2f}{(m_prov + m_tf) / d_rss:14.2f}")
print("(mdw writes Iceberg tables (Parquet + metadata); dbt-duckdb writes tables in one DuckDB file)")
PY
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
