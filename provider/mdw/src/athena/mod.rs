//! Athena: the workgroup queries run in.

pub(crate) mod workgroup;
