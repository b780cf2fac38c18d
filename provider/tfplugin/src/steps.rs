//! Steps that every resource's create, read, update and import repeat, written once: a lookup
//! where "not found" is an answer, an import id that is one attribute's value, and the read
//! after a write that must find what was just written.

use crate::diag::{Diagnostic, Diagnostics};
use crate::resource::ApplyError;
use crate::value::Value;

/// A lookup where one kind of error means "does not exist": that error becomes `Ok(None)`,
/// any other stays an error.
pub fn found<T, E>(
    result: Result<T, E>,
    is_missing: impl FnOnce(&E) -> bool,
) -> Result<Option<T>, E> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Checks an import id with the validator of the attribute it is the value of; `id_is` says
/// what the id is ("the workgroup name").
pub fn check_import_id(
    type_name: &str,
    id: &str,
    id_is: &str,
    check: impl Fn(&Value) -> Result<(), String>,
) -> Result<(), Diagnostics> {
    check(&Value::from(id)).map_err(|message| {
        Diagnostic::error(
            format!("Invalid import id {id:?}"),
            format!("{message} The import id of {type_name} is {id_is}."),
        )
        .into()
    })
}

/// An import whose id is the value of one attribute (`name`), checked by that attribute's
/// validator; `id_is` says what the id is ("the workgroup name"). `defaults` are attributes the imported state needs before `read` completes it
/// (`force_destroy = false`, say).
pub fn import_by_attribute<'a>(
    type_name: &str,
    id: &str,
    attribute: &str,
    id_is: &str,
    check: impl Fn(&Value) -> Result<(), String>,
    defaults: impl IntoIterator<Item = (&'a str, Value)>,
) -> Result<Value, Diagnostics> {
    check_import_id(type_name, id, id_is, check)?;
    let mut state = Value::object(defaults);
    state.set(attribute, Value::from(id));
    Ok(state)
}

/// Which write a read-back follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    Updated,
}

/// The state after a write, from reading the object back. Missing right after the write means
/// someone else deleted it; a failed read after a create keeps `partial` (what exists), so the
/// object is not orphaned.
pub fn read_back(
    read: Result<Option<Value>, Diagnostics>,
    what: &str,
    written: Written,
    partial: &Value,
) -> Result<Value, ApplyError> {
    match (read, written) {
        (Ok(Some(state)), _) => Ok(state),
        (Ok(None), Written::Created) => Err(ApplyError::from(Diagnostic::error(
            format!("{what} vanished right after it was created"),
            "Another process may have deleted it; run terraform apply again.",
        ))),
        (Ok(None), Written::Updated) => Err(ApplyError::from(Diagnostic::error(
            format!("{what} was deleted during the update"),
            "Another process deleted it; run terraform apply again to recreate it.",
        ))),
        (Err(d), Written::Created) => Err(ApplyError::from(d).with_partial_state(partial.clone())),
        (Err(d), Written::Updated) => Err(ApplyError::from(d)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_is_an_answer_and_other_errors_stay() {
        assert_eq!(found::<i32, &str>(Err("gone"), |e| *e == "gone"), Ok(None));
        assert_eq!(
            found::<i32, &str>(Err("denied"), |e| *e == "gone"),
            Err("denied")
        );
        assert_eq!(found::<i32, &str>(Ok(1), |_| true), Ok(Some(1)));
    }

    #[test]
    fn import_ids_are_checked_by_the_attribute_validator() {
        let check = |v: &Value| match v.as_str() {
            Some("ok") => Ok(()),
            _ => Err("bad name.".to_string()),
        };
        let state = import_by_attribute(
            "t_thing",
            "ok",
            "name",
            "the name",
            check,
            [("force", false.into())],
        )
        .unwrap();
        assert_eq!(state.get("name").as_str(), Some("ok"));
        assert_eq!(state.get("force"), &Value::Bool(false));
        let err =
            import_by_attribute("t_thing", "x", "name", "the bucket name", check, []).unwrap_err();
        assert!(
            err.to_string()
                .contains("The import id of t_thing is the bucket name."),
            "{err}"
        );
    }

    #[test]
    fn a_read_back_after_create_keeps_what_exists() {
        let planned = Value::object([("name", Value::from("a"))]);
        let failed = read_back(
            Err(Diagnostic::error("x", "y").into()),
            "T (a)",
            Written::Created,
            &planned,
        );
        assert_eq!(failed.unwrap_err().partial_state, Some(planned.clone()));
        let gone = read_back(Ok(None), "T (a)", Written::Updated, &planned).unwrap_err();
        assert!(
            gone.diagnostics
                .to_string()
                .contains("deleted during the update")
        );
    }
}
