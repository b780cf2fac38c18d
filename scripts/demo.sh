#!/usr/bin/env bash
# `make demo`: compile the retail dbt project with mdwc and build it with Terraform on the
# embedded engine. Needs only terraform and the binaries `make demo` built. Running it again
# reports no changes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/mdw-target}/${MDW_PROFILE:-debug}
DEMO=$ROOT/examples/demo
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)
OS_ARCH=$(uname -s | tr 'A-Z' 'a-z')_$(uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')

command -v terraform >/dev/null || { echo "terraform is not on PATH; install Terraform >= 1.11" >&2; exit 1; }

# The provider as Terraform installs it: a filesystem mirror beside the build.
MIRROR=$(dirname "$TARGET")/mdw-demo-mirror
PLUGIN_DIR=$MIRROR/registry.terraform.io/mdw/mdw/$VERSION/$OS_ARCH
mkdir -p "$PLUGIN_DIR"
ln -f "$TARGET/terraform-provider-mdw" "$PLUGIN_DIR/terraform-provider-mdw_v$VERSION" 2>/dev/null \
  || cp "$TARGET/terraform-provider-mdw" "$PLUGIN_DIR/terraform-provider-mdw_v$VERSION"
cat > "$MIRROR/terraform.rc" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/mdw/*"]
  }
  direct { exclude = ["registry.terraform.io/mdw/*"] }
}
CFG
export TF_CLI_CONFIG_FILE=$MIRROR/terraform.rc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

echo "==> mdwc compile examples/retail -> examples/demo/models"
"$TARGET/mdwc" compile --project-dir "$ROOT/examples/retail" --out "$DEMO/models"

cd "$DEMO"
# A rebuilt provider keeps its version number: its checksum in an old lock file is stale.
rm -f .terraform.lock.hcl
echo "==> terraform init"
terraform init -input=false -no-color >/dev/null
echo "==> terraform apply"
LOG=$DEMO/.mdw/apply.log
mkdir -p "$DEMO/.mdw"
if ! terraform apply -input=false -auto-approve -no-color > "$LOG" 2>&1; then
  cat "$LOG" >&2
  exit 1
fi
grep -E "^(Apply complete|No changes)|(Creation|Modifications|Destruction) complete after" "$LOG" | sed 's/^/    /'
# Tests run when what they read was rebuilt: warnings (warn severity) as Terraform shows them.
grep -A3 "^Warning: Data test" "$LOG" | sed 's/^/    /' || true
echo "==> data tests (terraform output data_tests)"
STATUSES=$(terraform output -json data_tests | tr '{,}' '\n\n\n' | grep ':')
echo "    $(grep -c '"pass"' <<<"$STATUSES") pass, $(grep -c '"warn"' <<<"$STATUSES") warn"
grep '"warn"' <<<"$STATUSES" | sed 's/^/    /' || true
echo "==> top store-days from the mart (terraform output top_store_days)"
terraform output -no-color top_store_days
