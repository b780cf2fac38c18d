//! TODO
use datafusion::logical_expr::AggregateUDF;

pub(super) fn functions() -> Vec<AggregateUDF> {
    Vec::new()
}
