//! dbt's objects in the warehouse: models built by the engine, seeds loaded from CSV, and the
//! sources and queries read at plan time.

mod columns;
pub(crate) mod data_test;
mod data_test_run;
mod hooks;
pub(crate) mod iceberg_model;
pub(crate) mod lineage;
mod microbatch;
mod model;
pub(crate) mod model_group;
mod model_tests;
mod ownership;
pub(crate) mod query;
mod rows;
pub(crate) mod seed;
mod snapshot;
pub(crate) mod source;
mod sql_text;
mod test_run;
pub(crate) mod unit_test;
mod validators;
