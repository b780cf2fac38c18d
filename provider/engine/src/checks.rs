//! What can be known wrong about a build before anything runs, written once for the provider's
//! validate/plan (which points at the attribute) and the engines (which check again, since
//! they are also called without a plan).

use std::collections::BTreeMap;

use crate::ownership::RESERVED_PREFIX;

/// The SQL text with string literals, quoted identifiers and comments blanked out, so a `;`
/// or a keyword inside `'a;b'` is not taken for SQL.
pub fn outside_literals(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                // A doubled quote stays inside; the literal ends at the first single one.
                while let Some(inner) = chars.next() {
                    if inner == c {
                        if chars.peek() == Some(&c) {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
                out.push(' ');
            }
            '-' if chars.peek() == Some(&'-') => {
                for inner in chars.by_ref() {
                    if inner == '\n' {
                        break;
                    }
                }
                out.push('\n');
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for inner in chars.by_ref() {
                    if last == '*' && inner == '/' {
                        break;
                    }
                    last = inner;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

/// The first word of the statement (lower-cased), after comments and opening parentheses.
fn first_word(sql: &str) -> String {
    outside_literals(sql)
        .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// True when the text holds more than one statement (a `;` before its end).
fn several_statements(sql: &str) -> bool {
    outside_literals(sql)
        .trim()
        .trim_end_matches(';')
        .contains(';')
}

/// A model's or view's SQL: one query (`select`, `with`, `values`), nothing that writes.
pub fn check_model_sql(sql: &str) -> Result<(), String> {
    let word = first_word(sql);
    if word.is_empty() {
        return Err("the SQL is empty (or only comments): a model is one SELECT".to_string());
    }
    if !matches!(word.as_str(), "select" | "with" | "values" | "table") {
        return Err(format!(
            "the SQL starts with {:?}: a model is one query (SELECT, WITH … SELECT, VALUES); \
             statements that create, change or drop things are not models",
            word.to_ascii_uppercase()
        ));
    }
    if several_statements(sql) {
        return Err(
            "the SQL holds more than one statement: a model is one query (remove the `;` \
             between statements)"
                .to_string(),
        );
    }
    let bare = outside_literals(sql);
    if ["{{", "{%", "{#"].iter().any(|mark| bare.contains(mark)) {
        return Err(
            "the SQL holds Jinja ({{ … }} or {% … %}): it is the model's source, not its \
             compiled SQL; compile the project with mdwc and use what it writes"
                .to_string(),
        );
    }
    Ok(())
}

/// A read-only query (`data.mdw_query`): like a model's SQL, or `show` / `describe`.
pub fn is_read_only_query(sql: &str) -> bool {
    check_read_only_query(sql).is_ok()
}

/// Why `sql` is not one read-only query, naming what it starts with.
pub fn check_read_only_query(sql: &str) -> Result<(), String> {
    let word = first_word(sql);
    if word.is_empty() {
        return Err("the query is empty (or only comments)".to_string());
    }
    if !matches!(
        word.as_str(),
        "select" | "with" | "values" | "table" | "show" | "describe"
    ) {
        return Err(format!(
            "the query starts with {}: only one read-only query (SELECT, WITH … SELECT, VALUES, \
             SHOW, DESCRIBE) runs here; statements that change anything are refused",
            word.to_ascii_uppercase()
        ));
    }
    if several_statements(sql) {
        return Err("the text holds more than one statement: give one query".to_string());
    }
    Ok(())
}

/// `external_location`: an absolute location — `s3://bucket/prefix`, `file:///dir` or `/dir`.
pub fn check_external_location(location: &str) -> Result<(), String> {
    let location = location.trim();
    let valid = match location.split_once("://") {
        Some(("s3", rest)) => rest.split('/').next().is_some_and(|b| !b.is_empty()),
        Some(("file", rest)) => rest.starts_with('/'),
        Some(_) => false,
        None => location.starts_with('/'),
    };
    if valid {
        Ok(())
    } else {
        Err(format!(
            "external_location {location:?} is not an absolute location: write s3://bucket/prefix \
             (or, on the embedded engine's local disk, file:///dir or /dir)"
        ))
    }
}

/// The embedded engine's warehouse: a directory (relative to the root module, or absolute),
/// `file:///dir`, or `s3://bucket/prefix`.
pub fn check_warehouse(warehouse: &str) -> Result<(), String> {
    match warehouse.trim().split_once("://") {
        None if !warehouse.trim().is_empty() => Ok(()),
        Some(("s3", rest)) if rest.split('/').next().is_some_and(|b| !b.is_empty()) => Ok(()),
        Some(("file", rest)) if rest.starts_with('/') => Ok(()),
        _ => Err(format!(
            "warehouse {warehouse:?} is neither a directory, a file:///dir URL nor an \
             s3://bucket/prefix location"
        )),
    }
}

/// Table properties: none in mdw's own namespace; `format-version` only as `2` (Athena reads
/// Iceberg v2 tables; v1 and v3 are not what it writes).
pub fn check_table_properties(properties: &BTreeMap<String, String>) -> Result<(), String> {
    for (key, value) in properties {
        let lowered = key.to_ascii_lowercase();
        if lowered.starts_with(RESERVED_PREFIX) {
            return Err(format!(
                "table property {key:?}: keys starting with {RESERVED_PREFIX:?} are mdw's own \
                 (owner marker, run key); remove it"
            ));
        }
        if matches!(lowered.as_str(), "format-version" | "format_version") && value.trim() != "2" {
            return Err(format!(
                "table property {key:?} = {value:?}: mdw writes Iceberg format version 2 (what \
                 Athena reads and writes); remove it or set it to \"2\""
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_sql_is_one_query() {
        assert!(check_model_sql("-- c\n/* x */ (select 1)").is_ok());
        assert!(check_model_sql("with a as (select 1) select * from a;").is_ok());
        assert!(check_model_sql("select 'a;b' as x -- ;\n").is_ok());
        for bad in [
            "",
            "-- only a comment",
            "drop table x",
            "insert into t select 1",
            "select 1; drop table x",
            "create table t as select 1",
            "select * from {{ ref('orders') }}",
        ] {
            assert!(check_model_sql(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn only_single_read_only_statements_pass() {
        assert!(is_read_only_query("-- mdw builds: x\nselect 1"));
        assert!(is_read_only_query(
            "select 'a;b' as x, \"c;d\" -- e;f\nfrom t"
        ));
        assert!(!is_read_only_query("select 'it''s'; drop table x"));
        assert!(is_read_only_query(
            "/* c */ with a as (select 1) select * from a;"
        ));
        assert!(!is_read_only_query("drop table x"));
        assert!(!is_read_only_query("insert into t select 1"));
    }

    #[test]
    fn locations_must_be_absolute() {
        for good in ["s3://b/p", "file:///data", "/data"] {
            assert!(check_external_location(good).is_ok(), "{good}");
        }
        for bad in ["data/x", "s3://", "ftp://h/x", "file://relative"] {
            assert!(check_external_location(bad).is_err(), "{bad}");
        }
        assert!(check_warehouse(".mdw/warehouse").is_ok());
        assert!(check_warehouse("ftp://host/x").is_err());
        assert!(check_warehouse("s3://").is_err());
    }

    #[test]
    fn properties_are_checked() {
        let ok = BTreeMap::from([("format-version".to_string(), "2".to_string())]);
        assert!(check_table_properties(&ok).is_ok());
        let v3 = BTreeMap::from([("format-version".to_string(), "3".to_string())]);
        assert!(check_table_properties(&v3).is_err());
        let mine = BTreeMap::from([("MDW.owner".to_string(), "x".to_string())]);
        assert!(check_table_properties(&mine).is_err());
    }
}
