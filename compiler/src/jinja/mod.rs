//! The Jinja engine: one minijinja environment holding every model, test and macro template,
//! with dbt's context functions, and errors mapped back to the user's files.

pub(crate) mod catalog;
pub(crate) mod column;
pub(crate) mod context;
mod datetime_ops;
pub(crate) mod functions;
pub(crate) mod globals;
pub(crate) mod macros;
pub(crate) mod modules;
pub(crate) mod objects;
mod pyset;
pub(crate) mod rewrite;

use std::collections::HashMap;
use std::sync::Arc;

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use rayon::prelude::*;

use crate::error::{Diagnostic, Location};
use crate::packages::Package;
use crate::project::SourceFile;
use context::{NodeContext, RenderNode};
use functions::{Help, RaisedByProject, ReturnSignal};
use macros::{Adapter, INTERNAL, MacroEntry, MacroNamespace, MacroRegistry, Signature};
use objects::lock;
use rewrite::SourceMap;

/// mdwc's own versions of the dbt-core, dbt-adapters and dbt-athena macros projects call.
const BUILTIN_MACROS: &[(&str, &str)] = &[
    ("naming", include_str!("builtins/naming.sql")),
    ("tests", include_str!("builtins/tests.sql")),
    ("cross_db", include_str!("builtins/cross_db.sql")),
    ("types", include_str!("builtins/types.sql")),
    ("timestamps", include_str!("builtins/timestamps.sql")),
];

/// Template names of the small fixed templates mdwc renders itself.
pub(crate) const GENERIC_TEST_TEMPLATE: &str = "<mdwc>::generic_test";
pub(crate) const NAMING_TEMPLATES: [(&str, &str); 3] = [
    ("<mdwc>::schema", "generate_schema_name"),
    ("<mdwc>::alias", "generate_alias_name"),
    ("<mdwc>::database", "generate_database_name"),
];

/// How to map a template's errors back to a file.
struct TemplateOrigin {
    file: String,
    map: SourceMap,
}

pub(crate) struct Engine {
    env: Environment<'static>,
    origins: HashMap<String, TemplateOrigin>,
    /// Macro and built-in templates' (rewritten) sources. The environment loads from here on
    /// first use and keeps them compiled: they are few and called often.
    sources: Arc<HashMap<String, String>>,
    /// Model and singular-test templates. They are compiled for each render and dropped: a
    /// node renders once or twice, and keeping thousands of compiled templates costs more
    /// memory than compiling them again costs time.
    node_sources: HashMap<String, String>,
    pub registry: Arc<MacroRegistry>,
}

impl Engine {
    /// Compiles every macro block and node template. `nodes` are `(template name, file)` pairs;
    /// a node's template name is its file path (a snapshot defined in yml: `<path>#<name>`).
    pub(crate) fn new(
        project_name: &str,
        macro_files: &[SourceFile],
        packages: &[Package],
        dispatch: HashMap<String, Vec<String>>,
        nodes: &[(String, &SourceFile)],
    ) -> (Engine, Vec<Diagnostic>) {
        let mut errors = Vec::new();
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        env.set_recursion_limit(200);
        // Jinja2 prints Python's spellings: `True`, `False`, `None` (minijinja: true/false/none).
        env.set_formatter(|out, state, value| {
            use minijinja::value::ValueKind;
            if let Some(marker) = value
                .downcast_object_ref::<objects::Relation>()
                .and_then(|r| r.marker())
            {
                // A ref written straight into the output: safe to resolve after parsing.
                return out.write_str(&marker).map_err(Into::into);
            }
            match value.kind() {
                ValueKind::Bool => out
                    .write_str(if value.is_true() { "True" } else { "False" })
                    .map_err(Into::into),
                ValueKind::None => out.write_str("None").map_err(Into::into),
                _ => minijinja::escape_formatter(out, state, value),
            }
        });
        env.set_unknown_method_callback(|state, value, method, args| {
            // dbt parses with an Undefined that any call returns (dbt-common's
            // `create_undefined`): `cols[0].is_string()` parses while `cols` is still `[]`.
            // The node is rendered again to compile, where the call is real.
            if value.is_undefined()
                && context::current_node(state).is_some_and(|node| {
                    node.observe();
                    node.phase == context::Phase::Parse
                })
            {
                return Ok(Value::UNDEFINED);
            }
            if matches!(method, "append" | "extend" | "insert" | "update" | "pop" | "setdefault")
                && matches!(value.kind(), minijinja::value::ValueKind::Seq | minijinja::value::ValueKind::Map)
            {
                return Err(functions::error_with_help(
                    format!("cannot call {method}() on this value: it cannot be changed in place"),
                    "in-place changes work on lists and dicts created by a literal in a template ({% set xs = [] %}); build a new value otherwise",
                ));
            }
            // Python's `list.index(x)` (dbt_expectations calls it on a `| list` result).
            if method == "index" && value.kind() == minijinja::value::ValueKind::Seq {
                let (needle,): (Value,) = minijinja::value::from_args(args)?;
                return match value.try_iter()?.position(|item| item == needle) {
                    Some(at) => Ok(Value::from(at)),
                    None => Err(minijinja::Error::new(
                        ErrorKind::InvalidOperation,
                        format!("{needle} is not in list"),
                    )),
                };
            }
            minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
        });

        let mut origins = HashMap::new();
        let mut registry = MacroRegistry {
            root: project_name.to_string(),
            packages: HashMap::new(),
            dispatch,
        };
        let mut templates: Vec<(String, String)> = Vec::new();

        let builtin_files: Vec<SourceFile> = BUILTIN_MACROS
            .iter()
            .map(|(name, text)| SourceFile {
                path: format!("<mdwc built-in macros: {name}>"),
                text: text.to_string(),
            })
            .collect();
        let sets = std::iter::once((INTERNAL, builtin_files.as_slice()))
            .chain(std::iter::once((project_name, macro_files)))
            .chain(
                packages
                    .iter()
                    .map(|p| (p.name.as_str(), p.macros.as_slice())),
            );
        for (package, files) in sets {
            let known = registry.packages.entry(package.to_string()).or_default();
            for file in files {
                for block in rewrite::split_macros(&file.text) {
                    if block.name.is_empty() {
                        errors.push(
                            Diagnostic::new("a {% macro %} or {% test %} block has no name")
                                .at(Location::new(&file.path, block.line, 1))
                                .help("write {% macro my_macro(arg) %}…{% endmacro %}"),
                        );
                        continue;
                    }
                    if let Some(existing) = known.get(&block.name) {
                        errors.push(
                            Diagnostic::new(format!(
                                "macro '{}' is defined twice: in {} and {}",
                                block.name, existing.file, file.path
                            ))
                            .at(Location::new(&file.path, block.line, 1))
                            .help("rename or remove one of the two macros"),
                        );
                        continue;
                    }
                    let template = format!("{package}::{}::{}", file.path, block.name);
                    known.insert(
                        block.name.clone(),
                        MacroEntry {
                            template: template.clone(),
                            file: file.path.clone(),
                            signature: Arc::new(Signature {
                                params: block.params.clone(),
                                varargs: block.varargs,
                                kwargs: block.kwargs,
                            }),
                        },
                    );
                    origins.insert(
                        template.clone(),
                        TemplateOrigin {
                            file: file.path.clone(),
                            map: block.map,
                        },
                    );
                    templates.push((template, block.template));
                }
            }
        }
        let mut node_sources = HashMap::with_capacity(nodes.len());
        for (template, node) in nodes {
            let mut map = SourceMap::default();
            let text = rewrite::wrap_literals(&node.text, &mut map);
            let text = datetime_ops::wrap_datetime_arithmetic(&text, &mut map);
            origins.insert(
                template.clone(),
                TemplateOrigin {
                    file: node.path.clone(),
                    map,
                },
            );
            node_sources.insert(template.clone(), text);
        }
        templates.push((
            GENERIC_TEST_TEMPLATE.to_string(),
            "{{ __mdw_test_macro(__mdw_test_kwargs) }}".to_string(),
        ));
        for (template, function) in NAMING_TEMPLATES {
            templates.push((
                template.to_string(),
                format!("{{{{ {function}(__mdw_custom_name, __mdw_node) }}}}"),
            ));
        }

        let registry = Arc::new(registry);
        env.add_global("adapter", Value::from_object(Adapter(registry.clone())));
        // Namespaces: `dbt.x` (dbt's own macros), `<project>.x`, `<package>.x`.
        for package in registry.packages.keys() {
            env.add_global(
                package.clone(),
                Value::from_object(MacroNamespace {
                    registry: registry.clone(),
                    package: package.clone(),
                }),
            );
        }
        env.add_global("exceptions", Value::from_object(functions::Exceptions));
        env.add_global("flags", functions::flags());
        env.add_global("dbt_version", Value::from("1.11.0"));
        env.add_function("env_var", functions::env_var);
        env.add_function("log", functions::log);
        env.add_function("return", functions::dbt_return);
        env.add_function("tojson", functions::tojson);
        env.add_function("fromjson", functions::fromjson);
        for name in ["run_query", "statement", "load_result"] {
            env.add_global(name, Value::from_object(globals::NeedsConnection(name)));
        }
        env.add_global("load_relation", Value::from_object(globals::LoadRelation));
        env.add_global("api", globals::api());
        env.add_global("modules", modules::modules());
        env.add_global("invocation_id", Value::from(globals::invocation_id()));
        env.add_global("run_started_at", modules::run_started_at());
        env.add_function("print", globals::print);
        env.add_function("zip", globals::zip);
        env.add_function("set", globals::set);
        env.add_function("set_strict", globals::set_strict);
        env.add_function("local_md5", globals::local_md5);
        env.add_function("toyaml", globals::toyaml);
        env.add_function("fromyaml", globals::fromyaml);
        env.add_global(
            "try_or_compiler_error",
            Value::from_object(globals::TryOrCompilerError),
        );
        env.add_function("is_incremental", functions::is_incremental);
        env.add_function("should_store_failures", functions::should_store_failures);
        env.add_function(rewrite::LIST_FN, objects::make_list);
        env.add_function(datetime_ops::DATETIME_OP_FN, modules::datetime_op);
        env.add_function(rewrite::DICT_FN, objects::make_dict);
        for (name, callable) in registry.flat_names() {
            env.add_global(name, callable);
        }

        let sources: Arc<HashMap<String, String>> = Arc::new(templates.into_iter().collect());
        let loader_sources = sources.clone();
        env.set_loader(move |name| Ok(loader_sources.get(name).cloned()));
        let engine = Engine {
            env,
            origins,
            sources,
            node_sources,
            registry,
        };
        (engine, errors)
    }

    /// Compiles every template (in parallel), so a syntax error anywhere — also in a macro
    /// nothing calls — is reported, as dbt does.
    pub(crate) fn check_templates(&self) -> Vec<Diagnostic> {
        let mut names: Vec<&String> = self.sources.keys().collect();
        names.sort();
        let errors: Vec<Option<Diagnostic>> = names
            .par_iter()
            .map(|name| {
                self.env.get_template(name).err().map(|err| {
                    let model = self.model_of(name);
                    self.diagnose(&err, model.as_deref())
                })
            })
            .collect();
        errors.into_iter().flatten().collect()
    }

    fn model_of(&self, template: &str) -> Option<String> {
        let origin = self.origins.get(template)?;
        if template.contains("::") {
            return None;
        }
        std::path::Path::new(&origin.file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
    }

    /// Renders template `name` for `node`.
    pub(crate) fn render(&self, name: &str, node: &Arc<RenderNode>) -> Result<String, Diagnostic> {
        let context = Value::from_object(NodeContext(node.clone()));
        let rendered = match self.node_sources.get(name) {
            Some(source) => self.env.render_named_str(name, source, context),
            None => self
                .env
                .get_template(name)
                .and_then(|template| template.render(context)),
        };
        let rendered = rendered.map_err(|err| self.diagnose(&err, Some(&node.name)))?;
        if let Some(read) = lock(&node.captured).unknown_types.first() {
            return Err(Diagnostic::new(read.clone())
                .model(&node.name)
                .in_file(&node.file)
                .help(
                    "cast the column in SQL instead of reading its type, or keep this node in dbt",
                ));
        }
        Ok(rendered)
    }

    /// Evaluates a Jinja expression (a test argument such as `ref('customers')`) for `node`.
    pub(crate) fn eval_expression(
        &self,
        expression: &str,
        node: &Arc<RenderNode>,
        file: &str,
    ) -> Result<Value, Diagnostic> {
        let compiled = self
            .env
            .compile_expression_owned(expression.to_string())
            .map_err(|err| {
                Diagnostic::new(format!(
                    "cannot read `{expression}`: {}",
                    err.detail().unwrap_or("syntax error")
                ))
                .model(&node.name)
                .in_file(file)
            })?;
        compiled
            .eval(Value::from_object(NodeContext(node.clone())))
            .map_err(|err| {
                let mut diagnostic = self.diagnose(&err, Some(&node.name));
                if diagnostic.location.is_none() {
                    diagnostic = diagnostic.in_file(file);
                }
                diagnostic
            })
    }

    pub(crate) fn render_str(
        &self,
        text: &str,
        node: &Arc<RenderNode>,
        file: &str,
    ) -> Result<String, Diagnostic> {
        let text = datetime_ops::wrap_datetime_arithmetic(text, &mut SourceMap::default());
        self.env
            .render_str(&text, Value::from_object(NodeContext(node.clone())))
            .map_err(|err| self.diagnose(&err, Some(&node.name)).in_file(file))
    }

    pub(crate) fn test_kwargs(pairs: Vec<(String, Value)>) -> Value {
        Value::from(Kwargs::from_iter(pairs))
    }

    /// Turns a template error into a diagnostic at the innermost place it happened.
    pub(crate) fn diagnose(&self, err: &minijinja::Error, model: Option<&str>) -> Diagnostic {
        let mut help = None;
        let mut verbatim = false;
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            if let Some(h) = cause.downcast_ref::<Help>() {
                help.get_or_insert_with(|| h.0.clone());
            }
            if cause.is::<RaisedByProject>() {
                verbatim = true;
                help.get_or_insert_with(|| {
                    "the project raised this error (exceptions.raise_compiler_error) at this position".into()
                });
            }
            if cause.is::<ReturnSignal>() {
                help.get_or_insert_with(|| "use return() only inside {% macro %} blocks".into());
            }
            source = cause.source();
        }
        let detail = err.detail().unwrap_or_default();
        // `pkg.macro(...)` where `pkg` is nothing known: a package that is not installed.
        if let Some((method, name)) = undefined_namespace(detail) {
            help.get_or_insert_with(|| {
                format!(
                    "install package '{name}' (packages.yml, then `mdwc deps`), or fix the name"
                )
            });
            let mut diagnostic = Diagnostic::new(format!(
                "`{name}.{method}`: there is no package or macro namespace named '{name}'"
            ));
            if let Some(model) = model {
                diagnostic = diagnostic.model(model);
            }
            diagnostic.help = help;
            return self.located(err, diagnostic);
        }
        let message = if verbatim {
            detail.to_string()
        } else {
            match err.kind() {
                ErrorKind::SyntaxError => format!("syntax error: {detail}"),
                ErrorKind::UnknownFunction => {
                    format!(
                        "unknown macro or function: {}",
                        detail.trim_end_matches(" is unknown")
                    )
                }
                ErrorKind::UnknownMethod => format!("unknown method: {detail}"),
                ErrorKind::UndefinedError if detail.is_empty() => {
                    "a value is undefined here (a name that is not defined, or an attribute it does not have)".to_string()
                }
                ErrorKind::UndefinedError => format!("undefined value: {detail}"),
                ErrorKind::TooManyArguments => format!("too many arguments: {detail}"),
                ErrorKind::MissingArgument => format!("missing argument: {detail}"),
                ErrorKind::InvalidOperation
                    if detail.contains("operator on unsupported types plain object") =>
                {
                    help.get_or_insert_with(|| "mdwc cannot add or subtract modules.datetime values (date - timedelta) yet: compute the date in SQL, or pass it with --vars".into());
                    detail.to_string()
                }
                ErrorKind::InvalidOperation if !detail.is_empty() => detail.to_string(),
                ErrorKind::TemplateNotFound => format!(
                    "{{% include %}}, {{% extends %}} and {{% import %}} are not supported ({detail})"
                ),
                kind if detail.is_empty() => kind.to_string(),
                kind => format!("{kind}: {detail}"),
            }
        };
        if help.is_none() {
            help = Some(
                match err.kind() {
                    ErrorKind::SyntaxError => "check that every {% if %}, {% for %}, {% macro %} and {% set %}…{% endset %} has its end tag and every {{ is closed by }}",
                    ErrorKind::UnknownFunction => "define the macro in macros/*.sql, or fix its name",
                    ErrorKind::UndefinedError => "check the variable or attribute name",
                    ErrorKind::TemplateNotFound => "dbt models and macros cannot load other templates: call a macro from macros/ instead",
                    _ => "fix the template at this position",
                }
                .to_string(),
            );
        }
        let mut diagnostic = Diagnostic::new(message);
        if let Some(model) = model {
            diagnostic = diagnostic.model(model);
        }
        diagnostic.help = help;
        self.located(err, diagnostic)
    }

    /// `diagnostic` at the place in the user's file where `err` happened.
    fn located(&self, err: &minijinja::Error, mut diagnostic: Diagnostic) -> Diagnostic {
        if let Some(name) = err.name()
            && let Some(origin) = self.origins.get(name)
        {
            let line = err.line().unwrap_or(1);
            let source = self
                .sources
                .get(name)
                .or_else(|| self.node_sources.get(name));
            let column = match (err.range(), source) {
                (Some(range), Some(text)) => origin.map.column(text, range.start),
                _ => 1,
            };
            diagnostic = diagnostic.at(Location::new(&origin.file, line, column));
        }
        diagnostic
    }
}

/// `(method, name)` from minijinja's "undefined has no method named m (`name` is undefined)".
fn undefined_namespace(detail: &str) -> Option<(&str, &str)> {
    let rest = detail.strip_prefix("undefined has no method named ")?;
    let (method, rest) = rest.split_once(" (`")?;
    let (name, _) = rest.split_once("` is undefined")?;
    Some((method, name))
}
