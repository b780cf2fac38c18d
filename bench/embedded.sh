# Sourced by the benches of one embedded-engine root (snapshot.sh, microbatch.sh), after
# mirror.sh and with `repo`, `profile` and `target_dir` set. `embedded_workdir NAME` makes the
# work directory `$work` (removed at exit unless KEEP_WORK=1) with the provider in its mirror;
# `write_root` writes `$work/main.tf`: the provider on the embedded engine with its warehouse in
# `$work/warehouse`, then the resources it reads on stdin; `apply_seconds` applies the root in
# `$work` and prints its wall time; `iceberg_rows TABLE` prints a table's row count from its
# current Iceberg snapshot in `$work/warehouse`.
embedded_workdir() {
    local name=$1 bin version os_arch plugin_dir
    bin=$target_dir/$profile/terraform-provider-mdw
    version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)
    os_arch=$(uname -s | tr 'A-Z' 'a-z')_$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')
    command -v terraform >/dev/null || { echo "terraform is required" >&2; exit 1; }
    [ -x "$bin" ] || { echo "no provider at $bin (build it first; PROFILE=debug for the debug one)" >&2; exit 1; }
    work=$(mktemp -d "${TMPDIR:-/tmp}/mdw-$name-bench.XXXXXX")
    trap 'if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi' EXIT
    plugin_dir=$work/mirror/registry.terraform.io/mdw/mdw/$version/$os_arch
    mkdir -p "$plugin_dir"
    cp "$bin" "$plugin_dir/terraform-provider-mdw_v$version"
    use_mirror "$work"
}

write_root() {
    {
        cat <<HCL
terraform {
  required_providers {
    mdw = { source = "mdw/mdw" }
  }
}

provider "mdw" {
  engine   = "embedded"
  embedded = { warehouse = "$work/warehouse" }
}

HCL
        cat
    } > "$work/main.tf"
}

apply_seconds() {
    local start end
    start=$(date +%s.%N)
    (cd "$work" && terraform apply -auto-approve -input=false -no-color >"$work/last.log" 2>&1) || {
        tail -40 "$work/last.log" >&2
        exit 1
    }
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }'
}

iceberg_rows() {
    python3 - "$work/warehouse" "$1" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1] + "/catalog.db")
(location,) = db.execute(
    "select metadata_location from iceberg_tables where table_name = ?", (sys.argv[2],)).fetchone()
meta = json.load(open(location.replace("file://", "")))
current = [s for s in meta["snapshots"] if s["snapshot-id"] == meta["current-snapshot-id"]][0]
print(current["summary"].get("total-records", "?"))
PY
}
