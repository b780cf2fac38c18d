#!/usr/bin/env bash
# Benchmarks `mdwc compile` against dbt-core `parse` and `compile` on generated layered projects.
#
#   bench/compiler.sh [SIZES...]          default sizes: 1000 5000
#
# Env: RUNS (mdwc runs per size, median reported; default 7), DBT_RUNS (dbt runs per size;
# default 1, 0 skips dbt), MDW_DBT (dbt executable; default `dbt` on PATH or
# ~/.cache/mdw-venv/bin/dbt), CARGO_TARGET_DIR (default ~/.cache/mdw-target).
# mdwc is measured twice per run: "fresh" starts with no target/ and no out/ (every file is
# created), "rerun" compiles again over the previous output (files compared, none rewritten —
# the everyday case in CI). Peak RSS and wall time come from /usr/bin/time -v. dbt compile talks to a throwaway moto
# server on a free loopback port (dbt-athena lists relations while compiling).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
sizes=("${@:-1000}")
[ $# -eq 0 ] && sizes=(1000 5000)
runs="${RUNS:-7}"
dbt_runs="${DBT_RUNS:-1}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mdw-target}"
work="$(mktemp -d "${TMPDIR:-/tmp}/mdwc-bench.XXXXXX")"
moto_pid=""
cleanup() {
    [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

(cd "$repo" && cargo build --release -p mdwc --quiet)
mdwc="$CARGO_TARGET_DIR/release/mdwc"

dbt="${MDW_DBT:-$(command -v dbt || echo "$HOME/.cache/mdw-venv/bin/dbt")}"
if [ "$dbt_runs" -gt 0 ] && [ ! -x "$dbt" ]; then
    echo "dbt not found (set MDW_DBT or DBT_RUNS=0); skipping dbt" >&2
    dbt_runs=0
fi

# Runs a command under /usr/bin/time -v; prints "<seconds> <peak RSS MiB>".
measure() {
    local log="$work/time.log"
    /usr/bin/time -v "$@" >"$work/cmd.out" 2>"$log" || { cat "$work/cmd.out" "$log" >&2; return 1; }
    awk -F': ' '
        /Elapsed \(wall clock\) time/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; wall = s }
        /Maximum resident set size/ { rss = $2 / 1024 }
        END { printf "%.3f %.1f\n", wall, rss }' "$log"
}

median() { sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f", m }'; }

if [ "$dbt_runs" -gt 0 ]; then
    moto="$(command -v moto_server || echo "$(dirname "$dbt")/moto_server")"
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "$moto" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
    moto_pid=$!
    for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
    export AWS_DEFAULT_REGION=us-west-2 DBT_SEND_ANONYMOUS_USAGE_STATS=false
fi

printf '%-7s %-14s %10s %12s %s\n' models tool median_s peak_rss_MiB runs
for size in "${sizes[@]}"; do
    project="$work/p$size"
    python3 "$here/compiler_gen.py" "$project" "$size"
    fresh=(); fresh_rss=(); rerun=(); rerun_rss=()
    for _ in $(seq "$runs"); do
        rm -rf "$project/target" "$project/out"
        read -r t r < <(measure "$mdwc" compile --project-dir "$project" --profiles-dir "$project" --out "$project/out")
        fresh+=("$t"); fresh_rss+=("$r")
        read -r t r < <(measure "$mdwc" compile --project-dir "$project" --profiles-dir "$project" --out "$project/out")
        rerun+=("$t"); rerun_rss+=("$r")
    done
    printf '%-7s %-14s %10s %12s %s\n' "$size" "mdwc (fresh)" "$(printf '%s\n' "${fresh[@]}" | median)" \
        "$(printf '%s\n' "${fresh_rss[@]}" | median)" "${fresh[*]}"
    printf '%-7s %-14s %10s %12s %s\n' "$size" "mdwc (rerun)" "$(printf '%s\n' "${rerun[@]}" | median)" \
        "$(printf '%s\n' "${rerun_rss[@]}" | median)" "${rerun[*]}"
    for step in parse compile; do
        [ "$dbt_runs" -gt 0 ] || break
        times=(); rss=()
        for _ in $(seq "$dbt_runs"); do
            rm -rf "$project/target" "$project/logs"
            read -r t r < <(measure "$dbt" "$step" --project-dir "$project" --profiles-dir "$project" --no-partial-parse)
            times+=("$t"); rss+=("$r")
        done
        printf '%-7s %-14s %10s %12s %s\n' "$size" "dbt $step" "$(printf '%s\n' "${times[@]}" | median)" \
            "$(printf '%s\n' "${rss[@]}" | median)" "${times[*]}"
    done
done
