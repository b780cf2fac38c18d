//! Reading policy documents back: the inputs of a policy this provider wrote (`terraform
//! import` has nothing else to go on), and whether two documents grant the same.

use crate::aws::arn::{Arn, is_account_id};
use crate::aws::s3_location::S3Url;

/// The last segment of an ARN after `marker` (`…:database/` → the database name).
pub(crate) fn arn_name<'a>(arn: &'a str, marker: &str) -> Option<&'a str> {
    let (_, name) = arn.split_once(marker)?;
    (!name.is_empty() && !name.contains(['/', '*'])).then_some(name)
}

/// A policy document as IAM returned it: resources per statement id, in document order.
pub(crate) struct ParsedPolicy {
    statements: Vec<(String, Vec<String>)>,
}

impl ParsedPolicy {
    pub(crate) fn parse(json: &str) -> Option<ParsedPolicy> {
        let doc: serde_json::Value = serde_json::from_str(json).ok()?;
        let statements = statements_of(&doc)
            .map(|s| {
                (
                    s["Sid"].as_str().unwrap_or_default().to_string(),
                    string_or_list(&s["Resource"]),
                )
            })
            .collect();
        Some(ParsedPolicy { statements })
    }

    pub(crate) fn resources(&self, sid: &str) -> Vec<String> {
        self.statements
            .iter()
            .filter(|(s, _)| s == sid)
            .flat_map(|(_, resources)| resources.iter().cloned())
            .collect()
    }

    pub(crate) fn names(&self, sid: &str, marker: &str) -> Vec<String> {
        self.resources(sid)
            .iter()
            .filter_map(|arn| arn_name(arn, marker).map(str::to_string))
            .collect()
    }

    pub(crate) fn locations(&self, sid: &str) -> Vec<S3Url> {
        self.resources(sid)
            .iter()
            .filter_map(|arn| S3Url::from_objects_arn(arn))
            .collect()
    }
}

pub(crate) fn statements_of(doc: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    match &doc["Statement"] {
        serde_json::Value::Array(items) => items.iter().collect::<Vec<_>>(),
        serde_json::Value::Object(_) => vec![&doc["Statement"]],
        _ => Vec::new(),
    }
    .into_iter()
}

pub(crate) fn string_or_list(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// True when two policy documents grant the same: IAM may return a document reformatted, with
/// one-element lists as strings, lists reordered, or an account id as its root ARN.
pub(crate) fn equivalent(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => normalize_document(&a) == normalize_document(&b),
        _ => a == b,
    }
}

fn normalize_document(doc: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    let mut statements: Vec<J> = statements_of(doc).map(normalize_statement).collect();
    statements.sort_by_key(|s| s.to_string());
    serde_json::json!({ "Version": doc["Version"], "Statement": statements })
}

fn normalize_statement(statement: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    let Some(fields) = statement.as_object() else {
        return statement.clone();
    };
    let mut out = serde_json::Map::new();
    for (key, value) in fields {
        let normalized = match key.as_str() {
            "Action" | "NotAction" | "Resource" | "NotResource" => sorted_strings(value, |s| s),
            "Principal" | "NotPrincipal" => match value {
                J::Object(kinds) => J::Object(
                    kinds
                        .iter()
                        .map(|(kind, v)| (kind.clone(), sorted_strings(v, account_of_root_arn)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "Condition" => match value {
                J::Object(operators) => J::Object(
                    operators
                        .iter()
                        .map(|(op, keys)| {
                            let keys = keys
                                .as_object()
                                .map(|k| {
                                    k.iter()
                                        .map(|(k, v)| (k.clone(), sorted_strings(v, |s| s)))
                                        .collect()
                                })
                                .unwrap_or_default();
                            (op.clone(), J::Object(keys))
                        })
                        .collect(),
                ),
                other => other.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), normalized);
    }
    J::Object(out)
}

fn sorted_strings(value: &serde_json::Value, map: impl Fn(String) -> String) -> serde_json::Value {
    let items: Vec<String> = match value {
        serde_json::Value::Array(items) => items.iter().map(json_scalar).collect(),
        other => vec![json_scalar(other)],
    };
    let mut items: Vec<String> = items.into_iter().map(map).collect();
    items.sort();
    items.dedup();
    serde_json::Value::from(items)
}

fn json_scalar(value: &serde_json::Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string)
}

/// `arn:aws:iam::123456789012:root` → `123456789012`: IAM stores an account either way.
fn account_of_root_arn(principal: String) -> String {
    match Arn::parse(&principal) {
        Some(arn)
            if arn.service == "iam" && arn.resource == "root" && is_account_id(arn.account) =>
        {
            arn.account.to_string()
        }
        _ => principal,
    }
}
