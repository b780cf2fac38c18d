use crate::EngineError;

/// Checks a database, table or view name and returns it lower-cased.
///
/// Glue and Athena fold names to lower case, and SQL engines fold unquoted identifiers, so the
/// catalog only ever holds lower-case names; `what` names the attribute in the error
/// ("database", "table name").
pub fn normalize_identifier(what: &str, value: &str) -> Result<String, EngineError> {
    let lowered = value.trim().to_ascii_lowercase();
    if lowered.is_empty() || lowered.len() > 255 {
        return Err(EngineError::InvalidInput(format!(
            "{what} {value:?} must be 1 to 255 characters long"
        )));
    }
    if let Some(bad) = lowered
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(EngineError::InvalidInput(format!(
            "{what} {value:?} contains {bad:?}: use only letters, digits and '_'"
        )));
    }
    Ok(lowered)
}

/// Renders a relation Athena-style: `"catalog"."database"."name"`.
pub fn relation_name(catalog: &str, database: &str, name: &str) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    format!("{}.{}.{}", quote(catalog), quote(database), quote(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_lowercased_and_checked() {
        assert_eq!(
            normalize_identifier("table name", " Orders_2 ").unwrap(),
            "orders_2"
        );
        assert!(normalize_identifier("table name", "a-b").is_err());
        assert!(normalize_identifier("database", "").is_err());
    }

    #[test]
    fn relation_names_are_quoted() {
        assert_eq!(
            relation_name("awsdatacatalog", "mdw", "t"),
            r#""awsdatacatalog"."mdw"."t""#
        );
    }
}
