#!/usr/bin/env bash
# Models at scale: a generated warehouse-shaped project (bench/scale_gen.py: 20 raw tables of 500
# rows, 5 layers, 1-4 refs per model, 40 % using a var, 1.8 data tests per model) compiled by mdwc
# and applied on the embedded engine, side by side with Terraform's own floor: the same DAG as
# `terraform_data` resources carrying the same SQL. The data work is negligible, so the time is
# overhead. For each size: first apply, no-op plan, one first-layer model changed (plan, apply).
#
#   bench/scale.sh [SIZES]     SIZES = model counts, default "1000 5000"
#
# Env: PROFILE=release|debug (default release), CARGO_TARGET_DIR (default ~/.cache/mdw-target),
# TESTS=0 compiles without the data tests, GROUP_BY=auto|none|folder is mdwc's `--group-by`
# (default auto, mdwc's default: one mdw_model_group per layer from 50 models on; none: one
# mdw_iceberg_model per model), FLOOR=0 skips the terraform_data floor (its apply grows ≈ N²: at
# 5,000 models it takes longer than mdw), PARALLELISM (terraform -parallelism, default 10),
# KEEP_WORK=1 keeps the work directory. Never runs cargo: build the binaries first.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/mirror.sh
. "$here/mirror.sh"
repo=$(cd "$here/.." && pwd)
sizes=${1:-${SIZES:-1000 5000}}
profile=${PROFILE:-release}
parallelism=${PARALLELISM:-10}
target_dir=${CARGO_TARGET_DIR:-$HOME/.cache/mdw-target}
bin=$target_dir/$profile/terraform-provider-mdw
mdwc=$target_dir/$profile/mdwc
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)
os_arch=$(uname -s | tr 'A-Z' 'a-z')_$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')

for need in terraform python3 /usr/bin/time; do
    command -v "$need" >/dev/null || { echo "$need is required" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "no provider at $bin (build it first; PROFILE=debug for the debug one)" >&2; exit 1; }
[ -x "$mdwc" ] || { echo "no mdwc at $mdwc" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mdw-scale-bench.XXXXXX")
cleanup() { if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); provider=$profile tests=${TESTS:-1} group_by=${GROUP_BY:-auto} parallelism=$parallelism"

# The provider from a filesystem mirror (as `make install` and the demo do), snapshotted so a
# cargo build running meanwhile cannot swap it.
mkdir -p "$work/bin"
cp "$bin" "$work/bin/terraform-provider-mdw"
plugin_dir=$work/mirror/registry.terraform.io/mdw/mdw/$version/$os_arch
mkdir -p "$plugin_dir"
cp "$work/bin/terraform-provider-mdw" "$plugin_dir/terraform-provider-mdw_v$version"
use_mirror "$work"
# One plugin cache: the floor's terraform_data is built in, so no download at all.

# Runs `terraform "$@"` in $dir; prints "<wall s> <largest process peak MiB>". Exit code 2 is
# a plan with changes (-detailed-exitcode), not a failure.
timed() {
    local dir=$1; shift
    local start end rss rc=0
    start=$(date +%s.%N)
    (cd "$dir" && /usr/bin/time -o "$work/time.txt" -f "%M" \
        terraform "$@" -input=false -no-color -parallelism="$parallelism" >"$work/last.log" 2>&1) || rc=$?
    if [ "$rc" != 0 ] && [ "$rc" != 2 ]; then
        tail -40 "$work/last.log" >&2
        echo "terraform $* failed in $dir" >&2
        exit 1
    fi
    end=$(date +%s.%N)
    rss=$(tail -1 "$work/time.txt")
    awk -v s="$start" -v e="$end" -v k="$rss" 'BEGIN { printf "%.1f %.0f", e - s, k / 1024 }'
}
plan() { timed "$1" plan -detailed-exitcode -lock=false; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 ? "%.2fx" : "-"), a / b }'; }

printf '\n| models | step | mdw s | floor s | ratio | mdw peak MiB |\n|---|---|---|---|---|---|\n' > "$work/table.md"
for n in $sizes; do
    dir=$work/n$n
    python3 "$here/scale_gen.py" "$dir" "$n"
    [ "${TESTS:-1}" = 1 ] || rm -f "$dir"/project/models/*/_*.yml
    mdw=$dir/mdw floor=$dir/floor
    mkdir -p "$mdw"
    start=$(date +%s.%N)
    "$mdwc" compile --project-dir "$dir/project" --profiles-dir "$dir/project" --out "$mdw/models" --group-by "${GROUP_BY:-auto}" >/dev/null
    echo "n=$n: mdwc compile $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }') s (not in the table)"
    cat > "$mdw/main.tf" <<HCL
terraform {
  required_providers {
    mdw = { source = "mdw/mdw" }
  }
}

provider "mdw" {
  engine   = "embedded"
  embedded = { warehouse = "$mdw/warehouse" }
}

module "models" {
  source = "./models"
}
HCL
    (cd "$mdw" && terraform init -input=false -no-color >/dev/null)
    (cd "$floor" && terraform init -input=false -no-color >/dev/null)

    # Without the floor (FLOOR=0) its columns read "-".
    floor_timed() { if [ "${FLOOR:-1}" = 1 ]; then timed "$@"; else echo "- -"; fi; }
    floor_plan() { if [ "${FLOOR:-1}" = 1 ]; then plan "$@"; else echo "- -"; fi; }
    read -r m_apply m_rss <<<"$(timed "$mdw" apply -auto-approve)"
    read -r f_apply _ <<<"$(floor_timed "$floor" apply -auto-approve)"
    read -r m_plan _ <<<"$(plan "$mdw")"
    read -r f_plan _ <<<"$(floor_plan "$floor")"

    # One first-layer model changed (a real change: a comment-only edit changes nothing in mdw).
    sed -i 's/ as v$/ + 1 as v/' "$dir/project/models/src/src_0000.sql"
    "$mdwc" compile --project-dir "$dir/project" --profiles-dir "$dir/project" --out "$mdw/models" --group-by "${GROUP_BY:-auto}" >/dev/null
    python3 - "$floor/main.tf.json" <<'PY'
import json, sys
path = sys.argv[1]
doc = json.load(open(path))
doc["resource"]["terraform_data"]["src_0000"]["input"] += " + 1"
json.dump(doc, open(path, "w"), indent=1)
PY
    read -r m_cplan _ <<<"$(plan "$mdw")"
    read -r f_cplan _ <<<"$(floor_plan "$floor")"
    read -r m_capply _ <<<"$(timed "$mdw" apply -auto-approve)"
    changed=$(grep -o '[0-9]* changed' "$work/last.log" | head -1 || true)
    read -r f_capply _ <<<"$(floor_timed "$floor" apply -auto-approve)"

    {
        echo "| $n | first apply | $m_apply | $f_apply | $(ratio "$m_apply" "$f_apply") | $m_rss |"
        echo "| $n | no-op plan | $m_plan | $f_plan | $(ratio "$m_plan" "$f_plan") | |"
        echo "| $n | one model changed: plan | $m_cplan | $f_cplan | $(ratio "$m_cplan" "$f_cplan") | |"
        echo "| $n | one model changed: apply ($changed) | $m_capply | $f_capply | $(ratio "$m_capply" "$f_capply") | |"
    } >> "$work/table.md"
    cat "$work/table.md"
done
