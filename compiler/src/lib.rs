#![warn(unreachable_pub)]
//! mdwc: compiles a dbt project for Athena + Iceberg into the SQL dbt would render and a
//! Terraform module of `mdw_*` resources wired by the models' refs.
//!
//! Pipeline: `project` reads the files (`yaml` the YAML, `snapshots` the snapshot blocks) and `packages` the installed packages,
//! `profile` and `vars` resolve the target and vars, `properties` reads the yml, `config`
//! renders, checks and merges configs, `data_tests` names tests, `jinja` renders with dbt's
//! context and macros, [`compile`] runs the parse and compile phases over the `graph`
//! (`names` and `seeds` check what Terraform and Glue would reject), and [`emit`] writes
//! compiled SQL, the manifest, Terraform JSON and lineage drawings. [`cli`] is the command
//! line; `deps` installs packages. Only what the binary and the tests use is public.

pub mod cli;
pub mod compile;
pub(crate) mod config;
pub(crate) mod data_tests;
pub(crate) mod deps;
pub mod emit;
pub mod error;
pub(crate) mod graph;
pub(crate) mod jinja;
pub(crate) mod names;
pub(crate) mod packages;
pub(crate) mod profile;
pub(crate) mod project;
pub(crate) mod properties;
pub(crate) mod seeds;
pub(crate) mod snapshots;
pub(crate) mod sql_columns;
pub(crate) mod values;
pub(crate) mod vars;
pub mod warehouse;
pub(crate) mod yaml;
