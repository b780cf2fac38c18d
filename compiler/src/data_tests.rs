//! dbt's generic data tests: their names (dbt's exact, sometimes hashed, file names) and how
//! their arguments are read.

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use serde_json::Value as Json;

use crate::values::json_scalar_text;

/// dbt renders a test argument as an expression when it looks like one of these calls.
pub(crate) fn looks_like_function(text: &str) -> bool {
    let trimmed = text.trim();
    ["env_var", "ref", "var", "source", "doc"].iter().any(|f| {
        trimmed
            .strip_prefix(f)
            .map(str::trim_start)
            .is_some_and(|rest| rest.starts_with('(') && rest.ends_with(')') && rest.len() > 2)
    })
}

/// dbt's generic test naming: `<type>_<target>_<args joined by __>`, or, from 64 characters on,
/// the first 30 characters of `<type>_<target>` plus the md5 of the full name.
pub(crate) fn synthesize_test_name(
    test_type: &str,
    target_name: &str,
    args: &BTreeMap<String, Json>,
) -> (String, String) {
    let mut flat = Vec::new();
    for (key, value) in args {
        if key == "model" {
            continue;
        }
        match value {
            Json::Object(map) => flat.extend(map.values().map(python_str)),
            Json::Array(items) => flat.extend(items.iter().map(python_str)),
            other => flat.push(python_str(other)),
        }
    }
    let clean: Vec<String> = flat
        .iter()
        .map(|part| {
            let mut out = String::new();
            let mut in_run = false;
            for c in part.chars() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    out.push(c);
                    in_run = false;
                } else if !in_run {
                    out.push('_');
                    in_run = true;
                }
            }
            out
        })
        .collect();
    let identifier = format!("{test_type}_{target_name}");
    let full = format!("{identifier}_{}", clean.join("__"));
    if full.len() >= 64 {
        let digest = Md5::digest(full.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let truncated: String = identifier.chars().take(30).collect();
        (format!("{truncated}_{hex}"), full)
    } else {
        (full.clone(), full)
    }
}

/// `str(value)` as Python prints YAML-loaded values.
fn python_str(value: &Json) -> String {
    match value {
        Json::Null => "None".to_string(),
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("'{k}': {}", python_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => json_scalar_text(other).unwrap_or_default(),
    }
}

fn python_repr(value: &Json) -> String {
    match value {
        Json::String(s) => format!("'{s}'"),
        other => python_str(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn test_names_match_dbt() {
        let args: BTreeMap<String, Json> = [("column_name".to_string(), json!("store_id"))]
            .into_iter()
            .collect();
        assert_eq!(
            synthesize_test_name("not_null", "stg_stores", &args).0,
            "not_null_stg_stores_store_id"
        );
        let args: BTreeMap<String, Json> = [
            ("column_name".to_string(), json!("customer_id")),
            ("to".to_string(), json!("ref('dim_customers')")),
            ("field".to_string(), json!("customer_id")),
        ]
        .into_iter()
        .collect();
        let (short, full) = synthesize_test_name("relationships", "fct_orders", &args);
        assert_eq!(
            full,
            "relationships_fct_orders_customer_id__customer_id__ref_dim_customers_"
        );
        // Identifier plus args reach 64 characters, so the name is hashed.
        assert!(short.starts_with("relationships_fct_orders_"));
        assert_eq!(short.len(), "relationships_fct_orders".len() + 1 + 32);
    }

    #[test]
    fn function_like_arguments() {
        assert!(looks_like_function("ref('x')"));
        assert!(looks_like_function(" source('a', 'b') "));
        assert!(!looks_like_function("customer_id"));
        assert!(!looks_like_function("reference"));
    }
}
