//! `modules`: the Python modules dbt puts in the Jinja context — `datetime` (date, datetime,
//! timedelta), `pytz` (time zones) and `re` — with Python's behaviour and printing, for the
//! calls dbt projects make. `date ± timedelta` is computed by [`datetime_op`], which the
//! templates call where `datetime_ops` rewrote the operator (minijinja has no operator
//! overloading); other arithmetic between them is an error that says so.

use std::fmt;
use std::sync::Arc;

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Timelike, Utc,
};
use minijinja::value::{Kwargs, Object, ObjectRepr, Rest, from_args};
use minijinja::{Error, ErrorKind, State, Value};

use super::functions::error_with_help;
use crate::values::map_value;

/// The `modules` namespace.
pub(crate) fn modules() -> Value {
    map_value([
        (
            "datetime",
            map_value([
                ("date", Value::from_object(DateType)),
                ("datetime", Value::from_object(DateTimeType)),
                ("timedelta", Value::from_object(TimedeltaType)),
            ]),
        ),
        ("pytz", Value::from_object(Pytz)),
        ("re", Value::from_object(Re)),
    ])
}

/// dbt's `run_started_at`: this compile's start, in UTC.
pub(crate) fn run_started_at() -> Value {
    Value::from_object(Stamp {
        naive: Utc::now().naive_utc(),
        offset: Some(Utc.fix()),
    })
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

/// Python's strftime directives in chrono's spelling (`%f` is microseconds in Python).
fn strftime(format: &str) -> String {
    format.replace("%f", "%6f")
}

fn arg_i64(
    kwargs: &Kwargs,
    positional: &[Value],
    index: usize,
    name: &str,
    default: i64,
) -> Result<i64, Error> {
    match positional.get(index) {
        Some(value) => i64::try_from(value.clone()),
        None => Ok(kwargs.get::<Option<i64>>(name)?.unwrap_or(default)),
    }
}

/// `datetime.date(y, m, d)` and its class methods.
#[derive(Debug)]
struct DateType;

impl Object for DateType {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (positional, kwargs): (Rest<Value>, Kwargs) = from_args(args)?;
        let positional: &[Value] = &positional;
        let y = arg_i64(&kwargs, positional, 0, "year", 1)?;
        let m = arg_i64(&kwargs, positional, 1, "month", 1)?;
        let d = arg_i64(&kwargs, positional, 2, "day", 1)?;
        kwargs.assert_all_used()?;
        let date = NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32)
            .ok_or_else(|| invalid(format!("date({y}, {m}, {d}) is not a valid date")))?;
        Ok(Value::from_object(Date(date)))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "today" => Ok(Value::from_object(Date(chrono::Local::now().date_naive()))),
            "fromisoformat" => {
                let (text,): (String,) = from_args(args)?;
                NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                    .map(|d| Value::from_object(Date(d)))
                    .map_err(|_| invalid(format!("Invalid isoformat string: '{text}'")))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// A `datetime.date`.
#[derive(Debug)]
struct Date(NaiveDate);

impl Object for Date {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "year" => Value::from(self.0.year()),
            "month" => Value::from(self.0.month()),
            "day" => Value::from(self.0.day()),
            _ => return None,
        })
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let (format,): (String,) = from_args(args)?;
                Ok(Value::from(self.0.format(&strftime(&format)).to_string()))
            }
            "isoformat" => Ok(Value::from(self.0.format("%Y-%m-%d").to_string())),
            "weekday" => Ok(Value::from(self.0.weekday().num_days_from_monday())),
            "isoweekday" => Ok(Value::from(self.0.weekday().number_from_monday())),
            "replace" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let y = kwargs.get::<Option<i32>>("year")?.unwrap_or(self.0.year());
                let m = kwargs
                    .get::<Option<u32>>("month")?
                    .unwrap_or(self.0.month());
                let d = kwargs.get::<Option<u32>>("day")?.unwrap_or(self.0.day());
                kwargs.assert_all_used()?;
                NaiveDate::from_ymd_opt(y, m, d)
                    .map(|date| Value::from_object(Date(date)))
                    .ok_or_else(|| invalid("day is out of range for month"))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

/// `datetime.datetime(...)` and its class methods.
#[derive(Debug)]
struct DateTimeType;

impl Object for DateTimeType {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (positional, kwargs): (Rest<Value>, Kwargs) = from_args(args)?;
        let positional: &[Value] = &positional;
        let part =
            |i: usize, name: &str, default: i64| arg_i64(&kwargs, positional, i, name, default);
        let (y, mo, d) = (
            part(0, "year", 1)?,
            part(1, "month", 1)?,
            part(2, "day", 1)?,
        );
        let (h, mi, s, us) = (
            part(3, "hour", 0)?,
            part(4, "minute", 0)?,
            part(5, "second", 0)?,
            part(6, "microsecond", 0)?,
        );
        let tzinfo = match positional.get(7) {
            Some(tz) => Some(tz.clone()),
            None => kwargs.get::<Option<Value>>("tzinfo")?,
        };
        kwargs.assert_all_used()?;
        let naive = NaiveDate::from_ymd_opt(y as i32, mo as u32, d as u32)
            .and_then(|date| date.and_hms_micro_opt(h as u32, mi as u32, s as u32, us as u32))
            .ok_or_else(|| invalid("datetime(...) arguments are out of range"))?;
        // pytz's pitfall, kept as Python shows it: a pytz zone passed as `tzinfo` is the
        // zone's first entry (local mean time, rounded to minutes).
        let offset = match tzinfo.filter(|t| !t.is_none()) {
            None => None,
            Some(tz) => Some(
                tz.downcast_object_ref::<Zone>()
                    .map(Zone::first_offset)
                    .ok_or_else(|| invalid("tzinfo must be a time zone from modules.pytz"))?,
            ),
        };
        Ok(Value::from_object(Stamp { naive, offset }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "now" => {
                let (tz,): (Option<Value>,) = from_args(args)?;
                match tz.filter(|t| !t.is_none()) {
                    None => Ok(Value::from_object(Stamp {
                        naive: chrono::Local::now().naive_local(),
                        offset: None,
                    })),
                    Some(tz) => {
                        let zone = tz
                            .downcast_object_ref::<Zone>()
                            .ok_or_else(|| invalid("now() takes a time zone from modules.pytz"))?;
                        Ok(Value::from_object(zone.at_utc(Utc::now().naive_utc())))
                    }
                }
            }
            "utcnow" => Ok(Value::from_object(Stamp {
                naive: Utc::now().naive_utc(),
                offset: None,
            })),
            "today" => Ok(Value::from_object(Stamp {
                naive: chrono::Local::now().naive_local(),
                offset: None,
            })),
            "strptime" => {
                let (text, format): (String, String) = from_args(args)?;
                let format = strftime(&format);
                NaiveDateTime::parse_from_str(&text, &format)
                    .or_else(|_| {
                        NaiveDate::parse_from_str(&text, &format)
                            .map(|d| d.and_time(NaiveTime::MIN))
                    })
                    .map(|naive| {
                        Value::from_object(Stamp {
                            naive,
                            offset: None,
                        })
                    })
                    .map_err(|_| {
                        invalid(format!(
                            "time data '{text}' does not match format '{format}'"
                        ))
                    })
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// A `datetime.datetime`, naive or with a fixed UTC offset.
#[derive(Debug, Clone)]
struct Stamp {
    naive: NaiveDateTime,
    offset: Option<FixedOffset>,
}

impl Stamp {
    fn python_str(&self, sep: char) -> String {
        let mut out = self.naive.format("%Y-%m-%d").to_string();
        out.push(sep);
        out.push_str(&self.naive.format("%H:%M:%S").to_string());
        if self.naive.nanosecond() / 1000 != 0 {
            out.push_str(&format!(".{:06}", self.naive.nanosecond() / 1000));
        }
        if let Some(offset) = self.offset {
            let seconds = offset.local_minus_utc();
            let sign = if seconds < 0 { '-' } else { '+' };
            let seconds = seconds.abs();
            out.push_str(&format!(
                "{sign}{:02}:{:02}",
                seconds / 3600,
                seconds % 3600 / 60
            ));
            if seconds % 60 != 0 {
                out.push_str(&format!(":{:02}", seconds % 60));
            }
        }
        out
    }
}

impl Object for Stamp {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let n = &self.naive;
        Some(match key.as_str()? {
            "year" => Value::from(n.year()),
            "month" => Value::from(n.month()),
            "day" => Value::from(n.day()),
            "hour" => Value::from(n.hour()),
            "minute" => Value::from(n.minute()),
            "second" => Value::from(n.second()),
            "microsecond" => Value::from(n.nanosecond() / 1000),
            _ => return None,
        })
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let (format,): (String,) = from_args(args)?;
                let format = strftime(&format);
                Ok(Value::from(match self.offset {
                    Some(offset) => DateTime::<FixedOffset>::from_naive_utc_and_offset(
                        self.naive - offset,
                        offset,
                    )
                    .format(&format)
                    .to_string(),
                    None => self.naive.format(&format).to_string(),
                }))
            }
            "isoformat" => {
                let (sep,): (Option<String>,) = from_args(args)?;
                let sep = sep.and_then(|s| s.chars().next()).unwrap_or('T');
                Ok(Value::from(self.python_str(sep)))
            }
            "date" => Ok(Value::from_object(Date(self.naive.date()))),
            "weekday" => Ok(Value::from(self.naive.weekday().num_days_from_monday())),
            "isoweekday" => Ok(Value::from(self.naive.weekday().number_from_monday())),
            "timestamp" => {
                let utc = self.naive - self.offset.unwrap_or_else(|| Utc.fix());
                Ok(Value::from(utc.and_utc().timestamp_micros() as f64 / 1e6))
            }
            "replace" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let n = &self.naive;
                let get = |name: &str, current: u32| -> Result<u32, Error> {
                    Ok(kwargs.get::<Option<u32>>(name)?.unwrap_or(current))
                };
                let year = kwargs.get::<Option<i32>>("year")?.unwrap_or(n.year());
                let (month, day) = (get("month", n.month())?, get("day", n.day())?);
                let (hour, minute) = (get("hour", n.hour())?, get("minute", n.minute())?);
                let second = get("second", n.second())?;
                let micro = get("microsecond", n.nanosecond() / 1000)?;
                kwargs.assert_all_used()?;
                let naive = NaiveDate::from_ymd_opt(year, month, day)
                    .and_then(|d| d.and_hms_micro_opt(hour, minute, second, micro));
                naive
                    .map(|naive| {
                        Value::from_object(Stamp {
                            naive,
                            offset: self.offset,
                        })
                    })
                    .ok_or_else(|| invalid("replace(...) arguments are out of range"))
            }
            "astimezone" => {
                let (tz,): (Value,) = from_args(args)?;
                let zone = tz
                    .downcast_object_ref::<Zone>()
                    .ok_or_else(|| invalid("astimezone() takes a time zone from modules.pytz"))?;
                let utc = self.naive - self.offset.unwrap_or_else(|| Utc.fix());
                Ok(Value::from_object(zone.at_utc(utc)))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.python_str(' '))
    }
}

/// `datetime.timedelta(days, seconds, microseconds, milliseconds, minutes, hours, weeks)`.
#[derive(Debug)]
struct TimedeltaType;

impl Object for TimedeltaType {
    fn call(self: &Arc<Self>, _state: &mut State<'_, '_>, args: &[Value]) -> Result<Value, Error> {
        let (positional, kwargs): (Rest<Value>, Kwargs) = from_args(args)?;
        let positional: &[Value] = &positional;
        let names = [
            "days",
            "seconds",
            "microseconds",
            "milliseconds",
            "minutes",
            "hours",
            "weeks",
        ];
        let mut parts = [0f64; 7];
        for (i, name) in names.iter().enumerate() {
            parts[i] = match positional.get(i) {
                Some(v) => f64::try_from(v.clone())?,
                None => kwargs.get::<Option<f64>>(name)?.unwrap_or(0.0),
            };
        }
        kwargs.assert_all_used()?;
        let micros = parts[0] * 86_400e6
            + parts[1] * 1e6
            + parts[2]
            + parts[3] * 1e3
            + parts[4] * 60e6
            + parts[5] * 3_600e6
            + parts[6] * 604_800e6;
        Ok(Value::from_object(Timedelta(Duration::microseconds(
            micros.round() as i64,
        ))))
    }
}

/// A `datetime.timedelta`.
#[derive(Debug)]
struct Timedelta(Duration);

impl Object for Timedelta {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let micros = self.0.num_microseconds()?;
        let days = micros.div_euclid(86_400_000_000);
        let rest = micros.rem_euclid(86_400_000_000);
        Some(match key.as_str()? {
            "days" => Value::from(days),
            "seconds" => Value::from(rest / 1_000_000),
            "microseconds" => Value::from(rest % 1_000_000),
            _ => return None,
        })
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        _args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "total_seconds" => Ok(Value::from(
                self.0.num_microseconds().unwrap_or_default() as f64 / 1e6,
            )),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0.num_microseconds().unwrap_or_default();
        let days = micros.div_euclid(86_400_000_000);
        let rest = micros.rem_euclid(86_400_000_000);
        let (h, m, s, us) = (
            rest / 3_600_000_000,
            rest / 60_000_000 % 60,
            rest / 1_000_000 % 60,
            rest % 1_000_000,
        );
        if days != 0 {
            write!(f, "{days} day{}, ", if days.abs() == 1 { "" } else { "s" })?;
        }
        write!(f, "{h}:{m:02}:{s:02}")?;
        if us != 0 {
            write!(f, ".{us:06}")?;
        }
        Ok(())
    }
}

/// `a + b` / `a - b` with `b` a timedelta (the templates' `date ± modules.datetime.timedelta(…)`,
/// rewritten to this call by `datetime_ops`), as Python computes them: a date moves by the
/// timedelta's whole days (`timedelta.days`, floored), a datetime by all of it (its offset
/// kept), a timedelta adds up.
pub(crate) fn datetime_op(left: Value, op: String, right: Value) -> Result<Value, Error> {
    let type_name = |v: &Value| -> String {
        if v.downcast_object_ref::<Date>().is_some() {
            "datetime.date".into()
        } else if v.downcast_object_ref::<Stamp>().is_some() {
            "datetime.datetime".into()
        } else if v.downcast_object_ref::<Timedelta>().is_some() {
            "datetime.timedelta".into()
        } else {
            match v.kind() {
                minijinja::value::ValueKind::Number if v.is_integer() => "int".into(),
                minijinja::value::ValueKind::Number => "float".into(),
                minijinja::value::ValueKind::String => "str".into(),
                minijinja::value::ValueKind::None => "NoneType".into(),
                other => other.to_string(),
            }
        }
    };
    let unsupported = || {
        invalid(format!(
            "unsupported operand type(s) for {op}: '{}' and '{}'",
            type_name(&left),
            type_name(&right)
        ))
    };
    let Some(delta) = right.downcast_object_ref::<Timedelta>().map(|t| t.0) else {
        return Err(unsupported());
    };
    let delta = match op.as_str() {
        "+" => delta,
        "-" => -delta,
        _ => return Err(unsupported()),
    };
    let overflow = || invalid("date value out of range");
    if let Some(date) = left.downcast_object_ref::<Date>() {
        // Python: `date + timedelta(days=delta.days)`, and `date - td` is `date + (-td)`…
        // with `-td` taken as `timedelta(-td.days)`: the whole days of the operand as given.
        let whole_days = |d: Duration| {
            d.num_microseconds()
                .unwrap_or_default()
                .div_euclid(86_400_000_000)
        };
        let days = match op.as_str() {
            "+" => whole_days(delta),
            _ => -whole_days(-delta),
        };
        return date
            .0
            .checked_add_signed(Duration::days(days))
            .map(|d| Value::from_object(Date(d)))
            .ok_or_else(overflow);
    }
    if let Some(stamp) = left.downcast_object_ref::<Stamp>() {
        return stamp
            .naive
            .checked_add_signed(delta)
            .map(|naive| {
                Value::from_object(Stamp {
                    naive,
                    offset: stamp.offset,
                })
            })
            .ok_or_else(overflow);
    }
    if let Some(own) = left.downcast_object_ref::<Timedelta>() {
        return own
            .0
            .checked_add(&delta)
            .map(|d| Value::from_object(Timedelta(d)))
            .ok_or_else(overflow);
    }
    Err(unsupported())
}

/// `modules.pytz`: `timezone(name)` and `utc`.
#[derive(Debug)]
struct Pytz;

impl Object for Pytz {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "utc" | "UTC" => Some(Value::from_object(Zone(chrono_tz::UTC))),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "timezone" => {
                let (name,): (String,) = from_args(args)?;
                name.parse::<chrono_tz::Tz>()
                    .map(|tz| Value::from_object(Zone(tz)))
                    .map_err(|_| invalid(format!("unknown time zone '{name}'")))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// A pytz time zone.
#[derive(Debug)]
struct Zone(chrono_tz::Tz);

impl Zone {
    /// The zone's earliest offset (local mean time), rounded to minutes as pytz does.
    fn first_offset(&self) -> FixedOffset {
        let early = NaiveDate::from_ymd_opt(1800, 1, 1)
            .unwrap_or_default()
            .and_time(NaiveTime::MIN);
        let seconds = self
            .0
            .offset_from_utc_datetime(&early)
            .fix()
            .local_minus_utc();
        let minutes = (f64::from(seconds) / 60.0).round() as i32;
        FixedOffset::east_opt(minutes * 60).unwrap_or_else(|| Utc.fix())
    }

    fn at_utc(&self, utc: NaiveDateTime) -> Stamp {
        let local = self.0.from_utc_datetime(&utc);
        Stamp {
            naive: local.naive_local(),
            offset: Some(local.offset().fix()),
        }
    }
}

impl Object for Zone {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "zone" => Some(Value::from(self.0.name())),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "localize" => {
                let (value,): (Value,) = from_args(args)?;
                let stamp = value
                    .downcast_object_ref::<Stamp>()
                    .ok_or_else(|| invalid("localize() takes a datetime"))?;
                let local = self
                    .0
                    .from_local_datetime(&stamp.naive)
                    .earliest()
                    .ok_or_else(|| invalid("this local time does not exist in the zone"))?;
                Ok(Value::from_object(Stamp {
                    naive: stamp.naive,
                    offset: Some(local.offset().fix()),
                }))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

/// `modules.re`: Python's `re` functions on Rust regular expressions (no look-around or
/// back-references: such a pattern is an error that says so).
#[derive(Debug)]
struct Re;

fn regex(pattern: &str, flags: i64) -> Result<regex::Regex, Error> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(flags & 2 != 0)
        .multi_line(flags & 8 != 0)
        .dot_matches_new_line(flags & 16 != 0)
        .build()
        .map_err(|err| {
            error_with_help(
                format!("modules.re cannot use the pattern '{pattern}': {err}"),
                "mdwc's modules.re has no look-around or back-references; simplify the pattern",
            )
        })
}

/// Python's replacement syntax (`\1`, `\g<name>`) in the regex crate's (`${1}`, `${name}`).
fn replacement(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    chars.next();
                    out.push_str(&format!("${{{d}}}"));
                }
                Some('g') => {
                    chars.next();
                    let name: String = chars.by_ref().skip(1).take_while(|&c| c != '>').collect();
                    out.push_str(&format!("${{{name}}}"));
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

impl Object for Re {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(Value::from(match key.as_str()? {
            "IGNORECASE" | "I" => 2,
            "MULTILINE" | "M" => 8,
            "DOTALL" | "S" => 16,
            _ => return None,
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "sub" => {
                let (pattern, repl, text, kwargs): (String, String, String, Kwargs) =
                    from_args(args)?;
                let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
                let flags = kwargs.get::<Option<i64>>("flags")?.unwrap_or(0);
                kwargs.assert_all_used()?;
                let re = regex(&pattern, flags)?;
                Ok(Value::from(
                    re.replacen(&text, count, replacement(&repl).as_str())
                        .into_owned(),
                ))
            }
            "search" | "match" | "fullmatch" => {
                let (pattern, text, flags): (String, String, Option<i64>) = from_args(args)?;
                let anchored = match method {
                    "match" => format!("^(?:{pattern})"),
                    "fullmatch" => format!("^(?:{pattern})$"),
                    _ => pattern,
                };
                let re = regex(&anchored, flags.unwrap_or(0))?;
                Ok(match re.captures(&text) {
                    Some(captures) => Value::from_object(Match(
                        captures
                            .iter()
                            .map(|m| m.map(|m| m.as_str().to_string()))
                            .collect(),
                    )),
                    None => Value::from(()),
                })
            }
            "findall" => {
                let (pattern, text, flags): (String, String, Option<i64>) = from_args(args)?;
                let re = regex(&pattern, flags.unwrap_or(0))?;
                let found: Vec<Value> = re
                    .captures_iter(&text)
                    .map(|c| {
                        let group = if c.len() > 1 { c.get(1) } else { c.get(0) };
                        Value::from(group.map_or("", |m| m.as_str()))
                    })
                    .collect();
                Ok(Value::from(found))
            }
            "split" => {
                let (pattern, text, flags): (String, String, Option<i64>) = from_args(args)?;
                let re = regex(&pattern, flags.unwrap_or(0))?;
                Ok(Value::from(
                    re.split(&text).map(Value::from).collect::<Vec<_>>(),
                ))
            }
            "escape" => {
                let (text,): (String,) = from_args(args)?;
                Ok(Value::from(regex::escape(&text)))
            }
            _ => Err(error_with_help(
                format!("modules.re.{method} is not available in mdwc"),
                "mdwc's modules.re has sub, search, match, fullmatch, findall, split and escape",
            )),
        }
    }
}

/// A `re` match: `group(n)`, `groups()`.
#[derive(Debug)]
struct Match(Vec<Option<String>>);

impl Object for Match {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let group = |i: usize| {
            self.0
                .get(i)
                .cloned()
                .flatten()
                .map_or_else(|| Value::from(()), Value::from)
        };
        match method {
            "group" => {
                let (index,): (Option<usize>,) = from_args(args)?;
                Ok(group(index.unwrap_or(0)))
            }
            "groups" => Ok(Value::from(
                (1..self.0.len()).map(group).collect::<Vec<_>>(),
            )),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn is_true(self: &Arc<Self>) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str) -> String {
        let mut env = minijinja::Environment::new();
        env.add_global("modules", modules());
        env.render_str(template, ()).unwrap()
    }

    /// Renders through the operator rewrite, as project templates are.
    fn compute(template: &str) -> Result<String, String> {
        let mut env = minijinja::Environment::new();
        env.add_global("modules", modules());
        env.add_function(super::super::datetime_ops::DATETIME_OP_FN, datetime_op);
        let text = super::super::datetime_ops::wrap_datetime_arithmetic(
            template,
            &mut super::super::rewrite::SourceMap::default(),
        );
        env.render_str(&text, ()).map_err(|e| e.to_string())
    }

    #[test]
    fn timedelta_arithmetic_is_pythons() {
        let d = "modules.datetime.date(2024, 3, 1)";
        let t = "modules.datetime.datetime(2024, 1, 1, 10)";
        let td = "modules.datetime.timedelta";
        for (template, expected) in [
            (format!("{{{{ {d} - {td}(days=1) }}}}"), "2024-02-29"),
            (format!("{{{{ {d} + {td}(weeks=1) }}}}"), "2024-03-08"),
            // A date moves by whole days, floored: Python's `timedelta.days`.
            (format!("{{{{ {d} - {td}(hours=12) }}}}"), "2024-03-01"),
            (format!("{{{{ {d} + {td}(hours=-12) }}}}"), "2024-02-29"),
            (format!("{{{{ {d} - {td}(hours=-12) }}}}"), "2024-03-02"),
            (
                format!("{{{{ {t} + {td}(hours=20) }}}}"),
                "2024-01-02 06:00:00",
            ),
            (
                format!("{{{{ ({t} - {td}(minutes=1)).isoformat() }}}}"),
                "2024-01-01T09:59:00",
            ),
            (
                format!("{{{{ {td}(days=1) + {td}(hours=1) }}}}"),
                "1 day, 1:00:00",
            ),
            (
                format!("{{% set e = {d} %}}{{% set s = (e - {td}(days=10)) %}}{{{{ s }}}}"),
                "2024-02-20",
            ),
        ] {
            assert_eq!(compute(&template).as_deref(), Ok(expected), "{template}");
        }
        let error = compute(&format!("{{{{ 5 - {td}(1) }}}}")).unwrap_err();
        assert!(
            error.contains("unsupported operand type(s) for -: 'int' and 'datetime.timedelta'"),
            "{error}"
        );
    }

    #[test]
    fn datetimes_print_as_python() {
        assert_eq!(
            render("{{ modules.datetime.date(1997, 9, 29) }}"),
            "1997-09-29"
        );
        assert_eq!(
            render(
                "{{ modules.datetime.datetime(1997, 9, 29, 6, 14, 0, tzinfo=modules.pytz.timezone('America/Los_Angeles')) }}"
            ),
            "1997-09-29 06:14:00-07:53"
        );
        assert_eq!(
            render(
                "{{ modules.datetime.datetime(2020, 1, 2, 3, 4, 5, 60).strftime('%Y%m%d %H%M%S.%f') }}"
            ),
            "20200102 030405.000060"
        );
        assert_eq!(
            render("{{ modules.datetime.timedelta(days=1, hours=2) }}"),
            "1 day, 2:00:00"
        );
        assert_eq!(
            render("{{ modules.datetime.datetime.strptime('20261127', '%Y%m%d') }}"),
            "2026-11-27 00:00:00"
        );
    }

    #[test]
    fn re_behaves_like_python() {
        assert_eq!(
            render("{{ modules.re.sub('[ -]+', '_', 'a b-c') }}"),
            "a_b_c"
        );
        assert_eq!(
            render(r"{{ modules.re.sub('(a)(b)', '\\2\\1', 'ab') }}"),
            "ba"
        );
        assert_eq!(
            render("{{ modules.re.search('b(.)', 'abc').group(1) }}"),
            "c"
        );
        assert_eq!(
            render("{% if modules.re.match('b', 'abc') is none %}no match{% endif %}"),
            "no match"
        );
    }
}
