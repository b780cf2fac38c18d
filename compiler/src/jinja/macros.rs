//! Macros by package, found as dbt finds them: a bare name in the project's macros, then dbt's
//! own (`dbt`, mdwc's built-ins); `pkg.name` in one package; `adapter.dispatch(name, ns)`
//! through the project's `dispatch:` search order and the Athena prefixes (`athena__`, then
//! `default__`; dbt-athena declares no parent adapter).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use minijinja::value::{Kwargs, Object, ObjectRepr, Rest, from_args};
use minijinja::{Error, ErrorKind, State, Value};

use super::context::CONTEXT_KEY;
use super::functions::{error_with_help, return_value};

/// The package of dbt's own macros (mdwc's built-ins).
pub(crate) const INTERNAL: &str = "dbt";

/// dbt-athena's dispatch prefixes, in dbt-core's order: the adapter, its parents (none), `default`.
const PREFIXES: [&str; 2] = ["athena", "default"];

/// Where a macro lives: the template compiled from its block, and its signature.
#[derive(Debug, Clone)]
pub(crate) struct MacroEntry {
    pub template: String,
    pub file: String,
    pub signature: Arc<Signature>,
}

/// A macro's declared parameters, and whether it takes Jinja2's `varargs` / `kwargs`.
#[derive(Debug, Default)]
pub(crate) struct Signature {
    pub params: Vec<String>,
    pub varargs: bool,
    pub kwargs: bool,
}

/// Every macro, by package and name.
#[derive(Debug, Default)]
pub(crate) struct MacroRegistry {
    pub root: String,
    pub packages: HashMap<String, HashMap<String, MacroEntry>>,
    /// The project's `dispatch:` config: macro namespace → packages to search, in order.
    pub dispatch: HashMap<String, Vec<String>>,
}

fn callable(name: &str, entry: &MacroEntry) -> Value {
    Value::from_object(MacroFn {
        name: name.to_string(),
        template: entry.template.clone(),
        signature: entry.signature.clone(),
    })
}

impl MacroRegistry {
    pub(crate) fn get(&self, package: &str, name: &str) -> Option<&MacroEntry> {
        self.packages.get(package)?.get(name)
    }

    /// What a bare name means in a project node: the project's macro, else dbt's.
    pub(crate) fn flat(&self, name: &str) -> Option<Value> {
        self.get(&self.root, name)
            .or_else(|| self.get(INTERNAL, name))
            .map(|entry| callable(name, entry))
    }

    /// `package.name`.
    pub(crate) fn in_package(&self, package: &str, name: &str) -> Option<Value> {
        self.get(package, name).map(|entry| callable(name, entry))
    }

    /// Whether the project defines `name`.
    pub(crate) fn is_overridden(&self, name: &str) -> bool {
        self.get(&self.root, name).is_some()
    }

    /// Whether the project changes how dbt's `name` renders: it defines the macro or one of
    /// its dispatched implementations, or routes dbt's dispatch elsewhere.
    pub(crate) fn is_customized(&self, name: &str) -> bool {
        self.dispatch.contains_key(INTERNAL)
            || self.is_overridden(name)
            || PREFIXES
                .iter()
                .any(|prefix| self.is_overridden(&format!("{prefix}__{name}")))
    }

    /// The macro of generic test `test` (`namespace.test` in yml): in that package, else the
    /// project's, then an installed package's, then dbt's — dbt's locality order.
    pub(crate) fn test_macro(
        &self,
        namespace: Option<&str>,
        test: &str,
    ) -> Option<(String, String)> {
        let name = format!("test_{test}");
        if let Some(package) = namespace {
            return self
                .get(package, &name)
                .map(|_| (package.to_string(), name));
        }
        let mut packages: Vec<&String> = self
            .packages
            .keys()
            .filter(|p| **p != self.root && *p != INTERNAL)
            .collect();
        packages.sort();
        std::iter::once(&self.root)
            .chain(packages)
            .chain(std::iter::once(&INTERNAL.to_string()))
            .find(|package| self.get(package, &name).is_some())
            .map(|package| (package.clone(), name))
    }

    /// `adapter.dispatch(name, namespace)`, as dbt-core's `BaseDatabaseWrapper.dispatch`.
    pub(crate) fn dispatch(&self, name: &str, namespace: Option<&str>) -> Result<Value, Error> {
        if name.contains('.') {
            return Err(error_with_help(
                format!(
                    "adapter.dispatch got the macro name '{name}', but '.' is not valid in a macro name"
                ),
                "pass the package as the namespace: adapter.dispatch('name', 'package')",
            ));
        }
        // dbt: the `dispatch:` search order; for an installed package, the project then the
        // package; otherwise the flat namespace.
        let search: Vec<Option<&str>> = match namespace {
            Some(ns) => match self.dispatch.get(ns) {
                Some(order) => order.iter().map(|p| Some(p.as_str())).collect(),
                None if ns != INTERNAL && self.packages.contains_key(ns) => {
                    vec![Some(self.root.as_str()), Some(ns)]
                }
                None => vec![None],
            },
            None => vec![None],
        };
        let mut attempts = Vec::new();
        for package in search {
            for prefix in PREFIXES {
                let candidate = format!("{prefix}__{name}");
                let found = match package {
                    None => self.flat(&candidate),
                    Some(package) if self.packages.contains_key(package) => {
                        self.in_package(package, &candidate)
                    }
                    Some(package) => {
                        return Err(error_with_help(
                            format!(
                                "adapter.dispatch searches package '{package}', which is not installed"
                            ),
                            "install it (`mdwc deps`) or fix the `dispatch:` search_order in dbt_project.yml",
                        ));
                    }
                };
                attempts.push(match package {
                    Some(package) => format!("'{package}.{candidate}'"),
                    None => format!("'{candidate}'"),
                });
                if let Some(found) = found {
                    return Ok(found);
                }
            }
        }
        Err(error_with_help(
            format!(
                "adapter.dispatch found no macro named '{name}' in namespace '{}'; searched {}",
                namespace.unwrap_or("None"),
                attempts.join(", ")
            ),
            format!(
                "define `default__{name}` (or `athena__{name}`) in macros/, or install the package that has it"
            ),
        ))
    }

    /// Every macro that may be called by a bare name, with its callable.
    pub(crate) fn flat_names(&self) -> BTreeMap<String, Value> {
        let mut names = BTreeMap::new();
        for package in [INTERNAL, self.root.as_str()] {
            for (name, entry) in self.packages.get(package).into_iter().flatten() {
                names.insert(name.clone(), callable(name, entry));
            }
        }
        names
    }
}

thread_local! {
    /// Depth of nested macro calls on this thread: runaway recursion must be an error, not a
    /// stack overflow.
    static MACRO_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

const MAX_MACRO_DEPTH: usize = 48;

/// A project, package or built-in macro, callable from any template: it runs its own template
/// with the caller's node context as root, as dbt runs macros in the calling node's context.
#[derive(Debug)]
pub(crate) struct MacroFn {
    pub name: String,
    pub template: String,
    pub signature: Arc<Signature>,
}

impl MacroFn {
    /// The arguments as the macro's template takes them: Jinja2's extra positional arguments
    /// in `varargs`, extra keyword arguments in `kwargs`, and a `{% call %}` body rendered
    /// now, in the caller's state (a minijinja macro cannot run in another template's state).
    fn arguments(&self, state: &mut State<'_, '_>, args: &[Value]) -> Result<Vec<Value>, Error> {
        let (positional, kwargs): (&[Value], Option<Kwargs>) = match args.last() {
            Some(last) if last.is_kwargs() => {
                let (_, kwargs): (Rest<Value>, Kwargs) = from_args(std::slice::from_ref(last))?;
                (&args[..args.len() - 1], Some(kwargs))
            }
            _ => (args, None),
        };
        let signature = &self.signature;
        let declared = signature.params.len();
        let (positional, extra) = if signature.varargs && positional.len() > declared {
            positional.split_at(declared)
        } else {
            (positional, &[][..])
        };
        let mut passed: Vec<(String, Value)> = Vec::new();
        let mut extra_kwargs: Vec<(Value, Value)> = Vec::new();
        for key in kwargs
            .iter()
            .flat_map(|k| k.args().map(str::to_string).collect::<Vec<_>>())
        {
            let value: Value = kwargs
                .as_ref()
                .map_or(Ok(Value::UNDEFINED), |k| k.get(&key))?;
            if key == super::rewrite::SPLAT_KWARG {
                // `**mapping`: its entries are keyword arguments.
                for name in value.try_iter()? {
                    let item = value.get_item(&name)?;
                    match name.as_str() {
                        Some(k) if signature.kwargs && !signature.params.iter().any(|p| p == k) => {
                            extra_kwargs.push((name.clone(), item));
                        }
                        Some(k) => passed.push((k.to_string(), item)),
                        None => {}
                    }
                }
            } else if key == "caller" {
                let body = value.call(state, &[])?;
                passed.push((key, Value::from_object(CallerBody(body))));
            } else if signature.kwargs && !signature.params.contains(&key) {
                extra_kwargs.push((Value::from(key), value));
            } else {
                passed.push((key, value));
            }
        }
        if signature.varargs {
            passed.push(("varargs".into(), Value::from(extra.to_vec())));
        }
        if signature.kwargs {
            passed.push((
                "kwargs".into(),
                super::objects::make_dict_from(extra_kwargs),
            ));
        }
        let mut out = positional.to_vec();
        if !passed.is_empty() {
            out.push(Value::from(Kwargs::from_iter(passed)));
        }
        Ok(out)
    }
}

/// A `{% call %}` body, rendered in the caller's state; `caller()` returns it.
#[derive(Debug)]
struct CallerBody(Value);

impl Object for CallerBody {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, _args: &[Value]) -> Result<Value, Error> {
        Ok(self.0.clone())
    }
}

impl Object for MacroFn {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let depth = MACRO_DEPTH.with(|d| d.get());
        if depth >= MAX_MACRO_DEPTH {
            return Err(error_with_help(
                format!(
                    "macro '{}' recursed more than {MAX_MACRO_DEPTH} levels deep",
                    self.name
                ),
                "look for macros that call each other without a stopping condition",
            ));
        }
        let args = self.arguments(state, args)?;
        let args = args.as_slice();
        let root = state.lookup(CONTEXT_KEY).unwrap_or_else(|| Value::from(()));
        let template = state.env().get_template(&self.template)?;
        MACRO_DEPTH.with(|d| d.set(depth + 1));
        let result = template.render_captured(root).and_then(|mut captured| {
            captured.with_state_mut(|macro_state| {
                let callable = macro_state.lookup(&self.name).ok_or_else(|| {
                    Error::new(
                        ErrorKind::UnknownFunction,
                        format!("macro {} not found", self.name),
                    )
                })?;
                callable.call(macro_state, args)
            })
        });
        MACRO_DEPTH.with(|d| d.set(depth));
        match result {
            Ok(value) => Ok(value),
            Err(err) => match return_value(&err) {
                Some(value) => Ok(value),
                None => Err(err),
            },
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<macro {}>", self.name)
    }
}

/// `dbt.<macro>`, `<project>.<macro>` and `<package>.<macro>`.
#[derive(Debug)]
pub(crate) struct MacroNamespace {
    pub registry: Arc<MacroRegistry>,
    pub package: String,
}

impl Object for MacroNamespace {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.registry.in_package(&self.package, key.as_str()?)
    }

    fn call_method(
        self: &Arc<Self>,
        state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match self.registry.in_package(&self.package, method) {
            Some(callable) => callable.call(state, args),
            None if self.package == INTERNAL => Err(error_with_help(
                format!("dbt.{method} is not a dbt macro mdwc knows"),
                "mdwc implements dbt's cross-database, type and test macros; define this one in macros/, or keep this model in dbt",
            )),
            None => Err(error_with_help(
                format!("package '{}' has no macro named '{method}'", self.package),
                "check the macro's name against the package's documentation (and its installed version)",
            )),
        }
    }
}

/// `adapter`: `dispatch`, `quote`, `type`; the catalog lookups are errors (mdwc compiles
/// offline).
#[derive(Debug)]
pub(crate) struct Adapter(pub Arc<MacroRegistry>);

impl Object for Adapter {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "behavior" => Some(Value::from_object(super::globals::Behavior)),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "dispatch" => {
                let (name, namespace, kwargs): (String, Option<Value>, Kwargs) = from_args(args)?;
                let namespace = match namespace {
                    Some(ns) => Some(ns),
                    None => kwargs.get::<Option<Value>>("macro_namespace")?,
                };
                if kwargs.has("packages") {
                    return Err(error_with_help(
                        "adapter.dispatch's `packages` argument was removed in dbt 1.0",
                        "use macro_namespace and a `dispatch:` config in dbt_project.yml",
                    ));
                }
                kwargs.assert_all_used()?;
                let namespace = namespace.filter(|ns| !ns.is_none() && !ns.is_undefined());
                let namespace = namespace.map(|ns| ns.to_string());
                self.0.dispatch(&name, namespace.as_deref())
            }
            "quote" => {
                let (identifier,): (String,) = from_args(args)?;
                Ok(Value::from(format!("\"{identifier}\"")))
            }
            "type" => Ok(Value::from("athena")),
            "get_columns_in_relation" => super::catalog::get_columns_in_relation(state, args),
            "get_relation" => super::globals::get_relation(state, args),
            "already_exists" | "list_relations_without_caching" | "get_relations_by_pattern" => {
                super::globals::catalog_lookup(state, &format!("adapter.{method}"))
            }
            _ => Err(error_with_help(
                format!("adapter.{method}() is not available in mdwc"),
                "mdwc knows adapter.dispatch, adapter.quote and adapter.type; compute the value in SQL instead",
            )),
        }
    }
}

/// The error for a call that reads the warehouse's catalog while compiling.
pub(crate) fn needs_catalog(what: &str) -> Error {
    error_with_help(
        format!("{what} reads the warehouse's catalog, which mdwc does not do yet"),
        "mdwc compiles offline: write the columns or relation out in the model, or keep this model in dbt",
    )
}
