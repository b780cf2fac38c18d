//! `mdw_as_nullable(x)`: returns `x` unchanged but declared nullable.
//!
//! Every column of an engine-built table is nullable (later runs may write NULLs), and
//! iceberg-datafusion's partitioned write path refuses an input whose schema differs from the
//! table's, nullability included. A query over literals or `NOT NULL` expressions produces
//! non-nullable columns, and DataFusion has no cast that only widens nullability, hence this
//! function. It is volatile so the optimizer cannot fold it away on constant input.

use std::any::Any;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

#[derive(Debug, PartialEq, Eq, Hash)]
struct AsNullable {
    signature: Signature,
}

impl ScalarUDFImpl for AsNullable {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        "mdw_as_nullable"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arg_types
            .first()
            .cloned()
            .ok_or_else(|| DataFusionError::Plan("mdw_as_nullable takes one argument".into()))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let data_type = self.return_type(
            &args
                .arg_fields
                .iter()
                .map(|f| f.data_type().clone())
                .collect::<Vec<_>>(),
        )?;
        Ok(Arc::new(Field::new(self.name(), data_type, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        args.args
            .into_iter()
            .next()
            .ok_or_else(|| DataFusionError::Execution("mdw_as_nullable takes one argument".into()))
    }
}

static AS_NULLABLE: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
    Arc::new(ScalarUDF::new_from_impl(AsNullable {
        signature: Signature::any(1, Volatility::Volatile),
    }))
});

/// `expr`, declared nullable.
pub(crate) fn as_nullable(expr: Expr) -> Expr {
    AS_NULLABLE.call(vec![expr])
}
