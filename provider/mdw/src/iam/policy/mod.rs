//! The least-privilege policies of the warehouse's principals, computed from what the
//! configuration references (workgroup name, locations, database names, tables of those
//! databases), never written by hand. Pure: no AWS calls, so every statement is unit-tested.
//!
//! Each input shows up in a statement of its own `Sid`, which lets [`ParsedPolicy`] read the
//! inputs back from a policy this module wrote.

pub(crate) mod actions;
mod document;
pub(crate) mod grants;
pub(crate) mod read;

pub(crate) use document::{Policy, Scope, Statement, Trust};
pub(crate) use read::{ParsedPolicy, equivalent};

/// IAM's limit on the inline policies of one role, counted without whitespace.
pub(crate) const ROLE_INLINE_POLICY_LIMIT: usize = 10_240;
