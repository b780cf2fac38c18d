//! dbt's `microbatch` incremental strategy, engine-neutral: the model runs once per time batch,
//! each batch reading only its window of every upstream that has an `event_time`, and each
//! batch merged into the table by `unique_key` (dbt-athena runs microbatch on Iceberg as a
//! merge per batch).
//!
//! The windows are dbt-core's (`MicrobatchBuilder`): the end is the current time (or
//! `event_time_end`) raised to the batch boundary; the start is `begin` on the first build, else
//! `lookback` batches before the end's batch (or `event_time_start`). The model's SQL carries the
//! window as markers ([`BATCH_START`], [`BATCH_END`], [`BATCH_ID`]) where dbt would write the
//! batch's bounds; each batch runs the SQL with them replaced.
//!
//! A first build (no table yet, or a view) creates the table with its first batch and merges
//! the others into it, as dbt does, so `{{ this }}` is what dbt's is; a batch that fails drops
//! the partly built table (dbt keeps it, and its next run would process only the lookback
//! window), so the next apply starts again from `begin`. On an existing table each batch is one
//! atomic merge: a failed batch ends the run (dbt runs the others and reports a partial
//! success) and the batches before it stay merged; running them again merges the same rows.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::{
    BuildOutcome, DropRelation, Engine, EngineError, IncrementalBuild, IncrementalStrategy,
    RelationKind, TableBuild,
};

/// Where the batch's start goes: dbt writes `str(datetime)` in UTC, `2024-09-17 00:00:00+00:00`.
pub const BATCH_START: &str = "__mdw_batch_start__";
/// Where the batch's end goes (exclusive), written as the start.
pub const BATCH_END: &str = "__mdw_batch_end__";
/// Where the batch's id goes (dbt's `model.batch.id`: `20240917`, `20240917T16`, `202409`).
pub const BATCH_ID: &str = "__mdw_batch_id__";

/// The markers, for checks that a query carries none.
pub const MARKERS: [&str; 3] = [BATCH_START, BATCH_END, BATCH_ID];

/// dbt's `batch_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSize {
    Hour,
    Day,
    Month,
    Year,
}

impl FromStr for BatchSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hour" => Ok(BatchSize::Hour),
            "day" => Ok(BatchSize::Day),
            "month" => Ok(BatchSize::Month),
            "year" => Ok(BatchSize::Year),
            other => Err(format!(
                "batch_size {other:?} is not one of 'hour', 'day', 'month', 'year'"
            )),
        }
    }
}

impl BatchSize {
    /// The start of the batch `timestamp` falls in.
    pub fn truncate(self, timestamp: NaiveDateTime) -> NaiveDateTime {
        let date = timestamp.date();
        let day = |d: NaiveDate| d.and_time(NaiveTime::MIN);
        match self {
            BatchSize::Hour => day(date) + Duration::hours(i64::from(timestamp.hour())),
            BatchSize::Day => day(date),
            BatchSize::Month => day(date.with_day(1).unwrap_or(date)),
            BatchSize::Year => day(NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date)),
        }
    }

    /// The start of the batch `offset` batches after the one `timestamp` falls in (dbt's
    /// `offset_timestamp`). `None` past the calendar's end.
    pub fn offset(self, timestamp: NaiveDateTime, offset: i64) -> Option<NaiveDateTime> {
        let start = self.truncate(timestamp);
        match self {
            BatchSize::Hour => start.checked_add_signed(Duration::try_hours(offset)?),
            BatchSize::Day => start.checked_add_signed(Duration::try_days(offset)?),
            BatchSize::Month => {
                let months = i64::from(start.year()) * 12 + i64::from(start.month0()) + offset;
                let year = i32::try_from(months.div_euclid(12)).ok()?;
                let month = u32::try_from(months.rem_euclid(12)).ok()? + 1;
                Some(NaiveDate::from_ymd_opt(year, month, 1)?.and_time(NaiveTime::MIN))
            }
            BatchSize::Year => {
                let year = i32::try_from(i64::from(start.year()) + offset).ok()?;
                Some(NaiveDate::from_ymd_opt(year, 1, 1)?.and_time(NaiveTime::MIN))
            }
        }
    }

    /// `timestamp` raised to a batch boundary (itself when it is one).
    pub fn ceiling(self, timestamp: NaiveDateTime) -> Option<NaiveDateTime> {
        let start = self.truncate(timestamp);
        if start == timestamp {
            Some(start)
        } else {
            self.offset(start, 1)
        }
    }

    /// dbt's `batch_id`: the batch start as `2024`, `202409`, `20240917` or `20240917T16`.
    fn id(self, start: NaiveDateTime) -> String {
        let format = match self {
            BatchSize::Year => "%Y",
            BatchSize::Month => "%Y%m",
            BatchSize::Day => "%Y%m%d",
            BatchSize::Hour => "%Y%m%dT%H",
        };
        start.format(format).to_string()
    }
}

/// Parses a timestamp as dbt reads `begin` (Python's `datetime.fromisoformat`; the
/// `--event-time-start/-end` flags take these forms too): `2024-09-17`, `2024-09-17 16:06`,
/// `2024-09-17T16:06:00.5`, with an optional `Z` or `±HH:MM[:SS]` that dbt drops (it takes the
/// wall time as UTC).
pub fn parse_timestamp(text: &str) -> Result<NaiveDateTime, String> {
    let text = text.trim();
    let bad =
        || format!("{text:?} is not an ISO date or timestamp (2024-09-17, 2024-09-17T16:00:00)");
    let (date, time) = match text.find(['T', ' ']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    if date.len() != 10 {
        return Err(bad());
    }
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())?;
    let Some(time) = time else {
        return Ok(date.and_time(NaiveTime::MIN));
    };
    let time = time.strip_suffix('Z').unwrap_or(time);
    let time = match time.rfind(['+', '-']) {
        Some(at) if at > 0 => {
            let zone = &time[at + 1..];
            if NaiveTime::parse_from_str(&format!("{zone}:00"), "%H:%M:%S").is_err()
                && NaiveTime::parse_from_str(zone, "%H:%M:%S").is_err()
            {
                return Err(bad());
            }
            &time[..at]
        }
        _ => time,
    };
    ["%H:%M:%S%.f", "%H:%M"]
        .iter()
        .find_map(|format| NaiveTime::parse_from_str(time, format).ok())
        .map(|time| date.and_time(time))
        .ok_or_else(bad)
}

/// The current time in UTC, where a run's window ends.
pub fn now_utc() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// A model's microbatch settings (dbt's `batch_size`, `begin`, `lookback`, and the
/// `--event-time-start`/`--event-time-end` of a backfill).
#[derive(Debug, Clone, PartialEq)]
pub struct Microbatch {
    pub batch_size: BatchSize,
    pub begin: NaiveDateTime,
    /// Batches before the current one that each run processes again (dbt's default: 1).
    pub lookback: u32,
    pub event_time_start: Option<NaiveDateTime>,
    pub event_time_end: Option<NaiveDateTime>,
}

/// One batch: `[start, end)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    size: BatchSize,
}

impl Batch {
    /// dbt's `model.batch.id`.
    pub fn id(&self) -> String {
        self.size.id(self.start)
    }

    /// `sql` with the batch's bounds where the markers are.
    pub fn substitute(&self, sql: &str) -> String {
        let bound = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S+00:00").to_string();
        sql.replace(BATCH_START, &bound(self.start))
            .replace(BATCH_END, &bound(self.end))
            .replace(BATCH_ID, &self.id())
    }
}

impl fmt::Display for Batch {
    /// As dbt names a batch in its log: `2024-09-17`, `2024-09-17T16`, `2024-09`, `2024`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = match self.size {
            BatchSize::Year => "%Y",
            BatchSize::Month => "%Y-%m",
            BatchSize::Day => "%Y-%m-%d",
            BatchSize::Hour => "%Y-%m-%dT%H",
        };
        write!(f, "{}", self.start.format(format))
    }
}

impl Microbatch {
    /// The batches of a run at `now` (UTC); `incremental` when the table exists (dbt's
    /// `is_incremental`). dbt-core's `build_end_time`, `build_start_time` and `build_batches`.
    pub fn batches(&self, now: NaiveDateTime, incremental: bool) -> Result<Vec<Batch>, String> {
        let size = self.batch_size;
        let overflow = || "the batch window is past the calendar's end".to_string();
        let end = size
            .ceiling(self.event_time_end.unwrap_or(now))
            .ok_or_else(overflow)?;
        let start = match self.event_time_start {
            Some(start) => size.truncate(start),
            None if !incremental => size.truncate(self.begin),
            // The end is a batch boundary, so the last batch ends at it: dbt adds one to the
            // lookback (the "checkpoint straddles the batch line" case, which is every case).
            None => size
                .offset(end, -(i64::from(self.lookback) + 1))
                .ok_or_else(overflow)?,
        };
        let mut batches = Vec::new();
        let mut batch_start = start;
        loop {
            let batch_end = size.offset(batch_start, 1).ok_or_else(overflow)?;
            batches.push(Batch {
                start: batch_start,
                end: batch_end,
                size,
            });
            if batch_end >= end {
                break;
            }
            batch_start = batch_end;
        }
        // dbt ends the last batch at the end exactly.
        if let Some(last) = batches.last_mut() {
            last.end = end;
        }
        Ok(batches)
    }
}

/// What a microbatch run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub build: BuildOutcome,
    pub batches: Vec<Batch>,
    /// Rows written over every batch.
    pub rows_written: u64,
}

/// Why a run failed: the batch that failed (`None` before any ran), and what the batches
/// before it left behind.
#[derive(Debug, Clone)]
pub struct Failure {
    pub error: EngineError,
    pub batch: Option<Batch>,
    pub batches: usize,
    /// Batches merged into the existing table before the failure: they stay.
    pub committed: usize,
    /// A first build fails whole: the table its earlier batches built is dropped.
    pub first_build: bool,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.batch {
            Some(batch) => write!(
                f,
                "batch {batch} of {} failed: {}",
                self.batches, self.error
            )?,
            None => write!(f, "{}", self.error)?,
        }
        if self.first_build && self.batch.is_some() {
            write!(
                f,
                " — nothing was kept: a first build that fails is dropped, and the next apply builds from begin again"
            )?;
        } else if self.committed > 0 {
            write!(
                f,
                " — the {} batch(es) before it are merged into the table and stay (the next run merges them again)",
                self.committed
            )?;
        }
        Ok(())
    }
}

/// Runs a microbatch model at `now` (UTC) as dbt runs its batches: `build.table.sql` is the
/// query of the first batch of a first build, which creates the table; every later batch runs
/// `build.incremental_sql` (else the same) — `{{ this }}` is the table with the batches before
/// it — and is merged by `unique_key`. Both carry the batch markers; `build.strategy` and
/// `build.run_key` are not used (a merge of the same rows again changes nothing).
pub async fn run(
    engine: &dyn Engine,
    config: &Microbatch,
    build: &IncrementalBuild,
    now: NaiveDateTime,
) -> Result<Outcome, Failure> {
    let fail = |error: EngineError| Failure {
        error,
        batch: None,
        batches: 0,
        committed: 0,
        first_build: false,
    };
    let table = &build.table;
    let existing = engine
        .describe(&table.database, &table.name)
        .await
        .map_err(fail)?;
    let incremental = existing
        .as_ref()
        .is_some_and(|info| info.kind == RelationKind::Table);
    let batches = config
        .batches(now, incremental)
        .map_err(|e| fail(EngineError::InvalidInput(e)))?;
    let incremental_sql = build.incremental_sql.as_deref().unwrap_or(&table.sql);
    let mut rows_written = 0;
    let mut last = None;
    for (i, batch) in batches.iter().enumerate() {
        let step = IncrementalBuild {
            table: TableBuild {
                sql: batch.substitute(&table.sql),
                ..table.clone()
            },
            incremental_sql: Some(batch.substitute(incremental_sql)),
            strategy: IncrementalStrategy::Merge,
            run_key: None,
            ..build.clone()
        };
        match engine.incremental(&step).await {
            Ok(outcome) => {
                rows_written += outcome.rows_written;
                last = Some(outcome);
            }
            Err(error) => {
                let failure = Failure {
                    error,
                    batch: Some(*batch),
                    batches: batches.len(),
                    committed: if incremental { i } else { 0 },
                    first_build: !incremental,
                };
                // A first build's batches before the failure made a table that holds part of
                // the model: read as whole, it would be wrong, and the next run would take it
                // for built and process only its lookback window. It goes; the next apply
                // starts again from `begin`.
                if !incremental && i > 0 {
                    let dropped = engine
                        .drop_relation(&DropRelation {
                            database: table.database.clone(),
                            name: table.name.clone(),
                            purge: true,
                            external_location: table.external_location.clone(),
                            ownership: table.ownership.clone(),
                        })
                        .await;
                    if let Err(error) = dropped {
                        return Err(Failure {
                            error: EngineError::InvalidInput(format!(
                                "{failure}; the partly built table could not be dropped ({error}): drop {}.{} before the next apply",
                                table.database, table.name
                            )),
                            batch: None,
                            ..failure
                        });
                    }
                }
                return Err(failure);
            }
        }
    }
    let build = last.ok_or_else(|| fail(EngineError::InvalidInput("no batch ran".into())))?;
    Ok(Outcome {
        build,
        batches,
        rows_written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        parse_timestamp(text).unwrap()
    }

    #[test]
    fn batch_arithmetic_is_dbts() {
        // The examples of dbt-core's MicrobatchBuilder docstrings.
        let t = at("2024-09-17 16:06:00");
        assert_eq!(BatchSize::Hour.offset(t, -1), Some(at("2024-09-17 15:00")));
        assert_eq!(BatchSize::Hour.offset(t, 1), Some(at("2024-09-17 17:00")));
        assert_eq!(BatchSize::Day.offset(t, -1), Some(at("2024-09-16")));
        assert_eq!(BatchSize::Day.offset(t, 1), Some(at("2024-09-18")));
        assert_eq!(BatchSize::Month.offset(t, -1), Some(at("2024-08-01")));
        assert_eq!(BatchSize::Month.offset(t, 1), Some(at("2024-10-01")));
        assert_eq!(BatchSize::Month.offset(t, -9), Some(at("2023-12-01")));
        assert_eq!(BatchSize::Year.offset(t, -1), Some(at("2023-01-01")));
        assert_eq!(BatchSize::Year.offset(t, 1), Some(at("2025-01-01")));
        assert_eq!(BatchSize::Day.ceiling(t), Some(at("2024-09-18")));
        assert_eq!(
            BatchSize::Day.ceiling(at("2024-09-17")),
            Some(at("2024-09-17"))
        );
        assert_eq!(BatchSize::Month.ceiling(t), Some(at("2024-10-01")));
        assert_eq!(
            BatchSize::Year.ceiling(at("2024-01-01")),
            Some(at("2024-01-01"))
        );
        assert_eq!(BatchSize::Hour.ceiling(t), Some(at("2024-09-17 17:00")));
    }

    #[test]
    fn windows_are_dbts() {
        let config = Microbatch {
            batch_size: BatchSize::Day,
            begin: at("2024-09-14T05:00:00"),
            lookback: 1,
            event_time_start: None,
            event_time_end: None,
        };
        let now = at("2024-09-17 16:06:00");
        let days = |batches: Vec<Batch>| -> Vec<String> {
            batches.iter().map(|b| format!("{b}")).collect()
        };
        // First build: from begin to the end of today.
        assert_eq!(
            days(config.batches(now, false).unwrap()),
            ["2024-09-14", "2024-09-15", "2024-09-16", "2024-09-17"]
        );
        // Later runs: the lookback batch and today.
        let incremental = config.batches(now, true).unwrap();
        assert_eq!(days(incremental.clone()), ["2024-09-16", "2024-09-17"]);
        assert_eq!(incremental[1].end, at("2024-09-18"));
        let none = Microbatch {
            lookback: 0,
            ..config.clone()
        };
        assert_eq!(days(none.batches(now, true).unwrap()), ["2024-09-17"]);
        // A backfill: its own bounds, whatever the table.
        let backfill = Microbatch {
            event_time_start: Some(at("2024-09-01 12:00")),
            event_time_end: Some(at("2024-09-03 01:00")),
            ..config.clone()
        };
        let batches = backfill.batches(now, true).unwrap();
        assert_eq!(
            days(batches.clone()),
            ["2024-09-01", "2024-09-02", "2024-09-03"]
        );
        assert_eq!(batches[2].end, at("2024-09-04"));
        // An end on a boundary: dbt's last batch ends there, no empty batch after it.
        let on_boundary = Microbatch {
            event_time_start: Some(at("2024-09-01")),
            event_time_end: Some(at("2024-09-03")),
            ..config
        };
        assert_eq!(
            days(on_boundary.batches(now, true).unwrap()),
            ["2024-09-01", "2024-09-02"]
        );
    }

    #[test]
    fn markers_become_dbts_bounds() {
        let batch = Batch {
            start: at("2024-09-17 16:00"),
            end: at("2024-09-17 17:00"),
            size: BatchSize::Hour,
        };
        assert_eq!(
            batch.substitute(&format!(
                "where ts >= timestamp '{BATCH_START}' and ts < timestamp '{BATCH_END}' -- {BATCH_ID}"
            )),
            "where ts >= timestamp '2024-09-17 16:00:00+00:00' and ts < timestamp '2024-09-17 17:00:00+00:00' -- 20240917T16"
        );
        assert_eq!(batch.to_string(), "2024-09-17T16");
    }

    #[test]
    fn timestamps_parse_as_python_reads_them() {
        assert_eq!(at("2024-01-01"), at("2024-01-01T00:00:00"));
        assert_eq!(at("2024-01-01 10:30"), at("2024-01-01T10:30:00.000"));
        assert_eq!(at("2024-01-01T10:30:00+02:00"), at("2024-01-01 10:30"));
        assert_eq!(at("2024-01-01T10:30:00Z"), at("2024-01-01 10:30"));
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-01-01T25:00",
            "2024-01-01Tnoon",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }
}
