//! Glue: the Data Catalog databases Athena shows as schemas.

pub(crate) mod database;
