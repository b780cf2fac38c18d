# Sourced by the bench scripts: `use_mirror WORK` points Terraform at the filesystem mirror under
# WORK/mirror (where the script put the provider, as `make install` and the demo do) for the mdw
# provider only, with no checkpoint calls.
use_mirror() {
    local work=$1
    cat > "$work/cli.tfrc" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$work/mirror"
    include = ["registry.terraform.io/mdw/*"]
  }
  direct { exclude = ["registry.terraform.io/mdw/*"] }
}
CFG
    export TF_CLI_CONFIG_FILE=$work/cli.tfrc TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
}
