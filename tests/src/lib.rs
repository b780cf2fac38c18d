//! Acceptance-test harness for `terraform-provider-mdw`: the real `terraform` CLI runs our
//! provider binary (installed from a filesystem mirror) against a moto server on loopback, and
//! the AWS SDK checks the result behind the provider's back.
//!
//! A resource's test is a plain `#[test]`:
//!
//! ```no_run
//! use mdw_acceptance::{AcceptanceSteps, Moto, Workspace, moto_provider_block, unique_name};
//!
//! let moto = Moto::start();
//! let aws = moto.aws();
//! let name = unique_name("db");
//! let config = format!(
//!     "{}\nresource \"mdw_glue_database\" \"test\" {{\n  name = \"{name}\"\n}}\n",
//!     moto_provider_block(&moto)
//! );
//! let workspace = Workspace::new();
//! AcceptanceSteps::new(&workspace, &aws, "mdw_glue_database.test", &name, &config)
//!     .exists(|aws| aws.block_on(aws.glue().get_database().name(&name).send()).is_ok())
//!     .delete_out_of_band(|aws| {
//!         aws.block_on(aws.glue().delete_database().name(&name).send()).unwrap();
//!     })
//!     .run();
//! ```
//!
//! The provider must be built first (`cargo build -p terraform-provider-mdw`), or named by
//! `MDW_PROVIDER_BIN`. Set `TF_LOG=debug` to see terraform's and the provider's logs, and
//! `MDW_TF_TIMEOUT_SECS` to change the 300 s limit of one terraform command.

mod athena_proxy;
mod aws;
mod child;
mod files;
mod moto;
mod provider;
mod s3_checks;
mod steps;
mod workspace;

use std::sync::atomic::{AtomicU32, Ordering};

pub use athena_proxy::AthenaProxy;
pub use aws::{ACCOUNT_ID, Aws, REGION};
pub use files::{athena_profile, copy_tree, write_project_file};
pub use moto::Moto;
pub use provider::{
    athena_provider_block, hcl_string, mdwc_binary, mdwc_compile, moto_provider_block,
};
pub use s3_checks::{
    assert_private_owned_versioned, bucket_exists, bucket_tags, string_map, versioning_status,
};
pub use steps::AcceptanceSteps;
pub use workspace::{TfOutput, Workspace};

/// A name no other test of this run uses: `PREFIX_PID_N`, lower case, valid for Glue, S3 (with
/// `-` for `_`) and Athena.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
