//! What `mdw_lake_bucket` and `mdw_state_backend` share: the attributes of a hardened bucket
//! and its sub-configurations — applied in a safe order, read back for drift, and torn down only when the bucket is empty or `force_destroy` says so.
//!
//! The hardening that is not optional (public access block, bucket-owner-enforced ownership,
//! default encryption) is exposed as computed attributes that every plan sets to the enforced
//! value: when someone changes them out of band, Read shows the real value and the plan an update
//! back.

mod plan;
mod read;
mod schema;
mod settings;
mod teardown;
mod write;

pub(crate) use plan::plan_bucket;
pub(crate) use read::{find_bucket, flatten_bucket};
pub(crate) use schema::{Hardening, SCHEMA_VERSION, upgrade_state, validate_days};
pub(crate) use settings::{
    BucketSettings, LifecycleSettings, RemoteBucket, bucket_policy, policy_enforces_tls,
};
pub(crate) use teardown::{count_contents, delete_bucket, not_empty_error};
pub(crate) use write::{apply_settings, create_bucket};

/// The only object ownership a hardened bucket has: ACLs disabled, the bucket owner owns every
/// object, so no ACL can ever make an object public.
pub(crate) const OBJECT_OWNERSHIP: &str = "BucketOwnerEnforced";
pub(crate) const SSE_S3: &str = "AES256";
pub(crate) const SSE_KMS: &str = "aws:kms";
