//! What both mdw engines do on AWS, written once: S3 locations listed and deleted by prefix
//! (the janitor of interrupted builds), and Glue table entries (see `glue`).

pub mod glue;
pub mod s3;
