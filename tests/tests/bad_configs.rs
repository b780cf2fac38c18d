//! The broken-configuration corpus: every `.tf` file under `tests/fixtures/bad_configs/` is one
//! mistake a user can make in a configuration, and the real `terraform validate` (or `plan`)
//! must refuse it with a clear error on the line of the attribute at fault — not panic, not
//! hang, not accept it. Adding a case is adding a file.
//!
//! A fixture starts with a header of `# key: value` lines:
//!
//! ```text
//! # why: a model's name with a hyphen, which Glue and Athena cannot store
//! # expect: contains '-'
//! # attribute: name
//! # stage: validate
//! # files: people.csv=id,name\n1,Ann
//! ```
//!
//! `expect` (repeatable) are substrings of the error's summary and detail; `attribute` is the
//! argument whose line the error must point at (when the mistake is leaving it out, the error
//! must point at the block that lacks it); `stage` is the command that must refuse it
//! (`validate`, or `plan` for what needs the provider configured or files read); `files`
//! (repeatable, `\n` for a line break) are written beside `main.tf`. The rest of the file is
//! HCL. Unless it has its own `provider "mdw"` block it gets one whose endpoints are a moto
//! server (`local.moto`, which a fixture's own provider block can use too).
//!
//! `MDW_BAD_CONFIGS=seed_` runs only the fixtures whose path contains `seed_`.
//!
//! Fixtures under `known_gaps/` are mistakes the provider does not yet refuse properly: they run
//! and are reported but do not fail the test — until one is refused clearly, which fails it so
//! the fixture moves out of `known_gaps/`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use mdw_acceptance::{Moto, REGION, TfOutput, Workspace};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/bad_configs");
const KNOWN_GAPS: &str = "known_gaps";
/// Runs only the fixtures whose path contains this variable's value, e.g. `seed_`.
const ONLY_VAR: &str = "MDW_BAD_CONFIGS";
/// A validate or plan of a few resources takes seconds; one that takes this long is hung.
const CASE_LIMIT: Duration = Duration::from_secs(60);
/// Workers running cases side by side, one per core up to this: terraform and the provider
/// start afresh for every case, which is most of its time (on 2 cores, two workers took the
/// corpus from 0.9 s to 0.43 s a case).
const MAX_WORKERS: usize = 8;
/// Issue 10 asks for a corpus of at least this many configurations; fewer means fixtures were
/// lost (a moved directory, a renamed extension).
const MINIMUM_CORPUS: usize = 100;
/// What Terraform or the Rust runtime print when the provider dies instead of answering.
const CRASH_MARKERS: [&str; 4] = [
    "panicked at",
    "plugin crashed",
    "Plugin did not respond",
    "The plugin encountered an error",
];
const SERVICES: [&str; 7] = ["s3", "glue", "athena", "dynamodb", "iam", "sts", "kms"];

#[test]
fn every_bad_configuration_is_refused_at_its_attribute() {
    let started = Instant::now();
    let mut fixtures = load_fixtures(Path::new(FIXTURES));
    assert!(
        fixtures.len() >= MINIMUM_CORPUS,
        "only {} fixtures under {FIXTURES}; the corpus holds at least {MINIMUM_CORPUS}",
        fixtures.len()
    );
    if let Ok(only) = std::env::var(ONLY_VAR) {
        fixtures.retain(|f| f.name.contains(&only));
        assert!(!fixtures.is_empty(), "{ONLY_VAR}={only} matches no fixture");
    }
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let results = run_all(&fixtures, &endpoint);

    println!("{}", report(&results, started.elapsed()));
    let failures: Vec<String> = results
        .iter()
        .filter_map(|(fixture, outcome, _)| match (fixture.known_gap, outcome) {
            (false, Outcome::Clear(_)) => None,
            (false, other) => Some(format!("{}: {other}", fixture.name)),
            (true, Outcome::Clear(_)) => Some(format!(
                "{}: now refused clearly; move it out of {KNOWN_GAPS}/",
                fixture.name
            )),
            (true, _) => None,
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} bad configurations need attention (refused unclearly, or a known gap now \
         refused clearly):\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
}

/// Runs the cases on a few workers, each with one initialised workspace whose `main.tf` it
/// rewrites per case (the provider and its lock file stay). Results in fixture order.
fn run_all<'a>(fixtures: &'a [Fixture], endpoint: &str) -> Vec<(&'a Fixture, Outcome, Duration)> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_WORKERS)
        .min(fixtures.len());
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, Outcome, Duration)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let workspace = Workspace::new();
                    workspace.write_config(&compose("", endpoint));
                    workspace.init();
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(fixture) = fixtures.get(i) else {
                            return done;
                        };
                        let started = Instant::now();
                        let outcome = run_case(&workspace, fixture, endpoint);
                        done.push((i, outcome, started.elapsed()));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a corpus worker panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _, _)| *i);
    results
        .into_iter()
        .map(|(i, outcome, took)| (&fixtures[i], outcome, took))
        .collect()
}

// ---- fixtures -------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Validate,
    Plan,
}

struct Fixture {
    /// The path under the corpus directory, e.g. `model_name_hyphen.tf`.
    name: String,
    known_gap: bool,
    expect: Vec<String>,
    attribute: String,
    stage: Stage,
    files: Vec<(String, String)>,
    hcl: String,
}

/// Every `.tf` file under `dir` (one level of subdirectories: `known_gaps/`), sorted by name.
fn load_fixtures(dir: &Path) -> Vec<Fixture> {
    let mut paths = tf_files(dir);
    let gaps = dir.join(KNOWN_GAPS);
    if gaps.is_dir() {
        paths.extend(tf_files(&gaps));
    }
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let name = path
                .strip_prefix(dir)
                .unwrap_or(path)
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            parse_fixture(&name, path.starts_with(&gaps), &text)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect()
}

fn tf_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|entry| entry.expect("reading a fixture entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "tf"))
        .collect()
}

fn parse_fixture(name: &str, known_gap: bool, text: &str) -> Result<Fixture, String> {
    let (mut expect, mut attribute, mut stage, mut files) = (Vec::new(), None, None, Vec::new());
    let mut has_why = false;
    let mut body_start = 0;
    for (number, line) in text.lines().enumerate() {
        let Some(comment) = line.strip_prefix('#') else {
            break;
        };
        body_start += line.len() + 1;
        let (key, value) = comment
            .split_once(':')
            .map(|(k, v)| (k.trim(), v.trim()))
            .ok_or_else(|| format!("line {}: a header line is `# key: value`", number + 1))?;
        match key {
            "why" => has_why = true,
            "expect" => expect.push(value.to_string()),
            "attribute" => attribute = Some(value.to_string()),
            "stage" => {
                stage = Some(match value {
                    "validate" => Stage::Validate,
                    "plan" => Stage::Plan,
                    other => return Err(format!("stage {other:?}: use validate or plan")),
                })
            }
            "files" => {
                let (file, content) = value
                    .split_once('=')
                    .ok_or_else(|| format!("line {}: files is `name=content`", number + 1))?;
                files.push((file.trim().to_string(), content.replace("\\n", "\n")));
            }
            other => {
                return Err(format!(
                    "line {}: unknown header key {other:?} (why, expect, attribute, stage, files)",
                    number + 1
                ));
            }
        }
    }
    if !has_why || expect.is_empty() {
        return Err("the header needs `# why:` and at least one `# expect:`".to_string());
    }
    Ok(Fixture {
        name: name.to_string(),
        known_gap,
        expect,
        attribute: attribute.ok_or("the header needs `# attribute:`")?,
        stage: stage.ok_or("the header needs `# stage:`")?,
        files,
        hcl: text.get(body_start..).unwrap_or_default().to_string(),
    })
}

/// The fixture's HCL after the provider requirement, `local.moto` (every endpoint at moto) and,
/// unless the fixture brings its own, a provider block using them.
fn compose(hcl: &str, endpoint: &str) -> String {
    let endpoints: String = SERVICES
        .iter()
        .map(|service| format!("    {service:<8} = \"{endpoint}\"\n"))
        .collect();
    let has_provider = hcl
        .lines()
        .any(|line| line.trim_start().starts_with("provider \"mdw\""));
    let provider = if has_provider {
        String::new()
    } else {
        format!("provider \"mdw\" {{\n  region    = \"{REGION}\"\n  endpoints = local.moto\n}}\n\n")
    };
    format!(
        "terraform {{\n  required_providers {{\n    mdw = {{ source = \"mdw/mdw\" }}\n  }}\n}}\n\n\
         locals {{\n  moto = {{\n{endpoints}  }}\n}}\n\n{provider}{hcl}"
    )
}

// ---- one case -------------------------------------------------------------------------------

enum Outcome {
    /// The expected error (its summary here), on the attribute's line.
    Clear(String),
    /// The expected error, pointing elsewhere (the block, or nowhere).
    WithoutLocation(String),
    /// Refused, but not with the expected error.
    OtherError(String),
    Panic(String),
    Hang(String),
    /// Neither command refused it.
    Accepted(String),
}

impl Outcome {
    const KINDS: [&str; 6] = [
        "clear error with location",
        "error without location",
        "other error (expected text missing)",
        "panic",
        "hang",
        "silently accepted",
    ];

    fn kind(&self) -> usize {
        match self {
            Outcome::Clear(_) => 0,
            Outcome::WithoutLocation(_) => 1,
            Outcome::OtherError(_) => 2,
            Outcome::Panic(_) => 3,
            Outcome::Hang(_) => 4,
            Outcome::Accepted(_) => 5,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Outcome::KINDS[self.kind()])?;
        match self {
            Outcome::Clear(d)
            | Outcome::WithoutLocation(d)
            | Outcome::OtherError(d)
            | Outcome::Panic(d)
            | Outcome::Hang(d)
            | Outcome::Accepted(d) => write!(f, ": {d}"),
        }
    }
}

/// What one terraform command made of the configuration.
enum Verdict {
    Refused(Vec<Value>),
    Accepted,
    Failed(Outcome),
}

fn run_case(workspace: &Workspace, fixture: &Fixture, endpoint: &str) -> Outcome {
    reset(workspace);
    for (name, content) in &fixture.files {
        workspace.write_file(name, content);
    }
    let config = compose(&fixture.hcl, endpoint);
    workspace.write_config(&config);
    let first_line = config.lines().count() - fixture.hcl.lines().count() + 1;
    let diagnostics = match validate(workspace) {
        Verdict::Failed(outcome) => return outcome,
        Verdict::Refused(diagnostics) => diagnostics,
        Verdict::Accepted if fixture.stage == Stage::Validate => {
            let later = match plan(workspace) {
                Verdict::Refused(d) => format!("plan refuses it: {}", summaries(&d)),
                Verdict::Accepted => "plan accepts it too".to_string(),
                Verdict::Failed(outcome) => format!("plan: {outcome}"),
            };
            return Outcome::Accepted(format!("validate accepts it; {later}"));
        }
        Verdict::Accepted => match plan(workspace) {
            Verdict::Failed(outcome) => return outcome,
            Verdict::Refused(diagnostics) => diagnostics,
            Verdict::Accepted => {
                return Outcome::Accepted("validate and plan accept it".to_string());
            }
        },
    };
    judge(fixture, &config, first_line, &diagnostics)
}

/// An empty working directory but for the initialised provider.
fn reset(workspace: &Workspace) {
    for entry in std::fs::read_dir(workspace.dir()).expect("listing the workspace") {
        let entry = entry.expect("reading a workspace entry");
        let name = entry.file_name();
        if name == ".terraform" || name == ".terraform.lock.hcl" {
            continue;
        }
        let path = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.unwrap_or_else(|e| panic!("removing {}: {e}", path.display()));
    }
}

fn validate(workspace: &Workspace) -> Verdict {
    let output = match finished(workspace, &["validate", "-json", "-no-color"]) {
        Ok(output) => output,
        Err(outcome) => return Verdict::Failed(outcome),
    };
    let document: Value = serde_json::from_str(&output.stdout).unwrap_or(Value::Null);
    let diagnostics = document["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    verdict(output, diagnostics)
}

fn plan(workspace: &Workspace) -> Verdict {
    let args = ["plan", "-json", "-input=false", "-no-color", "-lock=false"];
    let output = match finished(workspace, &args) {
        Ok(output) => output,
        Err(outcome) => return Verdict::Failed(outcome),
    };
    let diagnostics = output
        .stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["type"] == "diagnostic")
        .map(|message| message["diagnostic"].clone())
        .collect();
    verdict(output, diagnostics)
}

/// The command's output, or the outcome when it hung or the provider crashed.
fn finished(workspace: &Workspace, args: &[&str]) -> Result<TfOutput, Outcome> {
    let output = workspace.run_within(args, CASE_LIMIT).map_err(|hung| {
        Outcome::Hang(format!(
            "`terraform {}` still running after {CASE_LIMIT:?}",
            hung.args.join(" ")
        ))
    })?;
    let combined = output.combined();
    match CRASH_MARKERS.iter().find(|m| combined.contains(*m)) {
        Some(marker) => Err(Outcome::Panic(format!(
            "`terraform {}` printed {marker:?}",
            args.join(" ")
        ))),
        None => Ok(output),
    }
}

fn verdict(output: TfOutput, diagnostics: Vec<Value>) -> Verdict {
    let errors: Vec<Value> = diagnostics
        .into_iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    match (output.code, errors.is_empty()) {
        (0, _) => Verdict::Accepted,
        (_, false) => Verdict::Refused(errors),
        // A failure without a diagnostic: show what terraform printed.
        (code, true) => Verdict::Failed(Outcome::OtherError(format!(
            "exit {code} without a diagnostic: {}",
            output.stderr.trim()
        ))),
    }
}

/// Clear when an error holds every expected text and points at the attribute's line — or, when
/// the fixture leaves the attribute out, at a block's first line.
fn judge(fixture: &Fixture, config: &str, first_line: usize, errors: &[Value]) -> Outcome {
    let matching: Vec<&Value> = errors
        .iter()
        .filter(|d| {
            let text = format!(
                "{}\n{}",
                d["summary"].as_str().unwrap_or_default(),
                d["detail"].as_str().unwrap_or_default()
            );
            fixture.expect.iter().all(|e| text.contains(e.as_str()))
        })
        .collect();
    let Some(first) = matching.first() else {
        return Outcome::OtherError(summaries(errors));
    };
    let lines: Vec<&str> = config.lines().collect();
    let pointed_at = |d: &Value| -> Option<&str> {
        if d["range"]["filename"] != "main.tf" {
            return None;
        }
        let line = usize::try_from(d["range"]["start"]["line"].as_u64()?).ok()?;
        lines.get(line.checked_sub(1)?).copied()
    };
    let absent = !fixture
        .hcl
        .lines()
        .any(|line| assigns(line, &fixture.attribute));
    let at_attribute = |d: &Value| {
        // Lines before the fixture's own (the provider requirement, `local.moto`) are not the
        // attribute's, whatever they assign.
        let own = d["range"]["start"]["line"]
            .as_u64()
            .is_some_and(|line| line >= first_line as u64);
        own && pointed_at(d).is_some_and(|text| {
            if absent {
                opens_block(text)
            } else {
                assigns(text, &fixture.attribute)
            }
        })
    };
    if let Some(clear) = matching.iter().find(|d| at_attribute(d)) {
        return Outcome::Clear(summaries(&[(*clear).clone()]));
    }
    let places: Vec<String> = matching
        .iter()
        .map(|d| match pointed_at(d) {
            Some(line) => format!("points at `{}`", line.trim()),
            None => "no source location".to_string(),
        })
        .collect();
    let wanted = if absent {
        format!("the block lacking `{}`", fixture.attribute)
    } else {
        format!("`{}`", fixture.attribute)
    };
    Outcome::WithoutLocation(format!(
        "{} — {}, not at {wanted}",
        summaries(&[(*first).clone()]),
        places.join("; ")
    ))
}

/// True for the first line of a resource, data or provider block.
fn opens_block(line: &str) -> bool {
    let line = line.trim_start();
    ["resource \"", "data \"", "provider \""]
        .iter()
        .any(|keyword| line.starts_with(keyword))
}

/// True when `line` assigns `attribute` (`name = …`, `"name" = …`, or inside `{ name = … }`).
fn assigns(line: &str, attribute: &str) -> bool {
    line.match_indices(attribute).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let starts_word = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let rest = line[at + attribute.len()..]
            .trim_start_matches('"')
            .trim_start();
        starts_word && rest.starts_with('=') && !rest.starts_with("==")
    })
}

fn summaries(errors: &[Value]) -> String {
    let texts: Vec<String> = errors
        .iter()
        .map(|d| format!("{:?}", d["summary"].as_str().unwrap_or_default()))
        .collect();
    texts.join(", ")
}

// ---- report ---------------------------------------------------------------------------------

fn report(results: &[(&Fixture, Outcome, Duration)], total: Duration) -> String {
    let mut text = String::from("\nbad configurations\n");
    for known_gaps in [false, true] {
        let group: Vec<_> = results
            .iter()
            .filter(|(f, _, _)| f.known_gap == known_gaps)
            .collect();
        if group.is_empty() {
            continue;
        }
        let heading = if known_gaps {
            format!("{KNOWN_GAPS}/ (reported, not failed)")
        } else {
            "corpus".to_string()
        };
        text.push_str(&format!("\n{heading}: {} cases\n", group.len()));
        for (i, kind) in Outcome::KINDS.iter().enumerate() {
            let count = group.iter().filter(|(_, o, _)| o.kind() == i).count();
            text.push_str(&format!("  {count:>4}  {kind}\n"));
        }
        // Problems first, then every clear case with the error it got.
        let mut listed: Vec<_> = group.iter().collect();
        listed.sort_by_key(|(f, o, _)| (o.kind() == 0, f.name.clone()));
        for (fixture, outcome, took) in listed {
            text.push_str(&format!(
                "  - {} ({:.1}s): {outcome}\n",
                fixture.name,
                took.as_secs_f64()
            ));
        }
    }
    let slowest = results.iter().max_by_key(|(_, _, took)| *took);
    if let Some((fixture, _, took)) = slowest {
        text.push_str(&format!(
            "\n{} cases in {:.0}s; slowest {} ({:.1}s)\n",
            results.len(),
            total.as_secs_f64(),
            fixture.name,
            took.as_secs_f64()
        ));
    }
    text
}
