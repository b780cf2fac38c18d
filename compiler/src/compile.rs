//! Compiling a project: parse every node (refs, sources, config), name the relations, build and
//! check the graph, then render the final SQL — the same two phases as dbt.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use minijinja::Value;
use rayon::prelude::*;
use serde_json::Value as Json;

use crate::config::types::{Checker, NodeKind, check_model};
use crate::config::{self, Config};
use crate::data_tests::{looks_like_function, synthesize_test_name};
use crate::error::{Diagnostic, Location, Result};
use crate::graph::{Graph, GraphNode, Kind};
use crate::jinja::context::{
    Captured, Phase, RefCall, RenderNode, Resolved, Shared, VarMode, search_name,
};
use crate::jinja::objects::{Relation, deferred_marker, lock, replace_deferred, replace_relations};
use crate::jinja::{Engine, GENERIC_TEST_TEMPLATE, NAMING_TEMPLATES};
use crate::profile::{self, Target};
use crate::project::{Project, SourceFile};
use crate::properties::{self, Properties, SourceTable, TestSpec};
use crate::values::{json_scalar_text, json_to_jinja};
use crate::vars::{self, VarBinding, Vars};

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub project_dir: PathBuf,
    pub profiles_dir: Option<PathBuf>,
    pub target: Option<String>,
    pub vars: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CompiledModel {
    pub name: String,
    pub file: String,
    pub relation: Relation,
    pub config: Config,
    pub description: String,
    pub column_descriptions: BTreeMap<String, String>,
    /// Ref-ed models and seeds by name, and sources, in first-use order.
    pub refs: Vec<String>,
    pub sources: Vec<(String, String)>,
    /// SQL as dbt compiles it (deferred vars at their project values).
    pub sql: String,
    /// SQL with deferred vars as markers (see [`crate::jinja::objects::deferred_marker`]).
    pub sql_with_markers: String,
    /// An incremental model's SQL with `is_incremental()` true (markers as above), when it
    /// differs from the full build's.
    pub incremental_sql_with_markers: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CompiledSeed {
    pub name: String,
    pub file: String,
    pub absolute: PathBuf,
    pub relation: Relation,
    pub config: Config,
}

#[derive(Debug, Clone)]
pub struct CompiledSource {
    pub table: SourceTable,
    pub relation: Relation,
}

/// A node a test reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeRef {
    Model(String),
    Seed(String),
    Source(String, String),
}

#[derive(Debug, Clone)]
pub struct CompiledTest {
    /// dbt's (possibly hashed) test name, also the compiled file's name.
    pub name: String,
    /// Where dbt writes it under target/compiled/<project>/.
    pub compiled_path: String,
    /// The yml or SQL file that defines it.
    pub file: String,
    pub depends_on: Vec<NodeRef>,
    pub config: Config,
    pub sql: String,
    pub sql_with_markers: String,
}

#[derive(Debug)]
pub struct Compiled {
    pub project: Project,
    pub target: Target,
    pub models: Vec<CompiledModel>,
    pub seeds: Vec<CompiledSeed>,
    pub sources: Vec<CompiledSource>,
    pub tests: Vec<CompiledTest>,
    /// Deferred vars some node used, with their defaults.
    pub deferred_vars: BTreeMap<String, Json>,
    pub graph: Graph,
}

/// A node to render: a model or a singular test.
struct Renderable<'a> {
    file: &'a SourceFile,
    name: String,
    /// `v` of a model version (then `name` is the model's name, without the suffix).
    version: Option<String>,
    resource_type: &'static str,
    fqn: Vec<String>,
    config: Config,
    description: String,
}

impl Renderable<'_> {
    /// dbt's `search_name`: the name refs resolve by, `name` or `name.v<version>`.
    fn key(&self) -> String {
        search_name(&self.name, self.version.as_deref())
    }
}

/// A node's final SQL, as dbt compiles it and with deferred-var markers.
struct RenderedSql {
    sql: String,
    sql_with_markers: String,
    deferred_vars: BTreeSet<String>,
}

struct Parsed {
    config: Config,
    captured: Captured,
    /// The parse render, with relation markers; it becomes the compiled SQL unless `observed`.
    output: String,
    observed: bool,
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

pub fn compile(options: &Options) -> Result<Compiled> {
    let timings = Timings::new();
    let project = Project::load(&options.project_dir)?;
    timings.mark("read project files");
    crate::packages::check(&options.project_dir)?;
    let checker = Checker::new(&project.macros);
    for (kind, tree, root) in [
        (NodeKind::Model, &project.models_tree, "models"),
        (NodeKind::Seed, &project.seeds_tree, "seeds"),
        (NodeKind::Test, &project.tests_tree, project.tests_tree_key),
    ] {
        config::check_tree(&checker, kind, tree, root, &project.file_text)?;
    }
    let target = profile::load_target(&profile::ProfileRequest {
        project_dir: &options.project_dir,
        project_text: &project.file_text,
        profiles_dir: options.profiles_dir.as_deref(),
        profile: &project.profile,
        target: options.target.as_deref(),
    })?;
    let cli_vars = vars::parse_cli_vars(options.vars.as_deref())?;
    let vars = Vars::new(&project.vars, &project.name, cli_vars);
    let props = properties::parse(&project.properties, &checker)?;
    timings.mark("read properties yml");
    let compiler = Compiler::new(project, target, vars, props, checker, timings)?;
    compiler.timings.mark("prepare templates");
    compiler.run()
}

struct Compiler {
    timings: Timings,
    /// Source relations, known before parsing (sources come from yml).
    source_relations: Arc<Resolved>,
    project: Project,
    target: Target,
    props: Properties,
    shared: Arc<Shared>,
    engine: Engine,
}

fn model_name(path: &str) -> String {
    Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `[project, folders..., name]` for a file under one of `roots`.
fn fqn_of(project: &str, roots: &[String], path: &str) -> Vec<String> {
    let relative = roots
        .iter()
        .find_map(|root| path.strip_prefix(&format!("{root}/")))
        .unwrap_or(path);
    let mut fqn = vec![project.to_string()];
    let mut parts: Vec<&str> = relative.split('/').collect();
    let file = parts.pop().unwrap_or_default();
    fqn.extend(parts.iter().map(|p| p.to_string()));
    fqn.push(model_name(file));
    fqn
}

impl Compiler {
    fn new(
        project: Project,
        target: Target,
        vars: Vars,
        props: Properties,
        checker: Checker,
        timings: Timings,
    ) -> Result<Compiler> {
        let nodes: Vec<&SourceFile> = project
            .models
            .iter()
            .chain(&project.singular_tests)
            .collect();
        let engine = Engine::new(&project.name, &project.macros, &nodes)?;
        let target_value = json_to_jinja(&Json::Object(target.fields.clone()));
        let shared = Arc::new(Shared {
            project_name: project.name.clone(),
            target: target_value,
            target_database: target.database.clone(),
            target_schema: target.schema.clone(),
            vars,
            registry: engine.registry.clone(),
            checker,
        });
        let mut source_relations = Resolved::default();
        for table in &props.sources {
            source_relations.sources.insert(
                (table.source_name.clone(), table.table_name.clone()),
                source_relation(table, &target),
            );
        }
        let source_relations = Arc::new(source_relations);
        Ok(Compiler {
            timings,
            source_relations,
            project,
            target,
            props,
            shared,
            engine,
        })
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
            unique_id: format!("{}.{}.{}", r.resource_type, self.project.name, r.key()),
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
    }

    fn run(self) -> Result<Compiled> {
        let project_name = self.project.name.clone();
        self.engine.check_templates()?;
        self.timings.mark("compile templates");

        // Models and singular tests, with their configs from the project tree and properties.
        let mut renderables = Vec::new();
        let mut names: HashMap<String, String> = HashMap::new();
        let versioned = self.versioned_files();
        for file in &self.project.models {
            let stem = model_name(&file.path);
            let (name, version) = match versioned.get(&stem) {
                Some((name, v)) => (name.clone(), Some(v.clone())),
                None => (stem, None),
            };
            let key = search_name(&name, version.as_deref());
            if let Some(other) = names.insert(key.clone(), file.path.clone()) {
                return Err(Diagnostic::new(format!(
                    "two models are named '{key}': {other} and {}",
                    file.path
                ))
                .model(&key)
                .in_file(&file.path)
                .help("model names must be unique across the project; rename one file"));
            }
            let mut fqn = fqn_of(&project_name, &self.project.model_paths, &file.path);
            if let Some(v) = &version {
                // dbt: the last part is the model's name, then `v<version>`.
                if let Some(last) = fqn.last_mut() {
                    *last = name.clone();
                }
                fqn.push(format!("v{v}"));
            }
            let fqn_refs: Vec<&str> = fqn.iter().map(String::as_str).collect();
            let mut config = Config::from([("materialized".to_string(), Json::from("view"))]);
            config::merge_all(
                &mut config,
                &config::tree_config(&self.project.models_tree, &fqn_refs)
                    .into_iter()
                    .collect(),
            );
            let mut description = String::new();
            if let Some(p) = self.model_props(&name, version.as_deref()) {
                config::merge_all(&mut config, &p.config);
                description = p.description.clone();
            }
            renderables.push(Renderable {
                file,
                name,
                version,
                resource_type: "model",
                fqn,
                config,
                description,
            });
        }
        let model_count = renderables.len();
        for file in &self.project.singular_tests {
            let name = model_name(&file.path);
            let fqn = vec![project_name.clone(), name.clone()];
            let fqn_refs: Vec<&str> = fqn.iter().map(String::as_str).collect();
            let config = config::tree_config(&self.project.tests_tree, &fqn_refs);
            renderables.push(Renderable {
                file,
                name,
                version: None,
                resource_type: "test",
                fqn,
                config,
                description: String::new(),
            });
        }

        // Phase 1 (dbt's parse): record refs, sources and config() calls.
        let parsed: Vec<Result<Parsed>> = renderables
            .par_iter()
            .map(|r| {
                let node = RenderNode {
                    resolved: Some(self.source_relations.clone()),
                    ..Arc::unwrap_or_clone(self.node(
                        r,
                        Phase::Parse,
                        VarMode::Markers,
                        self.placeholder_relation(&r.name),
                    ))
                };
                let node = Arc::new(node);
                let output = self.engine.render(&r.file.path, &node)?;
                let config = std::mem::take(&mut *lock(&node.config));
                let captured = std::mem::take(&mut *lock(&node.captured));
                let observed = node.observed.load(Ordering::Relaxed);
                Ok(Parsed {
                    config,
                    captured,
                    output,
                    observed,
                })
            })
            .collect();
        let mut parsed_nodes = Vec::with_capacity(parsed.len());
        for result in parsed {
            parsed_nodes.push(result?);
        }

        // Seeds.
        let mut seeds = Vec::new();
        for seed in &self.project.seeds {
            let name = model_name(&seed.path);
            if let Some(other) = names.insert(name.clone(), seed.path.clone()) {
                return Err(Diagnostic::new(format!(
                    "a seed and a model are both named '{name}': {other} and {}",
                    seed.path
                ))
                .in_file(&seed.path)
                .help("seeds are ref-able like models, so names must be unique; rename one"));
            }
            let fqn = vec![project_name.clone(), name.clone()];
            let fqn_refs: Vec<&str> = fqn.iter().map(String::as_str).collect();
            let mut config = config::tree_config(&self.project.seeds_tree, &fqn_refs);
            if let Some(p) = self.props.seeds.get(&name) {
                config::merge_all(&mut config, &p.config);
            }
            seeds.push((seed, name, fqn, config));
        }

        for (r, p) in renderables.iter().zip(&parsed_nodes).take(model_count) {
            if !enabled(&p.config) {
                continue;
            }
            if let Err((key, invalid)) = check_model(&p.config) {
                return Err(Diagnostic::new(invalid.message)
                    .model(r.key())
                    .at(self.config_origin(r, key))
                    .help(invalid.help));
            }
        }
        for (seed, name, _, config) in &seeds {
            if !enabled(config) {
                continue;
            }
            let delimiter = match config::as_str(config, "delimiter") {
                None => b',',
                Some(d) if d.len() == 1 => d.as_bytes()[0],
                Some(d) => {
                    return Err(Diagnostic::new(format!(
                        "seed '{name}' has delimiter '{d}'; a delimiter is one character"
                    ))
                    .at(Location::new(&seed.path, 1, 1))
                    .help("set delimiter to a single character such as ',' or ';'"));
                }
            };
            crate::seeds::check(seed, delimiter)?;
        }

        self.timings.mark("parse phase");
        // Relation names (generate_database_name / generate_schema_name / generate_alias_name).
        let mut resolved = Resolved::default();
        let mut model_relations = Vec::with_capacity(model_count);
        for (r, p) in renderables.iter().zip(&parsed_nodes).take(model_count) {
            if !enabled(&p.config) {
                model_relations.push(None);
                continue;
            }
            let kind = if config::as_str(&p.config, "materialized") == Some("view") {
                "view"
            } else {
                "table"
            };
            let relation = self.name_relation(
                r.name.as_str(),
                r.version.as_deref(),
                &r.file.path,
                &r.fqn,
                "model",
                &p.config,
                kind,
            )?;
            if let Some(v) = &r.version
                && self
                    .props
                    .models
                    .get(&r.name)
                    .is_some_and(|props| props.latest_version.as_ref() == Some(v))
            {
                // `ref('m')` without a version is the latest version.
                resolved.nodes.insert(r.name.clone(), relation.clone());
                resolved.latest.insert(r.name.clone(), r.key());
            }
            resolved.nodes.insert(r.key(), relation.clone());
            model_relations.push(Some(relation));
        }
        let mut compiled_seeds = Vec::new();
        for (seed, name, fqn, config) in seeds {
            if !enabled(&config) {
                continue;
            }
            let relation =
                self.name_relation(&name, None, &seed.path, &fqn, "seed", &config, "table")?;
            resolved.nodes.insert(name.clone(), relation.clone());
            compiled_seeds.push(CompiledSeed {
                name,
                file: seed.path.clone(),
                absolute: seed.absolute.clone(),
                relation,
                config,
            });
        }
        let mut compiled_sources = Vec::new();
        for table in &self.props.sources {
            let relation = source_relation(table, &self.target);
            resolved.sources.insert(
                (table.source_name.clone(), table.table_name.clone()),
                relation.clone(),
            );
            compiled_sources.push(CompiledSource {
                table: table.clone(),
                relation,
            });
        }
        let mut named = Vec::new();
        for (i, r) in renderables.iter().enumerate().take(model_count) {
            if let Some(relation) = &model_relations[i] {
                named.push(crate::names::Named {
                    kind: "model",
                    name: r.key(),
                    file: &r.file.path,
                    relation,
                    location: self.naming_origin(r),
                });
            }
        }
        for seed in &compiled_seeds {
            named.push(crate::names::Named {
                kind: "seed",
                name: seed.name.clone(),
                file: &seed.file,
                relation: &seed.relation,
                location: Location::new(&seed.file, 1, 1),
            });
        }
        if let Some(error) = crate::names::check(&named).into_iter().next() {
            return Err(error);
        }
        drop(named);
        let resolved = Arc::new(resolved);

        self.timings.mark("relation names");
        // The graph, with refs and sources checked.
        let mut graph = Graph::default();
        for source in &compiled_sources {
            let t = &source.table;
            graph.add(GraphNode {
                kind: Kind::Source,
                name: format!("{}.{}", t.source_name, t.table_name),
                unique_id: source_id(&project_name, &t.source_name, &t.table_name),
                file: t.location.file.clone(),
                fqn: vec![
                    project_name.clone(),
                    t.source_name.clone(),
                    t.table_name.clone(),
                ],
                tags: Vec::new(),
            });
        }
        for seed in &compiled_seeds {
            graph.add(GraphNode {
                kind: Kind::Seed,
                name: seed.name.clone(),
                unique_id: format!("seed.{project_name}.{}", seed.name),
                file: seed.file.clone(),
                fqn: vec![project_name.clone(), seed.name.clone()],
                tags: config::as_string_list(seed.config.get("tags")),
            });
        }
        let mut graph_index = vec![None; renderables.len()];
        for (i, r) in renderables.iter().enumerate() {
            let p = &parsed_nodes[i];
            if !enabled(&p.config) {
                continue;
            }
            let kind = if i < model_count {
                Kind::Model
            } else {
                Kind::Test
            };
            graph_index[i] = Some(graph.add(GraphNode {
                kind,
                name: r.key(),
                unique_id: format!("{}.{project_name}.{}", kind.as_str(), r.key()),
                file: r.file.path.clone(),
                fqn: r.fqn.clone(),
                tags: config::as_string_list(p.config.get("tags")),
            }));
        }
        for (i, r) in renderables.iter().enumerate() {
            let Some(index) = graph_index[i] else {
                continue;
            };
            let p = &parsed_nodes[i];
            for call in &p.captured.refs {
                let parent = self.ref_parent(&graph, &resolved, r, call)?;
                graph.connect(parent, index);
            }
            for (source_name, table_name) in &p.captured.sources {
                let Some(parent) = graph.index(&source_id(&project_name, source_name, table_name))
                else {
                    return Err(Diagnostic::new(format!(
                        "'{}' depends on a source named '{source_name}.{table_name}' which was not found",
                        r.name
                    ))
                    .model(&r.name)
                    .at(locate_call(r.file, &["source(", "source ("], Some(table_name)))
                    .help(format!(
                        "declare it in a properties yml: sources: [{{name: {source_name}, tables: [{{name: {table_name}}}]}}]"
                    )));
                };
                graph.connect(parent, index);
            }
        }
        if let Some(cycle) = graph.find_cycle() {
            let names: Vec<&str> = cycle
                .iter()
                .map(|&i| graph.nodes[i].name.as_str())
                .collect();
            let first = &graph.nodes[cycle[0]];
            let next = &graph.nodes[cycle[1]];
            let file = renderables
                .iter()
                .find(|r| r.file.path == next.file)
                .map(|r| r.file);
            let location = match file {
                Some(file) => locate_call(file, &["ref("], Some(&first.name)),
                None => Location::new(&next.file, 1, 1),
            };
            return Err(
                Diagnostic::new(format!("found a cycle: {}", names.join(" -> ")))
                    .model(&next.name)
                    .at(location)
                    .help("models cannot depend on themselves; remove one of these refs"),
            );
        }

        self.timings.mark("graph");
        // Generic tests from properties (their arguments are parsed here too).
        let generic = self.generic_tests(&resolved)?;
        for test in &generic {
            let index = graph.add(GraphNode {
                kind: Kind::Test,
                name: test.name.clone(),
                unique_id: format!("test.{project_name}.{}", test.name),
                file: test.spec.file.clone(),
                fqn: vec![project_name.clone(), test.name.clone()],
                tags: config::as_string_list(test.config.get("tags")),
            });
            for parent in &test.depends_on {
                if let Some(p) = graph.index(&node_ref_id(&project_name, parent)) {
                    graph.connect(p, index);
                }
            }
        }

        self.timings.mark("generic test specs");
        // Phase 2 (dbt's compile): render with every relation resolved.
        type Rendered = (Result<RenderedSql>, Option<Result<RenderedSql>>);
        let rendered: Vec<Option<Rendered>> = renderables
            .par_iter()
            .enumerate()
            .map(|(i, r)| {
                let p = &parsed_nodes[i];
                if !enabled(&p.config) {
                    return None;
                }
                let this = match model_relations.get(i) {
                    Some(Some(relation)) => relation.clone(),
                    _ => self.placeholder_relation(&r.name),
                };
                let parsed_refs: HashSet<String> =
                    p.captured.refs.iter().map(RefCall::key).collect();
                let make = |mode: VarMode| {
                    let mut node = RenderNode {
                        resolved: Some(resolved.clone()),
                        parsed_refs: Some(parsed_refs.clone()),
                        ..Arc::unwrap_or_clone(self.node(r, Phase::Compile, mode, this.clone()))
                    };
                    node.config = Mutex::new(p.config.clone());
                    Ok(Arc::new(node))
                };
                // Most models only write refs into their SQL: then the parse render, with the
                // relation markers replaced, is exactly what a second render would produce.
                let reused = if p.observed {
                    None
                } else {
                    replace_relations(&p.output, |name| {
                        if name.is_empty() {
                            Some(this.rendered())
                        } else {
                            resolved.nodes.get(name).map(Relation::rendered)
                        }
                    })
                    .map(|sql| (sql, p.captured.deferred_vars.clone()))
                };
                let full = self.render_checked(&r.name, &r.file.path, &make, reused);
                let incremental = (i < model_count
                    && config::as_str(&p.config, "materialized") == Some("incremental"))
                .then(|| {
                    let make_incremental = |mode: VarMode| {
                        let mut node = Arc::unwrap_or_clone(make(mode)?);
                        node.extra
                            .push((crate::jinja::functions::INCREMENTAL_FLAG, true.into()));
                        Ok(Arc::new(node))
                    };
                    self.render_checked(&r.name, &r.file.path, &make_incremental, None)
                });
                Some((full, incremental))
            })
            .collect();

        let mut models = Vec::new();
        let mut tests = Vec::new();
        let mut deferred_used = BTreeSet::new();
        for (i, result) in rendered.into_iter().enumerate() {
            let Some((result, incremental)) = result else {
                continue;
            };
            let RenderedSql {
                sql,
                sql_with_markers,
                deferred_vars: used,
            } = result?;
            if i < model_count && is_blank_sql(&sql) {
                let r = &renderables[i];
                return Err(Diagnostic::new(format!("model '{}' has no SQL", r.key()))
                    .model(r.key())
                    .at(Location::new(&r.file.path, 1, 1))
                    .help("a model is one select statement; write it, or delete the file"));
            }
            deferred_used.extend(used);
            let incremental_sql_with_markers = match incremental.transpose()? {
                Some(rendered) => {
                    deferred_used.extend(rendered.deferred_vars);
                    (rendered.sql_with_markers != sql_with_markers)
                        .then_some(rendered.sql_with_markers)
                }
                None => None,
            };
            let r = &renderables[i];
            let p = &parsed_nodes[i];
            if i < model_count {
                let relation = model_relations[i]
                    .clone()
                    .ok_or_else(|| Diagnostic::new("internal: unnamed model"))?;
                let mut refs = Vec::new();
                for call in &p.captured.refs {
                    let key = resolved.target_key(call);
                    if !refs.contains(&key) {
                        refs.push(key);
                    }
                }
                let mut sources = Vec::new();
                for source in &p.captured.sources {
                    if !sources.contains(source) {
                        sources.push(source.clone());
                    }
                }
                let props = self.model_props(&r.name, r.version.as_deref());
                models.push(CompiledModel {
                    name: r.key(),
                    file: r.file.path.clone(),
                    relation,
                    config: p.config.clone(),
                    description: r.description.clone(),
                    column_descriptions: props
                        .map(|p| {
                            p.columns
                                .iter()
                                .filter(|c| !c.description.is_empty())
                                .map(|c| (c.name.clone(), c.description.clone()))
                                .collect()
                        })
                        .unwrap_or_default(),
                    refs,
                    sources,
                    sql,
                    sql_with_markers,
                    incremental_sql_with_markers,
                });
            } else {
                let mut depends_on = Vec::new();
                for call in &p.captured.refs {
                    depends_on.push(self.node_ref(&resolved, &resolved.target_key(call)));
                }
                for (s, t) in &p.captured.sources {
                    depends_on.push(NodeRef::Source(s.clone(), t.clone()));
                }
                depends_on.sort();
                depends_on.dedup();
                tests.push(CompiledTest {
                    name: r.name.clone(),
                    compiled_path: r.file.path.clone(),
                    file: r.file.path.clone(),
                    depends_on,
                    config: p.config.clone(),
                    sql,
                    sql_with_markers,
                });
            }
        }
        self.timings.mark("compile phase (models)");
        let generic_rendered: Vec<Result<CompiledTest>> = generic
            .par_iter()
            .map(|test| self.render_generic_test(test, &resolved))
            .collect();
        for result in generic_rendered {
            let test = result?;
            deferred_used.extend(test_deferred(&test));
            tests.push(test);
        }
        let mut seen_tests = HashSet::new();
        for test in &tests {
            if !seen_tests.insert(test.name.clone()) {
                return Err(
                    Diagnostic::new(format!("two tests are named '{}'", test.name))
                        .in_file(&test.file)
                        .help("give one of them a different `name:` in the yml"),
                );
            }
        }

        self.timings.mark("compile phase (generic tests)");
        let mut deferred_vars = BTreeMap::new();
        for name in deferred_used {
            if let VarBinding::Deferred(value) = self.shared.vars.binding(&name) {
                deferred_vars.insert(name, value);
            }
        }
        for model in &models {
            check_config_markers(model)?;
        }

        Ok(Compiled {
            project: self.project,
            target: self.target,
            models,
            seeds: compiled_seeds,
            sources: compiled_sources,
            tests,
            deferred_vars,
            graph,
        })
    }

    /// Where a model's `key` config is set: its `config()` call, its properties yml, or the
    /// deepest level of the project tree along its folders; else the model file.
    fn config_origin(&self, r: &Renderable, key: &str) -> Location {
        let text = &r.file.text;
        let mut from = 0;
        while let Some(found) = text[from..].find(key) {
            let at = from + found;
            let after = text[at + key.len()..].trim_start();
            if after.starts_with('=') && !after.starts_with("==") {
                return Location::at_offset(&r.file.path, text, at);
            }
            from = at + key.len();
        }
        if let Some(props) = self.model_props(&r.name, r.version.as_deref())
            && props.config.contains_key(key)
            && let Some(file) = self
                .project
                .properties
                .iter()
                .find(|f| f.path == props.file)
        {
            return crate::yaml::locate(
                &file.path,
                &file.text,
                &[
                    crate::yaml::Step::key("models"),
                    crate::yaml::Step::named(&r.name),
                    crate::yaml::Step::key("config"),
                    crate::yaml::Step::key(key),
                ],
            );
        }
        for depth in (0..=r.fqn.len()).rev() {
            let mut level = &self.project.models_tree;
            let mut path = vec![crate::yaml::Step::key("models")];
            let mut found = true;
            for part in &r.fqn[..depth] {
                match level.get(part) {
                    Some(next @ Json::Object(_)) => {
                        level = next;
                        path.push(crate::yaml::Step::key(part));
                    }
                    _ => {
                        found = false;
                        break;
                    }
                }
            }
            if !found {
                continue;
            }
            for spelled in [format!("+{key}"), key.to_string()] {
                if level.get(&spelled).is_some_and(|v| !v.is_object()) {
                    path.push(crate::yaml::Step::Key(spelled));
                    return crate::yaml::locate(
                        crate::project::PROJECT_FILE,
                        &self.project.file_text,
                        &path,
                    );
                }
            }
        }
        Location::new(&r.file.path, 1, 1)
    }

    /// Where a model's relation name comes from: its alias or schema config, or its file.
    fn naming_origin(&self, r: &Renderable) -> Location {
        for key in ["alias", "schema"] {
            let location = self.config_origin(r, key);
            if location != Location::new(&r.file.path, 1, 1) {
                return location;
            }
        }
        Location::new(&r.file.path, 1, 1)
    }

    /// Model files that define a version: file stem → (model name, `v`). As in dbt, a version
    /// lives in `defined_in`, else `<model>_v<v>`; the latest may also be `<model>` itself.
    fn versioned_files(&self) -> HashMap<String, (String, String)> {
        let stems: HashSet<String> = self
            .project
            .models
            .iter()
            .map(|f| model_name(&f.path))
            .collect();
        let mut out = HashMap::new();
        for (name, props) in &self.props.models {
            for version in &props.versions {
                let mut stem = version
                    .defined_in
                    .clone()
                    .unwrap_or_else(|| format!("{name}_v{}", version.v));
                if !stems.contains(&stem) && props.latest_version.as_ref() == Some(&version.v) {
                    stem = name.clone();
                }
                // A version without a file is skipped (dbt warns).
                if stems.contains(&stem) {
                    out.insert(stem, (name.clone(), version.v.clone()));
                }
            }
        }
        out
    }

    /// The properties of a model, or of one of its versions.
    fn model_props(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Option<&properties::NodeProperties> {
        let props = self.props.models.get(name)?;
        match version {
            Some(v) => props.versions.iter().find(|x| x.v == v).map(|x| &x.props),
            // The yml of a versioned model describes its versions, not a same-named file.
            None if !props.versions.is_empty() => None,
            None => Some(props),
        }
    }

    fn node_ref(&self, resolved: &Resolved, name: &str) -> NodeRef {
        if self
            .project
            .seeds
            .iter()
            .any(|s| model_name(&s.path) == name)
            && resolved.nodes.contains_key(name)
        {
            NodeRef::Seed(name.to_string())
        } else {
            NodeRef::Model(name.to_string())
        }
    }

    fn ref_parent(
        &self,
        graph: &Graph,
        resolved: &Resolved,
        r: &Renderable,
        call: &RefCall,
    ) -> Result<usize> {
        let key = resolved.target_key(call);
        let id = node_ref_id(&self.project.name, &self.node_ref(resolved, &key));
        let found = graph
            .index(&id)
            .or_else(|| graph.index(&format!("model.{}.{key}", self.project.name)));
        if let (None, Some(version)) = (found, &call.version) {
            let (what, help) = match self.props.models.get(&call.name) {
                Some(props) if !props.versions.is_empty() => {
                    let all: Vec<&str> = props.versions.iter().map(|v| v.v.as_str()).collect();
                    (
                        format!(
                            "model '{}' has no version '{version}'; its versions are: {}",
                            call.name,
                            all.join(", ")
                        ),
                        format!(
                            "ref one of those versions, or ref('{}') for the latest",
                            call.name
                        ),
                    )
                }
                _ => (
                    format!("model '{}' is not versioned", call.name),
                    format!(
                        "drop the version argument, or declare `versions:` for '{}' in a properties yml",
                        call.name
                    ),
                ),
            };
            return Err(Diagnostic::new(format!(
                "'{}' depends on a node named '{}' with version '{version}' which was not found: {what}",
                r.key(),
                call.name
            ))
            .model(r.key())
            .at(locate_call(r.file, &["ref("], Some(&call.name)))
            .help(help));
        }
        found.ok_or_else(|| {
            Diagnostic::new(format!(
                "'{}' depends on a node named '{}' which was not found",
                r.key(),
                call.name
            ))
            .model(r.key())
            .at(locate_call(r.file, &["ref("], Some(&call.name)))
            .help(format!(
                "create models/…/{}.sql or a seed of that name, or fix the ref",
                call.name
            ))
        })
    }

    /// Runs the project's (or the built-in) naming macros for a node.
    #[allow(clippy::too_many_arguments)]
    fn name_relation(
        &self,
        name: &str,
        version: Option<&str>,
        file: &str,
        fqn: &[String],
        resource_type: &'static str,
        config: &Config,
        kind: &'static str,
    ) -> Result<Relation> {
        let custom = |key: &str| config.get(key).and_then(json_scalar_text);
        let node_for = |this: Relation| {
            let renderable_file = SourceFile {
                path: file.to_string(),
                text: String::new(),
            };
            let r = Renderable {
                file: &renderable_file,
                name: name.to_string(),
                version: version.map(str::to_string),
                resource_type,
                fqn: fqn.to_vec(),
                config: config.clone(),
                description: String::new(),
            };
            self.node(&r, Phase::Parse, VarMode::Markers, this)
        };
        let mut values = Vec::new();
        for (template, function) in NAMING_TEMPLATES {
            let key = match function {
                "generate_schema_name" => "schema",
                "generate_alias_name" => "alias",
                _ => "database",
            };
            let custom_value = custom(key);
            let overridden = self.engine.registry.is_overridden(function)
                || self
                    .engine
                    .registry
                    .is_overridden(&format!("default__{function}"))
                || self
                    .engine
                    .registry
                    .is_overridden(&format!("athena__{function}"));
            let value = if !overridden {
                // The built-in rules, without a template round trip (this runs for every node).
                match (key, custom_value) {
                    ("schema", None) => self.target.schema.clone(),
                    ("schema", Some(c)) => format!("{}_{}", self.target.schema, c.trim()),
                    ("alias", Some(c)) if !c.is_empty() => c.trim().to_string(),
                    ("alias", _) => match version {
                        Some(v) => format!("{name}_v{}", v.replace('.', "_")),
                        None => name.to_string(),
                    },
                    (_, None) => self.target.database.clone(),
                    (_, Some(c)) => c,
                }
            } else {
                let base = node_for(self.placeholder_relation(name));
                let node_value = {
                    let ctx = Value::from_object(crate::jinja::context::NodeContext(base.clone()));
                    ctx.get_attr("model").unwrap_or_default()
                };
                let node = Arc::new(RenderNode {
                    extra: vec![
                        (
                            "__mdw_custom_name",
                            custom_value
                                .map(Value::from)
                                .unwrap_or_else(|| Value::from(())),
                        ),
                        ("__mdw_node", node_value),
                    ],
                    ..Arc::unwrap_or_clone(base)
                });
                let rendered = self.engine.render(template, &node).map_err(|mut d| {
                    if d.location.is_none() {
                        d = d.in_file(file);
                    }
                    d.model(name)
                })?;
                rendered.trim().to_string()
            };
            if value.contains(crate::jinja::objects::DEFERRED_START) {
                return Err(Diagnostic::new(format!(
                    "the {key} name of '{name}' depends on a var deferred to Terraform"
                ))
                .model(name)
                .in_file(file)
                .help("relation names are fixed at compile time: bind the var with --vars"));
            }
            if value.is_empty() {
                return Err(Diagnostic::new(format!(
                    "{function} returned an empty name for '{name}'"
                ))
                .model(name)
                .in_file(file)
                .help(format!("make {function} return a non-empty name")));
            }
            values.push(value);
        }
        let (schema, alias, database) = (&values[0], &values[1], &values[2]);
        Ok(Relation::new(database, schema, alias, kind))
    }

    /// Renders a node for compile. A node that uses deferred vars is rendered three times:
    /// with markers (for Terraform), with the project values (for target/compiled, equal to
    /// dbt's), and with probe values; unless the marker render equals both value renders after
    /// substitution, a deferred var decided something other than text, which is an error.
    fn render_checked(
        &self,
        name: &str,
        template: &str,
        make: &dyn Fn(VarMode) -> Result<Arc<RenderNode>>,
        reused: Option<(String, BTreeSet<String>)>,
    ) -> Result<RenderedSql> {
        let (marked, used) = match reused {
            Some((marked, used)) => (Ok(marked), used),
            None => {
                let marker_node = make(VarMode::Markers)?;
                let marked = self.engine.render(template, &marker_node);
                let used = std::mem::take(&mut lock(&marker_node.captured).deferred_vars);
                (marked, used)
            }
        };
        if used.is_empty() {
            let sql = marked?;
            return Ok(RenderedSql {
                sql_with_markers: sql.clone(),
                sql,
                deferred_vars: used,
            });
        }
        let value_node = make(VarMode::Values)?;
        let valued = self.engine.render(template, &value_node)?;
        let marked = match marked {
            Ok(marked) => marked,
            Err(_) => return Err(self.deferred_error(name, template, &used)),
        };
        let probe = self.engine.render(template, &make(VarMode::Probe)?);
        let substituted = |mode: VarMode| {
            replace_deferred(&marked, |var| match self.shared.vars.binding(var) {
                VarBinding::Deferred(value) => {
                    let value = if mode == VarMode::Probe {
                        crate::jinja::context::probe_value(&value)
                    } else {
                        value
                    };
                    json_scalar_text(&value).unwrap_or_default()
                }
                _ => deferred_marker(var),
            })
        };
        let consistent = substituted(VarMode::Values) == valued
            && probe.is_ok_and(|probe| substituted(VarMode::Probe) == probe);
        if !consistent {
            return Err(self.deferred_error(name, template, &used));
        }
        Ok(RenderedSql {
            sql: valued,
            sql_with_markers: marked,
            deferred_vars: used,
        })
    }

    fn deferred_error(&self, name: &str, template: &str, used: &BTreeSet<String>) -> Diagnostic {
        let var = used.iter().next().cloned().unwrap_or_default();
        let text = self
            .project
            .models
            .iter()
            .chain(&self.project.singular_tests)
            .find(|f| f.path == template)
            .map(|f| f.text.as_str())
            .unwrap_or_default();
        let location = [format!("var('{var}'"), format!("var(\"{var}\"")]
            .iter()
            .find_map(|needle| text.find(needle.as_str()))
            .map(|offset| Location::at_offset(template, text, offset))
            .unwrap_or_else(|| Location::new(template, 1, 1));
        Diagnostic::new(format!(
            "var '{var}' is deferred to Terraform (not bound by --vars), but its value decides more than the SQL text here"
        ))
        .model(name)
        .at(location)
        .help(format!(
            "a deferred var can only be substituted into the SQL; bind it at compile time: --vars '{{{var}: ...}}'"
        ))
    }

    fn generic_tests(&self, resolved: &Arc<Resolved>) -> Result<Vec<GenericTest>> {
        let mut specs: Vec<(TestOwner, &TestSpec)> = Vec::new();
        for (name, props) in &self.props.models {
            // A versioned model's tests run against each version (dbt's parse_versioned_tests).
            for version in &props.versions {
                if !resolved
                    .nodes
                    .contains_key(&search_name(name, Some(&version.v)))
                {
                    continue;
                }
                let p = &version.props;
                for spec in p
                    .tests
                    .iter()
                    .chain(p.columns.iter().flat_map(|c| &c.tests))
                {
                    specs.push((TestOwner::Version(name.clone(), version.v.clone()), spec));
                }
            }
            if !props.versions.is_empty() || !resolved.nodes.contains_key(name) {
                continue; // docs for a model that does not exist (or is disabled): dbt warns only
            }
            for spec in props
                .tests
                .iter()
                .chain(props.columns.iter().flat_map(|c| &c.tests))
            {
                specs.push((TestOwner::Node(name.clone(), "model"), spec));
            }
        }
        for (name, props) in &self.props.seeds {
            if !resolved.nodes.contains_key(name) {
                continue;
            }
            for spec in props
                .tests
                .iter()
                .chain(props.columns.iter().flat_map(|c| &c.tests))
            {
                specs.push((TestOwner::Node(name.clone(), "seed"), spec));
            }
        }
        for table in &self.props.sources {
            for spec in table
                .tests
                .iter()
                .chain(table.columns.iter().flat_map(|c| &c.tests))
            {
                specs.push((
                    TestOwner::Source(table.source_name.clone(), table.table_name.clone()),
                    spec,
                ));
            }
        }
        // In parallel, in a fixed order: the first error is the same on every run.
        specs
            .into_par_iter()
            .map(|(owner, spec)| self.generic_test(owner, spec, resolved))
            .collect()
    }

    fn generic_test(
        &self,
        owner: TestOwner,
        spec: &TestSpec,
        resolved: &Arc<Resolved>,
    ) -> Result<GenericTest> {
        let (namespace, test_type) = match spec.test_name.split_once('.') {
            Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
            None => (None, spec.test_name.clone()),
        };
        let macro_name = format!("test_{test_type}");
        if self.engine.registry.callable(&macro_name).is_none() {
            let what = match &namespace {
                Some(ns) => format!(
                    "generic test '{ns}.{test_type}' comes from package '{ns}', which is not installed"
                ),
                None => format!("unknown generic test '{test_type}'"),
            };
            return Err(Diagnostic::new(what)
                .model(owner.display())
                .at(spec.location())
                .help(format!("define it with {{% test {test_type}(model, column_name) %}} in macros/ or tests/generic/")));
        }
        let (target_name, prefix, model_expr) = match &owner {
            TestOwner::Node(name, _) => (name.clone(), String::new(), format!("ref('{name}')")),
            TestOwner::Version(name, v) => (
                format!("{name}_v{v}"),
                String::new(),
                format!("ref('{name}', version='{v}')"),
            ),
            TestOwner::Source(s, t) => (
                format!("{s}_{t}"),
                "source_".to_string(),
                format!("source('{s}', '{t}')"),
            ),
        };
        let mut name_args: BTreeMap<String, Json> = spec.args.clone().into_iter().collect();
        if let Some(column) = &spec.column {
            name_args.insert("column_name".into(), Json::String(column.clone()));
        }
        let test_prefix = match &namespace {
            Some(ns) => format!("{ns}_{prefix}{test_type}"),
            None => format!("{prefix}{test_type}"),
        };
        let (short_name, _full_name) = synthesize_test_name(&test_prefix, &target_name, &name_args);
        let name = spec.custom_name.clone().unwrap_or(short_name);

        let mut config =
            config::tree_config(&self.project.tests_tree, &[&self.project.name, &name]);
        config::merge_all(&mut config, &spec.config);

        // Parse the arguments (e.g. `to: ref('customers')`) to learn what the test depends on.
        let owner_ref = match &owner {
            TestOwner::Node(n, "seed") => NodeRef::Seed(n.clone()),
            TestOwner::Node(n, _) => NodeRef::Model(n.clone()),
            TestOwner::Version(n, v) => NodeRef::Model(search_name(n, Some(v))),
            TestOwner::Source(s, t) => NodeRef::Source(s.clone(), t.clone()),
        };
        let mut depends_on = vec![owner_ref.clone()];
        let file = SourceFile {
            path: spec.file.clone(),
            text: String::new(),
        };
        let renderable = Renderable {
            file: &file,
            name: name.clone(),
            version: None,
            resource_type: "test",
            fqn: vec![self.project.name.clone(), name.clone()],
            config: config.clone(),
            description: String::new(),
        };
        let function_args: Vec<&str> = spec
            .args
            .values()
            .filter_map(|value| value.as_str().filter(|text| looks_like_function(text)))
            .collect();
        let mut captured = Captured::default();
        if !function_args.is_empty() {
            let parse_node = self.node(
                &renderable,
                Phase::Parse,
                VarMode::Markers,
                self.placeholder_relation(&name),
            );
            for text in function_args {
                self.engine
                    .eval_expression(text, &parse_node, &spec.file)
                    .map_err(|d| located(d, spec))?;
            }
            captured = std::mem::take(&mut *lock(&parse_node.captured));
        }
        for call in captured.refs {
            let key = resolved.target_key(&call);
            if !resolved.nodes.contains_key(&key) {
                return Err(Diagnostic::new(format!(
                    "test '{name}' depends on a node named '{}' which was not found",
                    call.name
                ))
                .model(owner.display())
                .at(spec.location())
                .help("fix the `to:` argument of the test"));
            }
            depends_on.push(self.node_ref(resolved, &key));
        }
        for (s, t) in captured.sources {
            if !resolved.sources.contains_key(&(s.clone(), t.clone())) {
                return Err(Diagnostic::new(format!(
                    "test '{name}' depends on a source named '{s}.{t}' which was not found"
                ))
                .model(owner.display())
                .at(spec.location())
                .help("declare the source table in a properties yml"));
            }
            depends_on.push(NodeRef::Source(s, t));
        }
        depends_on.sort();
        depends_on.dedup();
        let overridden = |name: &str| self.engine.registry.is_overridden(name);
        let implementation = if !overridden(&macro_name)
            && !overridden(&format!("default__{macro_name}"))
            && !overridden(&format!("athena__{macro_name}"))
            && self
                .engine
                .registry
                .callable(&format!("default__{macro_name}"))
                .is_some()
        {
            format!("default__{macro_name}")
        } else {
            macro_name
        };
        Ok(GenericTest {
            name,
            implementation,
            depends_on_owner: owner_ref,
            spec: spec.clone(),
            model_expr,
            config,
            depends_on,
        })
    }

    fn render_generic_test(
        &self,
        test: &GenericTest,
        resolved: &Arc<Resolved>,
    ) -> Result<CompiledTest> {
        let file = SourceFile {
            path: test.spec.file.clone(),
            text: String::new(),
        };
        let renderable = Renderable {
            file: &file,
            name: test.name.clone(),
            version: None,
            resource_type: "test",
            fqn: vec![self.project.name.clone(), test.name.clone()],
            config: test.config.clone(),
            description: String::new(),
        };
        let make = |mode: VarMode| -> Result<Arc<RenderNode>> {
            let base = RenderNode {
                resolved: Some(resolved.clone()),
                ..Arc::unwrap_or_clone(self.node(
                    &renderable,
                    Phase::Compile,
                    mode,
                    self.placeholder_relation(&test.name),
                ))
            };
            let base = Arc::new(base);
            // dbt renders each argument: ref()/source()/var() calls as expressions, other strings
            // as templates; `column_name` stays as written.
            let mut kwargs = Vec::new();
            let model = if self.engine.registry.is_overridden("get_where_subquery")
                || self
                    .engine
                    .registry
                    .is_overridden("default__get_where_subquery")
                || self
                    .engine
                    .registry
                    .is_overridden("athena__get_where_subquery")
            {
                self.engine
                    .eval_expression(
                        &format!("get_where_subquery({})", test.model_expr),
                        &base,
                        &test.spec.file,
                    )
                    .map_err(|d| located(d, &test.spec))?
            } else {
                // dbt's default get_where_subquery, without two macro calls per test.
                let relation = match &test.depends_on_owner {
                    NodeRef::Source(s, t) => resolved.sources.get(&(s.clone(), t.clone())),
                    NodeRef::Model(n) | NodeRef::Seed(n) => resolved.nodes.get(n),
                }
                .cloned()
                .ok_or_else(|| {
                    Diagnostic::new(format!(
                        "test '{}' reads a node that was not found",
                        test.name
                    ))
                })?;
                match config::as_str(&test.config, "where").filter(|w| !w.is_empty()) {
                    Some(filter) => Value::from(format!(
                        "(select * from {} where {filter}) dbt_subquery",
                        relation.rendered()
                    )),
                    None => Value::from_object(relation),
                }
            };
            kwargs.push(("model".to_string(), model));
            if let Some(column) = &test.spec.column {
                kwargs.push(("column_name".to_string(), Value::from(column.as_str())));
            }
            for (key, value) in &test.spec.args {
                let value = match value {
                    Json::String(text) if looks_like_function(text) => self
                        .engine
                        .eval_expression(text, &base, &test.spec.file)
                        .map_err(|d| located(d, &test.spec))?,
                    Json::String(text) if text.contains("{{") || text.contains("{%") => {
                        Value::from(
                            self.engine
                                .render_str(text, &base, &test.spec.file)
                                .map_err(|d| located(d, &test.spec))?,
                        )
                    }
                    other => json_to_jinja(other),
                };
                kwargs.push((key.clone(), value));
            }
            let macro_value = self
                .engine
                .registry
                .callable(&test.implementation)
                .ok_or_else(|| {
                    Diagnostic::new(format!(
                        "unknown generic test macro '{}'",
                        test.implementation
                    ))
                })?;
            let mut node = Arc::unwrap_or_clone(base);
            node.extra = vec![
                ("__mdw_test_macro", macro_value),
                ("__mdw_test_kwargs", Engine::test_kwargs(kwargs)),
            ];
            Ok(Arc::new(node))
        };
        let RenderedSql {
            sql,
            sql_with_markers,
            ..
        } = self
            .render_checked(&test.name, GENERIC_TEST_TEMPLATE, &make, None)
            .map_err(|d| located(d, &test.spec))?;
        let yml_dir = test.spec.file.clone();
        Ok(CompiledTest {
            name: test.name.clone(),
            compiled_path: format!("{yml_dir}/{}.sql", test.name),
            file: test.spec.file.clone(),
            depends_on: test.depends_on.clone(),
            config: test.config.clone(),
            sql,
            sql_with_markers,
        })
    }
}

struct GenericTest {
    name: String,
    /// The macro that renders the test: `test_<name>`, or the built-in `default__test_<name>`
    /// directly when the project overrides neither (saves a dispatch per test).
    implementation: String,
    /// The node the test is attached to.
    depends_on_owner: NodeRef,
    spec: TestSpec,
    model_expr: String,
    config: Config,
    depends_on: Vec<NodeRef>,
}

enum TestOwner {
    Node(String, &'static str),
    /// A model version: the model's name and `v`.
    Version(String, String),
    Source(String, String),
}

impl TestOwner {
    fn display(&self) -> String {
        match self {
            TestOwner::Node(name, _) => name.clone(),
            TestOwner::Version(name, v) => search_name(name, Some(v)),
            TestOwner::Source(s, t) => format!("source {s}.{t}"),
        }
    }
}

fn located(mut diagnostic: Diagnostic, spec: &TestSpec) -> Diagnostic {
    let in_generated = diagnostic
        .location
        .as_ref()
        .is_none_or(|l| l.file.starts_with('<'));
    if in_generated {
        diagnostic.location = Some(spec.location());
    }
    diagnostic
}

fn test_deferred(test: &CompiledTest) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    replace_deferred(&test.sql_with_markers, |name| {
        used.insert(name.to_string());
        String::new()
    });
    used
}

/// Config values may carry deferred markers (e.g. a location built from a var); only values
/// that end up as Terraform strings may.
fn check_config_markers(model: &CompiledModel) -> Result<()> {
    for key in [
        "materialized",
        "incremental_strategy",
        "unique_key",
        "partitioned_by",
        "enabled",
    ] {
        if let Some(value) = model.config.get(key)
            && value.to_string().contains("\\u0001")
        {
            return Err(Diagnostic::new(format!(
                "config '{key}' of '{}' depends on a var deferred to Terraform",
                model.name
            ))
            .model(&model.name)
            .in_file(&model.file)
            .help("bind the var at compile time with --vars"));
        }
    }
    Ok(())
}

/// SQL with nothing but whitespace and comments.
fn is_blank_sql(sql: &str) -> bool {
    let mut rest = sql.trim_start();
    loop {
        if let Some(comment) = rest.strip_prefix("--") {
            rest = comment.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(comment) = rest.strip_prefix("/*") {
            rest = comment.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return rest.is_empty();
        }
        rest = rest.trim_start();
    }
}

fn source_relation(table: &SourceTable, target: &Target) -> Relation {
    Relation::new(
        table.database.as_deref().unwrap_or(&target.database),
        &table.schema,
        &table.identifier,
        "table",
    )
}

fn enabled(config: &Config) -> bool {
    !matches!(config.get("enabled"), Some(Json::Bool(false)))
}

fn source_id(project: &str, source: &str, table: &str) -> String {
    format!("source.{project}.{source}.{table}")
}

pub fn node_ref_id(project: &str, node: &NodeRef) -> String {
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
