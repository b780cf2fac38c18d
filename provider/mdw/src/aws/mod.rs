//! The AWS kernel every resource builds on: service clients, errors as diagnostics, ARNs,
//! identifier validators and S3 locations. Nothing here knows a resource.

pub(crate) mod arn;
pub(crate) mod clients;
pub(crate) mod error;
pub(crate) mod names;
pub(crate) mod s3_location;

pub(crate) use clients::{AwsClients, Endpoints, validate_endpoints};
pub(crate) use error::{aws_error, found, removed};
