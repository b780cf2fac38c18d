//! A terraform working directory per test, driven through the real `terraform` CLI.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::aws::REGION;
use crate::child::{die_with_parent, find_on_path};
use crate::provider;

const HOW_TO_INSTALL_TERRAFORM: &str = "The acceptance tests drive the real Terraform CLI (1.11 or newer): install it and put it on PATH.";
/// Generous: a terraform run that takes this long is hung (a provider deadlock, say).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// Caller variables passed through for debugging: provider logs reach TF_LOG via terraform.
const PASSED_THROUGH: [&str; 7] = [
    "TF_LOG",
    "TF_LOG_CORE",
    "TF_LOG_PROVIDER",
    "TF_LOG_PATH",
    "RUST_LOG",
    "RUST_BACKTRACE",
    "TMPDIR",
];
/// Files that belong to one working directory's terraform state, never to its configuration.
const NOT_CONFIGURATION: [&str; 6] = [
    "terraform.tfstate",
    "terraform.tfstate.backup",
    ".terraform.lock.hcl",
    ".terraform.tfstate.lock.info",
    "tfplan",
    "tfplan-refresh",
];

/// The result of one terraform command. `Display` shows the command and all of its output.
#[derive(Debug)]
pub struct TfOutput {
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TfOutput {
    /// stdout and stderr together, for searching error messages.
    pub fn combined(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl fmt::Display for TfOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`terraform {}` exited with code {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args.join(" "),
            self.code,
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }
}

/// A temporary terraform working directory with its own CLI config, provider mirror and HOME.
pub struct Workspace {
    root: TempDir,
    dir: PathBuf,
    cli_config: PathBuf,
    /// The provider binary in the mirror; `None` for built-in providers only.
    provider_binary: Option<PathBuf>,
    /// The engines' kill point armed for the next commands (`MDW_FAULT_POINT`), if any.
    fault_point: std::sync::Mutex<Option<String>>,
}

impl Workspace {
    /// A workspace whose `terraform init` installs our provider from a filesystem mirror.
    /// Panics when the provider has not been built.
    pub fn new() -> Workspace {
        Workspace::with_provider(Some(provider::provider_binary()))
    }

    /// A workspace that can only use Terraform's built-in providers (`terraform_data`): for
    /// testing the harness itself before the provider exists.
    pub fn without_provider() -> Workspace {
        Workspace::with_provider(None)
    }

    fn with_provider(provider_binary: Option<PathBuf>) -> Workspace {
        let root = tempfile::Builder::new()
            .prefix("mdw-acceptance-")
            .tempdir()
            .expect("creating a temporary workspace");
        let dir = root.path().join("work");
        let home = root.path().join("home");
        for path in [&dir, &home] {
            std::fs::create_dir_all(path)
                .unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        }
        let cli_config = root.path().join("terraform.rc");
        provider::install(
            &root.path().join("mirror"),
            &cli_config,
            provider_binary.as_deref(),
        );
        Workspace {
            root,
            dir,
            cli_config,
            provider_binary,
            fault_point: std::sync::Mutex::new(None),
        }
    }

    /// A new, uninitialised workspace with this one's configuration files but no state: the
    /// target of `terraform import`.
    pub fn fresh_copy(&self) -> Workspace {
        let copy = Workspace::with_provider(self.provider_binary.clone());
        for entry in std::fs::read_dir(&self.dir).expect("listing the workspace") {
            let entry = entry.expect("reading a workspace entry");
            let name = entry.file_name();
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if is_file && !NOT_CONFIGURATION.iter().any(|n| name == *n) {
                std::fs::copy(entry.path(), copy.dir.join(&name))
                    .unwrap_or_else(|e| panic!("copying {}: {e}", entry.path().display()));
            }
        }
        copy
    }

    /// Arms a kill point of the engines (`MDW_FAULT_POINT`) for the commands that follow, or
    /// disarms it with `None`: the provider aborts there, as a killed process would.
    pub fn arm_fault(&self, point: Option<&str>) {
        *self.fault_point.lock().unwrap_or_else(|e| e.into_inner()) = point.map(str::to_string);
    }

    /// The working directory terraform runs in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes (or overwrites) a file in the working directory.
    pub fn write_file(&self, name: &str, contents: &str) {
        let path = self.dir.join(name);
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    pub fn remove_file(&self, name: &str) {
        let path = self.dir.join(name);
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("removing {}: {e}", path.display()));
    }

    /// Replaces the whole configuration with `main.tf` = `hcl`.
    pub fn write_config(&self, hcl: &str) {
        self.write_file("main.tf", hcl);
    }

    /// `terraform ARGS` prepared with this workspace's directory and environment, for a test
    /// that must drive it itself (answer a prompt, run two at once). Output is piped.
    pub fn command(&self, args: &[&str]) -> Command {
        let terraform = find_on_path("terraform", HOW_TO_INSTALL_TERRAFORM);
        let mut command = Command::new(terraform);
        command
            .args(args)
            .current_dir(&self.dir)
            .env_clear()
            .envs(self.environment())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group, so a hung run can be killed together with its providers.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        die_with_parent(&mut command);
        command
    }

    /// Runs `terraform ARGS` and returns whatever happened; panics when it does not finish
    /// within the run limit (`MDW_TF_TIMEOUT_SECS`, 300 s).
    pub fn run(&self, args: &[&str]) -> TfOutput {
        let limit = timeout();
        self.run_within(args, limit).unwrap_or_else(|hung| {
            panic!(
                "`terraform {}` did not finish within {limit:?} (set MDW_TF_TIMEOUT_SECS to \
                 change); killed it\n--- stdout ---\n{}\n--- stderr ---\n{}",
                hung.args.join(" "),
                hung.stdout,
                hung.stderr
            )
        })
    }

    /// Runs `terraform ARGS`, killing it (with its providers) after `limit`: `Err` holds what
    /// it printed until then, for a test that counts a hang as one outcome among others.
    pub fn run_within(&self, args: &[&str], limit: Duration) -> Result<TfOutput, TfOutput> {
        let command = self.command(args);
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let started = Instant::now();
        let (status, stdout, stderr) = match run_with_deadline(command, limit, &args) {
            Ok(finished) => finished,
            Err((stdout, stderr)) => {
                return Err(TfOutput {
                    args,
                    code: -libc::SIGKILL,
                    stdout,
                    stderr,
                });
            }
        };
        let output = TfOutput {
            args,
            // Killed by a signal: no exit code; report the signal as a negative code.
            code: status.code().unwrap_or_else(|| {
                -std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
            }),
            stdout,
            stderr,
        };
        // Shown by libtest for failing tests: where the time went and which step broke.
        eprintln!(
            "[mdw-acceptance] terraform {} -> exit {} in {:.1?}",
            output.args.join(" "),
            output.code,
            started.elapsed()
        );
        Ok(output)
    }

    /// Runs `terraform ARGS` and panics with the full output unless it exits 0.
    pub fn run_ok(&self, args: &[&str]) -> TfOutput {
        let output = self.run(args);
        assert!(output.code == 0, "{output}");
        output
    }

    pub fn init(&self) -> TfOutput {
        self.run_ok(&["init", "-input=false", "-no-color"])
    }

    /// `terraform plan -detailed-exitcode EXTRA`: code 0 = no changes, 1 = error, 2 = changes.
    pub fn plan_exit_code(&self, extra: &[&str]) -> TfOutput {
        let mut args = vec!["plan", "-detailed-exitcode", "-input=false", "-no-color"];
        args.extend_from_slice(extra);
        let output = self.run(&args);
        assert!(
            (0..=2).contains(&output.code),
            "unexpected exit code from plan: {output}"
        );
        output
    }

    /// Panics with the plan unless `terraform plan -detailed-exitcode EXTRA` shows no changes.
    pub fn assert_plan_empty(&self, extra: &[&str]) {
        let output = self.plan_exit_code(extra);
        assert!(output.code == 0, "expected an empty plan: {output}");
    }

    /// Runs `terraform apply -auto-approve` and returns whatever happened (for negative tests).
    pub fn try_apply(&self) -> TfOutput {
        self.run(&["apply", "-auto-approve", "-input=false", "-no-color"])
    }

    pub fn apply(&self) -> TfOutput {
        let output = self.try_apply();
        assert!(output.code == 0, "{output}");
        output
    }

    pub fn destroy(&self) -> TfOutput {
        self.run_ok(&["destroy", "-auto-approve", "-input=false", "-no-color"])
    }

    pub fn import(&self, address: &str, id: &str) -> TfOutput {
        self.run_ok(&["import", "-input=false", "-no-color", address, id])
    }

    /// `terraform show -json` of the current state.
    pub fn show_json(&self) -> Value {
        let output = self.run_ok(&["show", "-json", "-no-color"]);
        parse_json(&output)
    }

    /// The `resource_changes` of a saved plan (`plan -out` + `show -json`): one entry per
    /// resource with `change.actions` such as `["create"]`, `["update"]` or `["no-op"]`.
    pub fn plan_json(&self) -> Vec<Value> {
        self.run_ok(&["plan", "-input=false", "-no-color", "-out=tfplan"]);
        let plan = parse_json(&self.run_ok(&["show", "-json", "-no-color", "tfplan"]));
        match plan.get("resource_changes") {
            Some(Value::Array(changes)) => changes.clone(),
            _ => Vec::new(),
        }
    }

    /// Panics unless a refresh-only plan finds no resource changed outside Terraform. Judged by
    /// the plan's `resource_drift`, not the exit code: Terraform 1.11's `-detailed-exitcode`
    /// reports 2 for refresh-only plans of resources with number attributes even when it prints
    /// "No changes" (hashicorp/terraform#36403).
    pub fn assert_no_drift(&self) {
        self.run_ok(&[
            "plan",
            "-refresh-only",
            "-input=false",
            "-no-color",
            "-out=tfplan-refresh",
        ]);
        let plan = parse_json(&self.run_ok(&["show", "-json", "-no-color", "tfplan-refresh"]));
        let drift: Vec<&Value> = match plan.get("resource_drift") {
            Some(Value::Array(items)) => items.iter().collect(),
            _ => Vec::new(),
        };
        assert!(
            drift.is_empty(),
            "a refresh-only plan found changes made outside Terraform right after apply:\n{}",
            serde_json::to_string_pretty(&drift).unwrap_or_default()
        );
    }

    /// The planned actions for `address`, e.g. `["delete", "create"]` for a replacement; empty
    /// when the plan does not mention it.
    pub fn planned_actions(&self, address: &str) -> Vec<String> {
        self.plan_json()
            .iter()
            .find(|change| change["address"] == address)
            .and_then(|change| change["change"]["actions"].as_array())
            .map(|actions| {
                actions
                    .iter()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The diagnostics of `terraform plan -json` (each with `severity`, `summary`, `detail`,
    /// and for configuration errors `range` and `snippet`), and the plan's exit code.
    pub fn plan_diagnostics(&self) -> (i32, Vec<Value>) {
        let output = self.run(&["plan", "-json", "-input=false", "-no-color"]);
        let diagnostics = output
            .stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|message| message["type"] == "diagnostic")
            .map(|message| message["diagnostic"].clone())
            .collect();
        (output.code, diagnostics)
    }

    /// The attribute values of `address` in the state; panics when it is not there.
    pub fn state_resource(&self, address: &str) -> Value {
        let state = self.show_json();
        find_resource(&state["values"]["root_module"], address).unwrap_or_else(|| {
            panic!(
                "{address} is not in the state of {}:\n{state:#}",
                self.dir.display()
            )
        })
    }

    fn environment(&self) -> Vec<(String, String)> {
        let path = |p: &Path| p.to_string_lossy().into_owned();
        let mut env: Vec<(String, String)> = vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            // A private HOME: no ~/.terraformrc, ~/.terraform.d or ~/.aws of the developer.
            ("HOME".into(), path(&self.root.path().join("home"))),
            ("TF_CLI_CONFIG_FILE".into(), path(&self.cli_config)),
            ("TF_IN_AUTOMATION".into(), "1".into()),
            ("TF_INPUT".into(), "0".into()),
            ("CHECKPOINT_DISABLE".into(), "1".into()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_REGION".into(), REGION.into()),
            ("AWS_DEFAULT_REGION".into(), REGION.into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ];
        for name in PASSED_THROUGH {
            if let Ok(value) = std::env::var(name) {
                env.push((name.into(), value));
            }
        }
        if let Some(point) = self
            .fault_point
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            env.push(("MDW_FAULT_POINT".into(), point.clone()));
        }
        env
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Workspace::new()
    }
}

fn timeout() -> Duration {
    std::env::var("MDW_TF_TIMEOUT_SECS")
        .ok()
        .and_then(|secs| secs.parse().ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
}

/// Runs the command, collecting its output; kills its process group after `timeout` and then
/// returns what it printed as `Err`.
fn run_with_deadline(
    mut command: Command,
    timeout: Duration,
    args: &[String],
) -> Result<(ExitStatus, String, String), (String, String)> {
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("starting terraform {args:?}: {e}"));
    // Read both pipes on their own threads: a full pipe would block terraform forever.
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait());
    });
    let status = match finished.recv_timeout(timeout) {
        Ok(status) => status,
        Err(_) => {
            // SAFETY: kill has no memory-safety preconditions; the negative pid is our child's
            // process group, which exists as long as the child is unreaped.
            unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
            let _ = finished.recv();
            return Err((join(stdout), join(stderr)));
        }
    };
    let status = status.unwrap_or_else(|e| panic!("waiting for terraform {args:?}: {e}"));
    Ok((status, join(stdout), join(stderr)))
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn join(reader: std::thread::JoinHandle<String>) -> String {
    reader.join().unwrap_or_default()
}

fn parse_json(output: &TfOutput) -> Value {
    serde_json::from_str(&output.stdout)
        .unwrap_or_else(|e| panic!("terraform printed invalid JSON ({e}): {output}"))
}

/// Looks `address` up in a `show -json` module, including child modules.
fn find_resource(module: &Value, address: &str) -> Option<Value> {
    let in_this_module = module["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|resource| resource["address"] == address)
        .map(|resource| resource["values"].clone());
    in_this_module.or_else(|| {
        module["child_modules"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|child| find_resource(child, address))
    })
}
