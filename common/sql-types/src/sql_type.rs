use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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

/// A type name [`SqlType`] does not accept, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedType {
    pub name: String,
    pub why: &'static str,
}

impl fmt::Display for UnsupportedType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "column type {:?} is not supported: {}; use boolean, integer, bigint, real, double, \
             decimal(p,s), varchar, varbinary, date, time, timestamp or timestamp with time zone",
            self.name, self.why
        )
    }
}

impl std::error::Error for UnsupportedType {}

impl FromStr for SqlType {
    type Err = UnsupportedType;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let lowered = name.trim().to_ascii_lowercase();
        let compact: String = lowered.split_whitespace().collect::<Vec<_>>().join(" ");
        let invalid = |why: &'static str| UnsupportedType {
            name: name.to_string(),
            why,
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

impl SqlType {
    /// The type Glue stores for such a column of an mdw Iceberg table (Hive names, as Athena
    /// writes them and as the embedded engine's Glue catalog does), which dbt-athena's
    /// `get_columns_in_relation` reports as the column's `dtype`.
    ///
    /// `None` for the types one engine stores differently from the other (`time`, and
    /// `timestamp with time zone`, which Athena's Iceberg tables do not have): a reader of
    /// that type gets an error rather than one engine's answer.
    pub fn glue_name(self) -> Option<String> {
        Some(match self {
            SqlType::Boolean => "boolean".into(),
            SqlType::Integer => "int".into(),
            SqlType::Bigint => "bigint".into(),
            SqlType::Real => "float".into(),
            SqlType::Double => "double".into(),
            SqlType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
            SqlType::Varchar => "string".into(),
            SqlType::Varbinary => "binary".into(),
            SqlType::Date => "date".into(),
            SqlType::Timestamp => "timestamp".into(),
            SqlType::Time | SqlType::TimestampWithTimeZone => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let err = "interval".parse::<SqlType>().unwrap_err();
        assert!(
            err.to_string().starts_with(
                "column type \"interval\" is not supported: unknown type; use boolean"
            ),
            "{err}"
        );
    }

    #[test]
    fn glue_names_are_hive_names() {
        let glue = |s: &str| s.parse::<SqlType>().unwrap().glue_name();
        assert_eq!(glue("varchar(20)").as_deref(), Some("string"));
        assert_eq!(glue("integer").as_deref(), Some("int"));
        assert_eq!(glue("real").as_deref(), Some("float"));
        assert_eq!(glue("numeric(10,2)").as_deref(), Some("decimal(10,2)"));
        assert_eq!(glue("timestamp(3)").as_deref(), Some("timestamp"));
        assert_eq!(glue("time"), None);
    }
}
