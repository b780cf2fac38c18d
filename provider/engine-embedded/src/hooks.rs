//! dbt hooks on the embedded engine. Athena projects run Iceberg maintenance in post-hooks:
//! `OPTIMIZE <table> REWRITE DATA USING BIN_PACK [WHERE …]` (compaction) and `VACUUM <table>`
//! (snapshot expiry, orphan files). Neither changes what a query reads, and the embedded
//! engine's tables need neither, so they are checked — the table must exist and be a table,
//! as Athena requires — and nothing else is done. Any other statement is refused at plan:
//! running it here would need a DDL/DML engine this one is not.

use std::sync::Arc;

use mdw_engine::{EngineError, RelationKind};

use crate::Inner;

/// A hook the embedded engine accepts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Maintenance {
    pub(crate) statement: &'static str,
    /// The relation as written, its parts unquoted: `[catalog.]database.name`.
    pub(crate) relation: Vec<String>,
    /// OPTIMIZE's `WHERE` predicate, as written.
    pub(crate) predicate: Option<String>,
}

fn unsupported(sql: &str) -> EngineError {
    let head: String = sql.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    EngineError::Unsupported(format!(
        "the hook `{head} …` is not supported on the embedded engine: it runs OPTIMIZE <table> \
         REWRITE DATA USING BIN_PACK and VACUUM <table> (Iceberg maintenance, which its tables \
         do not need); run other hooks on Athena (engine = \"athena\")"
    ))
}

/// Reads a hook: `OPTIMIZE t REWRITE DATA USING BIN_PACK [WHERE …]` or `VACUUM t`.
pub(crate) fn parse(sql: &str) -> Result<Maintenance, EngineError> {
    let text = sql.trim().trim_end_matches(';').trim();
    let (keyword, rest) = split_word(text);
    let (relation, rest) = split_relation(rest.trim_start());
    let relation = relation_parts(relation).ok_or_else(|| unsupported(sql))?;
    let words: Vec<String> = rest
        .split_whitespace()
        .map(str::to_ascii_uppercase)
        .collect();
    let statement = match keyword.to_ascii_uppercase().as_str() {
        "OPTIMIZE"
            if words.len() >= 4
                && words[..4] == ["REWRITE", "DATA", "USING", "BIN_PACK"]
                && (words.len() == 4 || (words[4] == "WHERE" && words.len() > 5)) =>
        {
            "OPTIMIZE"
        }
        "VACUUM" if words.is_empty() => "VACUUM",
        _ => return Err(unsupported(sql)),
    };
    let predicate = (words.len() > 5).then(|| {
        let at = rest.to_ascii_uppercase().find("WHERE").expect("checked") + "WHERE".len();
        rest[at..].trim().to_string()
    });
    Ok(Maintenance {
        statement,
        relation,
        predicate,
    })
}

/// Checks the hook and that its table exists; there is nothing else to do (see the module).
pub(crate) async fn run(inner: &Arc<Inner>, sql: &str) -> Result<(), EngineError> {
    let hook = parse(sql)?;
    let (database, name) = match hook.relation.as_slice() {
        [catalog, database, name] if *catalog == inner.catalog_name.to_ascii_lowercase() => {
            (database, name)
        }
        [database, name] => (database, name),
        _ => {
            return Err(EngineError::InvalidInput(format!(
                "{}: the relation {} is not one of this warehouse's (database.table)",
                hook.statement,
                hook.relation.join(".")
            )));
        }
    };
    match crate::write::describe(inner, database, name).await? {
        // OPTIMIZE's predicate must read the table's columns, as on Athena.
        Some(info) if info.kind == RelationKind::Table => match &hook.predicate {
            Some(predicate) => crate::query::describe(
                inner,
                &format!("select 1 from \"{database}\".\"{name}\" where {predicate}"),
            )
            .await
            .map(|_| ()),
            None => Ok(()),
        },
        Some(_) => Err(EngineError::InvalidInput(format!(
            "{} of {database}.{name}: it is a view, not an Iceberg table",
            hook.statement
        ))),
        None => Err(EngineError::InvalidInput(format!(
            "{} of {database}.{name}: the table does not exist",
            hook.statement
        ))),
    }
}

fn split_word(text: &str) -> (&str, &str) {
    match text.find(char::is_whitespace) {
        Some(at) => (&text[..at], &text[at..]),
        None => (text, ""),
    }
}

/// The relation (quoted parts may hold spaces) and what follows it.
fn split_relation(text: &str) -> (&str, &str) {
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return (&text[..i], &text[i..]),
            _ => {}
        }
    }
    (text, "")
}

/// `"awsdatacatalog"."db"."t"` or `db.t` → lower-case parts; `None` when malformed.
fn relation_parts(relation: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = relation.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    let valid = !quoted && (2..=3).contains(&parts.len()) && parts.iter().all(|p| !p.is_empty());
    valid.then(|| parts.iter().map(|p| p.to_ascii_lowercase()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_athena_maintenance_hooks() {
        let optimize = parse(
            r#"optimize "awsdatacatalog"."sta"."orders" rewrite data using bin_pack where day > 1;"#,
        )
        .unwrap();
        assert_eq!(optimize.statement, "OPTIMIZE");
        assert_eq!(optimize.relation, ["awsdatacatalog", "sta", "orders"]);
        assert_eq!(optimize.predicate.as_deref(), Some("day > 1"));
        let vacuum = parse("VACUUM sta.\"My Table\"").unwrap();
        assert_eq!(vacuum.statement, "VACUUM");
        assert_eq!(vacuum.relation, ["sta", "my table"]);
    }

    #[test]
    fn refuses_other_statements_by_name() {
        for sql in [
            "insert into audit.runs select 1",
            "grant select on sta.orders to role analyst",
            "OPTIMIZE sta.orders",
            "VACUUM sta.orders RETAIN 7 DAYS",
            "VACUUM orders",
            "OPTIMIZE sta.orders REWRITE DATA USING BIN_PACK WHERE",
        ] {
            let err = parse(sql).unwrap_err().to_string();
            assert!(
                err.contains("not supported on the embedded engine"),
                "{sql}: {err}"
            );
        }
    }
}
