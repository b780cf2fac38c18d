//! The provider's resources, one file each, every file in the same order: schema, validation,
//! `find_*` (typed not-found), expand/flatten between Terraform values and API types, then
//! create / read / update / delete / import.

use std::sync::Arc;

use tfplugin::Resource;

use crate::provider::Client;

pub mod glue_database;

pub fn all() -> Vec<Arc<dyn Resource<Client>>> {
    vec![Arc::new(glue_database::GlueDatabase)]
}
