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
}
