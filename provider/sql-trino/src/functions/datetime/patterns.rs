//! Date/time patterns: MySQL's `date_format`/`date_parse` and Joda's `format_datetime`/
//! `parse_datetime`, as Trino reads and writes them.

use super::*;

pub(super) fn format_each(
    c: &Call,
    f: fn(&FormatInput, &str) -> Result<String>,
) -> Result<ArrayRef> {
    let t = Temporal::of(c.arg(0))?;
    let digits = match &t.kind {
        Kind::Date => 0,
        Kind::Timestamp(_, p) | Kind::Zoned(_, p, _, _) => *p,
    };
    rows::utf8(c, |r| {
        let (Some(local), Some(pattern)) = (t.local(r)?, str_at(c.arg(1), r)) else {
            return Ok(None);
        };
        // Trino formats through Joda-Time, which holds milliseconds: finer values are rounded.
        let local = if digits > 3 {
            let nanos = naive_nanos(&local)?;
            nanos_to_naive(round_nanos(nanos, TimeUnit::Millisecond) * 1_000_000)?
        } else {
            local
        };
        let (zone_name, offset) = match &t.kind {
            Kind::Zoned(_, _, zone, name) => {
                let utc = nanos_to_naive(t.instant_nanos(r)?.unwrap_or(0))?.and_utc();
                (Some(name.clone()), zone.offset_seconds(&utc))
            }
            _ => (None, 0),
        };
        let input = FormatInput {
            local,
            date_only: matches!(t.kind, Kind::Date),
            zone: zone_name,
            offset_seconds: offset,
            digits,
        };
        f(&input, pattern).map(Some)
    })
}

pub(super) struct FormatInput {
    local: NaiveDateTime,
    date_only: bool,
    zone: Option<String>,
    offset_seconds: i32,
    digits: u8,
}

pub(super) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(super) const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// MySQL's `date_format` specifiers as Trino implements them.
pub(super) fn mysql_format(t: &FormatInput, pattern: &str) -> Result<String> {
    let l = &t.local;
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(ch) = chars.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        let Some(spec) = chars.next() else {
            break;
        };
        let hour12 = match l.hour() % 12 {
            0 => 12,
            h => h,
        };
        match spec {
            'a' => out.push_str(&DAYS[l.weekday().num_days_from_monday() as usize][..3]),
            'b' => out.push_str(&MONTHS[l.month0() as usize][..3]),
            'c' => out.push_str(&l.month().to_string()),
            'd' => out.push_str(&format!("{:02}", l.day())),
            'e' => out.push_str(&l.day().to_string()),
            'f' => out.push_str(&format!("{:06}", l.nanosecond() / 1000)),
            'H' => out.push_str(&format!("{:02}", l.hour())),
            'h' | 'I' => out.push_str(&format!("{hour12:02}")),
            'i' => out.push_str(&format!("{:02}", l.minute())),
            'j' => out.push_str(&format!("{:03}", l.ordinal())),
            'k' => out.push_str(&l.hour().to_string()),
            'l' => out.push_str(&hour12.to_string()),
            'M' => out.push_str(MONTHS[l.month0() as usize]),
            'm' => out.push_str(&format!("{:02}", l.month())),
            'p' => out.push_str(if l.hour() < 12 { "AM" } else { "PM" }),
            'r' => out.push_str(&format!(
                "{hour12:02}:{:02}:{:02} {}",
                l.minute(),
                l.second(),
                if l.hour() < 12 { "AM" } else { "PM" }
            )),
            'S' | 's' => out.push_str(&format!("{:02}", l.second())),
            'T' => out.push_str(&format!(
                "{:02}:{:02}:{:02}",
                l.hour(),
                l.minute(),
                l.second()
            )),
            'v' => out.push_str(&format!("{:02}", l.iso_week().week())),
            'W' => out.push_str(DAYS[l.weekday().num_days_from_monday() as usize]),
            'x' => out.push_str(&format!("{:04}", l.iso_week().year())),
            'Y' => out.push_str(&format!("{:04}", l.year())),
            'y' => out.push_str(&format!("{:02}", l.year().rem_euclid(100))),
            '%' => out.push('%'),
            'D' | 'U' | 'u' | 'V' | 'w' | 'X' => {
                return Err(exec_err(format!(
                    "%{spec} not supported in date format string"
                )));
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Joda-Time patterns (`format_datetime`).
pub(super) fn joda_format(t: &FormatInput, pattern: &str) -> Result<String> {
    let l = &t.local;
    let mut out = String::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if ch == '\'' {
            // Quoted text; '' is a quote.
            let mut j = i + 1;
            if j < chars.len() && chars[j] == '\'' {
                out.push('\'');
                i = j + 1;
                continue;
            }
            while j < chars.len() {
                if chars[j] == '\'' {
                    if j + 1 < chars.len() && chars[j + 1] == '\'' {
                        out.push('\'');
                        j += 2;
                        continue;
                    }
                    break;
                }
                out.push(chars[j]);
                j += 1;
            }
            i = j + 1;
            continue;
        }
        if !ch.is_ascii_alphabetic() {
            out.push(ch);
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == ch {
            n += 1;
        }
        i += n;
        let pad = |v: i64| format!("{:0width$}", v, width = n);
        let hour12 = l.hour() % 12;
        match ch {
            'y' | 'Y' | 'u' => {
                let year = i64::from(l.year());
                out.push_str(&if n == 2 {
                    format!("{:02}", year.rem_euclid(100))
                } else {
                    pad(year)
                });
            }
            'x' => {
                let year = i64::from(l.iso_week().year());
                out.push_str(&if n == 2 {
                    format!("{:02}", year.rem_euclid(100))
                } else {
                    pad(year)
                });
            }
            'w' => out.push_str(&pad(i64::from(l.iso_week().week()))),
            'e' => out.push_str(&pad(i64::from(l.weekday().number_from_monday()))),
            'E' => {
                let name = DAYS[l.weekday().num_days_from_monday() as usize];
                out.push_str(if n >= 4 { name } else { &name[..3] });
            }
            'D' => out.push_str(&pad(i64::from(l.ordinal()))),
            'M' => match n {
                1 | 2 => out.push_str(&pad(i64::from(l.month()))),
                3 => out.push_str(&MONTHS[l.month0() as usize][..3]),
                _ => out.push_str(MONTHS[l.month0() as usize]),
            },
            'd' => out.push_str(&pad(i64::from(l.day()))),
            'a' => out.push_str(if l.hour() < 12 { "AM" } else { "PM" }),
            'K' => out.push_str(&pad(i64::from(hour12))),
            'h' => out.push_str(&pad(i64::from(if hour12 == 0 { 12 } else { hour12 }))),
            'H' => out.push_str(&pad(i64::from(l.hour()))),
            'k' => out.push_str(&pad(i64::from(if l.hour() == 0 { 24 } else { l.hour() }))),
            'm' => out.push_str(&pad(i64::from(l.minute()))),
            's' => out.push_str(&pad(i64::from(l.second()))),
            'S' => {
                let digits = format!("{:09}", l.nanosecond());
                let shown: String = digits
                    .chars()
                    .chain(std::iter::repeat('0'))
                    .take(n)
                    .collect();
                out.push_str(&shown);
            }
            'C' => out.push_str(&pad(i64::from(l.year() / 100))),
            'G' => out.push_str(if l.year() > 0 { "AD" } else { "BC" }),
            'Z' => {
                let Some(zone) = &t.zone else {
                    // Trino formats a timestamp without zone in the session zone (UTC).
                    out.push_str(match n {
                        1 => "+0000",
                        2 => "+00:00",
                        _ => "UTC",
                    });
                    continue;
                };
                let off = t.offset_seconds;
                let sign = if off < 0 { '-' } else { '+' };
                let (h, m) = (off.abs() / 3600, off.abs() % 3600 / 60);
                match n {
                    1 => out.push_str(&format!("{sign}{h:02}{m:02}")),
                    2 => out.push_str(&format!("{sign}{h:02}:{m:02}")),
                    _ => out.push_str(zone),
                }
            }
            other => {
                return Err(exec_err(format!(
                    "format_datetime pattern letter '{other}' is not supported on the embedded engine"
                )));
            }
        }
    }
    let _ = (t.date_only, t.digits);
    Ok(out)
}

/// `date_parse(string, format)` with MySQL specifiers → timestamp(3).
pub(super) fn date_parse(c: &Call) -> Result<ArrayRef> {
    rows::scalars(c, |r| {
        let (Some(text), Some(pattern)) = (str_at(c.arg(0), r), str_at(c.arg(1), r)) else {
            return Ok(None);
        };
        let local = mysql_parse(text, pattern)?;
        // Fraction digits past milliseconds are dropped, not rounded.
        let nanos = naive_nanos(&local)?;
        Ok(Some(timestamp_scalar(
            nanos.div_euclid(1_000_000),
            TimeUnit::Millisecond,
            None,
        )))
    })
}

pub(super) fn mysql_parse(text: &str, pattern: &str) -> Result<NaiveDateTime> {
    let bad = || exec_err(format!("Invalid format: \"{text}\""));
    if pattern.is_empty() {
        return Err(exec_err("Both printing and parsing not supported"));
    }
    let mut year = 1970i32;
    let (mut month, mut day, mut hour, mut minute, mut second, mut nanos) =
        (1u32, 1u32, 0u32, 0u32, 0u32, 0u32);
    let mut pm: Option<bool> = None;
    let mut day_of_year: Option<u32> = None;
    let input: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let mut chars = pattern.chars();
    let number = |pos: &mut usize, max: usize| -> Result<i64> {
        let start = *pos;
        let mut sign = 1;
        if *pos < input.len() && input[*pos] == '-' {
            sign = -1;
            *pos += 1;
        }
        let digits_start = *pos;
        while *pos < input.len() && input[*pos].is_ascii_digit() && *pos - digits_start < max {
            *pos += 1;
        }
        if *pos == digits_start {
            *pos = start;
            return Err(bad());
        }
        let s: String = input[digits_start..*pos].iter().collect();
        Ok(sign * s.parse::<i64>().map_err(|_| bad())?)
    };
    let word = |pos: &mut usize, options: &[&str]| -> Result<usize> {
        let rest: String = input[*pos..]
            .iter()
            .collect::<String>()
            .to_ascii_lowercase();
        for (i, o) in options.iter().enumerate() {
            if rest.starts_with(&o.to_ascii_lowercase()) {
                *pos += o.chars().count();
                return Ok(i);
            }
        }
        Err(bad())
    };
    while let Some(ch) = chars.next() {
        if ch != '%' {
            if pos < input.len() && input[pos] == ch {
                pos += 1;
                continue;
            }
            return Err(bad());
        }
        let Some(spec) = chars.next() else {
            return Err(bad());
        };
        match spec {
            'Y' => year = number(&mut pos, 4)? as i32,
            'y' => {
                let y = number(&mut pos, 2)?;
                year = (if y < 70 { 2000 + y } else { 1900 + y }) as i32;
            }
            'm' | 'c' => month = number(&mut pos, 2)? as u32,
            'd' | 'e' => day = number(&mut pos, 2)? as u32,
            'H' | 'k' => hour = number(&mut pos, 2)? as u32,
            // Hour of the half day: 12 is 0 unless %p says PM.
            'h' | 'I' | 'l' => {
                let h = number(&mut pos, 2)? as u32;
                if !(1..=12).contains(&h) {
                    return Err(bad());
                }
                hour = h % 12;
            }
            'i' => minute = number(&mut pos, 2)? as u32,
            'S' | 's' => second = number(&mut pos, 2)? as u32,
            'f' => {
                let start = pos;
                let value = number(&mut pos, 9)?;
                let digits = (pos - start) as u32;
                nanos = (value as u32) * 10u32.pow(9 - digits);
            }
            'j' => day_of_year = Some(number(&mut pos, 3)? as u32),
            'p' => pm = Some(word(&mut pos, &["AM", "PM"])? == 1),
            'M' => month = word(&mut pos, &MONTHS)? as u32 + 1,
            'b' => {
                let short: Vec<&str> = MONTHS.iter().map(|m| &m[..3]).collect();
                month = word(&mut pos, &short)? as u32 + 1;
            }
            'W' => {
                word(&mut pos, &DAYS)?;
            }
            'a' => {
                let short: Vec<&str> = DAYS.iter().map(|d| &d[..3]).collect();
                word(&mut pos, &short)?;
            }
            'T' => {
                hour = number(&mut pos, 2)? as u32;
                if input.get(pos) != Some(&':') {
                    return Err(bad());
                }
                pos += 1;
                minute = number(&mut pos, 2)? as u32;
                if input.get(pos) != Some(&':') {
                    return Err(bad());
                }
                pos += 1;
                second = number(&mut pos, 2)? as u32;
            }
            '%' => {
                if input.get(pos) != Some(&'%') {
                    return Err(bad());
                }
                pos += 1;
            }
            'D' | 'U' | 'u' | 'V' | 'w' | 'X' | 'x' | 'v' | 'r' => {
                return Err(exec_err(format!(
                    "%{spec} not supported in date format string"
                )));
            }
            other => {
                if input.get(pos) != Some(&other) {
                    return Err(bad());
                }
                pos += 1;
            }
        }
    }
    if pos != input.len() {
        return Err(bad());
    }
    if pm == Some(true) && hour < 12 {
        hour += 12;
    }
    let date = match day_of_year {
        Some(doy) => NaiveDate::from_yo_opt(year, doy),
        None => NaiveDate::from_ymd_opt(year, month, day),
    }
    .ok_or_else(bad)?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos).ok_or_else(bad)?;
    Ok(date.and_time(time))
}

pub(super) fn parse_datetime_type(
    _: &[DataType],
    scalars: &[Option<&ScalarValue>],
) -> Result<DataType> {
    let pattern = scalar_str(scalars, 1);
    let has_zone = pattern.is_none_or(|p| p.contains('Z') || p.contains('z'));
    if !has_zone {
        return Ok(TrinoType::TimestampTz(3, Some("UTC".into())).to_arrow());
    }
    // The zone comes from the text: it must be a constant to type the result.
    match (scalar_str(scalars, 0), pattern) {
        (Some(text), Some(pattern)) => {
            let (_, zone) = joda_parse(text, pattern)
                .map_err(|e| DataFusionError::Plan(e.to_string()))?;
            Ok(TrinoType::TimestampTz(3, Some(zone)).to_arrow())
        }
        _ => Err(DataFusionError::Plan(
            "parse_datetime() with a time zone in the pattern is supported on the embedded engine only for constant arguments".into(),
        )),
    }
}

pub(super) fn parse_datetime(c: &Call) -> Result<ArrayRef> {
    let DataType::Timestamp(_, Some(zone_name)) = c.ret else {
        return Err(exec_err(
            "parse_datetime returns a timestamp with time zone",
        ));
    };
    rows::scalars(c, |r| {
        let (Some(text), Some(pattern)) = (str_at(c.arg(0), r), str_at(c.arg(1), r)) else {
            return Ok(None);
        };
        let (local, zone) = joda_parse(text, pattern)?;
        if zone != zone_name.as_ref() {
            return Err(exec_err(format!(
                "parse_datetime() values in different time zones ({zone}) are not supported on the embedded engine"
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

/// Parses Joda numeric fields, text months/days, literals and `Z`/`ZZ` offsets or `ZZZ`
/// zone ids; returns the wall-clock time and the zone (UTC when the pattern has none).
pub(super) fn joda_parse(text: &str, pattern: &str) -> Result<(NaiveDateTime, String)> {
    let bad = || exec_err(format!("Invalid format: \"{text}\""));
    let input: Vec<char> = text.chars().collect();
    let chars: Vec<char> = pattern.chars().collect();
    let (mut year, mut month, mut day, mut hour, mut minute, mut second, mut nanos) =
        (1970i64, 1i64, 1i64, 0i64, 0i64, 0i64, 0i64);
    let mut pm: Option<bool> = None;
    let mut zone = "UTC".to_string();
    let (mut pos, mut i) = (0usize, 0usize);
    while i < chars.len() {
        let ch = chars[i];
        if ch == '\'' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '\'' {
                if input.get(pos) != Some(&chars[j]) {
                    return Err(bad());
                }
                pos += 1;
                j += 1;
            }
            i = j + 1;
            continue;
        }
        if !ch.is_ascii_alphabetic() {
            if input.get(pos) != Some(&ch) {
                return Err(bad());
            }
            pos += 1;
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == ch {
            n += 1;
        }
        i += n;
        // Adjacent numeric fields take exactly their width; a lone one takes all digits.
        let next_is_digit_field = i < chars.len() && "yYxwedDMHhKkmsS".contains(chars[i]);
        let digits = |pos: &mut usize, max: usize| -> Result<i64> {
            let start = *pos;
            if matches!(input.get(*pos), Some('-' | '+')) && ch == 'y' {
                *pos += 1;
            }
            while *pos < input.len() && input[*pos].is_ascii_digit() && *pos - start < max {
                *pos += 1;
            }
            let s: String = input[start..*pos].iter().collect();
            s.parse().map_err(|_| bad())
        };
        let width = if next_is_digit_field { n } else { 9 };
        match ch {
            'y' | 'Y' | 'u' => {
                let v = digits(&mut pos, if next_is_digit_field { n } else { 9 })?;
                year = if n == 2 && (0..100).contains(&v) {
                    2000 + v - if v >= 70 { 100 } else { 0 }
                } else {
                    v
                };
            }
            'M' if n >= 3 => {
                let rest: String = input[pos..].iter().collect::<String>().to_ascii_lowercase();
                let found = MONTHS.iter().enumerate().find_map(|(k, m)| {
                    let name = if n == 3 { &m[..3] } else { m };
                    rest.starts_with(&name.to_ascii_lowercase())
                        .then_some((k, name.len()))
                });
                let (k, len) = found.ok_or_else(bad)?;
                month = k as i64 + 1;
                pos += len;
            }
            'M' => {
                month = digits(
                    &mut pos,
                    width.min(2).max(if next_is_digit_field { n } else { 2 }),
                )?
            }
            'd' => day = digits(&mut pos, if next_is_digit_field { n } else { 2 })?,
            'H' | 'k' => hour = digits(&mut pos, if next_is_digit_field { n } else { 2 })?,
            'h' | 'K' => hour = digits(&mut pos, if next_is_digit_field { n } else { 2 })?,
            'm' => minute = digits(&mut pos, if next_is_digit_field { n } else { 2 })?,
            's' => second = digits(&mut pos, if next_is_digit_field { n } else { 2 })?,
            'S' => {
                let start = pos;
                let v = digits(&mut pos, if next_is_digit_field { n } else { 9 })?;
                let count = (pos - start) as u32;
                nanos = v * 10i64.pow(9 - count.min(9));
            }
            'a' => {
                let rest: String = input[pos..]
                    .iter()
                    .take(2)
                    .collect::<String>()
                    .to_ascii_uppercase();
                pm = match rest.as_str() {
                    "AM" => Some(false),
                    "PM" => Some(true),
                    _ => return Err(bad()),
                };
                pos += 2;
            }
            'Z' => {
                let rest: String = input[pos..].iter().collect();
                if n >= 3 {
                    let end = rest.find(' ').unwrap_or(rest.len());
                    let id = &rest[..end];
                    zone_of(id)?;
                    zone = canonical_zone(id);
                    pos += id.chars().count();
                } else if rest.starts_with('Z') {
                    zone = "UTC".into();
                    pos += 1;
                } else {
                    let len = if rest.len() >= 6 && rest.as_bytes().get(3) == Some(&b':') {
                        6
                    } else {
                        5
                    };
                    let offset = rest.get(..len).ok_or_else(bad)?;
                    zone_of(offset)?;
                    let normalized = if len == 5 {
                        format!("{}:{}", &offset[..3], &offset[3..])
                    } else {
                        offset.to_string()
                    };
                    zone = if normalized == "+00:00" {
                        "UTC".into()
                    } else {
                        normalized
                    };
                    pos += len;
                }
            }
            other => {
                return Err(exec_err(format!(
                    "parse_datetime pattern letter '{other}' is not supported on the embedded engine"
                )));
            }
        }
    }
    if pos != input.len() {
        return Err(bad());
    }
    if let Some(pm) = pm {
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    let date = NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32).ok_or_else(bad)?;
    let time =
        NaiveTime::from_hms_nano_opt(hour as u32, minute as u32, second as u32, nanos as u32)
            .ok_or_else(bad)?;
    Ok((date.and_time(time), zone))
}
