use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::EngineError;

/// An Iceberg partition transform as Athena / dbt-athena write it in `partitioned_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartitionTransform {
    Identity,
    Year,
    Month,
    Day,
    Hour,
    /// `bucket(col, n)`: hash into `n` buckets.
    Bucket(u32),
    /// `truncate(col, width)`.
    Truncate(u32),
}

/// One `partitioned_by` entry: a column and its transform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionField {
    /// Lower-cased column name.
    pub column: String,
    pub transform: PartitionTransform,
}

impl PartitionField {
    /// The name of the partition field in the Iceberg spec (Iceberg's own convention:
    /// `ts_day`, `id_bucket`, `s_trunc`, or the column itself for identity).
    pub fn field_name(&self) -> String {
        let suffix = match self.transform {
            PartitionTransform::Identity => return self.column.clone(),
            PartitionTransform::Year => "year",
            PartitionTransform::Month => "month",
            PartitionTransform::Day => "day",
            PartitionTransform::Hour => "hour",
            PartitionTransform::Bucket(_) => "bucket",
            PartitionTransform::Truncate(_) => "trunc",
        };
        format!("{}_{suffix}", self.column)
    }
}

fn unquote_column(raw: &str) -> String {
    let trimmed = raw.trim();
    let unquoted = trimmed
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| trimmed.strip_prefix('`').and_then(|s| s.strip_suffix('`')))
        .unwrap_or(trimmed);
    unquoted.to_ascii_lowercase()
}

impl FromStr for PartitionField {
    type Err = EngineError;

    /// Accepts `col`, `year(col)`, `month(col)`, `day(col)`, `hour(col)`, and both argument
    /// orders of `bucket`/`truncate` (`bucket(id, 16)` as in dbt-athena and Trino,
    /// `bucket(16, id)` as in Athena's CREATE TABLE DDL).
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let invalid = |why: &str| {
            EngineError::InvalidInput(format!(
                "partitioned_by entry {spec:?} is not valid: {why}; use `col`, `year(col)`, \
                 `month(col)`, `day(col)`, `hour(col)`, `bucket(col, n)` or `truncate(col, width)`"
            ))
        };
        let spec_trimmed = spec.trim();
        let Some(open) = spec_trimmed.find('(') else {
            let column = unquote_column(spec_trimmed);
            if column.is_empty() {
                return Err(invalid("it is empty"));
            }
            if column.chars().any(char::is_whitespace) {
                return Err(invalid(&format!(
                    "{column:?} is not a column name (write the column alone, without a type)"
                )));
            }
            return Ok(PartitionField {
                column,
                transform: PartitionTransform::Identity,
            });
        };
        let Some(inner) = spec_trimmed[open + 1..].strip_suffix(')') else {
            return Err(invalid("missing closing parenthesis"));
        };
        let function = spec_trimmed[..open].trim().to_ascii_lowercase();
        let args: Vec<&str> = inner.split(',').map(str::trim).collect();
        let one_column = |args: &[&str]| match args {
            [column] if !column.is_empty() => Ok(unquote_column(column)),
            _ => Err(invalid("expected exactly one column")),
        };
        let column_and_number = |args: &[&str]| -> Result<(String, u32), EngineError> {
            match args {
                [a, b] => match (a.parse::<u32>(), b.parse::<u32>()) {
                    (Err(_), Ok(n)) if n > 0 => Ok((unquote_column(a), n)),
                    (Ok(n), Err(_)) if n > 0 => Ok((unquote_column(b), n)),
                    _ => Err(invalid("expected a column and a positive number")),
                },
                _ => Err(invalid("expected a column and a number")),
            }
        };
        let (column, transform) = match function.as_str() {
            "identity" => (one_column(&args)?, PartitionTransform::Identity),
            "year" | "years" => (one_column(&args)?, PartitionTransform::Year),
            "month" | "months" => (one_column(&args)?, PartitionTransform::Month),
            "day" | "days" => (one_column(&args)?, PartitionTransform::Day),
            "hour" | "hours" => (one_column(&args)?, PartitionTransform::Hour),
            "bucket" => {
                let (column, n) = column_and_number(&args)?;
                (column, PartitionTransform::Bucket(n))
            }
            "truncate" => {
                let (column, n) = column_and_number(&args)?;
                (column, PartitionTransform::Truncate(n))
            }
            other => return Err(invalid(&format!("unknown transform {other:?}"))),
        };
        // `ts date` is a column and a type, not a column: refused rather than taken as a name.
        if column
            .chars()
            .any(|c| c.is_whitespace() || c == '(' || c == ')')
        {
            return Err(invalid(&format!(
                "{column:?} is not a column name (write the column alone, without a type)"
            )));
        }
        Ok(PartitionField { column, transform })
    }
}

impl fmt::Display for PartitionField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.column;
        match self.transform {
            PartitionTransform::Identity => write!(f, "{c}"),
            PartitionTransform::Year => write!(f, "year({c})"),
            PartitionTransform::Month => write!(f, "month({c})"),
            PartitionTransform::Day => write!(f, "day({c})"),
            PartitionTransform::Hour => write!(f, "hour({c})"),
            PartitionTransform::Bucket(n) => write!(f, "bucket({c}, {n})"),
            PartitionTransform::Truncate(n) => write!(f, "truncate({c}, {n})"),
        }
    }
}

/// A scalar column type named the Athena way, as `mdw_seed.column_types` gives it.
///
/// Iceberg has no 8/16-bit integers nor bounded strings: `tinyint`/`smallint` parse as
/// `integer`, `varchar(n)`/`char(n)`/`string` as `varchar`, and every timestamp precision as
/// `timestamp(6)` (Iceberg v2 stores microseconds) — the same types Athena reports for such
/// columns of an Iceberg table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SqlType {
    Boolean,
    Integer,
    Bigint,
    Real,
    Double,
    Decimal { precision: u8, scale: u8 },
    Varchar,
    Varbinary,
    Date,
    Time,
    Timestamp,
    TimestampWithTimeZone,
}

impl FromStr for SqlType {
    type Err = EngineError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let lowered = name.trim().to_ascii_lowercase();
        let compact: String = lowered.split_whitespace().collect::<Vec<_>>().join(" ");
        let invalid = |why: &str| {
            EngineError::InvalidInput(format!(
                "column type {name:?} is not supported: {why}; use boolean, integer, bigint, \
                 real, double, decimal(p,s), varchar, varbinary, date, time, timestamp or \
                 timestamp with time zone"
            ))
        };
        // Strip an optional "(n)" argument, e.g. varchar(20) or timestamp(3).
        let (base, args) = match compact.find('(') {
            Some(open) => {
                let Some(close) = compact.rfind(')') else {
                    return Err(invalid("missing closing parenthesis"));
                };
                let rest = compact[close + 1..].trim();
                let base = format!("{} {rest}", compact[..open].trim());
                (
                    base.trim().to_string(),
                    Some(compact[open + 1..close].to_string()),
                )
            }
            None => (compact.clone(), None),
        };
        let ty = match base.as_str() {
            "boolean" | "bool" => SqlType::Boolean,
            "tinyint" | "smallint" | "int" | "integer" | "int4" => SqlType::Integer,
            "bigint" | "long" | "int8" => SqlType::Bigint,
            "real" | "float" | "float4" => SqlType::Real,
            "double" | "double precision" | "float8" => SqlType::Double,
            "decimal" | "numeric" => {
                let (precision, scale) = match args.as_deref() {
                    None => (38, 0),
                    Some(args) => {
                        let parts: Vec<&str> = args.split(',').map(str::trim).collect();
                        let parse = |s: &str| s.parse::<u8>().map_err(|_| invalid("bad precision"));
                        match parts.as_slice() {
                            [p] => (parse(p)?, 0),
                            [p, s] => (parse(p)?, parse(s)?),
                            _ => return Err(invalid("decimal takes (precision, scale)")),
                        }
                    }
                };
                if precision == 0 || precision > 38 || scale > precision {
                    return Err(invalid("precision must be 1..=38 and scale <= precision"));
                }
                SqlType::Decimal { precision, scale }
            }
            "varchar" | "string" | "char" | "text" => SqlType::Varchar,
            "varbinary" | "binary" => SqlType::Varbinary,
            "date" => SqlType::Date,
            "time" => SqlType::Time,
            "timestamp" | "timestamp without time zone" => SqlType::Timestamp,
            "timestamp with time zone" | "timestamptz" => SqlType::TimestampWithTimeZone,
            _ => return Err(invalid("unknown type")),
        };
        Ok(ty)
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Boolean => write!(f, "boolean"),
            SqlType::Integer => write!(f, "integer"),
            SqlType::Bigint => write!(f, "bigint"),
            SqlType::Real => write!(f, "real"),
            SqlType::Double => write!(f, "double"),
            SqlType::Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            SqlType::Varchar => write!(f, "varchar"),
            SqlType::Varbinary => write!(f, "varbinary"),
            SqlType::Date => write!(f, "date"),
            SqlType::Time => write!(f, "time(6)"),
            SqlType::Timestamp => write!(f, "timestamp(6)"),
            SqlType::TimestampWithTimeZone => write!(f, "timestamp(6) with time zone"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(s: &str) -> PartitionField {
        s.parse().unwrap()
    }

    #[test]
    fn partition_transforms_parse_both_argument_orders() {
        assert_eq!(field("Region").transform, PartitionTransform::Identity);
        assert_eq!(field("day(ts)").to_string(), "day(ts)");
        assert_eq!(field("bucket(id, 16)"), field("bucket(16, id)"));
        assert_eq!(field("bucket(16, id)").to_string(), "bucket(id, 16)");
        assert_eq!(field("truncate(s, 4)").field_name(), "s_trunc");
        assert!("bucket(id)".parse::<PartitionField>().is_err());
        assert!("week(ts)".parse::<PartitionField>().is_err());
    }

    #[test]
    fn sql_types_parse_athena_names() {
        let ty = |s: &str| s.parse::<SqlType>().unwrap();
        assert_eq!(ty("BIGINT"), SqlType::Bigint);
        assert_eq!(ty("decimal(10, 2)").to_string(), "decimal(10,2)");
        assert_eq!(ty("varchar(20)"), SqlType::Varchar);
        assert_eq!(ty("timestamp(3)"), SqlType::Timestamp);
        assert_eq!(
            ty("timestamp(6) with time zone"),
            SqlType::TimestampWithTimeZone
        );
        assert!("decimal(40,2)".parse::<SqlType>().is_err());
        assert!("interval".parse::<SqlType>().is_err());
    }
}
