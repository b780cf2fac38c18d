//! The provider's resources, one file each, every file in the same order: schema, validation,
//! `find_*` (typed not-found), expand/flatten between Terraform values and API types, then
//! create / read / update / delete / import.

use std::sync::Arc;

use tfplugin::Resource;

use crate::provider::Client;

pub mod athena_workgroup;
pub mod glue_database;
pub mod iam_policy;
pub mod iam_role;
pub mod iceberg_model;
pub mod lake_bucket;
pub mod lineage;
pub mod s3_hardening;
pub mod s3_url;
pub mod seed;
pub mod state_backend;

pub fn all() -> Vec<Arc<dyn Resource<Client>>> {
    vec![
        Arc::new(glue_database::GlueDatabase),
        Arc::new(athena_workgroup::AthenaWorkgroup),
        Arc::new(lake_bucket::LakeBucket),
        Arc::new(state_backend::StateBackend),
        Arc::new(iam_role::IamRole::DBT_RUNNER),
        Arc::new(iam_role::IamRole::AIRBYTE_EC2),
        Arc::new(iam_role::IamRole::TERRAFORM_OPERATOR),
        Arc::new(iceberg_model::IcebergModel),
        Arc::new(seed::Seed),
        Arc::new(lineage::Lineage),
    ]
}
