//! IAM: the warehouse's roles, one resource type per principal over one role lifecycle, and
//! the least-privilege policies computed for them.

pub(crate) mod airbyte_ec2;
pub(crate) mod dbt_runner;
pub(crate) mod policy;
#[cfg(test)]
mod policy_tests;
pub(crate) mod principal;
pub(crate) mod role;
pub(crate) mod terraform_operator;
