//! Compiling a project: parse every node (refs, sources, config), name the relations, build and
//! check the graph, then render the final SQL — the same two phases as dbt. Every node is
//! compiled even when others fail: all errors are collected, and a node whose upstream failed
//! is left out without an error of its own.
//!
//! The phases, one file each: [`nodes`] (which files are which nodes, with their configs),
//! [`parse`] (dbt's parse render), [`relations`] (relation names, seeds, sources), [`dag`] (the
//! graph and its checks), [`generic_tests`] (tests from properties yml), [`render`] (dbt's
//! compile render and the deferred-var checks).

mod dag;
mod ephemeral;
mod generic_tests;
pub(crate) mod manifest;
mod nodes;
mod parse;
mod relations;
mod render;
mod run_hooks;
mod unit_tests;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use serde_json::Value as Json;

use crate::config::render::ConfigRenderer;
use crate::config::types::{Checker, NodeKind};
use crate::config::{self, Config};
use crate::error::{Diagnostic, Diagnostics, Location};
use crate::graph::Graph;
use crate::jinja::Engine;
use crate::jinja::context::{Captured, Phase, RenderNode, Resolved, Shared, VarMode};
use crate::jinja::objects::{Relation, lock};
use crate::packages::Package;
use crate::profile::{self, Target};
use crate::project::{Project, SourceFile};
use crate::properties::{self, Properties, SourceTable};
use crate::values::json_to_jinja;
use crate::vars::{self, Vars};

use nodes::Renderable;

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub project_dir: PathBuf,
    pub profiles_dir: Option<PathBuf>,
    pub target: Option<String>,
    pub vars: Option<String>,
    /// Whether the columns of sources are read from the warehouse (`--catalog`).
    pub catalog: crate::warehouse::CatalogChoice,
}

#[derive(Debug, Clone)]
pub struct CompiledModel {
    pub name: String,
    /// `model`, or `snapshot` for a snapshot (a model materialized as `snapshot`).
    pub(crate) resource_type: &'static str,
    pub file: String,
    pub(crate) relation: Relation,
    pub(crate) config: Config,
    pub(crate) description: String,
    pub(crate) column_descriptions: BTreeMap<String, String>,
    /// Ref-ed models and seeds by name, and sources, in first-use order.
    pub(crate) refs: Vec<String>,
    pub(crate) sources: Vec<(String, String)>,
    /// SQL as dbt compiles it (deferred vars at their project values).
    pub sql: String,
    /// SQL with deferred vars as markers (see [`crate::jinja::objects::deferred_marker`]).
    pub(crate) sql_with_markers: String,
    /// An incremental model's SQL with `is_incremental()` true (markers as above), when it
    /// differs from the full build's.
    pub(crate) incremental_sql_with_markers: Option<String>,
    /// Inlined into the models that ref it; no table of its own.
    pub(crate) ephemeral: bool,
    /// Pre- and post-hooks rendered for the model (deferred vars as markers).
    pub(crate) hooks: render::Hooks,
}

impl CompiledModel {
    pub(crate) fn unique_id(&self, project: &str) -> String {
        format!("{}.{project}.{}", self.resource_type, self.name)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledSeed {
    pub(crate) name: String,
    pub(crate) fqn: Vec<String>,
    pub(crate) file: String,
    pub(crate) absolute: PathBuf,
    pub(crate) relation: Relation,
    pub(crate) config: Config,
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledSource {
    pub(crate) table: SourceTable,
    pub(crate) relation: Relation,
}

/// A node a test reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum NodeRef {
    Model(String),
    Seed(String),
    Source(String, String),
}

#[derive(Debug, Clone)]
pub struct CompiledTest {
    /// dbt's (possibly hashed) test name, also the compiled file's name.
    pub name: String,
    /// The name, made unique: dbt gives two tests whose arguments clean to the same text one
    /// name (and one compiled file); the second is `<name>_2` in the graph and Terraform.
    pub(crate) key: String,
    /// Where dbt writes it under target/compiled/<project>/.
    pub compiled_path: String,
    /// The yml or SQL file that defines it.
    pub(crate) file: String,
    /// The line of its definition in a yml (`None` for a singular test: the whole file).
    pub(crate) line: Option<usize>,
    /// dbt's `attached_node`: the node a generic test tests (`None` for singular tests).
    pub(crate) attached_node: Option<NodeRef>,
    /// Where its failing rows are stored (dbt's `generate_schema_name` of the test's `schema`,
    /// `dbt_test__audit` unless configured), when it stores them.
    pub(crate) audit_schema: Option<String>,
    pub(crate) depends_on: Vec<NodeRef>,
    pub(crate) config: Config,
    pub sql: String,
    pub(crate) sql_with_markers: String,
}

/// A dbt unit test, ready for `mdw_unit_test`.
#[derive(Debug, Clone)]
pub(crate) struct CompiledUnitTest {
    pub(crate) name: String,
    /// The tested model's (compiled) name.
    pub(crate) model: String,
    /// `path:line` of its definition.
    pub(crate) source_file: String,
    /// The model rendered with the overrides, each given input as `"__mdw_given_<i>"`.
    pub(crate) sql_with_markers: String,
    pub(crate) given: Vec<CompiledGiven>,
    pub(crate) expect: CompiledExpect,
}

/// One given input of a unit test.
#[derive(Debug, Clone)]
pub(crate) struct CompiledGiven {
    pub(crate) node: NodeRef,
    /// The real input's relation, whose columns type the rows (`None` for `format: sql`).
    pub(crate) relation: Option<String>,
    pub(crate) rows_json: Option<String>,
    pub(crate) fixture_sql: Option<String>,
}

/// A unit test's expected rows.
#[derive(Debug, Clone)]
pub(crate) enum CompiledExpect {
    RowsJson(String),
    Sql(String),
}

/// The columns mdwc knows a built relation to have (see `jinja::catalog`).
#[derive(Debug, Clone)]
pub struct RelationColumns {
    pub database: String,
    pub schema: String,
    pub identifier: String,
    pub columns: Vec<KnownColumn>,
}

pub use crate::sql_columns::KnownColumn;

/// The compiled project.
#[derive(Debug)]
pub struct Compiled {
    /// The tables and views of the project whose columns are known from its files.
    pub relation_columns: Vec<RelationColumns>,
    /// The sources whose columns were read from the warehouse (`--catalog glue`): (schema,
    /// table) in lower case → (name, Glue type) of each column.
    pub(crate) warehouse_reads:
        std::collections::BTreeMap<(String, String), Vec<crate::warehouse::GlueColumn>>,
    pub(crate) project: Project,
    pub models: Vec<CompiledModel>,
    pub(crate) seeds: Vec<CompiledSeed>,
    pub(crate) sources: Vec<CompiledSource>,
    pub tests: Vec<CompiledTest>,
    pub(crate) unit_tests: Vec<CompiledUnitTest>,
    /// Deferred vars some node used, with their defaults.
    pub(crate) deferred_vars: BTreeMap<String, Json>,
    pub(crate) graph: Graph,
    /// dbt's manifest of the nodes, sources and macros (see [`Compiled::manifest_json`]).
    pub(crate) manifest: manifest::Manifest,
}

/// A compile that went as far as it could: every node that compiled, and every error.
#[derive(Debug)]
pub struct Partial {
    /// `None` when the project could not be read at all.
    pub compiled: Option<Compiled>,
    pub errors: Vec<Diagnostic>,
}

/// Compiles the whole project, or returns every error.
pub fn compile(options: &Options) -> Result<Compiled, Diagnostics> {
    let Partial { compiled, errors } = compile_partial(options);
    match compiled {
        Some(compiled) if errors.is_empty() => Ok(compiled),
        _ => Err(Diagnostics::new(errors)),
    }
}

/// Compiles every node that can be compiled and collects the errors of the others.
pub fn compile_partial(options: &Options) -> Partial {
    let timings = Timings::new();
    let project = match Project::load(&options.project_dir) {
        Ok(project) => project,
        Err(error) => {
            return Partial {
                compiled: None,
                errors: vec![error],
            };
        }
    };
    timings.mark("read project files");
    let (packages, mut errors) = crate::packages::load(&project);
    let all_macros: Vec<SourceFile> = project
        .macros
        .iter()
        .chain(packages.iter().flat_map(|p| &p.macros))
        .cloned()
        .collect();
    let checker = Checker::new(&all_macros);
    let target = profile::load_target(&profile::ProfileRequest {
        project_dir: &options.project_dir,
        project_text: &project.file_text,
        profiles_dir: options.profiles_dir.as_deref(),
        profile: &project.profile,
        target: options.target.as_deref(),
    });
    let cli_vars = vars::parse_cli_vars(options.vars.as_deref());
    let (target, cli_vars) = match (target, cli_vars) {
        (Ok(target), Ok(cli_vars)) => (target, cli_vars),
        (target, cli_vars) => {
            errors.extend(target.err());
            errors.extend(cli_vars.err());
            return Partial {
                compiled: None,
                errors,
            };
        }
    };
    let vars = Vars::new(&project.vars, &project.name, cli_vars.clone());
    // Configs are rendered (Jinja in config values) before they are checked or applied. As
    // in dbt, dbt_project.yml sees only --vars (its own `vars:` are not known yet while it is
    // read); properties yml see every var.
    let project_renderer = ConfigRenderer::new(
        &Vars::new(&Json::Null, &project.name, cli_vars),
        &target.fields,
    );
    let renderer = ConfigRenderer::new(&vars, &target.fields);
    let mut project = project;
    for (tree, root) in [
        (&mut project.models_tree, "models"),
        (&mut project.seeds_tree, "seeds"),
        (&mut project.snapshots_tree, "snapshots"),
        (&mut project.tests_tree, project.tests_tree_key),
        (&mut project.sources_tree, "sources"),
    ] {
        let text = &project.file_text;
        let at = || {
            crate::yaml::locate(
                crate::project::PROJECT_FILE,
                text,
                &[crate::yaml::Step::key(root)],
            )
        };
        match project_renderer.render(tree, &at) {
            Ok(rendered) => *tree = rendered,
            Err(error) => errors.push(error),
        }
    }
    for (kind, tree, root) in [
        (NodeKind::Model, &project.models_tree, "models"),
        (NodeKind::Seed, &project.seeds_tree, "seeds"),
        (NodeKind::Snapshot, &project.snapshots_tree, "snapshots"),
        (NodeKind::Test, &project.tests_tree, project.tests_tree_key),
    ] {
        errors.extend(config::check_tree(
            &checker,
            kind,
            tree,
            root,
            &project.file_text,
        ));
    }
    let (props, prop_errors) = properties::parse(&project.properties, &checker, &renderer);
    errors.extend(prop_errors);
    project
        .snapshots
        .extend(props.yml_snapshots.iter().map(|s| {
            crate::snapshots::from_yml(&s.name, &s.relation, &s.location.file, s.location.line)
        }));
    timings.mark("read properties yml");
    let config_vars: std::collections::BTreeSet<String> = renderer
        .vars_used()
        .into_iter()
        .chain(project_renderer.vars_used())
        .collect();
    let warehouse = match options.catalog {
        crate::warehouse::CatalogChoice::None => None,
        crate::warehouse::CatalogChoice::Glue => {
            let region = target
                .fields
                .get("region_name")
                .and_then(Json::as_str)
                .map(str::to_string);
            match crate::warehouse::GlueCatalog::connect(region) {
                Ok(glue) => Some(glue),
                Err(reason) => {
                    errors.push(
                        Diagnostic::new(reason).help("mdwc --catalog glue needs an AWS client"),
                    );
                    None
                }
            }
        }
    };
    let compiler = Compiler::new(
        project, &packages, target, vars, props, checker, timings, errors, warehouse,
    );
    compiler.timings.mark("prepare templates");
    let mut partial = compiler.run();
    // A var a config reads is bound at compile time; deferred in SQL too, it would have two
    // values once Terraform sets it.
    if let Some(compiled) = &partial.compiled {
        for name in compiled.deferred_vars.keys() {
            if config_vars.contains(name) {
                partial.errors.push(
                    Diagnostic::new(format!(
                        "var '{name}' is read by a config (bound at compile time) and deferred to Terraform in SQL"
                    ))
                    .at(Location::new(crate::project::PROJECT_FILE, 1, 1))
                    .help(format!("bind it at compile time: --vars '{{{name}: ...}}'")),
                );
            }
        }
    }
    partial
}

/// Prints how long each phase took when `MDWC_TIMINGS` is set (used by bench/compiler.sh).
struct Timings {
    start: std::time::Instant,
    enabled: bool,
}

impl Timings {
    fn new() -> Timings {
        Timings {
            start: std::time::Instant::now(),
            enabled: std::env::var_os("MDWC_TIMINGS").is_some(),
        }
    }

    fn mark(&self, phase: &str) {
        if self.enabled {
            // Resident memory so far (Linux), to see which phase holds the memory.
            let rss_mib = std::fs::read_to_string("/proc/self/statm")
                .ok()
                .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<f64>().ok())
                .map_or(0.0, |pages| pages * 4096.0 / 1048576.0);
            eprintln!(
                "timing: {:>8.1} ms {rss_mib:>7.1} MiB  {phase}",
                self.start.elapsed().as_secs_f64() * 1000.0
            );
        }
    }
}

/// The state every phase reads, and the errors they report.
struct Compiler {
    timings: Timings,
    /// Source relations, known before parsing (sources come from yml).
    source_relations: Arc<Resolved>,
    /// Sources disabled by their config, for the error a `source()` of one gets.
    disabled_sources: HashSet<(String, String)>,
    project: Project,
    target: Target,
    props: Properties,
    shared: Arc<Shared>,
    engine: Engine,
    errors: Mutex<Vec<Diagnostic>>,
    /// Unique ids of the nodes that failed; their dependants are left out too.
    failed: Mutex<HashSet<String>>,
}

impl Compiler {
    #[allow(clippy::too_many_arguments)]
    fn new(
        project: Project,
        packages: &[Package],
        target: Target,
        vars: Vars,
        mut props: Properties,
        checker: Checker,
        timings: Timings,
        mut errors: Vec<Diagnostic>,
        warehouse: Option<crate::warehouse::GlueCatalog>,
    ) -> Compiler {
        // A disabled source is not in the project (dbt lists it apart): no `mdw_source` asks
        // for its table, and a `source()` of it is an error. Its yml `enabled` wins over
        // dbt_project.yml's `sources:` tree, as dbt patches it.
        let mut disabled_sources = HashSet::new();
        props.sources.retain(|table| {
            let fqn = [
                project.name.as_str(),
                table.source_name.as_str(),
                table.table_name.as_str(),
            ];
            let tree = config::tree_config(&project.sources_tree, &fqn);
            let on = table
                .enabled
                .unwrap_or(!matches!(tree.get("enabled"), Some(Json::Bool(false))));
            if !on {
                disabled_sources.insert((table.source_name.clone(), table.table_name.clone()));
            }
            on
        });
        let nodes: Vec<(String, &SourceFile)> = project
            .models
            .iter()
            .map(|f| (f.path.clone(), f))
            .chain(project.snapshots.iter().map(|s| (s.template(), &s.file)))
            .chain(project.singular_tests.iter().map(|f| (f.path.clone(), f)))
            .collect();
        let (engine, engine_errors) = Engine::new(
            &project.name,
            &project.macros,
            packages,
            project.dispatch.clone(),
            &nodes,
        );
        errors.extend(engine_errors);
        let mut source_relations = Resolved::default();
        for table in &props.sources {
            source_relations.sources.insert(
                (table.source_name.clone(), table.table_name.clone()),
                source_relation(table, &target, &project),
            );
        }
        let source_keys = source_relations
            .sources
            .values()
            .map(|r| (crate::sql_columns::relation_key(&r.rendered()), r.clone()))
            .collect();
        let target_value = json_to_jinja(&Json::Object(target.fields.clone()));
        let shared = Arc::new(Shared {
            project_name: project.name.clone(),
            target: target_value,
            target_database: target.database.clone(),
            target_schema: target.schema.clone(),
            vars,
            checker,
            graph_source: std::sync::OnceLock::new(),
            graph: std::sync::OnceLock::new(),
            selected_resources: std::sync::OnceLock::new(),
            columns: crate::jinja::catalog::StaticCatalog::new(warehouse, source_keys),
        });
        Compiler {
            timings,
            source_relations: Arc::new(source_relations),
            disabled_sources,
            project,
            target,
            props,
            shared,
            engine,
            errors: Mutex::new(errors),
            failed: Mutex::new(HashSet::new()),
        }
    }

    /// Records an error of node `unique_id` (or of the project, with `None`).
    /// A node that failed only because it read the columns of a model that did not compile
    /// is left out with that model, without an error of its own.
    fn fail(&self, unique_id: Option<&str>, diagnostic: Diagnostic) {
        if let Some(id) = unique_id {
            lock(&self.failed).insert(id.to_string());
            if self.shared.columns.take_upstream_failed(id) {
                return;
            }
        }
        lock(&self.errors).push(diagnostic);
    }

    fn has_failed(&self, unique_id: &str) -> bool {
        lock(&self.failed).contains(unique_id)
    }

    fn node(
        &self,
        r: &Renderable,
        phase: Phase,
        var_mode: VarMode,
        this: Relation,
    ) -> Arc<RenderNode> {
        Arc::new(RenderNode {
            shared: self.shared.clone(),
            name: r.name.clone(),
            version: r.version.clone(),
            unique_id: r.unique_id(&self.project.name),
            resource_type: r.resource_type,
            file: r.file.path.clone(),
            fqn: r.fqn.clone(),
            description: r.description.clone(),
            phase,
            var_mode,
            resolved: None,
            parsed_refs: None,
            this,
            config: Mutex::new(r.config.clone()),
            captured: Mutex::new(Captured::default()),
            extra: Vec::new(),
            observed: Arc::new(AtomicBool::new(false)),
        })
    }

    fn placeholder_relation(&self, name: &str) -> Relation {
        Relation::new(&self.target.database, &self.target.schema, name, "table")
            .quoted(self.project.quoting)
    }

    fn run(self) -> Partial {
        self.timings.mark("compile templates");
        for error in self.engine.check_templates() {
            self.fail(None, error);
        }
        let renderables = self.renderables();
        let mut parsed = self.parse(&renderables);
        self.check_parsed(&renderables, &mut parsed);
        self.timings.mark("parse phase");
        let relations = self.name_relations(&renderables, &parsed);
        self.timings.mark("relation names");
        let mut graph = self.build_graph(&renderables, &parsed, &relations);
        self.timings.mark("graph");
        let generic = self.generic_tests(&relations.resolved, &mut graph);
        self.timings.mark("generic test specs");
        let manifest = self.manifest(&renderables, &parsed, &relations, &generic, &graph);
        let manifest = std::sync::Arc::new(manifest);
        let _ = self.shared.graph_source.set(manifest.clone());
        let _ = self.shared.selected_resources.set(minijinja::Value::from(
            graph
                .nodes
                .iter()
                .map(|n| minijinja::Value::from(n.unique_id.clone()))
                .collect::<Vec<_>>(),
        ));
        self.timings.mark("manifest");
        let rendered = self.render_nodes(&renderables, &parsed, &relations);
        self.timings.mark("compile phase (models)");
        let generic_rendered = self.render_generic_tests(&generic, &relations.resolved);
        self.timings.mark("compile phase (generic tests)");
        let (unit_tests, unit_deferred) = self.unit_tests(&renderables, &parsed, &relations);
        self.timings.mark("compile phase (unit tests)");
        let mut nodes = self.assemble(
            graph,
            relations,
            &renderables,
            &parsed,
            rendered,
            generic_rendered,
        );
        drop(renderables);
        for error in self.check_run_hooks(&nodes) {
            self.fail(None, error);
        }
        // A unit test of a model left out (it or its upstream failed) is left out too.
        let built: HashSet<&str> = nodes.models.iter().map(|m| m.name.as_str()).collect();
        let unit_tests: Vec<CompiledUnitTest> = unit_tests
            .into_iter()
            .filter(|t| built.contains(t.model.as_str()))
            .collect();
        for name in unit_deferred {
            if let crate::vars::VarBinding::Deferred(value) = self.shared.vars.binding(&name) {
                nodes.deferred_vars.insert(name, value);
            }
        }
        let relation_columns = nodes
            .models
            .iter()
            .filter(|m| !m.ephemeral)
            .map(|m| &m.relation)
            .chain(nodes.seeds.iter().map(|s| &s.relation))
            .filter_map(|relation| {
                Some(RelationColumns {
                    database: relation.database.clone(),
                    schema: relation.schema.clone(),
                    identifier: relation.identifier.clone(),
                    columns: self.shared.columns.known(relation)?,
                })
            })
            .collect();
        Partial {
            errors: std::mem::take(&mut *lock(&self.errors)),
            compiled: Some(Compiled {
                relation_columns,
                warehouse_reads: self.shared.columns.reads.take(),
                project: self.project,
                models: nodes.models,
                seeds: nodes.seeds,
                sources: nodes.sources,
                tests: nodes.tests,
                unit_tests,
                deferred_vars: nodes.deferred_vars,
                graph: nodes.graph,
                manifest: std::sync::Arc::unwrap_or_clone(manifest),
            }),
        }
    }
}

fn model_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn source_relation(table: &SourceTable, target: &Target, project: &Project) -> Relation {
    Relation::new(
        table.database.as_deref().unwrap_or(&target.database),
        &table.schema,
        &table.identifier,
        "table",
    )
    .quoted(project.quoting.with(table.quoting.as_ref()))
    .with_event_time(relations::event_time_field(
        table.event_time.as_deref(),
        &table.columns,
        table
            .quoting
            .as_ref()
            .and_then(|q| q.get("column"))
            .and_then(Json::as_bool),
    ))
}

fn enabled(config: &Config) -> bool {
    !matches!(config.get("enabled"), Some(Json::Bool(false)))
}

/// Whether a test keeps its failing rows, as dbt-core's `TestConfig` decides: a
/// `store_failures_as` overrides `store_failures` (`ephemeral` stores nothing).
pub(crate) fn stores_failures(config: &Config) -> bool {
    match config::as_str(config, "store_failures_as") {
        Some(kind) => kind != "ephemeral",
        None => matches!(config.get("store_failures"), Some(Json::Bool(true))),
    }
}

impl Compiler {
    /// The schema a test stores its failing rows in: dbt names it like any node's schema,
    /// `generate_schema_name` of the test's `schema` config, which defaults to
    /// `dbt_test__audit` (so `<target schema>_dbt_test__audit` under dbt's own macro).
    fn audit_schema(&self, r: &Renderable, config: &Config) -> Result<Option<String>, Diagnostic> {
        if !stores_failures(config) {
            return Ok(None);
        }
        let mut config = config.clone();
        config
            .entry("schema".to_string())
            .or_insert_with(|| Json::String("dbt_test__audit".to_string()));
        let relation = self.name_relation(r, &config, "table")?;
        Ok(Some(relation.schema))
    }
}

fn source_id(project: &str, source: &str, table: &str) -> String {
    format!("source.{project}.{source}.{table}")
}

pub(crate) fn node_ref_id(project: &str, node: &NodeRef) -> String {
    match node {
        NodeRef::Model(name) => format!("model.{project}.{name}"),
        NodeRef::Seed(name) => format!("seed.{project}.{name}"),
        NodeRef::Source(s, t) => source_id(project, s, t),
    }
}

/// Where a `ref('x')`/`source(…, 'x')` call is written, or the file's start when it is made by
/// a macro.
fn locate_call(file: &SourceFile, calls: &[&str], argument: Option<&str>) -> Location {
    let text = &file.text;
    for call in calls {
        let mut from = 0;
        while let Some(found) = text[from..].find(call) {
            let at = from + found;
            let rest = &text[at..];
            let end = rest.find(')').unwrap_or(rest.len());
            let matches = argument.is_none_or(|arg| {
                rest[..end].contains(&format!("'{arg}'"))
                    || rest[..end].contains(&format!("\"{arg}\""))
            });
            if matches {
                return Location::at_offset(&file.path, text, at);
            }
            from = at + call.len();
        }
    }
    Location::new(&file.path, 1, 1)
}
