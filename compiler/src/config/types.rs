//! Config values checked against the types dbt-core (and dbt-athena, where mdw uses the value)
//! gives them, and against what mdw can build: a value of the wrong type is an error where it
//! is written, never coerced; a feature mdw does not support is named.

use std::collections::HashSet;

use serde_json::Value as Json;

use crate::project::{SourceFile, type_name};

/// Which node a config belongs to: dbt types some keys per resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Model,
    Seed,
    Test,
    Snapshot,
}

/// A rejected config value: what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub message: String,
    pub help: String,
}

fn invalid(message: impl Into<String>, help: impl Into<String>) -> Invalid {
    Invalid {
        message: message.into(),
        help: help.into(),
    }
}

/// The materializations mdw builds, and the strategies its incremental models run.
pub(crate) const MATERIALIZATIONS: [&str; 4] = ["table", "view", "incremental", "ephemeral"];
const STRATEGIES: [&str; 4] = ["append", "merge", "insert_overwrite", "microbatch"];
const SCHEMA_CHANGES: [&str; 4] = ["ignore", "fail", "append_new_columns", "sync_all_columns"];

/// Knows the project's custom materializations, to name them in errors.
#[derive(Debug, Default, Clone)]
pub(crate) struct Checker {
    custom_materializations: HashSet<String>,
}

impl Checker {
    pub(crate) fn new(macro_files: &[SourceFile]) -> Checker {
        let mut custom_materializations = HashSet::new();
        for file in macro_files {
            let mut rest = file.text.as_str();
            while let Some(at) = rest.find("materialization") {
                let after = &rest[at + "materialization".len()..];
                let before = rest[..at].trim_end_matches([' ', '-', '+']);
                if before.ends_with("{%") {
                    let name: String = after
                        .trim_start()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    custom_materializations.insert(name);
                }
                rest = after;
            }
        }
        Checker {
            custom_materializations,
        }
    }

    /// Checks one config value as written (`key` normalized). Values that are still Jinja
    /// templates are checked once rendered.
    pub(crate) fn check(&self, kind: NodeKind, key: &str, value: &Json) -> Result<(), Invalid> {
        if value
            .as_str()
            .is_some_and(|s| s.contains("{{") || s.contains("{%"))
        {
            return Ok(());
        }
        check_type(kind, key, value)?;
        let text = value.as_str().unwrap_or_default();
        match key {
            "materialized" if kind == NodeKind::Model => {
                if MATERIALIZATIONS.contains(&text) {
                    Ok(())
                } else if self.custom_materializations.contains(text) {
                    Err(invalid(
                        format!("custom materialization '{text}' is not supported"),
                        "mdw builds models as table, view or incremental Iceberg tables; use one of those",
                    ))
                } else {
                    Err(invalid(
                        format!("unknown materialization '{text}'"),
                        "use materialized='table', 'view' or 'incremental'",
                    ))
                }
            }
            "materialized" if kind == NodeKind::Snapshot && text != "snapshot" => Err(invalid(
                format!("a snapshot cannot be materialized as '{text}'"),
                "remove the materialized config: a snapshot is materialized as 'snapshot'",
            )),
            "strategy" if kind == NodeKind::Snapshot && !["timestamp", "check"].contains(&text) => {
                Err(invalid(
                    format!("snapshot strategy '{text}' is not supported"),
                    "use strategy='timestamp' (with updated_at) or 'check' (with check_cols); custom strategy macros are not run",
                ))
            }
            // dbt derives it from `snapshot_meta_column_names` and ignores a value set here.
            "snapshot_table_column_names" if kind == NodeKind::Snapshot && !is_empty(value) => {
                Err(invalid(
                    "snapshot_table_column_names is not a config dbt reads: dbt derives it from snapshot_meta_column_names",
                    "rename the config to snapshot_meta_column_names (keys dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to, dbt_is_deleted)",
                ))
            }
            "hard_deletes"
                if kind == NodeKind::Snapshot
                    && !["ignore", "invalidate", "new_record"].contains(&text)
                    && !value.is_null() =>
            {
                Err(invalid(
                    format!("unknown hard_deletes '{text}'"),
                    "use hard_deletes='ignore', 'invalidate' or 'new_record'",
                ))
            }
            "incremental_strategy" if !STRATEGIES.contains(&text) && !value.is_null() => {
                Err(invalid(
                    format!("unknown incremental_strategy '{text}'"),
                    "use incremental_strategy='append' or 'merge'",
                ))
            }
            "on_schema_change" if !SCHEMA_CHANGES.contains(&text) && !value.is_null() => {
                Err(invalid(
                    format!("unknown on_schema_change '{text}'"),
                    "use 'ignore', 'fail', 'append_new_columns' or 'sync_all_columns'",
                ))
            }
            "on_configuration_change"
                if !["apply", "continue", "fail"].contains(&text) && !value.is_null() =>
            {
                Err(invalid(
                    format!("unknown on_configuration_change '{text}'"),
                    "use 'apply', 'continue' or 'fail'",
                ))
            }
            "on_destroy" if !["drop", "retain"].contains(&text) && !value.is_null() => {
                Err(invalid(
                    format!("unknown on_destroy '{text}'"),
                    "use 'drop' or 'retain'",
                ))
            }
            "table_type" if !["iceberg", "hive"].contains(&text.to_lowercase().as_str()) => {
                Err(invalid(
                    format!("unknown table_type '{text}'"),
                    "mdw builds Iceberg tables: use table_type='iceberg'",
                ))
            }
            "severity" if kind == NodeKind::Test => {
                if ["warn", "error"].contains(&text.to_lowercase().as_str()) {
                    Ok(())
                } else {
                    Err(invalid(
                        format!("severity '{text}' is neither 'warn' nor 'error'"),
                        "use severity: warn or severity: error",
                    ))
                }
            }
            "pre-hook" | "post-hook"
                if !is_empty(value) && !matches!(kind, NodeKind::Model | NodeKind::Snapshot) =>
            {
                Err(invalid(
                    format!(
                        "{key} on a {} is not supported",
                        if kind == NodeKind::Seed {
                            "seed"
                        } else {
                            "test"
                        }
                    ),
                    "mdw runs hooks around model builds only: move the hook to a model, or run it outside mdw",
                ))
            }
            "pre-hook" | "post-hook" if has_transaction_false(value) => Err(invalid(
                format!("{key} with transaction: false is not supported"),
                "dbt-athena runs such hooks outside its materializations' order (its table materialization not at all): remove `transaction: false`",
            )),
            "pre-hook" | "post-hook" if crate::config::hooks(value).is_none() => Err(invalid(
                format!("{key} is neither a SQL string nor a list of them (or of {{sql: ...}})"),
                "write the hook as a string, a list of strings, or {sql: ..., transaction: ...}",
            )),
            "lf_tags_config" | "lf_grants" | "lf_inherited_tags"
                if !is_empty(value) && value.get("enabled") != Some(&Json::Bool(false)) =>
            {
                Err(invalid(
                    format!("{key} (Lake Formation) is not supported"),
                    "mdw does not apply Lake Formation tags or grants: remove the config, or manage them outside mdw",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// What dbt-athena leaves out of a model's build that the project sets, to say so: its
/// materializations never write `sql_header` (`set_sql_header`), so neither does mdw.
pub(crate) fn ignored_by_athena(config: &super::Config) -> Option<&'static str> {
    config
        .get("sql_header")
        .and_then(Json::as_str)
        .filter(|header| !header.trim().is_empty())
        .map(|_| "sql_header (set_sql_header), which dbt-athena's materializations do not run: the header is left out, as dbt-athena leaves it out")
}

/// Checks what only a model's merged config decides: its materialization's settings. Returns
/// the key to blame with the problem.
pub(crate) fn check_model(config: &super::Config) -> Result<(), (&'static str, Invalid)> {
    let text = |key: &str| config.get(key).and_then(Json::as_str).unwrap_or_default();
    let materialized = text("materialized");
    if !matches!(materialized, "table" | "incremental" | "snapshot") {
        return Ok(());
    }
    if text("table_type").eq_ignore_ascii_case("hive") {
        return Err((
            "table_type",
            invalid(
                "table_type 'hive' is not supported: mdw builds Iceberg tables",
                "set table_type='iceberg' (in dbt_project.yml: +table_type: iceberg)",
            ),
        ));
    }
    let format = text("format");
    if !format.is_empty() && !format.eq_ignore_ascii_case("parquet") {
        return Err((
            "format",
            invalid(
                format!("format '{format}' is not supported: mdw writes Iceberg tables as Parquet"),
                "remove the format config, or set format='parquet'",
            ),
        ));
    }
    if materialized != "incremental" {
        return Ok(());
    }
    match config.get("incremental_strategy").and_then(Json::as_str) {
        Some("insert_overwrite") => Err((
            "incremental_strategy",
            invalid(
                "incremental_strategy 'insert_overwrite' does not apply to Iceberg tables",
                "use incremental_strategy='merge' with a unique_key, or 'append'",
            ),
        )),
        Some("microbatch") => check_microbatch(config),
        Some("merge") if super::as_string_list(config.get("unique_key")).is_empty() => Err((
            "incremental_strategy",
            invalid(
                "incremental_strategy 'merge' needs a unique_key",
                "add unique_key='id' (or a list of columns) to the model's config",
            ),
        )),
        _ => Ok(()),
    }
}

/// A microbatch model's settings, as dbt-core's `check_valid_microbatch_config` and
/// dbt-athena's Iceberg materialization refuse them.
fn check_microbatch(config: &super::Config) -> Result<(), (&'static str, Invalid)> {
    match config.get("event_time") {
        None | Some(Json::Null) => {
            return Err((
                "incremental_strategy",
                invalid(
                    "a microbatch model must provide an 'event_time' (string) config that indicates the name of the event time column",
                    "add event_time='<column>' to the model's config",
                ),
            ));
        }
        Some(Json::String(_)) => {}
        Some(other) => {
            return Err((
                "event_time",
                invalid(
                    format!(
                        "a microbatch model's 'event_time' config must be a string, not {}",
                        type_name(other)
                    ),
                    "name the event time column: event_time='created_at'",
                ),
            ));
        }
    }
    match config.get("begin") {
        None | Some(Json::Null) => {
            return Err((
                "incremental_strategy",
                invalid(
                    "a microbatch model must provide a 'begin' (datetime) config that indicates the earliest timestamp the microbatch model should be built from",
                    "add begin='2024-01-01' to the model's config",
                ),
            ));
        }
        Some(Json::String(text)) if is_iso_timestamp(text) => {}
        Some(other) => {
            return Err((
                "begin",
                invalid(
                    format!(
                        "a microbatch model must provide a 'begin' config of valid datetime (ISO format), but got: {}",
                        match other {
                            Json::String(text) => text.clone(),
                            other => other.to_string(),
                        }
                    ),
                    "write begin='2024-01-01' or begin='2024-01-01T00:00:00'",
                ),
            ));
        }
    }
    let batch_size = config.get("batch_size").and_then(Json::as_str);
    if !matches!(batch_size, Some("hour" | "day" | "month" | "year")) {
        return Err((
            if config.contains_key("batch_size") {
                "batch_size"
            } else {
                "incremental_strategy"
            },
            invalid(
                format!(
                    "a microbatch model must provide a 'batch_size' config that is one of ['hour', 'day', 'month', 'year'], but got: {}",
                    config
                        .get("batch_size")
                        .map_or("None".to_string(), |v| match v {
                            Json::String(text) => text.clone(),
                            other => other.to_string(),
                        })
                ),
                "add batch_size='day' (or 'hour', 'month', 'year')",
            ),
        ));
    }
    match config.get("lookback") {
        None | Some(Json::Null) => {}
        Some(Json::Number(n)) if n.as_u64().is_some() => {}
        Some(other) => {
            return Err((
                "lookback",
                invalid(
                    format!(
                        "a microbatch model's optional 'lookback' config must be a whole number of batches, not {}",
                        type_name(other)
                    ),
                    "write lookback=1 (the batches before the current one each run processes again)",
                ),
            ));
        }
    }
    if !matches!(
        config.get("concurrent_batches"),
        None | Some(Json::Null | Json::Bool(_))
    ) {
        return Err((
            "concurrent_batches",
            invalid(
                "a microbatch model's optional 'concurrent_batches' config must be of type `bool`",
                "write concurrent_batches=false, or remove it (Athena runs batches one after another)",
            ),
        ));
    }
    if super::as_string_list(config.get("unique_key")).is_empty() {
        let iceberg = config
            .get("table_type")
            .and_then(Json::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("iceberg"));
        return Err((
            "incremental_strategy",
            if iceberg {
                invalid(
                    "Microbatch strategy for iceberg tables must implement unique_key as a single column or a list of columns.",
                    "add unique_key='id' (or a list of columns): dbt-athena merges each batch by it",
                )
            } else {
                invalid(
                    "a microbatch model without unique_key is a Hive table to dbt-athena (table_type unset is 'hive'), whose batches overwrite partitions; mdw builds Iceberg tables, where dbt-athena merges each batch by unique_key",
                    "set table_type='iceberg' and unique_key='id' (or a list of columns), or keep this model in dbt",
                )
            },
        ));
    }
    Ok(())
}

/// What Python's `datetime.fromisoformat` reads, as dbt reads `begin`: `2024-01-01`,
/// `2024-01-01T10:00`, `2024-01-01 10:00:00.5+02:00`.
fn is_iso_timestamp(text: &str) -> bool {
    let (date, time) = match text.find(['T', ' ']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() || date.len() != 10 {
        return false;
    }
    let Some(time) = time else { return true };
    let time = time.strip_suffix('Z').unwrap_or(time);
    let time = match time.rfind(['+', '-']) {
        Some(at) if at > 0 => {
            let zone = &time[at + 1..];
            if chrono::NaiveTime::parse_from_str(&format!("{zone}:00"), "%H:%M:%S").is_err() {
                return false;
            }
            &time[..at]
        }
        _ => time,
    };
    ["%H:%M:%S%.f", "%H:%M"]
        .iter()
        .any(|format| chrono::NaiveTime::parse_from_str(time, format).is_ok())
}

/// Checks what only a snapshot's merged config decides, as dbt-core refuses it (its strategy's
/// settings, `hard_deletes`), after [`check_model`] (table type, format). Returns the key to
/// blame with the problem.
pub(crate) fn check_snapshot(config: &super::Config) -> Result<(), (&'static str, Invalid)> {
    let text = |key: &str| config.get(key).and_then(Json::as_str).unwrap_or_default();
    let set = |key: &str| config.get(key).is_some_and(|v| !is_empty(v));
    if !set("unique_key") {
        return Err((
            "unique_key",
            invalid(
                "a snapshot needs a unique_key",
                "add unique_key='id' (or a list of columns) to the snapshot's config",
            ),
        ));
    }
    match text("strategy") {
        "" => {
            return Err((
                "strategy",
                invalid(
                    "a snapshot needs a strategy",
                    "add strategy='timestamp' (with updated_at) or strategy='check' (with check_cols)",
                ),
            ));
        }
        // Blamed on the strategy: the missing key is written nowhere.
        "timestamp" if !set("updated_at") => {
            return Err((
                "strategy",
                invalid(
                    "the timestamp strategy needs updated_at",
                    "add updated_at='<column>' (when a row last changed), or use strategy='check'",
                ),
            ));
        }
        "timestamp" if set("check_cols") => {
            return Err((
                "check_cols",
                invalid(
                    "A 'timestamp' snapshot should not have 'check_cols'",
                    "remove check_cols, or use strategy='check'",
                ),
            ));
        }
        "check" if !set("check_cols") => {
            return Err((
                "strategy",
                invalid(
                    "the check strategy needs check_cols",
                    "add check_cols=['col', ...] or check_cols='all'",
                ),
            ));
        }
        _ => {}
    }
    if config.get("check_cols").is_some_and(Json::is_string) && text("check_cols") != "all" {
        return Err((
            "check_cols",
            invalid(
                format!(
                    "check_cols '{}' is neither 'all' nor a list",
                    text("check_cols")
                ),
                "write check_cols='all' or check_cols=['col', ...]",
            ),
        ));
    }
    // A list is columns: dbt would run `select all from (…)`, an error.
    if let Some(Json::Array(cols)) = config.get("check_cols")
        && cols.iter().any(|c| c.as_str() == Some("all"))
    {
        return Err((
            "check_cols",
            invalid(
                "check_cols lists 'all' as a column",
                "write check_cols='all' (a string) for every column, or list column names",
            ),
        ));
    }
    if config
        .get("invalidate_hard_deletes")
        .is_some_and(|v| !v.is_null())
        && set("hard_deletes")
    {
        return Err((
            "hard_deletes",
            invalid(
                "You cannot set both the invalidate_hard_deletes and hard_deletes config properties on the same snapshot.",
                "keep hard_deletes (invalidate_hard_deletes is its older spelling)",
            ),
        ));
    }
    Ok(())
}

/// Whether a hook config holds a `{sql: …, transaction: false}` entry.
fn has_transaction_false(value: &Json) -> bool {
    let items: Vec<&Json> = match value {
        Json::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    items
        .iter()
        .any(|item| item.get("transaction") == Some(&Json::Bool(false)))
}

fn is_empty(value: &Json) -> bool {
    match value {
        Json::Null => true,
        Json::String(s) => s.trim().is_empty(),
        Json::Array(items) => items.is_empty(),
        Json::Object(map) => map.is_empty(),
        _ => false,
    }
}

#[derive(Debug, Clone, Copy)]
enum Type {
    Bool,
    Str,
    /// A string or a list of strings.
    StrOrList,
    List,
    Map,
    Int,
}

/// The declared type of a config key, and whether null is allowed.
fn declared(kind: NodeKind, key: &str) -> Option<(Type, bool)> {
    Some(match key {
        "enabled" => (Type::Bool, false),
        "full_refresh" | "store_failures" | "quote_columns" => (Type::Bool, true),
        "materialized" if kind != NodeKind::Test => (Type::Str, false),
        "alias"
        | "schema"
        | "database"
        | "group"
        | "incremental_strategy"
        | "on_schema_change"
        | "on_configuration_change"
        | "external_location"
        | "where"
        | "store_failures_as"
        | "table_type"
        | "format"
        | "on_destroy"
        | "write_compression"
        | "s3_data_naming"
        | "s3_data_dir"
        | "strategy"
        | "updated_at"
        | "target_schema"
        | "target_database"
        | "hard_deletes"
        | "dbt_valid_to_current" => (Type::Str, true),
        "invalidate_hard_deletes" => (Type::Bool, true),
        "check_cols" => (Type::StrOrList, true),
        "snapshot_meta_column_names" => (Type::Map, true),
        "delimiter" | "fail_calc" | "warn_if" | "error_if" | "severity" => (Type::Str, false),
        "tags" | "unique_key" => (Type::StrOrList, true),
        "partitioned_by"
        | "packages"
        | "incremental_predicates"
        | "merge_update_columns"
        | "merge_exclude_columns" => (Type::List, true),
        "meta" | "persist_docs" | "quoting" | "column_types" | "grants" | "docs" | "contract"
        | "table_properties" => (Type::Map, true),
        "limit" => (Type::Int, true),
        _ => return None,
    })
}

fn check_type(kind: NodeKind, key: &str, value: &Json) -> Result<(), Invalid> {
    let Some((expected, nullable)) = declared(kind, key) else {
        return Ok(());
    };
    let ok = match (expected, value) {
        (_, Json::Null) => nullable,
        (Type::Bool, Json::Bool(_))
        | (Type::Str, Json::String(_))
        | (Type::StrOrList, Json::String(_))
        | (Type::Map, Json::Object(_)) => true,
        (Type::Int, Json::Number(n)) => n.is_i64() || n.is_u64(),
        (Type::StrOrList | Type::List, Json::Array(items)) => items.iter().all(Json::is_string),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let (what, example) = match expected {
        Type::Bool => ("a boolean (true or false)", format!("{key}: true")),
        Type::Str => ("a string", format!("{key}: '...'")),
        Type::StrOrList => (
            "a string or a list of strings",
            format!("{key}: ['a', 'b']"),
        ),
        Type::List => ("a list of strings", format!("{key}: ['a', 'b']")),
        Type::Map => ("a mapping", format!("{key}: {{'name': 'value'}}")),
        Type::Int => ("an integer", format!("{key}: 10")),
    };
    Err(invalid(
        format!("config '{key}' must be {what}, not {}", describe(value)),
        format!("write it as {example}"),
    ))
}

fn describe(value: &Json) -> String {
    match value {
        Json::String(s) => format!("the string '{s}'"),
        Json::Array(items) if items.iter().any(|i| !i.is_string()) => {
            "a list that holds something other than strings".to_string()
        }
        other => format!("{} ({other})", type_name(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dbt_types_are_enforced() {
        let checker = Checker::default();
        let check = |key: &str, value: Json| checker.check(NodeKind::Model, key, &value);
        assert!(check("materialized", json!(123)).is_err());
        assert!(check("enabled", json!("yes please")).is_err());
        assert!(check("table_properties", json!(["a"])).is_err());
        assert!(check("tags", json!({"a": 1})).is_err());
        assert!(check("materialized", json!("tabel")).is_err());
        assert!(check("pre-hook", json!("VACUUM {{ this }}")).is_ok());
        assert!(
            check(
                "post-hook",
                json!([{"sql": "select 1", "transaction": true}])
            )
            .is_ok()
        );
        assert!(check("post-hook", json!(42)).is_err());
        assert!(
            check(
                "post-hook",
                json!({"sql": "select 1", "transaction": false})
            )
            .is_err()
        );
        assert!(
            checker
                .check(NodeKind::Seed, "post-hook", &json!("select 1"))
                .is_err()
        );
        assert!(check("enabled", json!("{{ var('x') }}")).is_ok());
        assert!(check("tags", json!("a")).is_ok() && check("tags", json!(["a"])).is_ok());
        assert!(check("my_custom_key", json!([1, {"x": 2}])).is_ok());
        assert!(check("pre-hook", json!([])).is_ok());
        let severity = |s: &str| checker.check(NodeKind::Test, "severity", &json!(s));
        assert!(severity("WARN").is_ok() && severity("fatal").is_err());
    }

    #[test]
    fn custom_materializations_are_named() {
        let files = [SourceFile {
            path: "macros/m.sql".into(),
            text: "{%- materialization my_mat, adapter='athena' %}{% endmaterialization %}".into(),
        }];
        let err = Checker::new(&files)
            .check(NodeKind::Model, "materialized", &json!("my_mat"))
            .unwrap_err();
        assert!(err.message.contains("custom materialization 'my_mat'"));
    }
}
