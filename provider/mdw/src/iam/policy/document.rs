//! Policy documents as IAM reads them: `Allow` statements with a fixed key order, written as
//! pretty JSON so the plan shows a readable, stable document.

use std::collections::BTreeSet;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::read::{statements_of, string_or_list};

/// IAM's policy language version.
const POLICY_LANGUAGE_VERSION: &str = "2012-10-17";

// ---- ARNs -----------------------------------------------------------------------------------

/// Where ARNs point: the provider's partition and region, the caller's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    pub(crate) partition: String,
    pub(crate) region: String,
    pub(crate) account_id: String,
}

impl Scope {
    pub(crate) fn athena(&self, resource: &str) -> String {
        format!(
            "arn:{}:athena:{}:{}:{resource}",
            self.partition, self.region, self.account_id
        )
    }
    pub(crate) fn athena_workgroup(&self, name: &str) -> String {
        self.athena(&format!("workgroup/{name}"))
    }
    pub(crate) fn glue(&self, resource: &str) -> String {
        format!(
            "arn:{}:glue:{}:{}:{resource}",
            self.partition, self.region, self.account_id
        )
    }
    pub(crate) fn glue_catalog(&self) -> String {
        self.glue("catalog")
    }
    pub(crate) fn glue_database(&self, name: &str) -> String {
        self.glue(&format!("database/{name}"))
    }
    pub(crate) fn glue_tables(&self, database: &str) -> String {
        self.glue(&format!("table/{database}/*"))
    }
    pub(crate) fn glue_functions(&self, database: &str) -> String {
        self.glue(&format!("userDefinedFunction/{database}/*"))
    }
    pub(crate) fn s3_bucket(&self, bucket: &str) -> String {
        format!("arn:{}:s3:::{bucket}", self.partition)
    }
    pub(crate) fn s3_object(&self, bucket: &str, key: &str) -> String {
        format!("arn:{}:s3:::{bucket}/{key}", self.partition)
    }
    pub(crate) fn dynamodb_table(&self, name: &str) -> String {
        format!(
            "arn:{}:dynamodb:{}:{}:table/{name}",
            self.partition, self.region, self.account_id
        )
    }
    pub(crate) fn iam(&self, resource: &str) -> String {
        format!("arn:{}:iam::{}:{resource}", self.partition, self.account_id)
    }
}

// ---- documents ------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Condition {
    pub(crate) operator: &'static str,
    pub(crate) key: &'static str,
    pub(crate) values: Vec<String>,
}

/// One `Allow` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    pub(crate) sid: String,
    pub(crate) actions: Vec<&'static str>,
    pub(crate) resources: Vec<String>,
    pub(crate) condition: Option<Condition>,
}

impl Statement {
    pub(crate) fn new(sid: &str, actions: &[&'static str], resources: Vec<String>) -> Statement {
        let mut actions = actions.to_vec();
        actions.sort_unstable();
        actions.dedup();
        Statement {
            sid: sid.to_string(),
            actions,
            resources: dedup_keep_order(resources),
            condition: None,
        }
    }

    pub(crate) fn with_actions(
        sid: &str,
        groups: &[&[&'static str]],
        resources: Vec<String>,
    ) -> Statement {
        let actions: Vec<&'static str> = groups.iter().flat_map(|g| g.iter().copied()).collect();
        Statement::new(sid, &actions, resources)
    }
}

/// Keys in IAM's customary order: Sid, Effect, Action, Resource, Condition.
impl Serialize for Statement {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("Sid", &self.sid)?;
        map.serialize_entry("Effect", "Allow")?;
        map.serialize_entry("Action", &self.actions)?;
        map.serialize_entry("Resource", &self.resources)?;
        if let Some(c) = &self.condition {
            map.serialize_entry("Condition", &Single(c.operator, &Single(c.key, &c.values)))?;
        }
        map.end()
    }
}

/// A JSON object with one key.
struct Single<'a, T>(&'a str, &'a T);

impl<T: Serialize> Serialize for Single<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.0, self.1)?;
        map.end()
    }
}

/// `{"Version": …, "Statement": […]}`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Document<'a, S> {
    version: &'static str,
    statement: &'a [S],
}

impl<'a, S: Serialize> Document<'a, S> {
    fn new(statement: &'a [S]) -> Self {
        Document {
            version: POLICY_LANGUAGE_VERSION,
            statement,
        }
    }

    /// Two-space indented JSON.
    fn pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// JSON without whitespace, as IAM counts it.
    fn compact(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// An identity policy: a list of `Allow` statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) statements: Vec<Statement>,
}

impl Policy {
    /// Pretty JSON, statements in a fixed order, so the plan shows a readable, stable document.
    pub(crate) fn to_json(&self) -> String {
        Document::new(&self.statements).pretty()
    }

    /// The size IAM counts against [`super::ROLE_INLINE_POLICY_LIMIT`] (whitespace is not counted).
    pub(crate) fn size(&self) -> usize {
        Document::new(&self.statements).compact().len()
    }

    #[cfg(test)]
    pub(crate) fn statement(&self, sid: &str) -> Option<&Statement> {
        self.statements.iter().find(|s| s.sid == sid)
    }
}

/// Who may assume a role (`sts:AssumeRole`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Trust {
    pub(crate) principal_arns: Vec<String>,
    pub(crate) services: Vec<String>,
}

impl Trust {
    pub(crate) fn to_json(&self) -> String {
        Document::new(&[self]).pretty()
    }

    /// The principals of a trust policy, in document order.
    pub(crate) fn from_json(json: &str) -> Option<Trust> {
        let doc: serde_json::Value = serde_json::from_str(json).ok()?;
        let mut trust = Trust::default();
        for statement in statements_of(&doc) {
            let principal = &statement["Principal"];
            trust
                .principal_arns
                .extend(string_or_list(&principal["AWS"]));
            trust.services.extend(string_or_list(&principal["Service"]));
        }
        Some(trust)
    }
}

/// The one statement of a trust policy; principals of a kind that is empty are left out.
impl Serialize for Trust {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Principal<'a> {
            #[serde(rename = "AWS", skip_serializing_if = "<[String]>::is_empty")]
            aws: &'a [String],
            #[serde(rename = "Service", skip_serializing_if = "<[String]>::is_empty")]
            service: &'a [String],
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("Sid", "AssumeRole")?;
        map.serialize_entry("Effect", "Allow")?;
        map.serialize_entry(
            "Principal",
            &Principal {
                aws: &self.principal_arns,
                service: &self.services,
            },
        )?;
        map.serialize_entry("Action", &["sts:AssumeRole"])?;
        map.end()
    }
}

pub(crate) fn dedup_keep_order(items: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .into_iter()
        .filter(|item| seen.insert(item.clone()))
        .collect()
}
