//! What models, seeds and sources share: the `columns` attribute a relation reports, and how
//! a relation is named in messages.

use mdw_engine::ColumnInfo;
use tfplugin::{Type, Value};

tfplugin::model! {
    /// One column of a relation.
    pub(crate) struct Column {
        /// The column's name.
        #[tf()]
        pub(crate) name: String,
        /// Its type, as the engine reports it.
        #[tf()]
        pub(crate) r#type: String,
        /// Its comment (dbt's column description), if any.
        #[tf()]
        pub(crate) comment: Option<String>,
    }
}

/// The `columns` of a relation from the engine's column list.
pub(crate) fn columns(columns: &[ColumnInfo]) -> Vec<Column> {
    columns
        .iter()
        .map(|c| Column {
            name: c.name.clone(),
            r#type: c.data_type.clone(),
            comment: c.comment.clone(),
        })
        .collect()
}

/// The type of `columns`: name, type and comment of each column.
pub(crate) fn columns_type() -> Type {
    Type::list(Type::object([
        ("name", Type::String),
        ("type", Type::String),
        ("comment", Type::String),
    ]))
}

/// `columns` from the engine's column list.
pub(crate) fn flatten_columns(columns: &[ColumnInfo]) -> Value {
    Value::List(
        columns
            .iter()
            .map(|c| {
                Value::object([
                    ("name", Value::from(c.name.as_str())),
                    ("type", Value::from(c.data_type.as_str())),
                    ("comment", Value::opt_string(c.comment.clone())),
                ])
            })
            .collect(),
    )
}

/// A string attribute, empty when null (required attributes are never null at apply).
pub(crate) fn string_of(v: &Value, attribute: &str) -> String {
    v.get(attribute).as_str().unwrap_or_default().to_string()
}

/// `database.name` of a model or seed, for messages.
pub(crate) fn relation(planned: &Value) -> String {
    format!(
        "{}.{}",
        string_of(planned, "database"),
        string_of(planned, "name")
    )
}
