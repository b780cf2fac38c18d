//! Installing the locally built provider for `terraform init`, and the provider block.

use std::path::{Path, PathBuf};

use crate::aws::REGION;
use crate::moto::Moto;

/// Where `terraform init` looks for the provider (`source = "mdw/mdw"`).
pub(crate) const PROVIDER_SOURCE: &str = "registry.terraform.io/mdw/mdw";
/// The workspace version, which is also the provider's.
pub(crate) const PROVIDER_VERSION: &str = env!("CARGO_PKG_VERSION");
const BINARY_NAME: &str = "terraform-provider-mdw";
/// Services the provider calls; all of them point at moto in tests.
const SERVICES: [&str; 7] = ["s3", "glue", "athena", "dynamodb", "iam", "sts", "kms"];

/// The provider binary: `$MDW_PROVIDER_BIN`, else `terraform-provider-mdw` in the target
/// directory this test binary was built into.
pub(crate) fn provider_binary() -> PathBuf {
    workspace_binary(BINARY_NAME, "terraform-provider-mdw", "MDW_PROVIDER_BIN")
}

/// The `mdwc` binary built beside the tests (or `MDW_MDWC_BIN`).
pub fn mdwc_binary() -> PathBuf {
    workspace_binary("mdwc", "mdwc", "MDW_MDWC_BIN")
}

fn workspace_binary(name: &str, package: &str, override_var: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(override_var) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{override_var}={} is not a file",
            path.display()
        );
        return path;
    }
    // The test executable is <target>/<profile>/deps/<test>-<hash>; cargo puts binaries in
    // <target>/<profile>.
    let test_exe = std::env::current_exe().expect("path of the running test executable");
    let profile_dir = test_exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in <target>/<profile>/deps");
    let binary = profile_dir.join(name);
    assert!(
        binary.is_file(),
        "{name} binary {} not found: build it first: cargo build -p {package} \
         (make test does this), or set {override_var}",
        binary.display()
    );
    binary
}

/// Terraform's platform name, e.g. `linux_amd64`.
pub(crate) fn terraform_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}

/// Lays out an unpacked filesystem mirror under `mirror` holding `binary` (when given), and
/// writes a CLI config at `cli_config` that installs `mdw/*` only from it.
pub(crate) fn install(mirror: &Path, cli_config: &Path, binary: Option<&Path>) {
    let package_dir = mirror
        .join(PROVIDER_SOURCE)
        .join(PROVIDER_VERSION)
        .join(terraform_platform());
    std::fs::create_dir_all(&package_dir)
        .unwrap_or_else(|e| panic!("creating {}: {e}", package_dir.display()));
    if let Some(binary) = binary {
        let target = package_dir.join(format!("{BINARY_NAME}_v{PROVIDER_VERSION}"));
        // A hard link is instant; the temp dir may be on another filesystem than target/.
        if std::fs::hard_link(binary, &target).is_err() {
            std::fs::copy(binary, &target).unwrap_or_else(|e| {
                panic!("copying {} to {}: {e}", binary.display(), target.display())
            });
        }
    }
    let namespace = PROVIDER_SOURCE
        .rsplit_once('/')
        .map_or(PROVIDER_SOURCE, |(ns, _)| ns);
    // The CLI config is HCL 1, which knows no template sequences: escape quotes only.
    let mirror = mirror
        .to_string_lossy()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    let config = format!(
        r#"provider_installation {{
  filesystem_mirror {{
    path    = "{mirror}"
    include = ["{namespace}/*"]
  }}
  direct {{
    exclude = ["{namespace}/*"]
  }}
}}
"#
    );
    std::fs::write(cli_config, config)
        .unwrap_or_else(|e| panic!("writing {}: {e}", cli_config.display()));
}

/// `terraform { required_providers }` and a `provider "mdw"` block on the embedded engine with
/// its warehouse in the workspace (`.mdw/warehouse`): a string literal, for `concat!`.
#[macro_export]
macro_rules! embedded_provider {
    () => {
        r#"
terraform {
  required_providers {
    mdw = { source = "mdw/mdw" }
  }
}

provider "mdw" {
  engine   = "embedded"
  embedded = { warehouse = ".mdw/warehouse" }
}
"#
    };
}

/// `mdwc compile` of `project` (its own profiles.yml) into `out`, with `extra` arguments; its
/// summary. Panics with mdwc's output when it fails.
pub fn mdwc_compile(project: &Path, out: &Path, extra: &[&str]) -> String {
    let output = std::process::Command::new(mdwc_binary())
        .args(["compile", "--project-dir"])
        .arg(project)
        .arg("--profiles-dir")
        .arg(project)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("mdwc runs");
    let summary = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "mdwc compile failed:\n{summary}");
    summary
}

/// `terraform { required_providers }` and a `provider "mdw"` block with every endpoint at moto.
pub fn moto_provider_block(moto: &Moto) -> String {
    let endpoint = hcl_string(&moto.endpoint());
    let endpoints: String = SERVICES
        .iter()
        .map(|service| format!("    {service:<8} = {endpoint}\n"))
        .collect();
    format!(
        r#"terraform {{
  required_providers {{
    mdw = {{
      source = "mdw/mdw"
    }}
  }}
}}

provider "mdw" {{
  region = "{REGION}"
  endpoints = {{
{endpoints}  }}
}}
"#
    )
}

/// `terraform { required_providers }` and a `provider "mdw"` block on the Athena engine with
/// every endpoint at `endpoint` (moto, or the fault proxy in front of it); `athena` is the
/// inside of the provider's `athena = { … }`.
pub fn athena_provider_block(endpoint: &str, workgroup: &str, athena: &str) -> String {
    let endpoint = hcl_string(endpoint);
    let endpoints: String = SERVICES
        .iter()
        .map(|service| format!("    {service:<8} = {endpoint}\n"))
        .collect();
    format!(
        r#"terraform {{
  required_providers {{
    mdw = {{ source = "mdw/mdw" }}
  }}
}}

provider "mdw" {{
  region    = "{REGION}"
  engine    = "athena"
  workgroup = "{workgroup}"
  athena    = {{ {athena} }}
  endpoints = {{
{endpoints}  }}
}}
"#
    )
}

/// A quoted HCL (native syntax) string literal whose value is exactly `value`.
pub fn hcl_string(value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace("${", "$${")
        .replace("%{", "%%{");
    format!("\"{escaped}\"")
}
