//! The rest of dbt's Jinja context: `api` (Athena's column types and relations), the calls that
//! need a warehouse (`run_query`, `statement`, `load_result`: no-ops while parsing, as in dbt;
//! errors when compiling), `run_started_at`, `invocation_id`, `print`, `zip`, `set`,
//! `local_md5`, `toyaml`/`fromyaml`, `try_or_compiler_error`.

use std::sync::Arc;

use md5::{Digest, Md5};
use minijinja::value::{Kwargs, Object, Rest, ValueKind, from_args};
use minijinja::{Error, ErrorKind, State, Value};

use super::context::{Phase, current_node};
use super::functions::error_with_help;
use super::objects::Relation;
use crate::values::{jinja_to_json, json_to_jinja, map_value};

/// Whether `state` renders a node's compile phase (dbt's `execute`). Outside a node (naming
/// macros), `false`.
fn executing(state: &State) -> bool {
    current_node(state).is_some_and(|node| {
        // The answer changes between the phases: the node must be rendered again to compile.
        node.observe();
        node.phase == Phase::Compile
    })
}

/// `run_query`, `statement`, `load_result`: dbt skips them while parsing (statement does not
/// run its body, results are `None`); when compiling they would query the warehouse.
#[derive(Debug)]
pub(crate) struct NeedsConnection(pub &'static str);

impl Object for NeedsConnection {
    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, _args: &[Value]) -> Result<Value, Error> {
        let name = self.0;
        if !executing(state) {
            // `statement` renders nothing; `run_query` and `load_result` return `None`.
            return Ok(if name == "statement" {
                Value::from("")
            } else {
                Value::from(())
            });
        }
        Err(error_with_help(
            format!(
                "{name}() runs a query on the warehouse while compiling, which mdwc does not do yet"
            ),
            "mdwc compiles offline: compute the value in the model's SQL, bind it with --vars, or keep this model in dbt",
        ))
    }
}

/// `load_relation(relation)`: the relation as the warehouse has it, or none (see
/// [`super::catalog::relation_in_warehouse`]).
#[derive(Debug)]
pub(crate) struct LoadRelation;

impl Object for LoadRelation {
    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        load_relation(state, args, "load_relation")
    }
}

/// `load_relation(relation)` (dbt's `adapter` has no `load_relation`).
fn load_relation(state: &State, args: &[Value], what: &str) -> Result<Value, Error> {
    let (relation,): (Value,) = from_args(args)?;
    let Some(relation) = relation.downcast_object_ref::<Relation>() else {
        // dbt's parse context answers none whatever it is given.
        return catalog_lookup(state, &format!("{what}()"));
    };
    let key = crate::sql_columns::relation_key(&relation.rendered());
    super::catalog::relation_in_warehouse(state, key, what)
}

/// `adapter.get_relation(database, schema, identifier)`.
pub(crate) fn get_relation(state: &State, args: &[Value]) -> Result<Value, Error> {
    let (database, schema, identifier, kwargs): (
        Option<Value>,
        Option<Value>,
        Option<Value>,
        Kwargs,
    ) = from_args(args)?;
    let part = |given: Option<Value>, name: &str| -> Result<String, Error> {
        let value = match given {
            Some(v) => v,
            None => kwargs.get::<Option<Value>>(name)?.unwrap_or_default(),
        };
        Ok(if value.is_none() || value.is_undefined() {
            String::new()
        } else {
            value.to_string()
        })
    };
    let database = part(database, "database")?;
    let schema = part(schema, "schema")?;
    let identifier = part(identifier, "identifier")?;
    kwargs.assert_all_used()?;
    let key: Vec<String> = [database, schema, identifier]
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|p| p.to_lowercase())
        .collect();
    super::catalog::relation_in_warehouse(state, key, "adapter.get_relation")
}

/// The relation lookups of `adapter` while parsing: no relation (dbt's parse context answers
/// the same); when compiling they need the warehouse. (Columns: see [`super::catalog`].)
pub(crate) fn catalog_lookup(state: &State, what: &str) -> Result<Value, Error> {
    if executing(state) {
        return Err(super::macros::needs_catalog(what));
    }
    Ok(Value::from(()))
}

/// `api`: `api.Column` (Athena's type names) and `api.Relation`.
pub(crate) fn api() -> Value {
    map_value([
        ("Column", Value::from_object(ColumnApi)),
        ("Relation", Value::from_object(RelationApi)),
    ])
}

#[derive(Debug)]
struct ColumnApi;

impl Object for ColumnApi {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        super::column::class_method(method, args)?.ok_or_else(|| {
            error_with_help(
                format!("api.Column.{method} is not available in mdwc"),
                "mdwc's api.Column has AthenaColumn's class methods: translate_type, numeric_type, string_type, binary_type and array_type",
            )
        })
    }
}

#[derive(Debug)]
struct RelationApi;

impl Object for RelationApi {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "create" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let text = |key: &str| -> Result<String, Error> {
                    Ok(kwargs
                        .get::<Option<Value>>(key)?
                        .filter(|v| !v.is_none())
                        .map(|v| v.to_string())
                        .unwrap_or_default())
                };
                let relation = Relation::new(
                    &text("database")?,
                    &text("schema")?,
                    &text("identifier")?,
                    "table",
                );
                let _ = kwargs.get::<Option<Value>>("type")?;
                kwargs.assert_all_used()?;
                Ok(Value::from_object(relation))
            }
            // dbt: the CTE name of an ephemeral model.
            "add_ephemeral_prefix" => {
                let (name,): (String,) = from_args(args)?;
                Ok(Value::from(format!("__dbt__cte__{name}")))
            }
            _ => Err(error_with_help(
                format!("api.Relation.{method} is not available in mdwc"),
                "mdwc's api.Relation has create and add_ephemeral_prefix",
            )),
        }
    }
}

/// `adapter.behavior`: dbt-adapters' behaviour flags, all at their defaults (off).
#[derive(Debug)]
pub(crate) struct Behavior;

impl Object for Behavior {
    fn get_value(self: &Arc<Self>, _key: &Value) -> Option<Value> {
        Some(map_value([
            ("no_warn", Value::from(false)),
            ("setting", Value::from(false)),
        ]))
    }
}

/// `print(x)`: dbt writes to standard output; mdwc to standard error, beside its own messages.
pub(crate) fn print(value: Value) -> Value {
    eprintln!("{value}");
    Value::from("")
}

/// `zip(a, b, …)`: tuples of the items at each position, as Python.
pub(crate) fn zip(args: Rest<Value>) -> Result<Value, Error> {
    let lists: Vec<Vec<Value>> = args
        .iter()
        .map(|list| list.try_iter().map(Iterator::collect))
        .collect::<Result<_, _>>()?;
    let len = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok(Value::from(
        (0..len)
            .map(|i| Value::from(lists.iter().map(|l| l[i].clone()).collect::<Vec<_>>()))
            .collect::<Vec<_>>(),
    ))
}

/// `set(value, default=None)`: Python's set of the items ([`super::pyset`]), or `default`
/// when `value` is not an iterable of hashable items (none, a number, a list of lists), as
/// dbt's.
pub(crate) fn set(value: Value, default: Option<Value>) -> Value {
    set_strict(value).unwrap_or_else(|_| default.unwrap_or_default())
}

/// `set_strict(value)`: as `set`, failing where Python's `set()` raises a TypeError.
pub(crate) fn set_strict(value: Value) -> Result<Value, Error> {
    let type_error = |what: &str| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("set_strict(): {what} (Python's TypeError)"),
        )
    };
    if value.is_none() || value.is_undefined() {
        return Err(type_error("'NoneType' object is not iterable"));
    }
    let items: Vec<Value> = value.try_iter()?.collect();
    let unhashable =
        |item: &Value| matches!(item.kind(), ValueKind::Seq | ValueKind::Map) && !item.is_tuple();
    if items.iter().any(unhashable) {
        return Err(type_error("a list or dict is not hashable"));
    }
    Ok(Value::from_object(super::pyset::PySet::from_items(items)))
}

/// `local_md5(text)`: the hex md5 of a string.
pub(crate) fn local_md5(text: String) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn toyaml(value: Value) -> Result<String, Error> {
    serde_norway::to_string(&jinja_to_json(&value))
        .map_err(|err| Error::new(ErrorKind::InvalidOperation, err.to_string()))
}

pub(crate) fn fromyaml(text: String) -> Result<Value, Error> {
    crate::yaml::parse("fromyaml()", &text)
        .map(|json| json_to_jinja(&json))
        .map_err(|err| Error::new(ErrorKind::InvalidOperation, err.to_string()))
}

/// `try_or_compiler_error(message, function, *args)`: the function's result, or a compile
/// error with the message.
#[derive(Debug)]
pub(crate) struct TryOrCompilerError;

impl Object for TryOrCompilerError {
    fn call(self: &Arc<Self>, state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let [message, function, rest @ ..] = args else {
            return Err(Error::from(ErrorKind::MissingArgument));
        };
        function.call(state, rest).map_err(|_| {
            Error::new(ErrorKind::InvalidOperation, message.to_string())
                .with_source(super::functions::RaisedByProject)
        })
    }
}

/// This run's `invocation_id` (a UUID, as dbt's), the same in templates and the manifest.
pub(crate) fn invocation_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(new_invocation_id)
}

fn new_invocation_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let digest = Md5::digest(format!("{nanos}-{}", std::process::id()).as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_behave_like_python() {
        assert_eq!(local_md5("abc".into()), "900150983cd24fb0d6963f7d28e17f72");
        let id = new_invocation_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
    }
}
