//! mdwc: compiles a dbt project for Athena + Iceberg into the SQL dbt would render and a
//! Terraform module of `mdw_*` resources wired by the models' refs.
//!
//! Pipeline: [`project`] reads the files, [`profile`] and [`vars`] resolve the target and vars,
//! [`properties`] reads the yml, [`config`] applies dbt's precedence, [`data_tests`] names tests, [`jinja`] renders with
//! dbt's context, [`compile`] runs the parse and compile phases over the [`graph`], and
//! [`emit`] writes compiled SQL, Terraform JSON and lineage drawings. [`cli`] is the command line.

pub mod cli;
pub mod compile;
pub mod config;
pub mod data_tests;
pub mod deps;
pub mod emit;
pub mod error;
pub mod graph;
pub mod jinja;
mod names;
mod packages;
pub mod profile;
pub mod project;
pub mod properties;
mod seeds;
pub mod values;
pub mod vars;
mod yaml;
