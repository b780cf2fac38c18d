//! `terraform-provider-mdw`: started by Terraform, never by hand (it says so and exits).

use std::process::ExitCode;

mod aws;
mod data_sources;
mod engine;
mod ownership;
mod provider;
mod resources;
mod sql_text;
mod tags;

fn main() -> ExitCode {
    tfplugin::serve(
        provider::MdwProvider,
        tfplugin::ServeOptions {
            address: "registry.terraform.io/mdw/mdw",
            version: env!("CARGO_PKG_VERSION"),
        },
    )
}
