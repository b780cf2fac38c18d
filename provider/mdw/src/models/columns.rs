//! What models, seeds and sources share: the `columns` attribute a relation reports, and how
//! a relation is named in messages.

use mdw_engine::ColumnInfo;

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
