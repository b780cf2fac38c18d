//! The column types of mdw's tables, one rule for everyone who needs it.
//!
//! - [`SqlType`]: a scalar type named the Athena way (`mdw_seed.column_types`, dbt's seed
//!   `column_types`), and the name Glue stores for it ([`SqlType::glue_name`]), which is what
//!   dbt-athena's `adapter.get_columns_in_relation` reports as a column's `dtype`.
//! - [`SeedColumn`]: the type a seed's CSV column loads as, inferred from every value.
//!
//! Both engines load seeds with these rules and mdwc answers a seed's column types with them
//! before anything is built, so the three cannot disagree.

mod names;
mod seed;
mod sql_type;

pub use names::{hive_name, trino_name};

pub use seed::SeedColumn;
pub use sql_type::{SqlType, UnsupportedType};
