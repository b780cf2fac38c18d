//! Type mapping between DataFusion (Arrow), Iceberg and Athena type names.
//!
//! DataFusion produces types Iceberg v2 cannot store (nanosecond timestamps, view/large strings,
//! 8/16-bit and unsigned integers, NULL-typed columns), so every schema goes through
//! [`normalize_type`] before a table is created, and every written batch is cast to the exact
//! Arrow schema the Iceberg table implies.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema as ArrowSchema, TimeUnit};
use iceberg::arrow::{arrow_schema_to_schema_auto_assign_ids, arrow_type_to_type};
use iceberg::spec::{PrimitiveType, Schema as IcebergSchema, Type};
use mdw_engine::{ColumnInfo, EngineError, SqlType};

/// The time zone Iceberg `timestamptz` columns carry in Arrow.
const UTC: &str = "+00:00";

/// Maps an Arrow type to the closest type Iceberg v2 (and Athena) can store.
pub(crate) fn normalize_type(column: &str, data_type: &DataType) -> Result<DataType, EngineError> {
    let unsupported = || {
        EngineError::InvalidInput(format!(
            "column {column:?} has type {data_type}, which an Iceberg table cannot store; \
             cast it in the model (e.g. to varchar, bigint or double)"
        ))
    };
    let normalized = match data_type {
        // A bare NULL literal has no type; Athena's CTAS rejects it, we store it as varchar.
        DataType::Null => DataType::Utf8,
        DataType::Boolean => DataType::Boolean,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => {
            DataType::Int32
        }
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => DataType::Int64,
        DataType::Float16 | DataType::Float32 => DataType::Float32,
        DataType::Float64 => DataType::Float64,
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s)
            if *s >= 0 =>
        {
            DataType::Decimal128(*p, *s)
        }
        DataType::Decimal256(p, s) if *p <= 38 && *s >= 0 => DataType::Decimal128(*p, *s),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => DataType::LargeBinary,
        DataType::Date32 | DataType::Date64 => DataType::Date32,
        DataType::Time32(_) | DataType::Time64(_) => DataType::Time64(TimeUnit::Microsecond),
        DataType::Timestamp(_, None) => DataType::Timestamp(TimeUnit::Microsecond, None),
        DataType::Timestamp(_, Some(_)) => {
            DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()))
        }
        DataType::List(item)
        | DataType::LargeList(item)
        | DataType::ListView(item)
        | DataType::LargeListView(item)
        | DataType::FixedSizeList(item, _) => DataType::List(Arc::new(Field::new(
            "element",
            normalize_type(column, item.data_type())?,
            true,
        ))),
        DataType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|f| {
                    // `ROW(a, b)` has unnamed fields: a table cannot store them (nor can Athena).
                    if f.name().trim().is_empty() {
                        return Err(EngineError::InvalidInput(format!(
                            "column {column:?} is a row with unnamed fields, which a table cannot store; \
                             name them with CAST(… AS ROW(name type, …))"
                        )));
                    }
                    Ok(Field::new(
                        f.name().to_ascii_lowercase(),
                        normalize_type(column, f.data_type())?,
                        true,
                    ))
                })
                .collect::<Result<Fields, EngineError>>()?,
        ),
        DataType::Map(entries, _) => {
            let DataType::Struct(kv) = entries.data_type() else {
                return Err(unsupported());
            };
            let [key, value] = kv.iter().collect::<Vec<_>>()[..] else {
                return Err(unsupported());
            };
            DataType::Map(
                Arc::new(Field::new(
                    "key_value",
                    DataType::Struct(Fields::from(vec![
                        Field::new("key", normalize_type(column, key.data_type())?, false),
                        Field::new("value", normalize_type(column, value.data_type())?, true),
                    ])),
                    false,
                )),
                false,
            )
        }
        DataType::Dictionary(_, value) => normalize_type(column, value)?,
        _ => return Err(unsupported()),
    };
    Ok(normalized)
}

/// Normalizes a query's output schema: Iceberg-storable types, lower-case column names (Athena
/// folds them), every column nullable (as Athena's CTAS creates them, so later runs may write
/// NULLs), and no duplicate names.
pub(crate) fn normalize_schema(schema: &ArrowSchema) -> Result<ArrowSchema, EngineError> {
    let mut seen = BTreeMap::new();
    let mut fields = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let name = field.name().trim().to_ascii_lowercase();
        if name.is_empty() {
            return Err(EngineError::InvalidInput(
                "the query has a column without a name; give every expression an alias".into(),
            ));
        }
        if let Some(previous) = seen.insert(name.clone(), field.name().clone()) {
            return Err(EngineError::InvalidInput(format!(
                "the query returns two columns named {name:?} ({previous:?} and {:?}); \
                 column names are case-insensitive, alias one of them",
                field.name()
            )));
        }
        fields.push(Field::new(
            name.clone(),
            normalize_type(&name, field.data_type())?,
            true,
        ));
    }
    Ok(ArrowSchema::new(fields))
}

/// Builds the Iceberg schema of a normalized Arrow schema, with column comments.
pub(crate) fn iceberg_schema(
    normalized: &ArrowSchema,
    column_descriptions: &BTreeMap<String, String>,
) -> Result<IcebergSchema, EngineError> {
    let unknown: Vec<&String> = column_descriptions
        .keys()
        .filter(|name| {
            normalized
                .field_with_name(&name.to_ascii_lowercase())
                .is_err()
        })
        .collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = normalized
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        return Err(EngineError::InvalidInput(format!(
            "column_descriptions names columns the query does not return: {unknown:?} \
             (columns: {known:?})"
        )));
    }
    let schema = arrow_schema_to_schema_auto_assign_ids(normalized).map_err(|e| {
        EngineError::InvalidInput(format!("converting the query's columns to Iceberg: {e}"))
    })?;
    let descriptions: BTreeMap<String, &String> = column_descriptions
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let fields =
        schema
            .as_struct()
            .fields()
            .iter()
            .map(|field| match descriptions.get(&field.name) {
                Some(doc) if !doc.is_empty() => {
                    Arc::new(field.as_ref().clone().with_doc(doc.as_str()))
                }
                _ => field.clone(),
            });
    IcebergSchema::builder()
        .with_fields(fields)
        .build()
        .map_err(|e| EngineError::InvalidInput(format!("building the Iceberg schema: {e}")))
}

/// The Iceberg type an Arrow column becomes (after normalization).
pub(crate) fn iceberg_type_of(column: &str, data_type: &DataType) -> Result<Type, EngineError> {
    let normalized = normalize_type(column, data_type)?;
    let convert_error = |e: iceberg::Error| {
        EngineError::InvalidInput(format!(
            "column {column:?}: converting {data_type} to Iceberg: {e}"
        ))
    };
    if normalized.is_nested() {
        // Nested Iceberg types need field ids, which only a whole-schema conversion assigns.
        let schema = ArrowSchema::new(vec![Field::new(column, normalized, true)]);
        let converted = arrow_schema_to_schema_auto_assign_ids(&schema).map_err(convert_error)?;
        return converted
            .as_struct()
            .fields()
            .first()
            .map(|f| f.field_type.as_ref().clone())
            .ok_or_else(|| EngineError::InvalidInput(format!("column {column:?}: empty schema")));
    }
    arrow_type_to_type(&normalized).map_err(convert_error)
}

/// Renders an Iceberg type the way Athena (Trino) shows it.
pub(crate) fn athena_type_name(ty: &Type) -> String {
    match ty {
        Type::Primitive(p) => match p {
            PrimitiveType::Boolean => "boolean".into(),
            PrimitiveType::Int => "integer".into(),
            PrimitiveType::Long => "bigint".into(),
            PrimitiveType::Float => "real".into(),
            PrimitiveType::Double => "double".into(),
            PrimitiveType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
            PrimitiveType::Date => "date".into(),
            PrimitiveType::Time => "time(6)".into(),
            PrimitiveType::Timestamp => "timestamp(6)".into(),
            PrimitiveType::Timestamptz => "timestamp(6) with time zone".into(),
            PrimitiveType::TimestampNs => "timestamp(9)".into(),
            PrimitiveType::TimestamptzNs => "timestamp(9) with time zone".into(),
            PrimitiveType::String => "varchar".into(),
            PrimitiveType::Uuid => "uuid".into(),
            PrimitiveType::Fixed(_) | PrimitiveType::Binary => "varbinary".into(),
        },
        Type::List(list) => format!(
            "array({})",
            athena_type_name(&list.element_field.field_type)
        ),
        Type::Map(map) => format!(
            "map({}, {})",
            athena_type_name(&map.key_field.field_type),
            athena_type_name(&map.value_field.field_type)
        ),
        Type::Struct(st) => {
            let fields: Vec<String> = st
                .fields()
                .iter()
                .map(|f| format!("{} {}", f.name, athena_type_name(&f.field_type)))
                .collect();
            format!("row({})", fields.join(", "))
        }
    }
}

/// Renders an Iceberg type the way Glue stores column types of Athena's Iceberg tables (Hive
/// names: `string`, `int`, `array<string>`, `struct<a:int>`).
pub(crate) fn hive_type_name(ty: &Type) -> String {
    match ty {
        Type::Primitive(p) => match p {
            PrimitiveType::Boolean => "boolean".into(),
            PrimitiveType::Int => "int".into(),
            PrimitiveType::Long => "bigint".into(),
            PrimitiveType::Float => "float".into(),
            PrimitiveType::Double => "double".into(),
            PrimitiveType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
            PrimitiveType::Date => "date".into(),
            PrimitiveType::Timestamp
            | PrimitiveType::Timestamptz
            | PrimitiveType::TimestampNs
            | PrimitiveType::TimestamptzNs => "timestamp".into(),
            PrimitiveType::Time | PrimitiveType::String | PrimitiveType::Uuid => "string".into(),
            PrimitiveType::Fixed(_) | PrimitiveType::Binary => "binary".into(),
        },
        Type::List(list) => format!("array<{}>", hive_type_name(&list.element_field.field_type)),
        Type::Map(map) => format!(
            "map<{},{}>",
            hive_type_name(&map.key_field.field_type),
            hive_type_name(&map.value_field.field_type)
        ),
        Type::Struct(st) => {
            let fields: Vec<String> = st
                .fields()
                .iter()
                .map(|f| format!("{}:{}", f.name, hive_type_name(&f.field_type)))
                .collect();
            format!("struct<{}>", fields.join(","))
        }
    }
}

/// The columns of an Iceberg schema as `describe` reports them.
pub(crate) fn columns_of(schema: &IcebergSchema) -> Vec<ColumnInfo> {
    schema
        .as_struct()
        .fields()
        .iter()
        .map(|f| ColumnInfo {
            name: f.name.clone(),
            data_type: athena_type_name(&f.field_type),
            comment: f.doc.clone(),
        })
        .collect()
}

/// The columns of a query or view result (types normalized as a table would store them).
pub(crate) fn columns_of_arrow(
    schema: &ArrowSchema,
    comments: &BTreeMap<String, String>,
) -> Result<Vec<ColumnInfo>, EngineError> {
    schema
        .fields()
        .iter()
        .map(|f| {
            let name = f.name().to_ascii_lowercase();
            Ok(ColumnInfo {
                data_type: athena_type_name(&iceberg_type_of(&name, f.data_type())?),
                comment: comments.get(&name).cloned(),
                name,
            })
        })
        .collect()
}

/// The Arrow type a seed column given as an Athena type name is cast to.
pub(crate) fn arrow_type_of_sql(ty: SqlType) -> DataType {
    match ty {
        SqlType::Boolean => DataType::Boolean,
        SqlType::Integer => DataType::Int32,
        SqlType::Bigint => DataType::Int64,
        SqlType::Real => DataType::Float32,
        SqlType::Double => DataType::Float64,
        SqlType::Decimal { precision, scale } => DataType::Decimal128(precision, scale as i8),
        SqlType::Varchar => DataType::Utf8,
        SqlType::Varbinary => DataType::LargeBinary,
        SqlType::Date => DataType::Date32,
        SqlType::Time => DataType::Time64(TimeUnit::Microsecond),
        SqlType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        SqlType::TimestampWithTimeZone => {
            DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datafusion_types_are_normalized_for_iceberg_v2() {
        let ns = DataType::Timestamp(TimeUnit::Nanosecond, None);
        assert_eq!(
            normalize_type("ts", &ns).unwrap(),
            DataType::Timestamp(TimeUnit::Microsecond, None)
        );
        assert_eq!(
            normalize_type("s", &DataType::Utf8View).unwrap(),
            DataType::Utf8
        );
        assert_eq!(
            normalize_type("i", &DataType::UInt16).unwrap(),
            DataType::Int32
        );
        assert_eq!(
            normalize_type("i", &DataType::UInt32).unwrap(),
            DataType::Int64
        );
        assert!(normalize_type("d", &DataType::Duration(TimeUnit::Second)).is_err());
    }

    #[test]
    fn iceberg_types_render_athena_style() {
        let ty = iceberg_type_of("x", &DataType::Decimal128(10, 2)).unwrap();
        assert_eq!(athena_type_name(&ty), "decimal(10,2)");
        let ts = iceberg_type_of("x", &DataType::Timestamp(TimeUnit::Nanosecond, None)).unwrap();
        assert_eq!(athena_type_name(&ts), "timestamp(6)");
        let list = DataType::List(Arc::new(Field::new("item", DataType::Utf8View, true)));
        assert_eq!(
            athena_type_name(&iceberg_type_of("x", &list).unwrap()),
            "array(varchar)"
        );
    }

    #[test]
    fn duplicate_names_after_case_folding_are_rejected() {
        let schema = ArrowSchema::new(vec![
            Field::new("Id", DataType::Int64, false),
            Field::new("id", DataType::Int64, false),
        ]);
        assert!(normalize_schema(&schema).is_err());
    }
}
