//! Time zones as Trino names them: region ids (`America/New_York`), `UTC`, and fixed offsets
//! (`+05:30`, `-08:00`).

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use datafusion::error::{DataFusionError, Result};

#[derive(Debug, Clone, Copy)]
pub(crate) enum Zone {
    Region(Tz),
    Fixed(FixedOffset),
}

/// Parses a zone as Trino accepts it in `AT TIME ZONE`, `with_timezone` and literals.
pub(crate) fn zone_of(name: &str) -> Result<Zone> {
    let trimmed = name.trim();
    if trimmed.eq_ignore_ascii_case("utc") || trimmed.eq_ignore_ascii_case("z") {
        return Ok(Zone::Fixed(FixedOffset::east_opt(0).expect("zero offset")));
    }
    if let Some(offset) = parse_offset(trimmed) {
        return Ok(Zone::Fixed(offset));
    }
    trimmed
        .parse::<Tz>()
        .map(Zone::Region)
        .map_err(|_| DataFusionError::Execution(format!("Time zone not supported: {name}")))
}

fn parse_offset(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

impl Zone {
    /// The wall-clock time in this zone of an instant.
    pub(crate) fn local(&self, utc: &DateTime<Utc>) -> NaiveDateTime {
        match self {
            Zone::Region(tz) => utc.with_timezone(tz).naive_local(),
            Zone::Fixed(offset) => utc.with_timezone(offset).naive_local(),
        }
    }

    /// The instant of a wall-clock time in this zone; in a gap or overlap Trino (Joda) takes
    /// the earlier offset.
    pub(crate) fn instant(&self, local: &NaiveDateTime) -> Result<DateTime<Utc>> {
        let result = match self {
            Zone::Region(tz) => map_local(tz.from_local_datetime(local)),
            Zone::Fixed(offset) => map_local(offset.from_local_datetime(local)),
        };
        result.ok_or_else(|| {
            DataFusionError::Execution(format!("{local} does not exist in the time zone"))
        })
    }

    /// Offset from UTC in seconds at an instant.
    pub(crate) fn offset_seconds(&self, utc: &DateTime<Utc>) -> i32 {
        match self {
            Zone::Region(tz) => utc.with_timezone(tz).offset().fix().local_minus_utc(),
            Zone::Fixed(offset) => offset.local_minus_utc(),
        }
    }
}

fn map_local<T: TimeZone>(result: LocalResult<DateTime<T>>) -> Option<DateTime<Utc>> {
    match result {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}
