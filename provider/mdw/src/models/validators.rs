//! Checks of model and seed attributes that more than one resource uses, on the engines'
//! shared rules (`mdw_engine::checks`): at validate/plan, with the attribute's path.

use tfplugin::Value;

/// Names as Glue stores them: lower-case letters, digits and `_`. Upper case is refused, not
/// folded: `Orders` and `orders` would be one table, and two resources naming it so would take
/// turns replacing it.
pub(crate) fn validate_identifier(value: &Value) -> Result<(), String> {
    let Some(name) = value.as_str() else {
        return Ok(());
    };
    let normalized =
        mdw_engine::normalize_identifier("the name", name).map_err(|e| e.to_string())?;
    if normalized != name {
        return Err(format!(
            "{name:?} is not written as Glue stores it; write {normalized:?} (Glue and Athena fold names to lower case, so two names differing in case are one table)."
        ));
    }
    Ok(())
}

/// `lineage` is an id: empty would make every root's owner ids alike.
pub(crate) fn validate_lineage(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some(id) if id.trim().is_empty() => Err(
            "lineage is empty; set it to the root's mdw_lineage id (lineage = mdw_lineage.this.id), or leave it out.".to_string(),
        ),
        _ => Ok(()),
    }
}

pub(crate) fn validate_sql(value: &Value) -> Result<(), String> {
    value
        .as_str()
        .map_or(Ok(()), mdw_engine::checks::check_model_sql)
}

pub(crate) fn validate_properties(value: &Value) -> Result<(), String> {
    if !value.is_wholly_known() {
        return Ok(());
    }
    mdw_engine::checks::check_table_properties(&value.string_map())
}

pub(crate) fn validate_location(value: &Value) -> Result<(), String> {
    value
        .as_str()
        .map_or(Ok(()), mdw_engine::checks::check_external_location)
}
