#!/usr/bin/env bash
# Measures the provider where Terraform users feel it (issue 2's targets):
#   1. `terraform plan -refresh=false` on empty state, 1,000 mdw_glue_database vs 1,000 built-in
#      terraform_data, alternating runs in the same session (median of RUNS);
#   2. the provider's peak RSS during that plan (a wrapper runs it under /usr/bin/time);
#   3. start-to-handshake time of the provider binary (median of 50 starts).
# Usage: bench/provider-plan.sh [RUNS] [COUNT]; PROFILE=release|debug (default release; the
# provider links DataFusion, whose cold release build takes ~35 min on 2 cores).
set -euo pipefail
RUNS=${1:-5}
COUNT=${2:-1000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/mdw-target}
PROFILE=${PROFILE:-release}
if [ "$PROFILE" = release ]; then
  cargo build --release -q -p terraform-provider-mdw --manifest-path "$ROOT/Cargo.toml"
else
  cargo build -q -p terraform-provider-mdw --manifest-path "$ROOT/Cargo.toml"
fi
BIN=$CARGO_TARGET_DIR/$PROFILE/terraform-provider-mdw
echo "provider: $BIN ($PROFILE build)"
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PLUGIN_DIR=$WORK/mirror/registry.terraform.io/mdw/mdw/$VERSION/linux_amd64
mkdir -p "$PLUGIN_DIR" "$WORK/mdw" "$WORK/builtin"
# The wrapper records the provider's peak RSS (KiB) and CPU seconds each time Terraform starts it.
cat > "$PLUGIN_DIR/terraform-provider-mdw_v$VERSION" <<WRAP
#!/bin/sh
exec /usr/bin/time -a -o "$WORK/rss.txt" -f "%M %U %S" "$BIN" "\$@"
WRAP
chmod +x "$PLUGIN_DIR/terraform-provider-mdw_v$VERSION"
cat > "$WORK/cli.tfrc" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$WORK/mirror"
    include = ["registry.terraform.io/mdw/*"]
  }
  direct { exclude = ["registry.terraform.io/mdw/*"] }
}
CFG
export TF_CLI_CONFIG_FILE=$WORK/cli.tfrc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true

python3 - "$WORK" "$COUNT" <<'PY'
import sys, json
work, count = sys.argv[1], int(sys.argv[2])
# Endpoints point at a closed loopback port: a plan with -refresh=false on empty state must not call AWS.
mdw = {
  "terraform": {"required_providers": {"mdw": {"source": "mdw/mdw"}}},
  "provider": {"mdw": {"endpoints": {"glue": "http://127.0.0.1:9"}, "default_tags": {"project": "bench"}}},
  "resource": {"mdw_glue_database": {f"db{i}": {"name": f"bench_db_{i}", "description": f"database {i}", "tags": {"n": str(i)}} for i in range(count)}},
}
builtin = {"resource": {"terraform_data": {f"d{i}": {"input": {"name": f"bench_db_{i}", "description": f"database {i}", "tags": {"n": str(i)}}} for i in range(count)}}}
json.dump(mdw, open(f"{work}/mdw/main.tf.json", "w"))
json.dump(builtin, open(f"{work}/builtin/main.tf.json", "w"))
PY
(cd "$WORK/mdw" && terraform init -input=false >/dev/null)
(cd "$WORK/builtin" && terraform init -input=false >/dev/null)
: > "$WORK/rss.txt"

python3 - "$WORK" "$RUNS" "$BIN" <<'PY'
import os, statistics, subprocess, sys, time
work, runs, binary = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def plan(d):
    t = time.perf_counter()
    subprocess.run(["terraform", "plan", "-refresh=false", "-input=false", "-no-color"], cwd=f"{work}/{d}", check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t
times = {"mdw": [], "builtin": []}
for _ in range(runs):
    for d in ("builtin", "mdw"):
        times[d].append(plan(d))
m, b = statistics.median(times["mdw"]), statistics.median(times["builtin"])
records = [line.split() for line in open(f"{work}/rss.txt") if len(line.split()) == 3 and line.split()[0].isdigit()]
rss = [int(r[0]) for r in records]
cpu = sum(float(r[1]) + float(r[2]) for r in records)
print(f"terraform plan -refresh=false on empty state, median of {runs} alternating runs")
print(f"  mdw_glue_database : median {m:.3f}s  all {['%.2f' % x for x in times['mdw']]}")
print(f"  terraform_data    : median {b:.3f}s  all {['%.2f' % x for x in times['builtin']]}")
print(f"  ratio             : {m / b:.3f}  (target <= 1.2)")
print(f"provider peak RSS   : max {max(rss) / 1024:.1f} MiB over {len(rss)} provider processes (target <= 30 MB)")
print(f"provider CPU        : {cpu / runs:.3f} s user+sys per plan ({len(rss) // runs} processes per plan)")

# Start-to-handshake: from exec to the handshake line on stdout, as Terraform starts it.
env = dict(os.environ, TF_PLUGIN_MAGIC_COOKIE="d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
           PLUGIN_PROTOCOL_VERSIONS="5,6")
# A real client certificate is needed for AutoMTLS; make one with the openssl CLI if present.
pem = None
try:
    key = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521", "-nodes",
                          "-keyout", "/dev/null", "-subj", "/CN=localhost", "-days", "1"], capture_output=True, check=True)
    pem = key.stdout.decode()
except Exception:
    pass
if pem:
    env["PLUGIN_CLIENT_CERT"] = pem
starts = []
for _ in range(50):
    t = time.perf_counter()
    p = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline()
    starts.append(time.perf_counter() - t)
    p.kill(); p.wait()
    assert line.startswith(b"1|6|tcp|"), line
print(f"start-to-handshake  : median {statistics.median(starts) * 1000:.2f} ms, p90 {sorted(starts)[44] * 1000:.2f} ms "
      f"({'AutoMTLS' if pem else 'no TLS'}; target <= 10 ms)")
PY
