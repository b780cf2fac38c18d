//! A Terraform plugin protocol 6 server framework: go-plugin's handshake with AutoMTLS, cty
//! values, schemas with validators, diagnostics with attribute paths, and the plan/apply rules
//! implemented once. It knows nothing of AWS: a provider implements `Provider`, `Resource` and
//! `DataSource` and calls `serve`.

pub mod diag;
pub mod plan;
pub mod resource;
pub mod schema;
pub mod server;
mod service;
pub mod steps;
pub mod tls;
pub mod value;

pub use diag::{AttributePath, Diagnostic, Diagnostics};
pub use resource::{ApplyError, DataSource, PlanChange, Provider, Resource, StopSignal};
pub use schema::{Attribute, Nesting, Schema, validators};
pub use server::{ServeOptions, serve};
pub use steps::{Written, found, import_by_attribute, read_back};
pub use value::{Type, Value};

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
