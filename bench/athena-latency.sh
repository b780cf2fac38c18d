#!/usr/bin/env bash
# What the Athena engine adds per model beyond the queries themselves: N table models applied
# with -parallelism=1 against moto (whose queries finish at once, so all the time measured is
# Terraform + provider + polling + Glue), behind the test proxy that gives Athena's DDL its Glue
# effects. Reports statements per build and milliseconds per model for first builds and
# rebuilds. dbt-athena, for comparison, sends 4–6 statements per table model and polls every 1 s.
#
#   bench/athena-latency.sh [N]     N models (default 20); PROFILE=release|debug (default release)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
n=${1:-20}
profile=${PROFILE:-release}
bin=${CARGO_TARGET_DIR:-$HOME/.cache/mdw-target}/$profile/terraform-provider-mdw
[ -x "$bin" ] || { echo "no provider at $bin: cargo build --release -p terraform-provider-mdw" >&2; exit 1; }
venv_bin=$("$repo/scripts/test-tools.sh")
python=$venv_bin/python3
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)
os_arch=$(uname -s | tr 'A-Z' 'a-z')_$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')

work=$(mktemp -d "${TMPDIR:-/tmp}/mdw-athena-bench.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
moto_port=$(free_port)
"$venv_bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$moto_port/moto-api/" >/dev/null && break; sleep 0.1; done
proxy_port=$(free_port)
"$python" "$repo/tests/fixtures/athena_proxy.py" --moto "http://127.0.0.1:$moto_port" --port "$proxy_port" \
    >"$work/proxy.out" 2>"$work/proxy.log" & pids+=($!)
for _ in $(seq 100); do grep -q ready "$work/proxy.out" 2>/dev/null && break; sleep 0.1; done
endpoint=http://127.0.0.1:$proxy_port
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-west-2 AWS_DEFAULT_REGION=us-west-2

aws_py() { "$python" - "$endpoint" "$@"; }
aws_py <<'PY'
import sys, boto3
e = sys.argv[1]
boto3.client("athena", endpoint_url=e).create_work_group(Name="mdw", Configuration={
    "ResultConfiguration": {"OutputLocation": "s3://results/athena/"}})
boto3.client("glue", endpoint_url=e).create_database(DatabaseInput={"Name": "mart"})
PY
count_statements() {
    aws_py <<'PY'
import sys, boto3
c = boto3.client("athena", endpoint_url=sys.argv[1])
ids, token = [], None
while True:
    page = c.list_query_executions(WorkGroup="mdw", **({"NextToken": token} if token else {}))
    ids += page["QueryExecutionIds"]
    token = page.get("NextToken")
    if not token:
        break
print(len(ids))
PY
}

mirror=$work/mirror
plugin_dir=$mirror/registry.terraform.io/mdw/mdw/$version/$os_arch
mkdir -p "$plugin_dir" "$work/root"
cp "$bin" "$plugin_dir/terraform-provider-mdw_v$version"
cat >"$work/terraform.rc" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/mdw/*"]
  }
  direct { exclude = ["registry.terraform.io/mdw/*"] }
}
CFG
export TF_CLI_CONFIG_FILE=$work/terraform.rc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

write_config() { # $1: the value every model selects
    {
        cat <<HCL
terraform {
  required_providers {
    mdw = { source = "mdw/mdw" }
  }
}
provider "mdw" {
  engine    = "athena"
  workgroup = "mdw"
  athena    = { data_location = "s3://lake/warehouse" }
  endpoints = { athena = "$endpoint", glue = "$endpoint", s3 = "$endpoint", sts = "$endpoint" }
}
HCL
        for i in $(seq "$n"); do
            printf 'resource "mdw_iceberg_model" "m%d" {\n  database = "mart"\n  name = "m%d"\n  sql = "select %s as id"\n}\n' "$i" "$i" "$1"
        done
    } >"$work/root/main.tf"
}

timed_apply() { # prints milliseconds
    local start end
    start=$(date +%s%N)
    terraform -chdir="$work/root" apply -auto-approve -input=false -no-color -parallelism=1 >"$work/apply.log" 2>&1 \
        || { cat "$work/apply.log" >&2; exit 1; }
    end=$(date +%s%N)
    echo $(( (end - start) / 1000000 ))
}

write_config 1
terraform -chdir="$work/root" init -input=false -no-color >/dev/null
before=$(count_statements)
first_ms=$(timed_apply)
after_first=$(count_statements)
write_config 2
rebuild_ms=$(timed_apply)
after_rebuild=$(count_statements)
# A no-change apply: Terraform's own per-resource cost (refresh reads Glue, no statements).
noop_ms=$(timed_apply)

awk -v p="$profile" -v n="$n" -v f="$first_ms" -v r="$rebuild_ms" -v z="$noop_ms" \
    -v s1=$((after_first - before)) -v s2=$((after_rebuild - after_first)) 'BEGIN {
    printf "models: %d, terraform apply -parallelism=1, provider %s\n", n, p
    printf "first build : %5.1f statements/model  %6.0f ms/model\n", s1 / n, f / n
    printf "rebuild     : %5.1f statements/model  %6.0f ms/model\n", s2 / n, r / n
    printf "no change   :   0.0 statements/model  %6.0f ms/model (Terraform + Glue refresh floor)\n", z / n
    printf "added per model beyond the queries (minus the no-change floor): first %.0f ms, rebuild %.0f ms\n", (f - z) / n, (r - z) / n
}'
