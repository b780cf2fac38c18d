//! An incremental model with dbt's `microbatch` strategy (`incremental_strategy =
//! "microbatch"`): the `microbatch` attribute, its checks at validate/plan, and one run at
//! apply — the model once per time batch, each batch merged by `unique_key`
//! (`mdw_engine::microbatch`).
//!
//! The model's SQL carries the batch bounds as markers (`__mdw_batch_start__`,
//! `__mdw_batch_end__`, `__mdw_batch_id__`) where dbt writes them — mdwc emits them in the
//! event-time filters of the model's refs. A microbatch model runs when it builds, as any
//! incremental model: created, SQL or settings changed, or something it reads changed
//! (`upstream`).

use mdw_engine::microbatch::{self, BatchSize, MARKERS, Microbatch};
use mdw_engine::{BuildOutcome, Engine, IncrementalBuild};
use tfplugin::{ApplyError, AttributePath, Diagnostic, Diagnostics, Value};

use crate::engines::{engine_error, engine_hint};

fn validate_batch_size(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some(size) => size.parse::<BatchSize>().map(|_| ()),
        None => Ok(()),
    }
}

fn validate_timestamp(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some(text) => microbatch::parse_timestamp(text).map(|_| ()),
        None => Ok(()),
    }
}

/// A backfill bound: a timestamp, or empty for none (what mdwc passes when the module's
/// variable is unset).
fn validate_bound(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some(text) if !text.trim().is_empty() => microbatch::parse_timestamp(text).map(|_| ()),
        _ => Ok(()),
    }
}

fn validate_lookback(value: &Value) -> Result<(), String> {
    match value.as_i64() {
        Some(n) if !(0..=10_000).contains(&n) => Err(format!(
            "lookback = {n}: give the number of batches before the current one that each run processes again, 0 or more"
        )),
        _ => Ok(()),
    }
}

tfplugin::model! {
    /// A microbatch model's settings (dbt's microbatch config).
    pub(crate) struct MicrobatchConfig {
        /// The time each batch covers: `hour`, `day`, `month` or `year` (dbt `batch_size`).
        #[tf(required, validate = validate_batch_size)]
        pub(crate) batch_size: String,
        /// Where the first build starts (dbt `begin`): an ISO date or timestamp, read as UTC.
        #[tf(required, validate = validate_timestamp)]
        pub(crate) begin: String,
        /// Batches before the current one that each later run processes again (dbt `lookback`, default 1).
        #[tf(validate = validate_lookback)]
        pub(crate) lookback: Option<i64>,
        /// A backfill's start, as `dbt run --event-time-start`: set, every run covers it instead of the lookback window; empty: unset (mdwc passes `var.microbatch_start`). Unlike dbt's flags, either bound may be set alone: the start alone runs to now, the end alone runs as at that time.
        #[tf(validate = validate_bound)]
        pub(crate) event_time_start: Option<String>,
        /// A backfill's end (exclusive, raised to the batch boundary), as `dbt run --event-time-end`; unset or empty: now (mdwc passes `var.microbatch_end`).
        #[tf(validate = validate_bound)]
        pub(crate) event_time_end: Option<String>,
    }
}

impl MicrobatchConfig {
    /// The engine's settings; `None` when a value does not parse (refused at validate).
    pub(crate) fn microbatch(&self) -> Option<Microbatch> {
        let time = |text: &Option<String>| match text.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => microbatch::parse_timestamp(text).ok().map(Some),
            _ => Some(None),
        };
        Some(Microbatch {
            batch_size: self.batch_size.parse().ok()?,
            begin: microbatch::parse_timestamp(&self.begin).ok()?,
            lookback: u32::try_from(self.lookback.unwrap_or(1)).ok()?,
            event_time_start: time(&self.event_time_start)?,
            event_time_end: time(&self.event_time_end)?,
        })
    }
}

/// Checks across the settings (`attribute` is the model's `microbatch`); unknown values skip.
pub(crate) fn cross_checks(attribute: &str, config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let start = config.get(MicrobatchConfig::event_time_start);
    let end = config.get(MicrobatchConfig::event_time_end);
    if let (Some(start), Some(end)) = (start.as_str(), end.as_str())
        && !start.trim().is_empty()
        && !end.trim().is_empty()
        && let (Ok(from), Ok(to)) = (
            microbatch::parse_timestamp(start),
            microbatch::parse_timestamp(end),
        )
        && from >= to
    {
        diags.push(
            Diagnostic::error(
                "event_time_start must be before event_time_end",
                format!(
                    "The backfill covers [{start}, {end}), which is empty (dbt refuses it too); swap them or move one."
                ),
            )
            .at(AttributePath::root(attribute).attribute(MicrobatchConfig::event_time_end)),
        );
    }
    diags
}

/// Whether `sql` carries a batch marker: only a microbatch model's may.
pub(crate) fn has_markers(sql: &str) -> bool {
    MARKERS.iter().any(|marker| sql.contains(marker))
}

/// `sql` as one batch runs it, for the plan-time engine check of the query.
pub(crate) fn sample_batch(sql: &str) -> String {
    let sample = Microbatch {
        batch_size: BatchSize::Day,
        begin: Default::default(),
        lookback: 0,
        event_time_start: None,
        event_time_end: None,
    };
    match sample.batches(Default::default(), true) {
        Ok(batches) if !batches.is_empty() => batches[0].substitute(sql),
        _ => sql.to_string(),
    }
}

/// Runs the model's batches at the current time (`mdw_engine::microbatch::run`).
pub(crate) async fn run(
    engine: &dyn Engine,
    config: &MicrobatchConfig,
    build: &IncrementalBuild,
    doing: &str,
) -> Result<BuildOutcome, ApplyError> {
    let settings = config.microbatch().ok_or_else(|| {
        ApplyError::from(
            Diagnostic::error(
                format!("{doing}: the microbatch settings do not parse"),
                "Check batch_size, begin and the event_time bounds (validate names the bad one).",
            )
            .at_attribute("microbatch"),
        )
    })?;
    match microbatch::run(engine, &settings, build, microbatch::now_utc()).await {
        Ok(outcome) => {
            tracing::info!(
                "{doing}: {} batch(es) from {} to {}, {} row(s) written",
                outcome.batches.len(),
                outcome
                    .batches
                    .first()
                    .map(|b| b.to_string())
                    .unwrap_or_default(),
                outcome
                    .batches
                    .last()
                    .map(|b| b.to_string())
                    .unwrap_or_default(),
                outcome.rows_written
            );
            Ok(outcome.build)
        }
        Err(failure) if failure.batch.is_some() => Err(ApplyError::from(Diagnostic::error(
            doing.to_string(),
            format!("{failure}.{}", engine_hint(&failure.error)),
        ))),
        Err(failure) => Err(ApplyError::from(engine_error(doing, &failure.error))),
    }
}
