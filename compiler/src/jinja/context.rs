//! The per-node template context: `ref`, `source`, `config`, `var`, `this`, `model`, `target`,
//! `execute`, `adapter`, and project macros called as globals.
//!
//! Each render gets a [`RenderNode`]; the template's root context is a [`NodeContext`] over it.
//! Project macros run in their own template state whose root is the same [`NodeContext`], so
//! `this`, `config` and `ref` inside a macro mean the calling node's, as in dbt.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use minijinja::value::{DynObject, Enumerator, Kwargs, Object, ObjectRepr, Rest, from_args};
use minijinja::{Error, ErrorKind, State, Value};
use serde_json::Value as Json;

use super::functions::error_with_help;
use super::objects::{
    BATCH_END, BATCH_ID, BATCH_START, Relation, deferred_marker, lock, replace_deferred,
};
use crate::config::types::{Checker, NodeKind};
use crate::config::{self, Config};
use crate::values::{jinja_to_json, json_scalar_text, json_to_jinja, map_value};
use crate::vars::{VarBinding, Vars};

/// The name under which a node context is reachable from any template state rendering it.
pub(crate) const CONTEXT_KEY: &str = "__mdw_ctx";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// dbt's parse: `execute` is false, `ref`/`source`/`config` are recorded.
    Parse,
    /// dbt's compile: `execute` is true, relations are resolved.
    Compile,
}

/// What `var()` returns for a var deferred to Terraform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarMode {
    /// A marker that emit turns into `${var.<name>}`.
    Markers,
    /// The project value (for `target/compiled`, which must equal dbt's output).
    Values,
    /// A different value, to prove the var is only substituted and never decides control flow.
    Probe,
}

/// Project data every render shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub project_name: String,
    pub target: Value,
    pub target_database: String,
    pub target_schema: String,
    pub vars: Vars,
    /// Checks `config(...)` values against dbt's types.
    pub(crate) checker: Checker,
    /// `graph` and `selected_resources`, known once every node is parsed. `graph` is built
    /// from the manifest on first use: most projects never read it, and it is large.
    pub graph_source: std::sync::OnceLock<std::sync::Arc<crate::compile::manifest::Manifest>>,
    pub graph: std::sync::OnceLock<Value>,
    pub selected_resources: std::sync::OnceLock<Value>,
    /// The columns of the project's relations, for `adapter.get_columns_in_relation`.
    pub columns: super::catalog::StaticCatalog,
}

/// Where every ref-able node and source lives, known after the parse phase.
#[derive(Debug, Default, Clone)]
pub(crate) struct Resolved {
    pub nodes: HashMap<String, Relation>,
    pub sources: HashMap<(String, String), Relation>,
    /// A versioned model's name → the search name of its latest version (`ref('m')`
    /// resolves to it; `nodes` holds its relation under both names).
    pub latest: HashMap<String, String>,
}

impl Resolved {
    /// The search name of the node a ref resolves to.
    pub(crate) fn target_key(&self, call: &RefCall) -> String {
        match (&call.version, self.latest.get(&call.name)) {
            (None, Some(latest)) => latest.clone(),
            _ => call.key(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RefCall {
    pub package: Option<String>,
    pub name: String,
    pub version: Option<String>,
}

impl RefCall {
    /// The name the ref is resolved by: `name`, or dbt's search name `name.v<version>`.
    pub(crate) fn key(&self) -> String {
        search_name(&self.name, self.version.as_deref())
    }
}

/// dbt's `search_name` of a model: `name`, or `name.v<version>` for a model version.
pub(crate) fn search_name(name: &str, version: Option<&str>) -> String {
    match version {
        Some(version) => format!("{name}.v{version}"),
        None => name.to_string(),
    }
}

/// What a render observed: refs, sources and deferred vars it used.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    pub refs: Vec<RefCall>,
    pub sources: Vec<(String, String)>,
    pub deferred_vars: BTreeSet<String>,
    /// Reads of a column type mdwc does not know (see [`super::catalog`]): each fails the render.
    pub unknown_types: Vec<String>,
}

/// One render of one node (model, test, or a naming-macro call).
#[derive(Debug)]
pub(crate) struct RenderNode {
    pub shared: Arc<Shared>,
    pub name: String,
    /// `v` of a model version.
    pub version: Option<String>,
    pub unique_id: String,
    pub resource_type: &'static str,
    pub file: String,
    pub fqn: Vec<String>,
    pub description: String,
    pub phase: Phase,
    pub var_mode: VarMode,
    pub resolved: Option<Arc<Resolved>>,
    /// Refs the parse phase saw; a ref only the compile phase makes is an error, as in dbt.
    pub parsed_refs: Option<HashSet<String>>,
    pub this: Relation,
    pub config: Mutex<Config>,
    pub captured: Mutex<Captured>,
    /// Extra context entries (test kwargs, naming-macro arguments).
    pub extra: Vec<(&'static str, Value)>,
    /// Set during the parse phase when the output may differ once relations are resolved
    /// (`execute`, `model`, `config.get`, a ref used other than written out): the node is
    /// then rendered again in the compile phase instead of reusing the parse render.
    pub observed: Arc<AtomicBool>,
}

impl Clone for RenderNode {
    fn clone(&self) -> Self {
        RenderNode {
            shared: self.shared.clone(),
            name: self.name.clone(),
            version: self.version.clone(),
            unique_id: self.unique_id.clone(),
            resource_type: self.resource_type,
            file: self.file.clone(),
            fqn: self.fqn.clone(),
            description: self.description.clone(),
            phase: self.phase,
            var_mode: self.var_mode,
            resolved: self.resolved.clone(),
            parsed_refs: self.parsed_refs.clone(),
            this: self.this.clone(),
            config: Mutex::new(lock(&self.config).clone()),
            captured: Mutex::new(Captured::default()),
            extra: self.extra.clone(),
            observed: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl RenderNode {
    /// The kind of node whose config this render sets.
    fn kind(&self) -> NodeKind {
        match self.resource_type {
            "test" => NodeKind::Test,
            "seed" => NodeKind::Seed,
            "snapshot" => NodeKind::Snapshot,
            _ => NodeKind::Model,
        }
    }

    /// Notes a parse-phase read whose value changes in the compile phase.
    pub(crate) fn observe(&self) {
        if self.phase == Phase::Parse {
            self.observed.store(true, Ordering::Relaxed);
        }
    }

    /// Whether this render is a microbatch model's batch (see [`BATCH_FLAG`]).
    pub(crate) fn in_batch(&self) -> bool {
        self.extra
            .iter()
            .any(|(name, value)| *name == BATCH_FLAG && value.is_true())
    }

    /// A relation as this node reads it through `ref`/`source`: in a batch render, filtered to
    /// the batch's window.
    fn as_read(&self, relation: &Relation) -> Relation {
        if self.in_batch() {
            relation.clone().in_batch()
        } else {
            relation.clone()
        }
    }

    fn node_value(&self) -> Value {
        let config = lock(&self.config);
        let config_value = json_to_jinja(&Json::Object(
            config.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        ));
        let tags = json_to_jinja(config.get("tags").unwrap_or(&Json::Array(Vec::new())));
        map_value([
            ("name", Value::from(self.name.as_str())),
            ("alias", Value::from(self.this.identifier.as_str())),
            ("schema", Value::from(self.this.schema.as_str())),
            ("database", Value::from(self.this.database.as_str())),
            ("unique_id", Value::from(self.unique_id.as_str())),
            ("resource_type", Value::from(self.resource_type)),
            (
                "package_name",
                Value::from(self.shared.project_name.as_str()),
            ),
            ("original_file_path", Value::from(self.file.as_str())),
            (
                "path",
                Value::from(self.file.split_once('/').map_or("", |(_, p)| p)),
            ),
            (
                "fqn",
                Value::from_iter(self.fqn.iter().map(|s| Value::from(s.as_str()))),
            ),
            ("description", Value::from(self.description.as_str())),
            ("config", config_value),
            ("tags", tags),
            (
                "version",
                self.version
                    .as_deref()
                    .map_or_else(|| Value::from(()), Value::from),
            ),
            // dbt sets it while a batch runs; `dbt compile` renders without one.
            (
                "batch",
                if self.in_batch() {
                    map_value([
                        ("id", Value::from_object(BatchValue("id", BATCH_ID))),
                        (
                            "event_time_start",
                            Value::from_object(BatchValue("event_time_start", BATCH_START)),
                        ),
                        (
                            "event_time_end",
                            Value::from_object(BatchValue("event_time_end", BATCH_END)),
                        ),
                    ])
                } else {
                    Value::from(())
                },
            ),
        ])
    }

    /// A config value as templates see it. Deferred-var markers inside it are replaced by the
    /// value when rendering for `target/compiled`.
    fn config_value(&self, json: &Json) -> Value {
        match (json, self.var_mode) {
            (Json::String(s), VarMode::Values | VarMode::Probe) if s.contains('\u{1}') => {
                Value::from(replace_deferred(s, |name| {
                    self.deferred_text(name).unwrap_or_default()
                }))
            }
            _ => json_to_jinja(json),
        }
    }

    fn deferred_text(&self, name: &str) -> Option<String> {
        match self.shared.vars.binding(name) {
            VarBinding::Deferred(value) => {
                let value = if self.var_mode == VarMode::Probe {
                    probe_value(&value)
                } else {
                    value
                };
                json_scalar_text(&value)
            }
            _ => None,
        }
    }
}

/// A value that differs from `value`, used to check a deferred var only flows into the text.
pub(crate) fn probe_value(value: &Json) -> Json {
    match value {
        Json::Number(n) => match n.as_i64() {
            Some(i) => Json::from(i.wrapping_add(7919)),
            None => Json::from(n.as_f64().unwrap_or(0.0) + 7919.5),
        },
        Json::Bool(b) => Json::Bool(!b),
        Json::String(s) => Json::String(format!("{s}_mdwc_probe")),
        other => other.clone(),
    }
}

/// The context entry of a microbatch model's batch render (the SQL the provider runs per
/// batch): refs and sources with an `event_time` read the batch's window, `model.batch` is set.
pub(crate) const BATCH_FLAG: &str = "__mdw_microbatch_batch";

/// A field of `model.batch`: known only when the provider runs the batch, so it renders as the
/// marker the provider replaces; anything else done with it cannot be carried over.
#[derive(Debug)]
struct BatchValue(&'static str, &'static str);

impl Object for BatchValue {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        Err(error_with_help(
            format!(
                "model.batch.{}.{method}(): the batch is only known when the provider runs it, after mdwc compiled the model",
                self.0
            ),
            "write model.batch.event_time_start, event_time_end or id into the SQL as they are (the provider fills in each batch's), e.g. timestamp '{{ model.batch.event_time_start }}'",
        ))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.1)
    }
}

/// The root context of a render.
#[derive(Debug)]
pub(crate) struct NodeContext(pub Arc<RenderNode>);

const CONTEXT_KEYS: &[&str] = &[
    "graph",
    "selected_resources",
    "ref",
    "source",
    "config",
    "var",
    "this",
    "model",
    "execute",
    "target",
    "project_name",
    "schema",
    "database",
];

impl Object for NodeContext {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let node = &self.0;
        let key = key.as_str()?;
        Some(match key {
            CONTEXT_KEY => Value::from_dyn_object(DynObject::new(self.clone())),
            "ref" => Value::from_object(RefFn(node.clone())),
            "source" => Value::from_object(SourceFn(node.clone())),
            "config" => Value::from_object(ConfigFn(node.clone())),
            "var" => Value::from_object(VarFn(node.clone())),
            "this" if node.phase == Phase::Parse => {
                Value::from_object(node.this.clone().placeholder("", node.observed.clone()))
            }
            "this" => Value::from_object(node.this.clone()),
            "model" => {
                node.observe();
                node.node_value()
            }
            "execute" => {
                node.observe();
                Value::from(node.phase == Phase::Compile)
            }
            "target" => node.shared.target.clone(),
            // dbt fills `graph` once parsing is done: a parse render sees it empty.
            "graph" | "selected_resources" => {
                node.observe();
                let known = if key == "graph" {
                    node.shared.graph_source.get().map(|manifest| {
                        node.shared
                            .graph
                            .get_or_init(|| crate::compile::manifest::graph_value(manifest))
                    })
                } else {
                    node.shared.selected_resources.get()
                };
                match (node.phase, known) {
                    (Phase::Compile, Some(value)) => value.clone(),
                    _ if key == "graph" => {
                        map_value([("nodes", map_value([])), ("sources", map_value([]))])
                    }
                    _ => Value::from(Vec::<Value>::new()),
                }
            }
            "project_name" => Value::from(node.shared.project_name.as_str()),
            "schema" => {
                node.observe();
                Value::from(node.this.schema.as_str())
            }
            "database" => {
                node.observe();
                Value::from(node.this.database.as_str())
            }
            other => {
                return node
                    .extra
                    .iter()
                    .find(|(name, _)| *name == other)
                    .map(|(_, value)| value.clone());
            }
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(CONTEXT_KEYS)
    }
}

/// The node whose render is running in `state`.
pub(crate) fn current_node(state: &State) -> Option<Arc<RenderNode>> {
    let ctx = state.lookup(CONTEXT_KEY)?;
    ctx.downcast_object_ref::<NodeContext>()
        .map(|ctx| ctx.0.clone())
}

fn string_args(args: &[Value]) -> Result<(Vec<String>, Kwargs), Error> {
    let (positional, kwargs): (Rest<Value>, Kwargs) = from_args(args)?;
    let mut strings = Vec::new();
    for value in positional.iter() {
        match value.as_str() {
            Some(s) => strings.push(s.to_string()),
            None => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("expected a string argument, got {value}"),
                ));
            }
        }
    }
    Ok((strings, kwargs))
}

#[derive(Debug)]
struct RefFn(Arc<RenderNode>);

impl Object for RefFn {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let node = &self.0;
        let (names, kwargs) = string_args(args)?;
        let version = match kwargs.get::<Option<Value>>("version")? {
            Some(v) => Some(v),
            None => kwargs.get::<Option<Value>>("v")?,
        }
        .filter(|v| !v.is_none() && !v.is_undefined())
        .map(|v| v.to_string());
        kwargs.assert_all_used()?;
        let call = match names.as_slice() {
            [name] => RefCall {
                package: None,
                name: name.clone(),
                version,
            },
            [package, name] => RefCall {
                package: Some(package.clone()),
                name: name.clone(),
                version,
            },
            _ => {
                return Err(error_with_help(
                    format!("ref() takes 1 or 2 arguments, got {}", names.len()),
                    "write ref('model') or ref('package', 'model')",
                ));
            }
        };
        if let Some(package) = &call.package
            && package != &node.shared.project_name
        {
            return Err(error_with_help(
                format!(
                    "ref('{package}', '{}') names package '{package}', which is not installed",
                    call.name
                ),
                format!(
                    "mdwc compiles a single project; use ref('{}') for models of '{}'",
                    call.name, node.shared.project_name
                ),
            ));
        }
        match node.phase {
            Phase::Parse => {
                let placeholder = Relation::new(
                    &node.shared.target_database,
                    &node.shared.target_schema,
                    &call.name,
                    "table",
                )
                .placeholder(&call.key(), node.observed.clone());
                lock(&node.captured).refs.push(call);
                Ok(Value::from_object(placeholder))
            }
            Phase::Compile => {
                if let Some(parsed) = &node.parsed_refs
                    && !parsed.contains(&call.key())
                {
                    return Err(error_with_help(
                        format!(
                            "dbt was unable to infer all dependencies for the model \"{}\": ref('{}') is only reached when execute is true",
                            node.name, call.name
                        ),
                        format!(
                            "add `-- depends_on: {{{{ ref('{}') }}}}` at the top of the model",
                            call.name
                        ),
                    ));
                }
                let resolved = node
                    .resolved
                    .as_ref()
                    .and_then(|r| r.nodes.get(&call.key()));
                match resolved {
                    Some(relation) => Ok(Value::from_object(node.as_read(relation))),
                    None => Err(error_with_help(
                        format!(
                            "'{}' depends on a node named '{}' which was not found",
                            node.name, call.name
                        ),
                        "check the name, or add the model/seed it refers to",
                    )),
                }
            }
        }
    }
}

#[derive(Debug)]
struct SourceFn(Arc<RenderNode>);

impl Object for SourceFn {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let node = &self.0;
        let (names, kwargs) = string_args(args)?;
        kwargs.assert_all_used()?;
        let [source_name, table_name] = names.as_slice() else {
            return Err(error_with_help(
                format!("source() takes exactly 2 arguments, got {}", names.len()),
                "write source('source_name', 'table_name')",
            ));
        };
        let key = (source_name.clone(), table_name.clone());
        match node.phase {
            Phase::Parse => {
                // Sources are known before parsing, so the parse render can use the real name.
                let relation = node
                    .resolved
                    .as_ref()
                    .and_then(|r| r.sources.get(&key))
                    .cloned()
                    .unwrap_or_else(|| {
                        Relation::new(
                            &node.shared.target_database,
                            source_name,
                            table_name,
                            "table",
                        )
                    });
                lock(&node.captured).sources.push(key);
                Ok(Value::from_object(relation))
            }
            Phase::Compile => match node.resolved.as_ref().and_then(|r| r.sources.get(&key)) {
                Some(relation) => Ok(Value::from_object(node.as_read(relation))),
                None => Err(error_with_help(
                    format!(
                        "'{}' depends on a source named '{source_name}.{table_name}' which was not found",
                        node.name
                    ),
                    format!(
                        "declare table '{table_name}' under source '{source_name}' in a properties yml (sources: - name: {source_name} tables: - name: {table_name})"
                    ),
                )),
            },
        }
    }
}

#[derive(Debug)]
struct ConfigFn(Arc<RenderNode>);

impl Object for ConfigFn {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let node = &self.0;
        let (positional, kwargs): (Rest<Value>, Kwargs) = from_args(args)?;
        if node.phase == Phase::Compile {
            // dbt applies config() while parsing; at compile time it is a no-op.
            return Ok(Value::from(""));
        }
        let mut values = Vec::new();
        for value in positional.iter() {
            if let Json::Object(map) = jinja_to_json(value) {
                values.extend(map);
            } else {
                return Err(error_with_help(
                    "config() takes keyword arguments or one dict",
                    "write {{ config(materialized='table') }}",
                ));
            }
        }
        for key in kwargs.args() {
            let value: Value = kwargs.get(key)?;
            values.push((key.to_string(), jinja_to_json(&value)));
        }
        let kind = node.kind();
        for (key, value) in &values {
            if let Err(invalid) =
                node.shared
                    .checker
                    .check(kind, &config::normalize_key(key), value)
            {
                return Err(error_with_help(invalid.message, invalid.help));
            }
        }
        let mut config = lock(&node.config);
        for (key, value) in values {
            config::merge(&mut config, &key, value);
        }
        Ok(Value::from(""))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let node = &self.0;
        match method {
            "get" | "require" => {
                // While parsing, later config() calls may still change the answer.
                node.observe();
                let (key, default, kwargs): (String, Option<Value>, Kwargs) = from_args(args)?;
                let _ = kwargs.get::<Option<Value>>("validator")?;
                let default = match default {
                    Some(default) => Some(default),
                    None => kwargs.get::<Option<Value>>("default")?,
                };
                let config = lock(&node.config);
                match config.get(&config::normalize_key(&key)) {
                    Some(value) => Ok(node.config_value(value)),
                    None if method == "require" => Err(error_with_help(
                        format!("config '{key}' is required but not set"),
                        format!("set it with {{{{ config({key}=...) }}}} or in dbt_project.yml"),
                    )),
                    None => Ok(default.unwrap_or_else(|| Value::from(()))),
                }
            }
            "set" => {
                let (key, value): (String, Value) = from_args(args)?;
                let value = jinja_to_json(&value);
                if let Err(invalid) =
                    node.shared
                        .checker
                        .check(node.kind(), &config::normalize_key(&key), &value)
                {
                    return Err(error_with_help(invalid.message, invalid.help));
                }
                if node.phase == Phase::Parse {
                    config::merge(&mut lock(&node.config), &key, value);
                }
                Ok(Value::from(""))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

#[derive(Debug)]
struct VarFn(Arc<RenderNode>);

impl Object for VarFn {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let node = &self.0;
        // `var('x', none)` has a default (None); `var('x')` has none. Option<Value> cannot tell.
        let (name, rest): (String, Rest<Value>) = from_args(args)?;
        let default = rest.first().cloned();
        match node.shared.vars.binding(&name) {
            VarBinding::Inline(value) => Ok(json_to_jinja(&value)),
            VarBinding::Deferred(value) => {
                lock(&node.captured).deferred_vars.insert(name.clone());
                Ok(match node.var_mode {
                    // The marker is plain text, so it concatenates like the value would
                    // (`"'" + var('d') + "'"`); anything else it decides is caught by comparing
                    // renders with the value and a probe (see compile::render).
                    VarMode::Markers => Value::from(deferred_marker(&name)),
                    VarMode::Values => json_to_jinja(&value),
                    VarMode::Probe => json_to_jinja(&probe_value(&value)),
                })
            }
            VarBinding::Missing => default.ok_or_else(|| {
                error_with_help(
                    format!("required var '{name}' not found in config"),
                    format!("define `{name}` under `vars:` in dbt_project.yml, pass --vars '{{{name}: ...}}', or give var() a default"),
                )
            }),
        }
    }
}
