//! The type a seed's column loads as, from every value of the column.
//!
//! A value is read trimmed of spaces (only ` `: a tab is not trimmed the same way by Athena's
//! `TRIM` and the embedded engine's); an empty one is NULL and says nothing of the type. A
//! column whose every other value is
//! - `true` or `false` (any case) loads as `boolean`;
//! - an integer (`-?[0-9]+`, within 64 bits) as `bigint`;
//! - an integer or a decimal number (`1.5`, `.5`, `1.`, `1e3`) as `double`;
//! - a calendar date `YYYY-MM-DD` as `date`;
//! - a date or a timestamp `YYYY-MM-DD hh:mm:ss[.ffffff]` (`T` also separates) as `timestamp`;
//! - anything else (or nothing) as `varchar`.
//!
//! Only what Athena's casts and the embedded engine's read the same way is inferred: `NaN`,
//! `inf`, a `+` sign, a zone suffix or more than six fractional digits make a column `varchar`.
//! Loaders cast a typed column from its trimmed text (empty → NULL) and keep a `varchar`
//! column's text as it is (only an empty field is NULL), as dbt does.

use crate::SqlType;

/// What every value of one column so far fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedColumn {
    boolean: bool,
    integer: bool,
    number: bool,
    date: bool,
    timestamp: bool,
    seen: bool,
}

impl Default for SeedColumn {
    fn default() -> Self {
        SeedColumn {
            boolean: true,
            integer: true,
            number: true,
            date: true,
            timestamp: true,
            seen: false,
        }
    }
}

impl SeedColumn {
    /// Takes one value of the column into account.
    pub fn observe(&mut self, value: &str) {
        let v = value.trim_matches(' ');
        if v.is_empty() {
            return;
        }
        self.seen = true;
        // Only what the column may still be is checked: a text column costs nothing more.
        self.boolean =
            self.boolean && (v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"));
        let integer = (self.integer || self.number) && is_integer(v);
        self.integer = self.integer && integer;
        self.number = self.number && (integer || is_decimal(v));
        let date = (self.date || self.timestamp) && is_date(v);
        self.date = self.date && date;
        self.timestamp = self.timestamp && (date || is_timestamp(v));
    }

    /// The type the column loads as.
    pub fn sql_type(&self) -> SqlType {
        if !self.seen {
            SqlType::Varchar
        } else if self.boolean {
            SqlType::Boolean
        } else if self.integer {
            SqlType::Bigint
        } else if self.number {
            SqlType::Double
        } else if self.date {
            SqlType::Date
        } else if self.timestamp {
            SqlType::Timestamp
        } else {
            SqlType::Varchar
        }
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_integer(v: &str) -> bool {
    digits(v.strip_prefix('-').unwrap_or(v)) && v.parse::<i64>().is_ok()
}

/// `1.5`, `.5`, `1.`, `1e3`, `-2.5E-3`: a sign only in front of the number and the exponent.
fn is_decimal(v: &str) -> bool {
    let v = v.strip_prefix('-').unwrap_or(v);
    let (mantissa, exponent) = match v.find(['e', 'E']) {
        Some(at) => (&v[..at], Some(&v[at + 1..])),
        None => (v, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            (whole.is_empty() || digits(whole))
                && (fraction.is_empty() || digits(fraction))
                && !(whole.is_empty() && fraction.is_empty())
        }
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    // A bare integer is an integer; a decimal has a point or an exponent.
    mantissa_ok && exponent_ok && (mantissa.contains('.') || exponent.is_some())
}

fn number(s: &str, len: usize, max: u32) -> Option<u32> {
    (s.len() == len && digits(s))
        .then(|| s.parse::<u32>().ok())
        .flatten()
        .filter(|n| *n <= max)
}

fn is_date(v: &str) -> bool {
    let mut parts = v.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some(year), Some(month), Some(day)) =
        (number(y, 4, 9999), number(m, 2, 12), number(d, 2, 31))
    else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    (1..=days).contains(&day)
}

fn is_timestamp(v: &str) -> bool {
    let Some((date, time)) = v.split_once([' ', 'T']) else {
        return false;
    };
    let (clock, fraction) = match time.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (time, None),
    };
    let mut parts = clock.split(':');
    let hms = (parts.next(), parts.next(), parts.next(), parts.next());
    let (Some(h), Some(m), Some(s), None) = hms else {
        return false;
    };
    is_date(date)
        && number(h, 2, 23).is_some()
        && number(m, 2, 59).is_some()
        && number(s, 2, 59).is_some()
        && fraction.is_none_or(|f| digits(f) && f.len() <= 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn type_of(values: &[&str]) -> String {
        let mut column = SeedColumn::default();
        for value in values {
            column.observe(value);
        }
        column.sql_type().to_string()
    }

    #[test]
    fn every_value_decides() {
        assert_eq!(type_of(&["1", " 2 ", "", "-3"]), "bigint");
        assert_eq!(type_of(&["1", "2.5"]), "double");
        assert_eq!(type_of(&[".5", "1.", "1e3", "-2.5E-3"]), "double");
        assert_eq!(type_of(&["true", "FALSE", ""]), "boolean");
        assert_eq!(type_of(&["true", "1"]), "varchar");
        assert_eq!(type_of(&["2026-11-28", "2024-02-29"]), "date");
        assert_eq!(
            type_of(&["2026-11-28", "2026-11-27T09:30:00.5", "2026-11-27 09:30:00"]),
            "timestamp(6)"
        );
        assert_eq!(type_of(&["", "  "]), "varchar");
        assert_eq!(type_of(&[]), "varchar");
    }

    #[test]
    fn what_the_engines_read_differently_stays_text() {
        for odd in [
            "+5",
            "NaN",
            "inf",
            "1e",
            ".",
            "9223372036854775808",
            "2023-02-29",
            "2026-13-01",
            "2026-11-28 24:00:00",
            "2026-11-28 10:00:00Z",
            "2026-11-28 10:00:00+01:00",
            "2026-11-28 10:00:00.1234567",
            "2026-11-28 10:00",
            "1,5",
            "5\t",
        ] {
            assert_eq!(type_of(&[odd]), "varchar", "{odd}");
        }
        assert_eq!(type_of(&["9223372036854775807"]), "bigint");
        // Too large for a bigint, and not written as a decimal: text, as the CSV reader has it.
        assert_eq!(type_of(&["9223372036854775808", "1.5"]), "varchar");
    }
}
