//! The command line: `mdwc compile`, `mdwc ls`, `mdwc graph`, with dbt's flag names.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::compile::{self, Compiled, Options};
use crate::emit;
use crate::error::{Diagnostic, Diagnostics};
use crate::graph::Kind;
use crate::warehouse::CatalogChoice;

#[derive(Debug, Parser)]
#[command(
    name = "mdwc",
    version,
    about = "Compile a dbt project (Athena + Iceberg) into Terraform JSON for the mdw provider"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render every model and test like `dbt compile`; with --out, write the Terraform module.
    Compile {
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        selection: SelectionArgs,
        /// Directory for the generated `*.tf.json` (and a `*.tf` per model group): a Terraform
        /// child module.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Allow writing a module without models over one that has them (Terraform will
        /// destroy those models).
        #[arg(long)]
        allow_empty: bool,
        /// Which resource holds each model: `auto` (one `mdw_model_group` per folder under the
        /// model paths from 50 models on, else one `mdw_iceberg_model` per model), `none` or
        /// `folder`; see bench/SCALE.md. Switching either way drops no table.
        #[arg(long = "group-by", value_enum, default_value = "auto")]
        group_by: GroupByArg,
    },
    /// Install the packages packages.yml requires into dbt_packages/, like `dbt deps`.
    Deps {
        /// The dbt project directory (holding dbt_project.yml).
        #[arg(long = "project-dir", value_name = "DIR", default_value = ".")]
        project_dir: PathBuf,
    },
    /// List the project's nodes, like `dbt ls`.
    Ls {
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        selection: SelectionArgs,
        /// Only nodes of this kind.
        #[arg(long = "resource-type", value_enum)]
        resource_type: Option<ResourceType>,
        #[arg(long, value_enum, default_value = "selector")]
        output: LsOutput,
    },
    /// Draw the lineage graph as Graphviz DOT or a self-contained HTML page.
    Graph {
        #[command(flatten)]
        project: ProjectArgs,
        #[command(flatten)]
        selection: SelectionArgs,
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// The dbt project directory (holding dbt_project.yml).
    #[arg(long = "project-dir", value_name = "DIR", default_value = ".")]
    pub project_dir: PathBuf,
    /// The directory holding profiles.yml (default: $DBT_PROFILES_DIR, the project, ~/.dbt).
    #[arg(long = "profiles-dir", value_name = "DIR")]
    pub profiles_dir: Option<PathBuf>,
    /// The profile output to use (default: the profile's `target`).
    #[arg(long, short = 't', value_name = "NAME")]
    pub target: Option<String>,
    /// Vars as a YAML or JSON mapping, e.g. '{pdate: 20261127}'. Bound vars are inlined.
    #[arg(long, value_name = "YAML")]
    pub vars: Option<String>,
    /// Where the columns of sources come from when a macro asks for them
    /// (`adapter.get_columns_in_relation`): nowhere (an error), or AWS Glue, read with the
    /// standard AWS credential chain; each source read is checked again at plan.
    #[arg(long, value_enum, default_value = "none")]
    pub catalog: CatalogArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CatalogArg {
    None,
    Glue,
}

#[derive(Debug, Args)]
pub struct SelectionArgs {
    /// Nodes to include: name, +name, name+, tag:x, path:models/x, source:s.t (space = union, comma = intersection).
    #[arg(long, short = 's', num_args = 1.., value_name = "SELECTOR")]
    pub select: Vec<String>,
    /// Nodes to leave out (same syntax as --select).
    #[arg(long, num_args = 1.., value_name = "SELECTOR")]
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ResourceType {
    Model,
    Seed,
    Source,
    Test,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GroupByArg {
    /// One mdw_model_group per folder from 50 models on (measured: bench/SCALE.md), one
    /// mdw_iceberg_model per model below.
    Auto,
    /// One mdw_iceberg_model per model.
    None,
    /// One mdw_model_group per folder of the model paths.
    Folder,
}

impl From<GroupByArg> for emit::layout::GroupBy {
    fn from(arg: GroupByArg) -> Self {
        match arg {
            GroupByArg::Auto => emit::layout::GroupBy::Auto,
            GroupByArg::None => emit::layout::GroupBy::None,
            GroupByArg::Folder => emit::layout::GroupBy::Folder,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LsOutput {
    Selector,
    Name,
    Path,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Html,
}

fn options(project: &ProjectArgs) -> Options {
    Options {
        project_dir: project.project_dir.clone(),
        profiles_dir: project.profiles_dir.clone(),
        target: project.target.clone(),
        vars: project.vars.clone(),
        catalog: match project.catalog {
            CatalogArg::None => CatalogChoice::None,
            CatalogArg::Glue => CatalogChoice::Glue,
        },
    }
}

fn selected(
    compiled: &Compiled,
    selection: &SelectionArgs,
) -> Result<BTreeSet<usize>, Diagnostics> {
    Ok(compiled
        .graph
        .select(&selection.select, &selection.exclude)?)
}

pub fn run(cli: Cli) -> Result<(), Diagnostics> {
    match cli.command {
        Command::Compile {
            project,
            selection,
            out,
            allow_empty,
            group_by,
        } => {
            let started = Instant::now();
            let partial = !selection.select.is_empty() || !selection.exclude.is_empty();
            if partial && out.is_some() {
                return Err(Diagnostic::new("--out cannot be combined with --select/--exclude")
                    .help("the module must declare every model, or Terraform would destroy the ones left out; drop --select")
                    .into());
            }
            let compiled = compile::compile(&options(&project))?;
            let ids: Option<BTreeSet<String>> = if partial {
                let nodes = selected(&compiled, &selection)?;
                Some(
                    nodes
                        .into_iter()
                        .map(|i| compiled.graph.nodes[i].unique_id.clone())
                        .collect(),
                )
            } else {
                None
            };
            // Everything that can fail is built before anything is written.
            let group_by = emit::layout::GroupBy::from(group_by).resolve(&compiled);
            let staged = match &out {
                Some(out) => {
                    emit::check_not_emptied(&compiled, out, allow_empty)?;
                    let options = emit::layout::EmitOptions { group_by };
                    Some(emit::stage_terraform(&compiled, out, &options)?)
                }
                None => None,
            };
            let sql = emit::write_compiled_sql(&compiled, ids.as_ref())?;
            let mut summary = format!(
                "compiled {} models, {} seeds, {} sources, {} tests in {:.2}s; {}/compiled: {} written, {} unchanged",
                compiled.models.len(),
                compiled.seeds.len(),
                compiled.sources.len(),
                compiled.tests.len(),
                started.elapsed().as_secs_f64(),
                compiled.project.target_path,
                sql.written,
                sql.unchanged,
            );
            if let (Some(out), Some(staged)) = (out, staged) {
                let tf = staged.commit()?;
                summary.push_str(&format!(
                    "; {}: {} written, {} unchanged, {} removed",
                    out.display(),
                    tf.written,
                    tf.unchanged,
                    tf.removed
                ));
                if group_by == emit::layout::GroupBy::Folder {
                    summary.push_str("; models grouped by folder (mdw_model_group)");
                }
                if !compiled.deferred_vars.is_empty() {
                    let names: Vec<&str> =
                        compiled.deferred_vars.keys().map(String::as_str).collect();
                    summary.push_str(&format!("; deferred to Terraform: {}", names.join(", ")));
                }
            }
            eprintln!("{summary}");
            // The process ends here: freeing thousands of small allocations one by one would
            // only delay the exit.
            std::mem::forget(compiled);
            Ok(())
        }
        Command::Deps { project_dir } => {
            let installed = crate::deps::install(&project_dir)?;
            for (name, version) in &installed.packages {
                eprintln!("installed {name} {version}");
            }
            if installed.packages.is_empty() {
                eprintln!("no packages to install (no packages.yml or dependencies.yml)");
            } else if installed.lock_written {
                eprintln!("pinned them in package-lock.yml");
            }
            Ok(())
        }
        Command::Ls {
            project,
            selection,
            resource_type,
            output,
        } => {
            let compiled = compile::compile(&options(&project))?;
            let nodes = selected(&compiled, &selection)?;
            let want = resource_type.map(|t| match t {
                ResourceType::Model => Kind::Model,
                ResourceType::Seed => Kind::Seed,
                ResourceType::Source => Kind::Source,
                ResourceType::Test => Kind::Test,
            });
            let mut lines = Vec::new();
            for i in nodes {
                let node = &compiled.graph.nodes[i];
                if want.is_some_and(|k| k != node.kind) {
                    continue;
                }
                lines.push(match output {
                    LsOutput::Selector if node.kind == Kind::Source => format!("source:{}", node.fqn.join(".")),
                    LsOutput::Selector => node.fqn.join("."),
                    LsOutput::Name => node.name.clone(),
                    LsOutput::Path => node.file.clone(),
                    LsOutput::Json => serde_json::json!({
                        "name": node.name,
                        "resource_type": node.kind.as_str(),
                        "unique_id": node.unique_id,
                        "original_file_path": node.file,
                        "tags": node.tags,
                        "depends_on": compiled.graph.parents[i].iter().map(|&p| compiled.graph.nodes[p].unique_id.clone()).collect::<Vec<_>>(),
                    })
                    .to_string(),
                });
            }
            lines.sort();
            for line in lines {
                println!("{line}");
            }
            Ok(())
        }
        Command::Graph {
            project,
            selection,
            format,
            output,
        } => {
            let compiled = compile::compile(&options(&project))?;
            let nodes = selected(&compiled, &selection)?;
            let text = match format {
                GraphFormat::Dot => emit::lineage::dot(&compiled.graph, &nodes),
                GraphFormat::Html => {
                    emit::lineage::html(&compiled.graph, &nodes, &compiled.project.name)
                }
            };
            match output {
                Some(path) => {
                    emit::files::write_if_changed(&path, &text)?;
                }
                None => print!("{text}"),
            }
            Ok(())
        }
    }
}
