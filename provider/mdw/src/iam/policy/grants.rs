//! Statements more than one principal's policy is built from: the catalog's default database,
//! Glue tables of a list of databases, S3 data locations with what Athena needs of their
//! buckets, KMS keys.

use std::collections::{BTreeMap, BTreeSet};

use super::actions::*;
use super::document::{Condition, Scope, Statement, dedup_keep_order};
use crate::aws::s3_location::S3Url;

/// Athena resolves the `default` database of the catalog for every query, whichever
/// databases the query names.
pub(crate) fn default_database(scope: &Scope) -> Statement {
    Statement::new(
        SID_GLUE_DEFAULT_DATABASE,
        &["glue:GetDatabase"],
        vec![scope.glue_catalog(), scope.glue_database("default")],
    )
}

/// Glue actions on databases and their tables: the catalog, each database, each one's tables.
pub(crate) fn glue_tables(
    scope: &Scope,
    sid: &str,
    actions: &[&[&'static str]],
    databases: &[String],
) -> Statement {
    let mut resources = vec![scope.glue_catalog()];
    resources.extend(databases.iter().map(|d| scope.glue_database(d)));
    resources.extend(databases.iter().map(|d| scope.glue_tables(d)));
    Statement::with_actions(sid, actions, resources)
}

/// Objects of the result and warehouse prefixes (read/write) and of the sources (read), plus
/// what Athena needs of their buckets. Buckets in `managed_buckets` are listable already.
pub(crate) fn data_statements(
    scope: &Scope,
    results: Option<&S3Url>,
    warehouse: Option<&S3Url>,
    sources: &[S3Url],
    managed_buckets: &[String],
) -> Vec<Statement> {
    let partition = scope.partition.as_str();
    let mut statements = Vec::new();
    if let Some(results) = results {
        statements.push(Statement::new(
            SID_QUERY_RESULTS,
            S3_READ_WRITE_OBJECTS,
            vec![results.objects_arn(partition)],
        ));
    }
    if let Some(warehouse) = warehouse {
        statements.push(Statement::new(
            SID_WAREHOUSE,
            S3_READ_WRITE_OBJECTS,
            vec![warehouse.objects_arn(partition)],
        ));
    }
    if !sources.is_empty() {
        statements.push(Statement::new(
            SID_SOURCES,
            &["s3:GetObject"],
            sources.iter().map(|s| s.objects_arn(partition)).collect(),
        ));
    }
    let locations: Vec<&S3Url> = results
        .into_iter()
        .chain(warehouse)
        .chain(sources)
        .collect();
    if locations.is_empty() {
        return statements;
    }
    // Athena asks for the region of every bucket it reads or writes.
    statements.push(Statement::new(
        SID_BUCKET_LOCATION,
        &["s3:GetBucketLocation"],
        locations.iter().map(|l| l.bucket_arn(partition)).collect(),
    ));
    statements.extend(list_buckets(scope, &locations, managed_buckets));
    statements
}

/// One `s3:ListBucket` statement per bucket, limited to the prefixes of its locations (unless
/// one of them is the whole bucket), so no other key names are visible.
pub(crate) fn list_buckets(scope: &Scope, locations: &[&S3Url], skip: &[String]) -> Vec<Statement> {
    let mut prefixes: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for location in locations {
        prefixes
            .entry(&location.bucket)
            .or_default()
            .push(&location.prefix);
    }
    let mut used_sids = BTreeSet::new();
    prefixes
        .into_iter()
        .filter(|(bucket, _)| !skip.iter().any(|s| s == bucket))
        .map(|(bucket, prefixes)| {
            let mut sid = format!("List{}", camel_case(bucket));
            let base = sid.clone();
            let mut n = 2;
            while !used_sids.insert(sid.clone()) {
                sid = format!("{base}{n}");
                n += 1;
            }
            let mut statement =
                Statement::new(&sid, &["s3:ListBucket"], vec![scope.s3_bucket(bucket)]);
            if !prefixes.contains(&"") {
                let mut values: Vec<String> = prefixes
                    .iter()
                    .flat_map(|p| [p.trim_end_matches('/').to_string(), format!("{p}*")])
                    .collect();
                values = dedup_keep_order(values);
                statement.condition = Some(Condition {
                    operator: "StringLike",
                    key: "s3:prefix",
                    values,
                });
            }
            statement
        })
        .collect()
}

pub(crate) fn kms(keys: &[String]) -> Option<Statement> {
    (!keys.is_empty()).then(|| Statement::new(SID_KMS, KMS_ENCRYPT_DECRYPT, keys.to_vec()))
}

/// `mdw-work-zone` → `MdwWorkZone` (statement ids are alphanumeric).
pub(crate) fn camel_case(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}
