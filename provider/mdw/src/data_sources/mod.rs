//! The provider's data sources, one file each.

use std::sync::Arc;

use tfplugin::DataSource;

use crate::provider::Client;

pub mod query;
pub mod source;

pub fn all() -> Vec<Arc<dyn DataSource<Client>>> {
    vec![Arc::new(source::Source), Arc::new(query::Query)]
}
