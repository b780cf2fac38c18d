//! Date and time functions (Trino docs: functions/datetime.md). The session time zone is
//! UTC, as on Athena. Fields of a `timestamp with time zone` are those of its wall-clock time
//! in its zone; calendar units (day and longer) move the wall clock, shorter units the instant.
//! `date_format`/`date_parse` use MySQL's specifiers and `format_datetime`/`parse_datetime`
//! Joda-Time's patterns, with Trino's rules for what each accepts.

use std::sync::Arc;

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Date32Type, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ScalarUDF, Volatility};

use super::cast::{
    days_since_epoch, nanos_to_naive, round_nanos, round_to_precision, timestamp_scalar,
    timestamp_values, to_nanos,
};
use super::rows::{self, f64_at, i64_at, str_at};
use super::{Arg, Call, Func, args, args_opt, exec_err, ret_f64, ret_i64, ret_utf8, scalar_str};
use crate::datetime_util::{Zone, zone_of};
use crate::types::TrinoType;

mod patterns;
use patterns::*;

pub(super) fn functions() -> Vec<ScalarUDF> {
    use Arg::*;
    let mut all = vec![
        Func::new("date_add", args(&[Str, Int, Any]), date_add_type, date_add),
        Func::new(
            "date_diff",
            args(&[Str, Any, Any]),
            date_diff_type,
            date_diff,
        ),
        Func::new("date_trunc", args(&[Str, Any]), date_trunc_type, date_trunc),
        Func::new(
            "at_timezone",
            args(&[Any, Str]),
            zone_result_type,
            at_timezone,
        ),
        Func::new(
            "with_timezone",
            args(&[Any, Str]),
            zone_result_type,
            with_timezone,
        ),
        Func::new("date_format", args(&[Any, Str]), temporal_to_utf8, |c| {
            format_each(c, mysql_format)
        }),
        Func::new(
            "format_datetime",
            args(&[Any, Str]),
            temporal_to_utf8,
            |c| format_each(c, joda_format),
        ),
        Func::new(
            "date_parse",
            args(&[Str, Str]),
            |_, _| Ok(TrinoType::Timestamp(3).to_arrow()),
            date_parse,
        ),
        Func::new(
            "parse_datetime",
            args(&[Str, Str]),
            parse_datetime_type,
            parse_datetime,
        ),
        Func::new(
            "from_iso8601_timestamp",
            args(&[Str]),
            iso_timestamp_type,
            from_iso8601_timestamp,
        ),
        Func::new(
            "from_iso8601_date",
            args(&[Str]),
            |_, _| Ok(DataType::Date32),
            |c| {
                rows::scalars(c, |r| match str_at(c.arg(0), r) {
                    None => Ok(None),
                    Some(s) => {
                        let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                            .map_err(|_| exec_err(format!("Invalid format: \"{s}\"")))?;
                        Ok(Some(ScalarValue::Date32(Some(days_since_epoch(d)))))
                    }
                })
            },
        ),
        Func::new("to_iso8601", args(&[Any]), temporal_to_utf8, to_iso8601),
        Func::new(
            "from_unixtime",
            args_opt(&[Double], &[Str]),
            from_unixtime_type,
            from_unixtime,
        ),
        Func::new("to_unixtime", args(&[Any]), ret_f64, |c| {
            let t = Temporal::of(c.arg(0))?;
            rows::f64s(c, |r| Ok(t.instant_nanos(r)?.map(|n| n as f64 / 1e9)))
        }),
        Func::new(
            "last_day_of_month",
            args(&[Any]),
            |_, _| Ok(DataType::Date32),
            |c| {
                let t = Temporal::of(c.arg(0))?;
                rows::scalars(c, |r| {
                    Ok(t.local(r)?.map(|l| {
                        let d = l.date();
                        let next = d
                            .with_day(1)
                            .and_then(|d| d.checked_add_months(Months::new(1)));
                        let last = next.map(|n| n - Duration::days(1)).unwrap_or(d);
                        ScalarValue::Date32(Some(days_since_epoch(last)))
                    }))
                })
            },
        ),
        Func::new(
            "date",
            args(&[Any]),
            |_, _| Ok(DataType::Date32),
            |c| super::cast::cast_array(c.arg(0), &TrinoType::Date, false),
        ),
        // Volatile so that DataFusion's constant folding does not read the clock at each call
        // site: `Func::simplify` replaces each with the query's start, once per query as Trino.
        Func::with_volatility(
            "current_timestamp",
            args(&[]),
            |_, _| Ok(TrinoType::TimestampTz(3, Some("UTC".into())).to_arrow()),
            |c| now(c, true),
            Volatility::Volatile,
        ),
        Func::with_volatility(
            "now",
            args(&[]),
            |_, _| Ok(TrinoType::TimestampTz(3, Some("UTC".into())).to_arrow()),
            |c| now(c, true),
            Volatility::Volatile,
        ),
        Func::with_volatility(
            "localtimestamp",
            args(&[]),
            |_, _| Ok(TrinoType::Timestamp(3).to_arrow()),
            |c| now(c, false),
            Volatility::Volatile,
        ),
        Func::new("current_timezone", args(&[]), ret_utf8, |c| {
            rows::utf8(c, |_| Ok(Some("UTC".to_string())))
        }),
    ];
    macro_rules! field {
        ($($name:literal => $f:expr),* $(,)?) => {
            $(all.push(Func::new($name, args(&[Any]), ret_i64, |c| {
                let t = Temporal::of(c.arg(0))?;
                let f: fn(&NaiveDateTime) -> i64 = $f;
                rows::i64s(c, |r| Ok(t.local(r)?.map(|l| f(&l))))
            }));)*
        };
    }
    field!(
        "year" => |l| i64::from(l.year()),
        "quarter" => |l| i64::from((l.month() - 1) / 3 + 1),
        "month" => |l| i64::from(l.month()),
        "week" => |l| i64::from(l.iso_week().week()),
        "week_of_year" => |l| i64::from(l.iso_week().week()),
        "day" => |l| i64::from(l.day()),
        "day_of_month" => |l| i64::from(l.day()),
        "day_of_week" => |l| i64::from(l.weekday().number_from_monday()),
        "dow" => |l| i64::from(l.weekday().number_from_monday()),
        "day_of_year" => |l| i64::from(l.ordinal()),
        "doy" => |l| i64::from(l.ordinal()),
        "year_of_week" => |l| i64::from(l.iso_week().year()),
        "yow" => |l| i64::from(l.iso_week().year()),
    );
    macro_rules! time_field {
        ($($name:literal => $f:expr),* $(,)?) => {
            $(all.push(Func::new($name, args(&[Any]), |t, _| {
                if matches!(t[0], DataType::Date32) {
                    return Err(DataFusionError::Plan(format!("{}() of a date is not supported (Trino has no such field for dates)", $name)));
                }
                Ok(DataType::Int64)
            }, |c| {
                let t = Temporal::of(c.arg(0))?;
                let f: fn(&NaiveDateTime) -> i64 = $f;
                rows::i64s(c, |r| Ok(t.local(r)?.map(|l| f(&l))))
            }));)*
        };
    }
    time_field!(
        "hour" => |l| i64::from(l.hour()),
        "minute" => |l| i64::from(l.minute()),
        "second" => |l| i64::from(l.second()),
        "millisecond" => |l| i64::from(l.nanosecond() / 1_000_000),
    );
    // The zone's offset at the instant, hours and minutes each with the offset's sign
    // (`-08:35` is -8 and -35), as Java's integer division gives them.
    macro_rules! zone_field {
        ($($name:literal => $f:expr),* $(,)?) => {
            $(all.push(Func::new($name, args(&[Any]), |t, _| zone_field_type($name, &t[0]), |c| {
                let t = Temporal::of(c.arg(0))?;
                let f: fn(i32) -> i32 = $f;
                rows::i64s(c, |r| Ok(t.offset_seconds(r)?.map(|s| i64::from(f(s)))))
            }));)*
        };
    }
    zone_field!(
        "timezone_hour" => |s| s / 3600,
        "timezone_minute" => |s| s / 60 % 60,
    );
    all.into_iter().map(Func::udf).collect()
}

/// `timezone_hour`/`timezone_minute` take only a timestamp with time zone, as in Trino.
fn zone_field_type(name: &str, t: &DataType) -> Result<DataType> {
    let storage = crate::types::wrapped_timestamp(t).map_or(t.clone(), |(_, s)| s);
    match storage {
        DataType::Timestamp(_, Some(_)) => Ok(DataType::Int64),
        _ => Err(DataFusionError::Plan(format!(
            "{name}() takes a timestamp with time zone, not {}",
            super::trino_name(t)
        ))),
    }
}

/// A date, timestamp or timestamp with time zone argument, read row by row.
struct Temporal {
    kind: Kind,
    values: Vec<i64>,
    array: ArrayRef,
}

#[derive(Clone)]
enum Kind {
    Date,
    /// Unit of the stored values, and the precision (fraction digits) of the type.
    Timestamp(TimeUnit, u8),
    Zoned(TimeUnit, u8, Zone, String),
}

impl Temporal {
    fn of(array: &ArrayRef) -> Result<Temporal> {
        let (storage, precision) = crate::types::timestamp_storage(array);
        let p = precision.unwrap_or(0);
        let (kind, values) = match storage.data_type() {
            DataType::Date32 => (
                Kind::Date,
                array
                    .as_primitive::<Date32Type>()
                    .values()
                    .iter()
                    .map(|d| i64::from(*d))
                    .collect(),
            ),
            DataType::Timestamp(unit, None) => {
                (Kind::Timestamp(*unit, p), timestamp_values(array)?)
            }
            DataType::Timestamp(unit, Some(zone)) => (
                Kind::Zoned(*unit, p, zone_of(zone)?, zone.to_string()),
                timestamp_values(array)?,
            ),
            DataType::Null => (Kind::Date, vec![0; array.len()]),
            other => {
                return Err(exec_err(format!(
                    "expected a date or timestamp, got {}",
                    super::trino_name(other)
                )));
            }
        };
        Ok(Temporal {
            kind,
            values,
            array: array.clone(),
        })
    }

    /// Wall-clock time of a row (midnight for a date).
    fn local(&self, row: usize) -> Result<Option<NaiveDateTime>> {
        if self.array.is_null(row) {
            return Ok(None);
        }
        let v = self.values[row];
        Ok(Some(match &self.kind {
            Kind::Date => epoch_date(v)?.and_time(NaiveTime::MIN),
            Kind::Timestamp(unit, _) => nanos_to_naive(to_nanos(v, *unit)?)?,
            Kind::Zoned(unit, _, zone, _) => {
                let utc = nanos_to_naive(to_nanos(v, *unit)?)?.and_utc();
                zone.local(&utc)
            }
        }))
    }

    /// The zone's offset from UTC in seconds at the row's instant; `None` for NULL or a value
    /// without a zone.
    fn offset_seconds(&self, row: usize) -> Result<Option<i32>> {
        if self.array.is_null(row) {
            return Ok(None);
        }
        Ok(match &self.kind {
            Kind::Zoned(unit, _, zone, _) => {
                let utc = nanos_to_naive(to_nanos(self.values[row], *unit)?)?.and_utc();
                Some(zone.offset_seconds(&utc))
            }
            Kind::Date | Kind::Timestamp(..) => None,
        })
    }

    /// Nanoseconds since the epoch of the instant (wall clock read as UTC without a zone).
    fn instant_nanos(&self, row: usize) -> Result<Option<i64>> {
        if self.array.is_null(row) {
            return Ok(None);
        }
        let v = self.values[row];
        Ok(Some(match &self.kind {
            Kind::Date => v * 86_400_000_000_000,
            Kind::Timestamp(unit, _) | Kind::Zoned(unit, _, _, _) => to_nanos(v, *unit)?,
        }))
    }

    /// A value of the same type from a wall-clock time.
    fn value_at_local(&self, local: &NaiveDateTime) -> Result<ScalarValue> {
        Ok(match &self.kind {
            Kind::Date => ScalarValue::Date32(Some(days_since_epoch(local.date()))),
            Kind::Timestamp(unit, p) => {
                let nanos = naive_nanos(local)?;
                timestamp_scalar(round_to_precision(nanos, *p), *unit, None)
            }
            Kind::Zoned(unit, p, zone, name) => {
                let nanos = zone
                    .instant(local)?
                    .timestamp_nanos_opt()
                    .ok_or_else(|| exec_err("timestamp out of range"))?;
                timestamp_scalar(round_to_precision(nanos, *p), *unit, Some(name.clone()))
            }
        })
    }

    fn value_at_instant(&self, nanos: i64) -> Result<ScalarValue> {
        Ok(match &self.kind {
            Kind::Date => ScalarValue::Date32(Some(nanos.div_euclid(86_400_000_000_000) as i32)),
            Kind::Timestamp(unit, p) => {
                timestamp_scalar(round_to_precision(nanos, *p), *unit, None)
            }
            Kind::Zoned(unit, p, _, name) => {
                timestamp_scalar(round_to_precision(nanos, *p), *unit, Some(name.clone()))
            }
        })
    }
}

fn epoch_date(days: i64) -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|e| e.checked_add_signed(Duration::days(days)))
        .ok_or_else(|| exec_err(format!("date out of range: {days}")))
}

fn naive_nanos(local: &NaiveDateTime) -> Result<i64> {
    local
        .and_utc()
        .timestamp_nanos_opt()
        .ok_or_else(|| exec_err("timestamp out of range"))
}

fn temporal_type(t: &DataType, name: &str) -> Result<()> {
    match t {
        DataType::Date32 | DataType::Timestamp(..) | DataType::Null => Ok(()),
        other => Err(DataFusionError::Plan(format!(
            "{name}() expects a date or timestamp, got {}",
            super::trino_name(other)
        ))),
    }
}

fn temporal_to_utf8(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    temporal_type(&types[0], "this function")?;
    Ok(DataType::Utf8)
}

#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Unit {
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

fn unit_of_text(text: &str) -> Result<Unit> {
    Ok(match text.trim().to_ascii_lowercase().as_str() {
        "millisecond" => Unit::Millisecond,
        "second" => Unit::Second,
        "minute" => Unit::Minute,
        "hour" => Unit::Hour,
        "day" => Unit::Day,
        "week" => Unit::Week,
        "month" => Unit::Month,
        "quarter" => Unit::Quarter,
        "year" => Unit::Year,
        other => return Err(exec_err(format!("'{other}' is not a valid Time field"))),
    })
}

fn check_unit_for(t: &DataType, scalars: &[Option<&ScalarValue>]) -> Result<()> {
    if let (DataType::Date32, Some(unit)) = (t, scalar_str(scalars, 0))
        && unit_of_text(unit)? < Unit::Day
    {
        return Err(DataFusionError::Plan(format!(
            "'{unit}' is not a valid DATE field"
        )));
    }
    Ok(())
}

fn date_add_type(types: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    temporal_type(&types[2], "date_add")?;
    check_unit_for(&types[2], scalars)?;
    Ok(types[2].clone())
}

fn add_units(local: NaiveDateTime, unit: Unit, n: i64) -> Option<NaiveDateTime> {
    let months = |m: i64| -> Option<NaiveDateTime> {
        if m >= 0 {
            local.checked_add_months(Months::new(u32::try_from(m).ok()?))
        } else {
            local.checked_sub_months(Months::new(u32::try_from(-m).ok()?))
        }
    };
    match unit {
        Unit::Millisecond => local.checked_add_signed(Duration::try_milliseconds(n)?),
        Unit::Second => local.checked_add_signed(Duration::try_seconds(n)?),
        Unit::Minute => local.checked_add_signed(Duration::try_minutes(n)?),
        Unit::Hour => local.checked_add_signed(Duration::try_hours(n)?),
        Unit::Day => local.checked_add_signed(Duration::try_days(n)?),
        Unit::Week => local.checked_add_signed(Duration::try_weeks(n)?),
        Unit::Month => months(n),
        Unit::Quarter => months(n.checked_mul(3)?),
        Unit::Year => months(n.checked_mul(12)?),
    }
}

fn date_add(c: &Call) -> Result<ArrayRef> {
    let t = Temporal::of(c.arg(2))?;
    rows::scalars(c, |r| {
        let (Some(unit), Some(n)) = (str_at(c.arg(0), r), i64_at(c.arg(1), r)) else {
            return Ok(None);
        };
        let unit = unit_of_text(unit)?;
        if matches!(t.kind, Kind::Date) && unit < Unit::Day {
            return Err(exec_err("date_add on a DATE takes day or longer units"));
        }
        if let (Kind::Zoned(..), true) = (&t.kind, unit < Unit::Day) {
            let Some(nanos) = t.instant_nanos(r)? else {
                return Ok(None);
            };
            let local = nanos_to_naive(nanos)?;
            let moved = add_units(local, unit, n).ok_or_else(|| exec_err("date_add overflow"))?;
            return t.value_at_instant(naive_nanos(&moved)?).map(Some);
        }
        let Some(local) = t.local(r)? else {
            return Ok(None);
        };
        let moved = add_units(local, unit, n).ok_or_else(|| exec_err("date_add overflow"))?;
        t.value_at_local(&moved).map(Some)
    })
}

fn date_diff_type(types: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    temporal_type(&types[1], "date_diff")?;
    temporal_type(&types[2], "date_diff")?;
    if types[1] != types[2] && types[1] != DataType::Null && types[2] != DataType::Null {
        return Err(DataFusionError::Plan(format!(
            "date_diff() of {} and {} is not supported on the embedded engine; cast both to one type",
            super::trino_name(&types[1]),
            super::trino_name(&types[2])
        )));
    }
    check_unit_for(&types[1], scalars)?;
    Ok(DataType::Int64)
}

/// Joda's month difference (`MonthsBetween`): whole months from `a` to `b`, where the last day
/// of a month matches any later day of the other month.
fn months_between(a: &NaiveDateTime, b: &NaiveDateTime) -> i64 {
    if b < a {
        return -months_between(b, a);
    }
    let (minuend, mut subtrahend) = (*b, *a);
    let mut diff = (i64::from(minuend.year()) - i64::from(subtrahend.year())) * 12
        + i64::from(minuend.month())
        - i64::from(subtrahend.month());
    let last_day = days_in_month(minuend.year(), minuend.month());
    if minuend.day() == last_day && subtrahend.day() > last_day {
        subtrahend = subtrahend.with_day(last_day).unwrap_or(subtrahend);
    }
    let rem = |t: &NaiveDateTime| (t.day(), t.time());
    if rem(&minuend) < rem(&subtrahend) {
        diff -= 1;
    }
    diff
}

/// Joda's year difference, with its leap-day balancing.
fn years_between(a: &NaiveDateTime, b: &NaiveDateTime) -> i64 {
    if b < a {
        return -years_between(b, a);
    }
    let (minuend, subtrahend) = (*b, *a);
    let start = |t: &NaiveDateTime| {
        NaiveDate::from_ymd_opt(t.year(), 1, 1)
            .map(|d| d.and_time(NaiveTime::MIN))
            .unwrap_or(*t)
    };
    let mut minuend_rem = (minuend - start(&minuend)).num_nanoseconds().unwrap_or(0);
    let mut subtrahend_rem = (subtrahend - start(&subtrahend))
        .num_nanoseconds()
        .unwrap_or(0);
    let day = 86_400_000_000_000i64;
    let feb_29 = 59 * day;
    if subtrahend_rem >= feb_29 {
        if is_leap(subtrahend.year()) {
            if !is_leap(minuend.year()) {
                subtrahend_rem -= day;
            }
        } else if is_leap(minuend.year()) {
            minuend_rem -= day;
        }
    }
    let mut diff = i64::from(minuend.year()) - i64::from(subtrahend.year());
    if minuend_rem < subtrahend_rem {
        diff -= 1;
    }
    diff
}

fn is_leap(year: i32) -> bool {
    NaiveDate::from_ymd_opt(year, 2, 29).is_some()
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let first = NaiveDate::from_ymd_opt(year, month, 1);
    let next = first.and_then(|f| f.checked_add_months(Months::new(1)));
    match (first, next) {
        (Some(f), Some(n)) => (n - f).num_days() as u32,
        _ => 31,
    }
}

fn date_diff(c: &Call) -> Result<ArrayRef> {
    let a = Temporal::of(c.arg(1))?;
    let b = Temporal::of(c.arg(2))?;
    rows::i64s(c, |r| {
        let Some(unit) = str_at(c.arg(0), r) else {
            return Ok(None);
        };
        let unit = unit_of_text(unit)?;
        let (Some(la), Some(lb)) = (a.local(r)?, b.local(r)?) else {
            return Ok(None);
        };
        Ok(Some(match unit {
            Unit::Month => months_between(&la, &lb),
            Unit::Quarter => months_between(&la, &lb) / 3,
            Unit::Year => years_between(&la, &lb),
            _ => {
                // Fixed-length units: the duration between the instants, truncated.
                let (Some(ia), Some(ib)) = (a.instant_nanos(r)?, b.instant_nanos(r)?) else {
                    return Ok(None);
                };
                let (ia, ib) = if matches!(a.kind, Kind::Zoned(..)) && unit >= Unit::Day {
                    (naive_nanos(&la)?, naive_nanos(&lb)?)
                } else {
                    (ia, ib)
                };
                let per: i64 = match unit {
                    Unit::Millisecond => 1_000_000,
                    Unit::Second => 1_000_000_000,
                    Unit::Minute => 60_000_000_000,
                    Unit::Hour => 3_600_000_000_000,
                    Unit::Day => 86_400_000_000_000,
                    _ => 7 * 86_400_000_000_000,
                };
                (ib - ia) / per
            }
        }))
    })
}

fn date_trunc_type(types: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    temporal_type(&types[1], "date_trunc")?;
    check_unit_for(&types[1], scalars)?;
    Ok(types[1].clone())
}

fn truncate_local(l: &NaiveDateTime, unit: Unit) -> NaiveDateTime {
    let date = l.date();
    let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
    match unit {
        Unit::Millisecond => l
            .with_nanosecond(l.nanosecond() / 1_000_000 * 1_000_000)
            .unwrap_or(*l),
        Unit::Second => l.with_nanosecond(0).unwrap_or(*l),
        Unit::Minute => l
            .with_nanosecond(0)
            .and_then(|t| t.with_second(0))
            .unwrap_or(*l),
        Unit::Hour => date.and_hms_opt(l.hour(), 0, 0).unwrap_or(*l),
        Unit::Day => midnight(date),
        Unit::Week => {
            midnight(date - Duration::days(i64::from(date.weekday().num_days_from_monday())))
        }
        Unit::Month => midnight(date.with_day(1).unwrap_or(date)),
        Unit::Quarter => midnight(
            NaiveDate::from_ymd_opt(date.year(), (date.month() - 1) / 3 * 3 + 1, 1).unwrap_or(date),
        ),
        Unit::Year => midnight(NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date)),
    }
}

fn date_trunc(c: &Call) -> Result<ArrayRef> {
    let t = Temporal::of(c.arg(1))?;
    rows::scalars(c, |r| {
        let Some(unit) = str_at(c.arg(0), r) else {
            return Ok(None);
        };
        let unit = unit_of_text(unit)?;
        let Some(local) = t.local(r)? else {
            return Ok(None);
        };
        t.value_at_local(&truncate_local(&local, unit)).map(Some)
    })
}

fn zone_result_type(types: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    let DataType::Timestamp(unit, _) = &types[0] else {
        return Err(DataFusionError::Plan(format!(
            "expected a timestamp, got {}",
            super::trino_name(&types[0])
        )));
    };
    let zone = scalar_str(scalars, 1).ok_or_else(|| {
        DataFusionError::Plan(
            "a time zone that is not a constant is not supported on the embedded engine".into(),
        )
    })?;
    zone_of(zone)?;
    Ok(DataType::Timestamp(
        *unit,
        Some(Arc::from(canonical_zone(zone))),
    ))
}

/// A zone as Trino prints it: `UTC`, `+05:30` (offsets always with minutes), or a region id.
pub(crate) fn canonical_zone(zone: &str) -> String {
    let z = zone.trim();
    if z.eq_ignore_ascii_case("utc") || z == "Z" || z.eq_ignore_ascii_case("gmt") {
        return "UTC".into();
    }
    if let (Some(sign @ ('+' | '-')), rest) = (z.chars().next(), &z[1..]) {
        let (h, m) = match rest.split_once(':') {
            Some((h, m)) => (h, m),
            None if rest.len() == 4 => rest.split_at(2),
            None => (rest, "0"),
        };
        if let (Ok(h), Ok(m)) = (h.parse::<u32>(), m.parse::<u32>()) {
            if h == 0 && m == 0 {
                return "UTC".into();
            }
            return format!("{sign}{h:02}:{m:02}");
        }
    }
    z.to_string()
}

/// `at_timezone(ts, zone)` / `ts AT TIME ZONE zone`: the same instant seen in another zone (a
/// timestamp without zone is read in the session zone, UTC).
fn at_timezone(c: &Call) -> Result<ArrayRef> {
    let array = c.arg(0);
    let DataType::Timestamp(unit, zone) = c.ret else {
        return Err(exec_err("at_timezone returns a timestamp"));
    };
    let values = timestamp_values(array)?;
    let _ = zone;
    rows::scalars(c, |r| {
        if array.is_null(r) {
            return Ok(None);
        }
        Ok(Some(timestamp_scalar(
            values[r],
            *unit,
            zone.as_ref().map(|z| z.to_string()),
        )))
    })
}

/// `with_timezone(timestamp, zone)`: the wall-clock time read in the zone.
fn with_timezone(c: &Call) -> Result<ArrayRef> {
    let DataType::Timestamp(unit, Some(zone_name)) = c.ret else {
        return Err(exec_err("with_timezone returns a timestamp with time zone"));
    };
    if matches!(
        TrinoType::from_arrow(c.arg(0).data_type()),
        Some(TrinoType::TimestampTz(..))
    ) {
        return Err(exec_err(
            "with_timezone takes a timestamp without time zone",
        ));
    }
    let t = Temporal::of(c.arg(0))?;
    let zone = zone_of(zone_name)?;
    rows::scalars(c, |r| {
        let Some(local) = t.local(r)? else {
            return Ok(None);
        };
        let nanos = zone
            .instant(&local)?
            .timestamp_nanos_opt()
            .ok_or_else(|| exec_err("timestamp out of range"))?;
        let p = match t.kind {
            Kind::Timestamp(_, p) | Kind::Zoned(_, p, _, _) => p,
            Kind::Date => 0,
        };
        Ok(Some(timestamp_scalar(
            round_to_precision(nanos, p),
            *unit,
            Some(zone_name.to_string()),
        )))
    })
}

fn iso_timestamp_type(_: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    let zone = match scalar_str(scalars, 0) {
        Some(text) => parse_iso(text)
            .map(|(_, z)| z)
            .unwrap_or_else(|_| "UTC".into()),
        None => "UTC".into(),
    };
    Ok(TrinoType::TimestampTz(3, Some(zone)).to_arrow())
}

/// ISO 8601 `YYYY-MM-DD[THH[:MM[:SS[.fff]]]][Z|±HH[:MM]]`; the zone is UTC when none is
/// written (the session zone on Athena).
fn parse_iso(text: &str) -> Result<(NaiveDateTime, String)> {
    let bad = || exec_err(format!("Invalid format: \"{text}\""));
    let t = text.trim();
    let (body, zone) = if let Some(stripped) = t.strip_suffix('Z') {
        (stripped, "UTC".to_string())
    } else if let Some(at) = t.rfind(['+', '-']).filter(|at| *at > 10) {
        let offset = &t[at..];
        let normalized = match offset.len() {
            3 => format!("{offset}:00"),
            5 => format!("{}:{}", &offset[..3], &offset[3..]),
            _ => offset.to_string(),
        };
        zone_of(&normalized)?;
        let normalized = if normalized == "+00:00" {
            "UTC".to_string()
        } else {
            normalized
        };
        (&t[..at], normalized)
    } else {
        (t, "UTC".to_string())
    };
    let (date, time) = body.split_once('T').unwrap_or((body, ""));
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())?;
    let time = if time.is_empty() {
        NaiveTime::MIN
    } else {
        let (hms, fraction) = time.split_once(['.', ',']).unwrap_or((time, ""));
        let mut parts = hms.split(':');
        let h: u32 = parts.next().unwrap_or("0").parse().map_err(|_| bad())?;
        let m: u32 = parts.next().unwrap_or("0").parse().map_err(|_| bad())?;
        let s: u32 = parts.next().unwrap_or("0").parse().map_err(|_| bad())?;
        if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let nanos: u32 = if fraction.is_empty() {
            0
        } else {
            format!("{fraction:0<9}").parse().map_err(|_| bad())?
        };
        NaiveTime::from_hms_nano_opt(h, m, s, nanos).ok_or_else(bad)?
    };
    Ok((date.and_time(time), zone))
}

fn from_iso8601_timestamp(c: &Call) -> Result<ArrayRef> {
    let DataType::Timestamp(_, Some(zone_name)) = c.ret else {
        return Err(exec_err(
            "from_iso8601_timestamp returns a timestamp with time zone",
        ));
    };
    rows::scalars(c, |r| {
        let Some(text) = str_at(c.arg(0), r) else {
            return Ok(None);
        };
        let (local, zone) = parse_iso(text)?;
        if zone != zone_name.as_ref() {
            return Err(exec_err(format!(
                "from_iso8601_timestamp() values in different time zones ({zone}) are not supported on the embedded engine"
            )));
        }
        let nanos = zone_of(&zone)?
            .instant(&local)?
            .timestamp_nanos_opt()
            .ok_or_else(|| exec_err("timestamp out of range"))?;
        Ok(Some(timestamp_scalar(
            round_nanos(nanos, TimeUnit::Millisecond),
            TimeUnit::Millisecond,
            Some(zone),
        )))
    })
}

fn to_iso8601(c: &Call) -> Result<ArrayRef> {
    let t = Temporal::of(c.arg(0))?;
    rows::utf8(c, |r| {
        let Some(local) = t.local(r)? else {
            return Ok(None);
        };
        Ok(Some(match &t.kind {
            Kind::Date => local.format("%Y-%m-%d").to_string(),
            Kind::Timestamp(_, p) | Kind::Zoned(_, p, _, _) => {
                let digits = usize::from(*p);
                let mut s = local.format("%Y-%m-%dT%H:%M:%S").to_string();
                if digits > 0 {
                    let fraction = format!("{:09}", local.nanosecond());
                    s.push('.');
                    s.push_str(&fraction[..digits]);
                }
                if let Kind::Zoned(_, _, zone, name) = &t.kind {
                    let utc = nanos_to_naive(t.instant_nanos(r)?.unwrap_or(0))?.and_utc();
                    let off = zone.offset_seconds(&utc);
                    if off == 0 && (name == "UTC" || name == "+00:00") {
                        s.push('Z');
                    } else {
                        let sign = if off < 0 { '-' } else { '+' };
                        s.push_str(&format!(
                            "{sign}{:02}:{:02}",
                            off.abs() / 3600,
                            off.abs() % 3600 / 60
                        ));
                    }
                }
                s
            }
        }))
    })
}

fn from_unixtime_type(types: &[DataType], scalars: &[Option<&ScalarValue>]) -> Result<DataType> {
    let zone = if types.len() > 1 {
        let z = scalar_str(scalars, 1).ok_or_else(|| {
            DataFusionError::Plan("from_unixtime() with a time zone that is not a constant is not supported on the embedded engine".into())
        })?;
        zone_of(z)?;
        canonical_zone(z)
    } else {
        "UTC".into()
    };
    Ok(TrinoType::TimestampTz(3, Some(zone)).to_arrow())
}

fn from_unixtime(c: &Call) -> Result<ArrayRef> {
    let DataType::Timestamp(_, zone) = c.ret else {
        return Err(exec_err("from_unixtime returns a timestamp"));
    };
    rows::scalars(c, |r| {
        let Some(seconds) = f64_at(c.arg(0), r) else {
            return Ok(None);
        };
        let millis = (seconds * 1000.0).round();
        if !millis.is_finite() || millis.abs() > 9.2e15 {
            return Err(exec_err(format!("Value out of range: {seconds}")));
        }
        Ok(Some(timestamp_scalar(
            millis as i64,
            TimeUnit::Millisecond,
            zone.as_ref().map(|z| z.to_string()),
        )))
    })
}

fn now(c: &Call, zoned: bool) -> Result<ArrayRef> {
    let nanos = chrono::Utc::now()
        .timestamp_nanos_opt()
        .ok_or_else(|| exec_err("clock out of range"))?;
    let millis = nanos / 1_000_000;
    rows::scalars(c, |_| {
        Ok(Some(timestamp_scalar(
            millis,
            TimeUnit::Millisecond,
            zoned.then(|| "UTC".to_string()),
        )))
    })
}
