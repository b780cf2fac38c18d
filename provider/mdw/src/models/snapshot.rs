//! A model materialized as a dbt snapshot (`materialized = "snapshot"`): the `snapshot`
//! attribute, its checks at validate/plan, and one run at apply — the first run builds the
//! table from the query, later runs rebuild it with the changed rows' versions closed and the
//! new versions added (`mdw_engine::snapshot`), through the engine's ordinary table build, so
//! a failed run leaves the old table whole.
//!
//! A snapshot runs when the model builds: on create, when its SQL or settings change, and when
//! something it reads changes (`upstream` — a source's snapshot id, a model's build id), which
//! is when `dbt snapshot` would find something new.

use std::collections::BTreeMap;

use mdw_engine::snapshot::{CheckCols, HardDeletes, Snapshot, SnapshotColumns, SnapshotStrategy};
use mdw_engine::{BuildOutcome, Engine, TableBuild};
use tfplugin::{ApplyError, AttributePath, Diagnostic, Diagnostics, Value, validators};

use crate::engines::engine_error;

const STRATEGIES: &[&str] = &["timestamp", "check"];
const HARD_DELETES: &[&str] = &["ignore", "invalidate", "new_record"];
const COLUMN_NAMES: &[&str] = &[
    "dbt_scd_id",
    "dbt_updated_at",
    "dbt_valid_from",
    "dbt_valid_to",
    "dbt_is_deleted",
];

fn validate_strategy(value: &Value) -> Result<(), String> {
    validators::one_of(STRATEGIES)(value)
}

fn validate_hard_deletes(value: &Value) -> Result<(), String> {
    validators::one_of(HARD_DELETES)(value)
}

/// A column name as dbt writes it into the snapshot's SQL unquoted: letters, digits and `_`.
fn is_column_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn validate_column_names(value: &Value) -> Result<(), String> {
    if !value.is_wholly_known() {
        return Ok(());
    }
    for (key, name) in value.string_map() {
        if !COLUMN_NAMES.contains(&key.as_str()) {
            return Err(format!(
                "column_names has no key {key:?}: use {}.",
                COLUMN_NAMES.join(", ")
            ));
        }
        if !is_column_name(&name) {
            return Err(format!(
                "column_names.{key} = {name:?} is not a column name (letters, digits and '_')."
            ));
        }
    }
    Ok(())
}

tfplugin::model! {
    /// A snapshot's settings (dbt's snapshot config).
    pub(crate) struct SnapshotConfig {
        /// `timestamp` (a row changed when its `updated_at` is newer) or `check` (when one of `check_cols` differs).
        #[tf(required, validate = validate_strategy)]
        pub(crate) strategy: String,
        /// The expressions that identify a row (dbt `unique_key`).
        #[tf(required)]
        pub(crate) unique_key: Vec<String>,
        /// The column stamping a row's version: required by `timestamp` (a column); for `check`, an expression, the run's time when unset.
        #[tf()]
        pub(crate) updated_at: Option<String>,
        /// `check`: the columns compared, or `["all"]` for every column of the query (dbt `check_cols`).
        #[tf()]
        pub(crate) check_cols: Option<Vec<String>>,
        /// Rows gone from the query: `ignore` (default) keeps their version open, `invalidate` closes it, `new_record` closes it and adds a version with `dbt_is_deleted = 'True'`.
        #[tf(validate = validate_hard_deletes)]
        pub(crate) hard_deletes: Option<String>,
        /// The `dbt_valid_to` of current versions, a SQL expression (dbt `dbt_valid_to_current`); unset: NULL.
        #[tf()]
        pub(crate) valid_to_current: Option<String>,
        /// Other names for the snapshot's columns (dbt `snapshot_meta_column_names`): `dbt_scd_id`, `dbt_updated_at`, `dbt_valid_from`, `dbt_valid_to`, `dbt_is_deleted`.
        #[tf(validate = validate_column_names)]
        pub(crate) column_names: Option<BTreeMap<String, String>>,
    }
}

impl SnapshotConfig {
    /// The engine's snapshot; the checks at plan ([`check`]) have passed.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let names = self.column_names.clone().unwrap_or_default();
        let defaults = SnapshotColumns::default();
        let name = |key: &str, default: String| names.get(key).cloned().unwrap_or(default);
        Snapshot {
            unique_key: self.unique_key.clone(),
            strategy: match self.strategy.as_str() {
                "check" => SnapshotStrategy::Check {
                    check_cols: match self.check_cols.as_deref() {
                        Some([all]) if all.eq_ignore_ascii_case("all") => CheckCols::All,
                        cols => CheckCols::Listed(cols.unwrap_or_default().to_vec()),
                    },
                    updated_at: self.updated_at.clone(),
                },
                _ => SnapshotStrategy::Timestamp {
                    updated_at: self.updated_at.clone().unwrap_or_default(),
                },
            },
            hard_deletes: match self.hard_deletes.as_deref() {
                Some("invalidate") => HardDeletes::Invalidate,
                Some("new_record") => HardDeletes::NewRecord,
                _ => HardDeletes::Ignore,
            },
            valid_to_current: self.valid_to_current.clone(),
            columns: SnapshotColumns {
                scd_id: name("dbt_scd_id", defaults.scd_id),
                updated_at: name("dbt_updated_at", defaults.updated_at),
                valid_from: name("dbt_valid_from", defaults.valid_from),
                valid_to: name("dbt_valid_to", defaults.valid_to),
                is_deleted: name("dbt_is_deleted", defaults.is_deleted),
            },
        }
    }
}

/// Checks across the snapshot's attributes (`attribute` is the model's `snapshot`): what each
/// strategy needs, as dbt refuses it. Unknown values skip.
pub(crate) fn cross_checks(attribute: &str, config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    if config.is_null() || !config.is_wholly_known() {
        return diags;
    }
    let mut error = |key: &str, summary: &str, detail: &str| {
        diags.push(
            Diagnostic::error(summary, detail).at(AttributePath::root(attribute).attribute(key)),
        );
    };
    let set = |key: &str| !config.get(key).is_null();
    if config
        .get(SnapshotConfig::unique_key)
        .as_list()
        .is_some_and(|keys| keys.is_empty())
    {
        error(
            SnapshotConfig::unique_key,
            "A snapshot needs a unique_key",
            "Set unique_key to the column(s) that identify a row, e.g. unique_key = [\"id\"].",
        );
    }
    match config.get(SnapshotConfig::strategy).as_str() {
        Some("timestamp") => {
            // dbt writes it as `source_data.<updated_at>`: one column.
            if let Some(name) = config.get(SnapshotConfig::updated_at).as_str()
                && !is_column_name(name)
            {
                error(
                    SnapshotConfig::updated_at,
                    "The timestamp strategy's updated_at must be a column",
                    "dbt compares `source_data.<updated_at>`: name a column of the query (letters, digits and '_'), or compute it in the query.",
                );
            }
            if !set(SnapshotConfig::updated_at) {
                error(
                    SnapshotConfig::updated_at,
                    "The timestamp strategy needs updated_at",
                    "Set updated_at to the column that says when a row last changed, or use strategy = \"check\".",
                );
            }
            if set(SnapshotConfig::check_cols) {
                error(
                    SnapshotConfig::check_cols,
                    "check_cols needs strategy = \"check\"",
                    "The timestamp strategy compares updated_at; remove check_cols or use the check strategy.",
                );
            }
        }
        Some("check") => {
            let cols = config.get(SnapshotConfig::check_cols);
            if cols.as_list().is_none_or(|c| c.is_empty()) {
                error(
                    SnapshotConfig::check_cols,
                    "The check strategy needs check_cols",
                    "List the columns to compare, or [\"all\"] for every column of the query.",
                );
            }
        }
        _ => {}
    }
    diags
}

/// What the engine must be able to run, checked at plan: the snapshot's expressions inside a
/// query (a Trino function the embedded engine cannot answer is refused here, not mid-run).
pub(crate) fn check_with_engine(
    engine: &dyn Engine,
    model: &str,
    attribute: &str,
    config: &SnapshotConfig,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let mut check = |path: AttributePath, expression: &str| {
        if let Err(e) = engine.check_sql(&format!("select {expression} from t")) {
            diags.push(
                Diagnostic::error(
                    format!("Snapshot {model}: an expression cannot run on this engine"),
                    format!("{e}. Rewrite it, or build the snapshot with engine = \"athena\"."),
                )
                .at(path),
            );
        }
    };
    let root = || AttributePath::root(attribute);
    for (i, key) in config.unique_key.iter().enumerate() {
        check(
            root().attribute(SnapshotConfig::unique_key).index(i as i64),
            key,
        );
    }
    if let Some(current) = &config.valid_to_current {
        check(root().attribute(SnapshotConfig::valid_to_current), current);
    }
    if let Some(updated_at) = &config.updated_at {
        check(root().attribute(SnapshotConfig::updated_at), updated_at);
    }
    for (i, col) in config.check_cols.iter().flatten().enumerate() {
        if !col.eq_ignore_ascii_case("all") {
            check(
                root().attribute(SnapshotConfig::check_cols).index(i as i64),
                col,
            );
        }
    }
    diags
}

/// Runs the snapshot (`mdw_engine::snapshot::run`); `build` is the model's table build, its
/// SQL the snapshot's query.
pub(crate) async fn run(
    engine: &dyn Engine,
    snapshot: &Snapshot,
    build: TableBuild,
    doing: &str,
) -> Result<BuildOutcome, ApplyError> {
    mdw_engine::snapshot::run(engine, snapshot, build)
        .await
        .map_err(|e| ApplyError::from(engine_error(doing, &e)))
}
