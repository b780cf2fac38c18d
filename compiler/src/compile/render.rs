//! Phase 2, dbt's compile: every node rendered with its relations resolved (reusing the parse
//! render where nothing could differ), incremental models a second time with
//! `is_incremental()` true, and every use of a deferred var checked to only flow into the SQL
//! text. Then the results are assembled, leaving out every node downstream of a failure.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use super::ephemeral::{self, Ephemeral};
use super::generic_tests::test_deferred;
use super::nodes::Renderable;
use super::parse::Parsed;
use super::relations::Relations;
use super::{CompiledModel, CompiledTest, Compiler, NodeRef, enabled};
use crate::config;
use crate::error::{Diagnostic, Location, Result};
use crate::graph::Graph;
use crate::jinja::catalog::Columns;
use crate::jinja::context::{BATCH_FLAG, Phase, RefCall, RenderNode, VarMode, probe_value};
use crate::jinja::functions::INCREMENTAL_FLAG;
use crate::jinja::objects::{
    DEFERRED_START, Relation, deferred_marker, lock, replace_deferred, replace_relations,
};
use crate::sql_columns::{self, Unresolved};
use crate::values::json_scalar_text;
use crate::vars::VarBinding;

/// A node's final SQL, as dbt compiles it and with deferred-var markers.
pub(super) struct RenderedSql {
    pub sql: String,
    pub sql_with_markers: String,
    pub deferred_vars: BTreeSet<String>,
}

/// The compiled nodes, before they join the project in [`super::Compiled`].
pub(super) struct Assembled {
    pub models: Vec<CompiledModel>,
    pub seeds: Vec<super::CompiledSeed>,
    pub sources: Vec<super::CompiledSource>,
    pub tests: Vec<CompiledTest>,
    pub deferred_vars: BTreeMap<String, serde_json::Value>,
    pub graph: Graph,
}

/// How one node's compile render ended.
enum Outcome {
    /// Compiled, or not (disabled, or failed with its error recorded).
    Done(Option<Rendered>),
    /// It asked for the columns of a model not compiled yet (named): render it again later.
    Waiting(String),
}

/// A model's or singular test's compile render: the full build and, for an incremental model,
/// the run on an existing table.
pub(super) struct Rendered {
    full: RenderedSql,
    incremental: Option<RenderedSql>,
    /// A microbatch model's SQL as each batch runs it (refs read the batch's window), for the
    /// provider: the full build's and the incremental run's. `full` stays what `dbt compile`
    /// writes (no batch).
    batch: Option<Box<(RenderedSql, RenderedSql)>>,
    hooks: Hooks,
}

/// A model's hooks as rendered for it (deferred vars as markers), empty ones left out as dbt
/// skips them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) pre: Vec<String>,
    pub(crate) post: Vec<String>,
    /// The deferred vars the hooks use (declared in the module like the SQL's).
    pub(crate) vars: BTreeSet<String>,
}

impl Compiler {
    /// Renders every enabled node that parsed; `None` for the others and for failures.
    ///
    /// In waves: a node that asks for the columns of a model not compiled yet
    /// (`adapter.get_columns_in_relation`) is rendered again once that model's columns are
    /// known; a wave that compiles nothing new ends the waiting (a cycle through columns).
    pub(super) fn render_nodes(
        &self,
        renderables: &[Renderable],
        parsed: &[Option<Parsed>],
        relations: &Relations,
    ) -> Vec<Option<Rendered>> {
        for (i, relation) in relations.models.iter().enumerate() {
            if let (Some(relation), Some(_)) = (relation, &parsed[i]) {
                let key = renderables[i].key();
                self.shared
                    .columns
                    .set(relation, "model", &key, Columns::Waiting);
            }
        }
        let mut results: Vec<Option<Rendered>> = renderables.iter().map(|_| None).collect();
        let mut todo: Vec<usize> = (0..renderables.len()).collect();
        loop {
            let outcomes: Vec<(usize, Outcome)> = todo
                .par_iter()
                .map(|&i| (i, self.render_node(i, &renderables[i], parsed, relations)))
                .collect();
            let mut waiting = Vec::new();
            let mut compiled = Vec::new();
            for (i, outcome) in outcomes {
                match outcome {
                    Outcome::Done(rendered) => {
                        if let Some(Some(relation)) = relations.models.get(i) {
                            let key = renderables[i].key();
                            // Only a table's column types are the ones its SQL gives: a view's
                            // are Athena's in one engine's Glue entry and Hive's in the other's,
                            // and an incremental table or a snapshot keeps the types of its
                            // first build (dbt-athena reads them from Glue).
                            let table = parsed[i].as_ref().is_some_and(|p| {
                                config::as_str(&p.config, "materialized") == Some("table")
                            });
                            match &rendered {
                                Some(r) => {
                                    compiled.push((relation, key, r.full.sql.clone(), table))
                                }
                                None => self.shared.columns.set(
                                    relation,
                                    "model",
                                    &key,
                                    Columns::Failed,
                                ),
                            }
                        }
                        results[i] = rendered;
                    }
                    Outcome::Waiting(for_label) => waiting.push((i, for_label)),
                }
            }
            let progressed = !compiled.is_empty();
            self.learn_columns(compiled);
            if waiting.is_empty() {
                break;
            }
            if !progressed {
                for (i, for_label) in waiting {
                    let r = &renderables[i];
                    self.fail(
                        Some(&r.unique_id(&self.project.name)),
                        Diagnostic::new(format!(
                            "adapter.get_columns_in_relation: the columns of {for_label} depend on this node's own columns"
                        ))
                        .node(r.resource_type, r.key())
                        .at(Location::new(&r.file.path, 1, 1))
                        .help("two nodes read each other's columns: name the columns in one of them"),
                    );
                }
                break;
            }
            todo = waiting.into_iter().map(|(i, _)| i).collect();
        }
        self.shared.columns.settle();
        results
    }

    /// The columns of the models compiled in one wave, from their SQL. A model reading another
    /// of the same wave (an ephemeral model, say) is worked out after it.
    fn learn_columns(&self, mut compiled: Vec<(&Relation, String, String, bool)>) {
        let catalog = &self.shared.columns;
        while !compiled.is_empty() {
            let before = compiled.len();
            compiled.retain(|(relation, key, sql, table)| {
                let lookup = |key: &[String]| catalog.lookup(key);
                let columns = match sql_columns::output_columns(sql, &lookup) {
                    Ok(mut columns) => {
                        if !*table {
                            columns.iter_mut().for_each(|c| c.sql_type = None);
                        }
                        Columns::Known(columns)
                    }
                    Err(Unresolved::Waiting(_)) => return true,
                    Err(Unresolved::Unknown(reason)) => Columns::Unknown(reason),
                };
                catalog.set(relation, "model", key, columns);
                false
            });
            if compiled.len() == before {
                for (relation, key, _, _) in compiled.drain(..) {
                    let reason = "it reads a model whose columns depend on its own".to_string();
                    catalog.set(relation, "model", &key, Columns::Unknown(reason));
                }
            }
        }
    }

    /// One node's compile render.
    fn render_node(
        &self,
        i: usize,
        r: &Renderable,
        parsed: &[Option<Parsed>],
        relations: &Relations,
    ) -> Outcome {
        let resolved = &relations.resolved;
        let id = r.unique_id(&self.project.name);
        // `Some(model)` when the render waits for that model's columns; `None` when it failed
        // (its error recorded).
        let failed = |error: Diagnostic| match self.shared.columns.take_waiting(&id) {
            Some(label) => Some(label),
            None => {
                self.fail(Some(&id), error.node(r.resource_type, r.key()));
                None
            }
        };
        let done = (|| -> std::result::Result<Option<Rendered>, Option<String>> {
            let Some(p) = parsed[i].as_ref() else {
                return Ok(None);
            };
            if !enabled(&p.config) || self.has_failed(&id) {
                return Ok(None);
            }
            let this = match relations.models.get(i) {
                Some(Some(relation)) => relation.clone(),
                _ => self.placeholder_relation(&r.name),
            };
            let parsed_refs: HashSet<String> = p.captured.refs.iter().map(RefCall::key).collect();
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
            let full = self
                .render_checked(&r.name, &r.template(), &make, reused)
                .map_err(failed)?;
            if r.is_model() && is_blank_sql(&full.sql) {
                self.fail(
                    Some(&id),
                    Diagnostic::new(format!("{} '{}' has no SQL", r.resource_type, r.key()))
                        .node(r.resource_type, r.key())
                        .at(Location::new(&r.file.path, 1, 1))
                        .help("a model is one select statement; write it, or delete the file"),
                );
                return Ok(None);
            }
            let incremental = if r.is_model()
                && config::as_str(&p.config, "materialized") == Some("incremental")
            {
                let make_incremental = |mode: VarMode| {
                    let mut node = Arc::unwrap_or_clone(make(mode)?);
                    node.extra.push((INCREMENTAL_FLAG, true.into()));
                    Ok(Arc::new(node))
                };
                let rendered = self
                    .render_checked(&r.name, &r.template(), &make_incremental, None)
                    .map_err(failed)?;
                Some(rendered)
            } else {
                None
            };
            let microbatch = incremental.is_some()
                && config::as_str(&p.config, "incremental_strategy") == Some("microbatch");
            let make_batch = |incremental: bool| {
                move |mode: VarMode| {
                    let mut node = Arc::unwrap_or_clone(make(mode)?);
                    node.extra.push((BATCH_FLAG, true.into()));
                    if incremental {
                        node.extra.push((INCREMENTAL_FLAG, true.into()));
                    }
                    Ok(Arc::new(node))
                }
            };
            let batch = if microbatch {
                let full = self
                    .render_checked(&r.name, &r.template(), &make_batch(false), None)
                    .map_err(failed)?;
                let incremental = self
                    .render_checked(&r.name, &r.template(), &make_batch(true), None)
                    .map_err(failed)?;
                Some(Box::new((full, incremental)))
            } else {
                None
            };
            let hooks = if r.is_model() {
                let mut vars = BTreeSet::new();
                let mut render = |key| {
                    self.render_hooks(r, &p.config, key, &make, &mut vars)
                        .map_err(failed)
                };
                let (pre, post) = (render("pre-hook")?, render("post-hook")?);
                // The provider runs one list of hooks on every build: one that changes with
                // is_incremental() cannot be carried over.
                if incremental.is_some() {
                    let make_incremental = |mode: VarMode| {
                        let mut node = Arc::unwrap_or_clone(make(mode)?);
                        node.extra.push((INCREMENTAL_FLAG, true.into()));
                        Ok(Arc::new(node))
                    };
                    let mut ignored = BTreeSet::new();
                    let mut render = |key| {
                        self.render_hooks(r, &p.config, key, &make_incremental, &mut ignored)
                            .map_err(failed)
                    };
                    if (render("pre-hook")?, render("post-hook")?) != (pre.clone(), post.clone()) {
                        return Err(failed(
                            Diagnostic::new(
                                "this model's hooks depend on is_incremental(), which mdw does not carry over (it runs the same hooks on every build)",
                            )
                            .model(&r.name)
                            .in_file(&r.file.path)
                            .help("write hooks that do not test is_incremental(), or run the statement outside mdw"),
                        ));
                    }
                }
                // dbt runs a microbatch model's hooks in a batch's context (refs filtered,
                // `model.batch` set); the provider runs them once around the run.
                if microbatch {
                    let mut ignored = BTreeSet::new();
                    let make_first = make_batch(false);
                    let mut render = |key| {
                        self.render_hooks(r, &p.config, key, &make_first, &mut ignored)
                            .map_err(failed)
                    };
                    if (render("pre-hook")?, render("post-hook")?) != (pre.clone(), post.clone()) {
                        return Err(failed(
                            Diagnostic::new(
                                "this microbatch model's hooks depend on the batch (a ref to a node with an event_time, or model.batch), which mdw does not carry over (it runs the hooks once around all batches)",
                            )
                            .model(&r.name)
                            .in_file(&r.file.path)
                            .help("write hooks that read no batch, or run the statement outside mdw"),
                        ));
                    }
                }
                Hooks { pre, post, vars }
            } else {
                Hooks::default()
            };
            Ok(Some(Rendered {
                full,
                incremental,
                batch,
                hooks,
            }))
        })();
        match done {
            Ok(rendered) => Outcome::Done(rendered),
            Err(Some(label)) => Outcome::Waiting(label),
            Err(None) => Outcome::Done(None),
        }
    }

    /// Renders a model's hooks of one kind (`this` is the model, as when dbt runs them). A
    /// deferred var may only be substituted into a hook's text, as into the SQL.
    fn render_hooks(
        &self,
        r: &Renderable,
        config: &config::Config,
        key: &str,
        make: &dyn Fn(VarMode) -> Result<Arc<RenderNode>>,
        vars: &mut BTreeSet<String>,
    ) -> Result<Vec<String>> {
        let Some(value) = config.get(key) else {
            return Ok(Vec::new());
        };
        let mut rendered = Vec::new();
        for hook in config::hooks(value).unwrap_or_default() {
            let node = make(VarMode::Markers)?;
            let marked = self.engine.render_str(&hook, &node, &r.file.path)?;
            let used = std::mem::take(&mut lock(&node.captured).deferred_vars);
            if !used.is_empty() {
                let valued =
                    self.engine
                        .render_str(&hook, &make(VarMode::Values)?, &r.file.path)?;
                let substituted =
                    replace_deferred(&marked, |var| match self.shared.vars.binding(var) {
                        VarBinding::Deferred(value) => json_scalar_text(&value).unwrap_or_default(),
                        _ => deferred_marker(var),
                    });
                if substituted != valued {
                    return Err(Diagnostic::new(format!(
                        "a var deferred to Terraform decides more than the text of this model's {key}"
                    ))
                    .model(&r.name)
                    .in_file(&r.file.path)
                    .help("bind the var at compile time: --vars '{name: ...}'"));
                }
            }
            vars.extend(used);
            if !marked.trim().is_empty() {
                rendered.push(marked.trim().to_string());
            }
        }
        Ok(rendered)
    }

    /// The compiled nodes: every node that compiled and whose upstream did too.
    pub(super) fn assemble(
        &self,
        graph: Graph,
        relations: Relations,
        renderables: &[Renderable],
        parsed: &[Option<Parsed>],
        rendered: Vec<Option<Rendered>>,
        generic: Vec<Option<CompiledTest>>,
    ) -> Assembled {
        let project = self.project.name.clone();
        let resolved = &relations.resolved;
        let mut models: Vec<CompiledModel> = Vec::new();
        let mut tests = Vec::new();
        let mut singular_refs: HashMap<String, Vec<String>> = HashMap::new();
        let mut deferred_used = BTreeSet::new();
        for (i, rendered) in rendered.into_iter().enumerate() {
            let (
                Some(Rendered {
                    full,
                    incremental,
                    batch,
                    hooks,
                }),
                Some(p),
            ) = (rendered, &parsed[i])
            else {
                continue;
            };
            let r = &renderables[i];
            deferred_used.extend(full.deferred_vars);
            deferred_used.extend(hooks.vars.iter().cloned());
            let mut incremental_sql_with_markers = incremental.and_then(|rendered| {
                deferred_used.extend(rendered.deferred_vars);
                (rendered.sql_with_markers != full.sql_with_markers)
                    .then_some(rendered.sql_with_markers)
            });
            // A microbatch model's provider SQL is its batch render; its compiled file is not.
            let mut batch_sql_with_markers = None;
            if let Some((batch_full, batch_incremental)) = batch.map(|b| *b) {
                deferred_used.extend(batch_full.deferred_vars);
                deferred_used.extend(batch_incremental.deferred_vars);
                incremental_sql_with_markers = (batch_incremental.sql_with_markers
                    != batch_full.sql_with_markers)
                    .then_some(batch_incremental.sql_with_markers);
                batch_sql_with_markers = Some(batch_full.sql_with_markers);
            }
            if r.is_model() {
                let Some(relation) = relations.models[i].clone() else {
                    continue;
                };
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
                let props = self.node_props(r);
                let (sql, sql_with_markers) = match self
                    .project
                    .snapshots
                    .iter()
                    .find(|s| r.is_snapshot() && s.name == r.name)
                {
                    Some(block) => (
                        block.without_padding(&full.sql).to_string(),
                        block.without_padding(&full.sql_with_markers).to_string(),
                    ),
                    None => (
                        full.sql,
                        batch_sql_with_markers.unwrap_or(full.sql_with_markers),
                    ),
                };
                let model = CompiledModel {
                    name: r.key(),
                    resource_type: r.resource_type,
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
                    ephemeral: relations.models[i]
                        .as_ref()
                        .is_some_and(Relation::is_ephemeral),
                    hooks,
                };
                match check_config_markers(&model) {
                    Ok(()) => models.push(model),
                    Err(error) => self.fail(Some(&r.unique_id(&project)), error),
                }
            } else {
                let mut test_refs = Vec::new();
                for call in &p.captured.refs {
                    let key = resolved.target_key(call);
                    if !test_refs.contains(&key) {
                        test_refs.push(key);
                    }
                }
                singular_refs.insert(r.name.clone(), test_refs);
                let mut depends_on = Vec::new();
                for call in &p.captured.refs {
                    depends_on.push(self.node_ref(resolved, &resolved.target_key(call)));
                }
                for (s, t) in &p.captured.sources {
                    depends_on.push(NodeRef::Source(s.clone(), t.clone()));
                }
                depends_on.sort();
                depends_on.dedup();
                let audit_schema = match self.audit_schema(r, &p.config) {
                    Ok(schema) => schema,
                    Err(error) => {
                        self.fail(Some(&r.unique_id(&project)), error.node("test", &r.name));
                        continue;
                    }
                };
                tests.push(CompiledTest {
                    name: r.name.clone(),
                    key: r.name.clone(),
                    compiled_path: r.file.path.clone(),
                    file: r.file.path.clone(),
                    line: None,
                    attached_node: None,
                    audit_schema,
                    depends_on,
                    config: p.config.clone(),
                    sql: full.sql,
                    sql_with_markers: full.sql_with_markers,
                });
            }
        }
        let singular: HashSet<String> = tests.iter().map(|t| t.name.clone()).collect();
        for test in generic.into_iter().flatten() {
            if singular.contains(&test.name) {
                self.fail(
                    Some(&format!("test.{project}.{}", test.key)),
                    Diagnostic::new(format!("two tests are named '{}'", test.name))
                        .node("test", &test.name)
                        .at(Location::new(&test.file, 1, 1))
                        .help("give one of them a different `name:` in the yml"),
                );
                continue;
            }
            deferred_used.extend(test_deferred(&test));
            tests.push(test);
        }
        self.inline_ephemerals(&mut models, &mut tests, &singular_refs);
        let mut deferred_vars = BTreeMap::new();
        for name in deferred_used {
            if let VarBinding::Deferred(value) = self.shared.vars.binding(&name) {
                deferred_vars.insert(name, value);
            }
        }
        // A node downstream of a failure is left out, without an error of its own.
        let failed = std::mem::take(&mut *lock(&self.failed));
        let skipped: HashSet<String> = graph
            .descendants(failed.iter().filter_map(|id| graph.index(id)))
            .into_iter()
            .map(|i| graph.nodes[i].unique_id.clone())
            .chain(failed)
            .collect();
        models.retain(|m| !skipped.contains(&m.unique_id(&project)));
        tests.retain(|t| !skipped.contains(&format!("test.{project}.{}", t.key)));
        let mut seeds = relations.seeds;
        seeds.retain(|s| !skipped.contains(&format!("seed.{project}.{}", s.name)));
        Assembled {
            models,
            seeds,
            sources: relations.sources,
            tests,
            deferred_vars,
            graph,
        }
    }

    /// Inlines every ephemeral model where it is referenced (dbt's CTE injection), and points
    /// what the nodes read (Terraform's `upstream`, the tests' builds) past the ephemeral
    /// models to the tables and sources they read.
    fn inline_ephemerals(
        &self,
        models: &mut [CompiledModel],
        tests: &mut [CompiledTest],
        singular_refs: &HashMap<String, Vec<String>>,
    ) {
        let ephemerals: HashMap<String, Ephemeral> = models
            .iter()
            .filter(|m| m.ephemeral)
            .map(|m| {
                let alias = m
                    .relation
                    .identifier
                    .trim_start_matches(ephemeral::CTE_PREFIX)
                    .to_string();
                let ephemeral = Ephemeral {
                    alias,
                    sql: m.sql.clone(),
                    sql_with_markers: m.sql_with_markers.clone(),
                    refs: m.refs.clone(),
                    sources: m.sources.clone(),
                };
                (m.name.clone(), ephemeral)
            })
            .collect();
        if ephemerals.is_empty() {
            return;
        }
        let (values, markers) = (ephemeral::values, ephemeral::markers);
        for model in models.iter_mut() {
            model.sql = ephemeral::inject(
                &model.sql,
                &ephemeral::ctes(&model.refs, &ephemerals, values),
            );
            let marked = ephemeral::ctes(&model.refs, &ephemerals, markers);
            model.sql_with_markers = ephemeral::inject(&model.sql_with_markers, &marked);
            if let Some(incremental) = &mut model.incremental_sql_with_markers {
                *incremental = ephemeral::inject(incremental, &marked);
            }
            let (refs, sources) = ephemeral::expand(&model.refs, &model.sources, &ephemerals);
            model.refs = refs;
            model.sources = sources;
        }
        for test in tests.iter_mut() {
            // A generic test refs what it tests first, then its arguments' refs.
            let refs: Vec<String> = match singular_refs.get(&test.name) {
                Some(refs) if test.compiled_path == test.file => refs.clone(),
                _ => test
                    .depends_on
                    .iter()
                    .filter_map(|d| match d {
                        NodeRef::Model(name) | NodeRef::Seed(name) => Some(name.clone()),
                        NodeRef::Source(..) => None,
                    })
                    .collect(),
            };
            if !refs.iter().any(|r| ephemerals.contains_key(r)) {
                continue;
            }
            test.sql = ephemeral::inject(&test.sql, &ephemeral::ctes(&refs, &ephemerals, values));
            test.sql_with_markers = ephemeral::inject(
                &test.sql_with_markers,
                &ephemeral::ctes(&refs, &ephemerals, markers),
            );
            let sources: Vec<(String, String)> = test
                .depends_on
                .iter()
                .filter_map(|d| match d {
                    NodeRef::Source(s, t) => Some((s.clone(), t.clone())),
                    _ => None,
                })
                .collect();
            let (refs, sources) = ephemeral::expand(&refs, &sources, &ephemerals);
            let mut depends_on: Vec<NodeRef> = refs
                .iter()
                .map(|name| {
                    match test
                        .depends_on
                        .iter()
                        .find(|d| matches!(d, NodeRef::Seed(n) if n == name))
                    {
                        Some(seed) => seed.clone(),
                        None => NodeRef::Model(name.clone()),
                    }
                })
                .chain(sources.into_iter().map(|(s, t)| NodeRef::Source(s, t)))
                .collect();
            depends_on.sort();
            depends_on.dedup();
            test.depends_on = depends_on;
        }
    }

    /// Renders a node for compile. A node that uses deferred vars is rendered three times:
    /// with markers (for Terraform), with the project values (for target/compiled, equal to
    /// dbt's), and with probe values; unless the marker render equals both value renders after
    /// substitution, a deferred var decided something other than text, which is an error.
    pub(super) fn render_checked(
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
                        probe_value(&value)
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
            && holds_marker(value)
        {
            return Err(Diagnostic::new(format!(
                "config '{key}' of '{}' depends on a var deferred to Terraform",
                model.name
            ))
            .model(&model.name)
            .at(Location::new(&model.file, 1, 1))
            .help("bind the var at compile time with --vars"));
        }
    }
    Ok(())
}

fn holds_marker(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains(DEFERRED_START),
        serde_json::Value::Array(items) => items.iter().any(holds_marker),
        serde_json::Value::Object(map) => map.values().any(holds_marker),
        _ => false,
    }
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
