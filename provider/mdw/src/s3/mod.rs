//! S3: the lake's buckets and the Terraform state backend, over one hardened-bucket module.

pub(crate) mod bucket;
pub(crate) mod lake_bucket;
pub(crate) mod state_backend;
