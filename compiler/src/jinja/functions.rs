//! Global functions of dbt's Jinja context that need no node: `env_var`, `log`, `return`,
//! `exceptions`, `tojson`/`fromjson`, `is_incremental`.

use std::fmt;
use std::sync::Arc;

use minijinja::value::{Kwargs, Object, Rest, from_args};
use minijinja::{Error, ErrorKind, State, Value};

use crate::values::{jinja_to_json, json_to_jinja};

/// Attached to a template error to tell the user what to do about it.
#[derive(Debug)]
pub(crate) struct Help(pub String);

impl fmt::Display for Help {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Help {}

pub(crate) fn error_with_help(message: impl Into<String>, help: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into()).with_source(Help(help.into()))
}

/// Marks an error raised by the project itself (`exceptions.raise_compiler_error`): its message
/// is shown verbatim.
#[derive(Debug)]
pub(crate) struct RaisedByProject;

impl fmt::Display for RaisedByProject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("raised by the project")
    }
}

impl std::error::Error for RaisedByProject {}

/// `return(x)` unwinds the macro being called, carrying `x` as the macro's value. minijinja has
/// no non-local exit, so it travels as an error that the macro call site catches.
#[derive(Debug)]
pub(crate) struct ReturnSignal(pub Value);

impl fmt::Display for ReturnSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("return() outside of a macro")
    }
}

impl std::error::Error for ReturnSignal {}

pub(crate) fn return_value(err: &Error) -> Option<Value> {
    let source = std::error::Error::source(err)?;
    source
        .downcast_ref::<ReturnSignal>()
        .map(|signal| signal.0.clone())
}

pub(crate) fn dbt_return(value: Option<Value>) -> Result<Value, Error> {
    Err(error_with_help(
        "return() called outside of a macro",
        "use return() only inside {% macro %} blocks of macros/*.sql",
    )
    .with_source(ReturnSignal(value.unwrap_or_else(|| Value::from(())))))
}

/// The context entry holding a unit test's `overrides: env_vars:` (a mapping).
pub(crate) const ENV_OVERRIDES: &str = "__mdw_env_overrides";

/// `env_var('X', default)`. Missing without a default is an error, as in dbt.
pub(crate) fn env_var(state: &State, name: String, default: Option<Value>) -> Result<Value, Error> {
    if let Some(overrides) = state.lookup(ENV_OVERRIDES)
        && let Ok(value) = overrides.get_item(&Value::from(name.as_str()))
        && !value.is_undefined()
    {
        return Ok(Value::from(value.to_string()));
    }
    match std::env::var(&name) {
        Ok(value) => Ok(Value::from(value)),
        Err(_) => match default {
            Some(default) => Ok(Value::from(default.to_string())),
            None => Err(error_with_help(
                format!("env var required but not provided: '{name}'"),
                format!("export {name}=... before compiling, or call env_var('{name}', 'default')"),
            )),
        },
    }
}

/// `log(msg, info=False)`: dbt prints `info` messages; mdwc writes them to stderr.
pub(crate) fn log(message: Value, info: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let info = match info {
        Some(info) => info.is_true(),
        None => kwargs
            .get::<Option<Value>>("info")?
            .is_some_and(|v| v.is_true()),
    };
    kwargs.assert_all_used()?;
    if info {
        eprintln!("{message}");
    }
    Ok(Value::from(""))
}

pub(crate) fn tojson(value: Value, _kwargs: Kwargs) -> Result<Value, Error> {
    serde_json::to_string(&jinja_to_json(&value))
        .map(Value::from)
        .map_err(|err| Error::new(ErrorKind::InvalidOperation, err.to_string()))
}

pub(crate) fn fromjson(text: String, default: Option<Value>) -> Result<Value, Error> {
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(json) => Ok(json_to_jinja(&json)),
        Err(err) => default
            .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("fromjson: {err}"))),
    }
}

/// The context entry that makes `is_incremental()` true: an incremental model is compiled twice,
/// the full build (`sql`) and the run on an existing table (`incremental_sql`); the provider
/// picks one at apply time, when it knows whether the table exists.
pub(crate) const INCREMENTAL_FLAG: &str = "__mdw_is_incremental";

pub(crate) fn is_incremental(state: &State) -> bool {
    state
        .lookup(INCREMENTAL_FLAG)
        .is_some_and(|flag| flag.is_true())
}

/// dbt's `should_store_failures()`: the test's `store_failures` config, as `TestConfig`
/// settles it with `store_failures_as` (dbt's `not_null` then selects every column).
pub(crate) fn should_store_failures(state: &State) -> bool {
    super::context::current_node(state)
        .is_some_and(|node| crate::compile::stores_failures(&super::objects::lock(&node.config)))
}

/// The `exceptions` namespace.
#[derive(Debug)]
pub(crate) struct Exceptions;

impl Object for Exceptions {
    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "raise_compiler_error" => {
                let (message, _rest): (String, Rest<Value>) = from_args(args)?;
                Err(Error::new(ErrorKind::InvalidOperation, message).with_source(RaisedByProject))
            }
            "warn" => {
                let (message, _rest): (String, Rest<Value>) = from_args(args)?;
                eprintln!("warning: {message}");
                Ok(Value::from(""))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// `flags` as dbt exposes it; compile never full-refreshes.
pub(crate) fn flags() -> Value {
    crate::values::map_value([
        ("FULL_REFRESH", Value::from(false)),
        ("WHICH", Value::from("compile")),
        ("STORE_FAILURES", Value::from(false)),
        ("EMPTY", Value::from(false)),
        ("FAIL_FAST", Value::from(false)),
        ("WARN_ERROR", Value::from(false)),
        ("USE_COLORS", Value::from(false)),
        ("SEND_ANONYMOUS_USAGE_STATS", Value::from(false)),
        ("PARTIAL_PARSE", Value::from(false)),
        ("INTROSPECT", Value::from(true)),
    ])
}
