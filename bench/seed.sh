#!/usr/bin/env bash
# Loading a seed on the embedded engine: a CSV of N rows and six columns, one of each type a
# seed column is inferred as (bigint, double, boolean, date, timestamp, varchar), applied by
# terraform with the release provider. Steps: the first load, and a reload after one row was
# added (a seed is reloaded whole, built beside and swapped in). The types are inferred from
# every value (mdw-sql-types), then each typed column is cast from its text.
#
#   bench/seed.sh [ROWS]     ROWS default 1000000
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
embedded_workdir seed
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); provider=$profile rows=$rows"

python3 - "$work/lines.csv" "$rows" <<'PY'
import sys
path, rows = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("id,amount,paid,day,at,label\n")
    for i in range(1, rows + 1):
        day = 1 + i % 28
        f.write(f"{i},{i % 1000 / 8},{'true' if i % 3 else 'false'},2026-02-{day:02d},"
                f"2026-02-{day:02d} {i % 24:02d}:{i % 60:02d}:{i % 60:02d}.{i % 1000:03d},line {i}\n")
PY
write_root <<HCL
resource "mdw_seed" "lines" {
  database       = "raw"
  name           = "lines"
  path           = "\${path.module}/lines.csv"
  content_sha256 = filesha256("\${path.module}/lines.csv")
}

output "types" {
  value = join(", ", [for c in mdw_seed.lines.columns : "\${c.name} \${c.type}"])
}
HCL

printf '\n| step | apply s | rows |\n|---|---|---|\n' > "$work/table.md"
(cd "$work" && terraform init -input=false -no-color >/dev/null)
t=$(apply_seconds); echo "| first load | $t | $(iceberg_rows lines) |" >> "$work/table.md"
echo "$((rows + 1)),0.5,true,2026-02-01,2026-02-01 00:00:00,one more" >> "$work/lines.csv"
t=$(apply_seconds); echo "| reload, one row added | $t | $(iceberg_rows lines) |" >> "$work/table.md"
(cd "$work" && terraform output -raw types && echo)
cat "$work/table.md"
