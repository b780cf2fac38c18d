//! The text Java gives numbers, dates and timestamps: the shortest decimal of a double (which
//! Java's formatter rounds half up), `Double.toString`, `BigDecimal.toString`,
//! `LocalDate`/`LocalDateTime.toString`.

use datafusion::error::Result;

use crate::functions::exec_err;

/// A finite decimal number as its digits and decimal exponent: value = 0.d1d2d3… × 10^exponent.
#[derive(Debug, Clone)]
pub(super) struct Digits {
    pub(super) negative: bool,
    /// Significant digits, no leading zeros (empty for zero).
    pub(super) digits: Vec<u8>,
    pub(super) exponent: i32,
}

impl Digits {
    pub(super) fn of_decimal(value: i128, scale: i8) -> Option<Digits> {
        let text = value.unsigned_abs().to_string();
        let digits: Vec<u8> = text.bytes().map(|b| b - b'0').collect();
        Some(Digits::new(
            value < 0,
            digits,
            text.len() as i32 - i32::from(scale),
        ))
    }

    fn new(negative: bool, mut digits: Vec<u8>, mut exponent: i32) -> Digits {
        while digits.first() == Some(&0) {
            digits.remove(0);
            exponent -= 1;
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        Digits {
            negative,
            digits,
            exponent,
        }
    }

    /// Rounds half up (Java's formatter does, on the shortest decimal of a double) to keep
    /// `keep` digits after the first significant position `exponent - keep`.
    fn round_at(&self, keep_total: i64) -> (Vec<u8>, i32) {
        if keep_total < 0 {
            return (Vec::new(), self.exponent);
        }
        let keep = keep_total as usize;
        if self.digits.len() <= keep {
            return (self.digits.clone(), self.exponent);
        }
        let mut kept: Vec<u8> = self.digits[..keep].to_vec();
        let mut exponent = self.exponent;
        if self.digits[keep] >= 5 {
            let mut i = kept.len();
            loop {
                if i == 0 {
                    kept.insert(0, 1);
                    exponent += 1;
                    break;
                }
                i -= 1;
                if kept[i] == 9 {
                    kept[i] = 0;
                } else {
                    kept[i] += 1;
                    break;
                }
            }
        }
        (kept, exponent)
    }

    /// `%.pf`: the integer digits and exactly `p` fraction digits.
    pub(super) fn fixed(&self, p: usize) -> (String, String) {
        let (digits, exponent) = if self.digits.is_empty() {
            (Vec::new(), 0)
        } else {
            // Keep the digits down to 10^-p: exponent + p of them.
            self.round_at(i64::from(self.exponent) + p as i64)
        };
        let mut int = String::new();
        let mut frac = String::new();
        for pos in (0..exponent.max(1)).rev() {
            // pos = power of ten + 1 of the integer digit
            let index = exponent - 1 - pos;
            int.push(digit_at(&digits, index));
        }
        if exponent <= 0 {
            int = "0".to_string();
        }
        for k in 1..=p as i32 {
            let index = exponent - 1 + k;
            frac.push(digit_at(&digits, index));
        }
        (int, frac)
    }

    /// `%.pe`: d.ddd e±xx.
    pub(super) fn scientific(&self, p: usize, alternate: bool) -> String {
        if self.digits.is_empty() {
            let frac = "0".repeat(p);
            return if p == 0 && !alternate {
                "0e+00".into()
            } else {
                format!("0.{frac}e+00")
            };
        }
        let (digits, exponent) = self.round_at(p as i64 + 1);
        let first = digit_at(&digits, 0);
        let frac: String = (1..=p).map(|i| digit_at(&digits, i as i32)).collect();
        let e = exponent - 1;
        let sign = if e < 0 { '-' } else { '+' };
        let mantissa = if p == 0 && !alternate {
            first.to_string()
        } else {
            format!("{first}.{frac}")
        };
        format!("{mantissa}e{sign}{:02}", e.abs())
    }
}

fn digit_at(digits: &[u8], index: i32) -> char {
    usize::try_from(index)
        .ok()
        .and_then(|i| digits.get(i))
        .map_or('0', |d| char::from(b'0' + d))
}

/// The shortest decimal that reads back as `v` (what Java's `Double.toString` and formatter
/// start from); `None` for NaN and infinities.
pub(super) fn java_double_digits(v: f64) -> Result<Option<Digits>> {
    if !v.is_finite() {
        return Ok(None);
    }
    Ok(Some(shortest(
        &format!("{:e}", v.abs()),
        v.is_sign_negative(),
    )))
}

pub(super) fn java_float_digits(v: f32) -> Result<Option<Digits>> {
    if !v.is_finite() {
        return Ok(None);
    }
    Ok(Some(shortest(
        &format!("{:e}", v.abs()),
        v.is_sign_negative(),
    )))
}

/// Reads Rust's shortest `{:e}` text (`1.2345e6`).
fn shortest(text: &str, negative: bool) -> Digits {
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    Digits::new(negative, digits, exponent + 1)
}

/// `Double.toString`: plain between 10^-3 and 10^7, else computerized scientific notation,
/// always with a fraction digit.
pub(super) fn java_floating(digits: Option<Digits>, negative: bool, nan: bool) -> String {
    let Some(d) = digits else {
        return if nan {
            "NaN".into()
        } else if negative {
            "-Infinity".into()
        } else {
            "Infinity".into()
        };
    };
    let sign = if negative { "-" } else { "" };
    if d.digits.is_empty() {
        return format!("{sign}0.0");
    }
    // value = 0.d1d2… × 10^exponent: magnitude 10^(exponent-1).
    let magnitude = d.exponent - 1;
    if (-3..7).contains(&magnitude) {
        let (int, frac) = d.fixed((d.digits.len() as i32 - d.exponent).max(1) as usize);
        format!("{sign}{int}.{frac}")
    } else {
        let first = digit_at(&d.digits, 0);
        let rest: String = if d.digits.len() > 1 {
            (1..d.digits.len())
                .map(|i| digit_at(&d.digits, i as i32))
                .collect()
        } else {
            "0".into()
        };
        format!("{sign}{first}.{rest}E{magnitude}")
    }
}

/// `BigDecimal.toString` of a decimal value.
pub(super) fn big_decimal_string(value: i128, scale: i8) -> String {
    crate::render::java_big_decimal(
        value < 0,
        &value.unsigned_abs().to_string(),
        i64::from(scale),
    )
}

/// `LocalDate.toString`: four-digit years, years past 9999 with a `+` (years before 1 are
/// refused).
pub(super) fn local_date(days: i64) -> Result<String> {
    use chrono::Datelike;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    let date = epoch
        .checked_add_signed(
            chrono::Duration::try_days(days)
                .ok_or_else(|| exec_err("format(): date out of range"))?,
        )
        .ok_or_else(|| exec_err("format(): date out of range"))?;
    let year = date.year();
    if year < 1 {
        return Err(exec_err(
            "format(): dates before year 1 are not supported on the embedded engine",
        ));
    }
    let plus = if year > 9999 { "+" } else { "" };
    Ok(format!(
        "{plus}{year:04}-{:02}-{:02}",
        date.month(),
        date.day()
    ))
}

/// `LocalDateTime.toString`: `2020-05-10T12:34`, seconds when not zero (or a fraction), the
/// fraction in groups of three digits.
pub(super) fn local_date_time(nanos: i128) -> Result<String> {
    let per_day = 86_400_000_000_000i128;
    let days = nanos.div_euclid(per_day);
    let in_day = nanos.rem_euclid(per_day);
    let date = local_date(i64::try_from(days).map_err(|_| exec_err("timestamp out of range"))?)?;
    let (hour, minute) = (in_day / 3_600_000_000_000, in_day / 60_000_000_000 % 60);
    let (second, nano) = (in_day / 1_000_000_000 % 60, in_day % 1_000_000_000);
    let mut text = format!("{date}T{hour:02}:{minute:02}");
    if second > 0 || nano > 0 {
        text.push_str(&format!(":{second:02}"));
        if nano > 0 {
            if nano % 1_000_000 == 0 {
                text.push_str(&format!(".{:03}", nano / 1_000_000));
            } else if nano % 1_000 == 0 {
                text.push_str(&format!(".{:06}", nano / 1_000));
            } else {
                text.push_str(&format!(".{nano:09}"));
            }
        }
    }
    Ok(text)
}
