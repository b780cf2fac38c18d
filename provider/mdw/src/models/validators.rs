//! Checks of model and seed attributes that more than one resource uses, on the engines'
//! shared rules (`mdw_engine::checks`): at validate/plan, with the attribute's path.

use tfplugin::Value;

/// Glue and the engines fold names to lower case; only what they can store passes.
pub(crate) fn validate_identifier(value: &Value) -> Result<(), String> {
    match value.as_str() {
        Some(name) => mdw_engine::normalize_identifier("the name", name)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        None => Ok(()),
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
