//! Athena's view format in Glue: `ViewOriginalText = "/* Presto View: <base64 JSON> */"`, the
//! JSON holding the view's SQL (`originalSql`), catalog, schema and columns. The Athena engine
//! reads it; the embedded engine on Glue writes it, so Athena can query those views.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::ColumnInfo;

const PREFIX: &str = "/* Presto View:";
const SUFFIX: &str = "*/";

/// The `ViewOriginalText` of a view; `columns` carry Athena (Trino) type names.
pub fn view_text(sql: &str, catalog: &str, schema: &str, columns: &[ColumnInfo]) -> String {
    let json = serde_json::json!({
        "originalSql": sql,
        "catalog": catalog,
        "schema": schema,
        "columns": columns
            .iter()
            .map(|c| serde_json::json!({"name": c.name, "type": c.data_type}))
            .collect::<Vec<_>>(),
        "owner": "mdw",
        "runAsInvoker": false,
        "properties": {},
    });
    format!("{PREFIX} {} {SUFFIX}", STANDARD.encode(json.to_string()))
}

fn decode(text: &str) -> Option<serde_json::Value> {
    let encoded = text
        .trim()
        .strip_prefix(PREFIX)?
        .strip_suffix(SUFFIX)?
        .trim();
    let json = STANDARD.decode(encoded).ok()?;
    serde_json::from_slice(&json).ok()
}

/// The view's SQL, or `None` when `text` is not in this format.
pub fn view_sql(text: &str) -> Option<String> {
    decode(text)?
        .get("originalSql")?
        .as_str()
        .map(str::to_string)
}

/// The view's columns as recorded when it was created (no comments).
pub fn view_columns(text: &str) -> Vec<ColumnInfo> {
    let Some(json) = decode(text) else {
        return Vec::new();
    };
    json.get("columns")
        .and_then(|c| c.as_array())
        .map(|columns| {
            columns
                .iter()
                .map(|c| ColumnInfo {
                    name: c["name"].as_str().unwrap_or_default().to_string(),
                    data_type: c["type"].as_str().unwrap_or_default().to_string(),
                    comment: None,
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_round_trip_and_other_text_is_not_one() {
        let columns = vec![ColumnInfo {
            name: "a".into(),
            data_type: "bigint".into(),
            comment: None,
        }];
        let text = view_text("SELECT 1 AS a", "awsdatacatalog", "mart", &columns);
        assert!(text.starts_with("/* Presto View: ") && text.ends_with(" */"));
        assert_eq!(view_sql(&text).as_deref(), Some("SELECT 1 AS a"));
        assert_eq!(view_columns(&text), columns);
        assert_eq!(view_sql("select 2"), None);
    }
}
