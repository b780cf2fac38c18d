//! A Terraform plugin protocol 6 server framework: go-plugin's handshake with AutoMTLS, cty
//! values, schemas with validators, diagnostics with attribute paths, and the plan/apply rules
//! implemented once. It knows nothing of AWS: a provider implements `Provider`, `Resource` and
//! `DataSource` and calls `serve`.

pub mod diag;
pub mod model;
pub mod plan;
pub mod resource;
pub mod schema;
pub mod server;
mod service;
pub mod steps;
pub mod tls;
pub mod value;
mod warnings;

pub use diag::{AttributePath, Diagnostic, Diagnostics};
pub use model::{Model, TfType};
pub use resource::{ApplyError, DataSource, PlanChange, Provider, Resource, StopSignal};
pub use schema::{Attribute, Nesting, Schema, validators};
pub use server::{ServeOptions, serve};
pub use steps::{Written, check_import_id, found, import_by_attribute, read_back};
pub use value::{Maybe, Type, Value, ValueError, from_value, to_value};
pub use warnings::warn;

/// Generated protocol types: `tfplugin6` (Terraform) and `plugin` (go-plugin's controller).
pub mod proto {
    #![allow(clippy::all, missing_docs)]
    pub mod tfplugin6 {
        tonic::include_proto!("tfplugin6");
    }
    pub mod plugin {
        tonic::include_proto!("plugin");
    }
}
