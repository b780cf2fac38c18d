//! `terraform-provider-mdw`: started by Terraform, never by hand (it says so and exits).

use std::process::ExitCode;

mod athena;
mod aws;
mod claims;
mod client;
#[cfg(test)]
mod docs;
mod engines;
mod glue;
mod iam;
mod models;
mod provider;
mod s3;
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
