//! Timestamps as Trino writes and reads them: text with up to 12 fraction digits, precisions
//! 0-9 over Arrow's units, wall-clock nanoseconds.

use super::*;

/// `YYYY-MM-DD[ HH:MM[:SS[.f…]]][ zone]`: the wall-clock time, its fraction digits, and the
/// zone when one is written (`UTC`, `+05:00`, `America/New_York`); up to 9 fraction digits.
pub(crate) fn parse_timestamp_text(text: &str) -> Option<(NaiveDateTime, usize, Option<String>)> {
    let parts = parse_timestamp_parts(text)?;
    if parts.digits > 9 {
        return None;
    }
    let nanos = u32::try_from(parts.picos / 1_000).ok()?;
    let local = parts.local.with_nanosecond(nanos)?;
    Some((local, parts.digits, parts.zone))
}

/// A timestamp as written: the wall-clock time to the second, the fraction in picoseconds
/// (Trino reads up to 12 digits, and rounds from all of them), its digit count, the zone.
pub(crate) struct TimestampParts {
    pub local: NaiveDateTime,
    pub picos: u64,
    pub digits: usize,
    pub zone: Option<String>,
}

pub(crate) fn parse_timestamp_parts(text: &str) -> Option<TimestampParts> {
    let t = text.trim();
    let (date_part, rest) = t.split_at(t.find([' ', 'T']).unwrap_or(t.len()));
    // Years past 9999 may be written without a sign; chrono wants one.
    let year_digits = date_part.split('-').next().map_or(0, str::len);
    let date = if year_digits > 4 && date_part.starts_with(|c: char| c.is_ascii_digit()) {
        NaiveDate::parse_from_str(&format!("+{date_part}"), "%Y-%m-%d").ok()?
    } else {
        NaiveDate::parse_from_str(date_part, "%Y-%m-%d").ok()?
    };
    let rest = rest.trim_start_matches([' ', 'T']);
    if rest.is_empty() {
        return Some(TimestampParts {
            local: date.and_time(NaiveTime::MIN),
            picos: 0,
            digits: 0,
            zone: None,
        });
    }
    let time_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(rest.len());
    let (time_part, zone_part) = rest.split_at(time_end);
    let (hms, fraction) = time_part.split_once('.').unwrap_or((time_part, ""));
    let mut fields = hms.split(':');
    let h: u32 = fields.next()?.parse().ok()?;
    let m: u32 = fields.next()?.parse().ok()?;
    let s: u32 = match fields.next() {
        Some(s) => s.parse().ok()?,
        None => 0,
    };
    if fields.next().is_some()
        || fraction.len() > 12
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let picos: u64 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<12}").parse().ok()?
    };
    let time = NaiveTime::from_hms_opt(h, m, s)?;
    let zone = zone_part.trim();
    let zone = if zone.is_empty() {
        None
    } else {
        zone_of(zone).ok()?;
        Some(if zone.eq_ignore_ascii_case("utc") || zone == "Z" {
            "UTC".to_string()
        } else {
            zone.to_string()
        })
    };
    Some(TimestampParts {
        local: date.and_time(time),
        picos,
        digits: fraction.len(),
        zone,
    })
}

pub(crate) fn days_since_epoch(date: NaiveDate) -> i32 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")).num_days() as i32
}

pub(crate) fn nanos_to_naive(nanos: i64) -> Result<NaiveDateTime> {
    chrono::DateTime::from_timestamp(
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000) as u32,
    )
    .map(|d| d.naive_utc())
    .ok_or_else(|| exec_err("timestamp out of range"))
}

/// Nanoseconds rounded half up to `p` fraction digits (as Trino rounds when precision is
/// reduced), as a value of `p`'s unit.
pub(crate) fn round_to_precision(nanos: i64, p: u8) -> i64 {
    let unit = unit_of(p);
    let step = 10i64.pow(u32::from(9 - p));
    let per_unit = 10i64.pow(u32::from(9 - crate::types::precision_of(&unit)));
    let q = nanos.div_euclid(step);
    let r = nanos.rem_euclid(step);
    let rounded = if r * 2 >= step { q + 1 } else { q };
    rounded * (step / per_unit)
}

/// A timestamp of precision `p` (a value of its unit) from whole seconds and picoseconds,
/// rounded half up; `None` out of range. Kept apart from nanoseconds since the epoch, which
/// end in 1677 and 2262.
pub(crate) fn precision_value(seconds: i64, picos: u64, p: u8) -> Option<i64> {
    let digits = crate::types::precision_of(&unit_of(p));
    let step = 10i64.pow(u32::from(12 - p));
    let picos = i64::try_from(picos).ok()?;
    let q = picos / step + i64::from((picos % step) * 2 >= step);
    seconds
        .checked_mul(10i64.pow(u32::from(digits)))?
        .checked_add(q * 10i64.pow(u32::from(digits - p)))
}

/// Rounds nanoseconds to the unit, half up, as Trino does when precision is reduced.
pub(crate) fn round_nanos(nanos: i64, unit: TimeUnit) -> i64 {
    let per = match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    };
    let q = nanos.div_euclid(per);
    let r = nanos.rem_euclid(per);
    if r * 2 >= per { q + 1 } else { q }
}

pub(crate) fn to_nanos(v: i64, unit: TimeUnit) -> Result<i64> {
    let per: i64 = match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    };
    v.checked_mul(per)
        .ok_or_else(|| exec_err("timestamp out of range"))
}

pub(crate) fn timestamp_scalar(v: i64, unit: TimeUnit, zone: Option<String>) -> ScalarValue {
    let zone: Option<Arc<str>> = zone.map(Arc::from);
    match unit {
        TimeUnit::Second => ScalarValue::TimestampSecond(Some(v), zone),
        TimeUnit::Millisecond => ScalarValue::TimestampMillisecond(Some(v), zone),
        TimeUnit::Microsecond => ScalarValue::TimestampMicrosecond(Some(v), zone),
        TimeUnit::Nanosecond => ScalarValue::TimestampNanosecond(Some(v), zone),
    }
}

/// Raw values of a timestamp array, in its unit (NULLs read as 0; callers check validity).
pub(crate) fn timestamp_values(array: &ArrayRef) -> Result<Vec<i64>> {
    let (array, _) = timestamp_storage(array);
    Ok(match array.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => array
            .as_primitive::<TimestampSecondType>()
            .values()
            .to_vec(),
        DataType::Timestamp(TimeUnit::Millisecond, _) => array
            .as_primitive::<TimestampMillisecondType>()
            .values()
            .to_vec(),
        DataType::Timestamp(TimeUnit::Microsecond, _) => array
            .as_primitive::<TimestampMicrosecondType>()
            .values()
            .to_vec(),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => array
            .as_primitive::<TimestampNanosecondType>()
            .values()
            .to_vec(),
        other => return Err(exec_err(format!("{other} is not a timestamp"))),
    })
}

/// Wall-clock nanoseconds since the epoch of each timestamp (in its zone for `with time
/// zone`); `None` for NULL or out of range.
pub(crate) fn timestamp_local_nanos(array: &ArrayRef) -> Result<Vec<Option<i64>>> {
    let (array, _) = timestamp_storage(array);
    let DataType::Timestamp(unit, zone) = array.data_type() else {
        return Err(exec_err("not a timestamp"));
    };
    let values = timestamp_values(&array)?;
    let tz = zone.as_deref().map(zone_of).transpose()?;
    Ok(values
        .iter()
        .enumerate()
        .map(|(row, v)| {
            if array.is_null(row) {
                return None;
            }
            let nanos = to_nanos(*v, *unit).ok()?;
            match &tz {
                None => Some(nanos),
                Some(tz) => {
                    let utc = chrono::DateTime::from_timestamp(
                        nanos.div_euclid(1_000_000_000),
                        nanos.rem_euclid(1_000_000_000) as u32,
                    )?;
                    tz.local(&utc).and_utc().timestamp_nanos_opt()
                }
            }
        })
        .collect())
}
