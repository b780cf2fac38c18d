//! Query results as text for messages (a failing test's rows, a unit test's row diff): one
//! line per row, cells joined by ` | `, SQL NULL as `NULL`.

use mdw_engine::QueryResult;

/// Each row of `result` as one line of the cells of `columns`, in that order.
pub(crate) fn lines(result: &QueryResult, columns: &[String]) -> Vec<String> {
    result
        .rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| {
                    row.get(c)
                        .cloned()
                        .flatten()
                        .unwrap_or_else(|| "NULL".to_string())
                })
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect()
}
