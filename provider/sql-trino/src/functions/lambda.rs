//! Lambda functions (`transform(a, x -> x + 1)`, `reduce`, `filter`, `zip_with`, map
//! variants). DataFusion has no lambdas: each call site becomes its own function
//! `__lambda_<n>(array, …, captured columns…)` that plans the lambda body as an expression over
//! the elements (and the captured outer columns, repeated per element) when the argument types
//! are known, and evaluates it once over all elements of a batch.

use std::any::Any;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, ListArray, MapArray, RecordBatch, RecordBatchOptions,
    StructArray, UInt32Array,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::{cast, filter, take};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Schema};
use datafusion::common::{DFSchema, ScalarValue, TableReference};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::FunctionRegistry;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::sql::sqlparser::ast::{
    Expr, ExprWithAlias, Ident, OneOrManyWithParens, Spanned, Statement, Visit, VisitMut, Visitor,
    VisitorMut,
};

use crate::ast::{call, function_name, plain_args};

pub(crate) const NAMES: &[&str] = &[
    "transform",
    "filter",
    "reduce",
    "any_match",
    "all_match",
    "none_match",
    "zip_with",
    "transform_values",
    "transform_keys",
    "map_filter",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Transform,
    Filter,
    Reduce,
    AnyMatch,
    AllMatch,
    NoneMatch,
    ZipWith,
    TransformValues,
    TransformKeys,
    MapFilter,
}

impl Kind {
    fn of(name: &str) -> Option<Kind> {
        Some(match name {
            "transform" => Kind::Transform,
            "filter" => Kind::Filter,
            "reduce" => Kind::Reduce,
            "any_match" => Kind::AnyMatch,
            "all_match" => Kind::AllMatch,
            "none_match" => Kind::NoneMatch,
            "zip_with" => Kind::ZipWith,
            "transform_values" => Kind::TransformValues,
            "transform_keys" => Kind::TransformKeys,
            "map_filter" => Kind::MapFilter,
            _ => return None,
        })
    }

    /// (number of value arguments, parameter counts of the lambdas), in call order.
    fn shape(self) -> (usize, &'static [usize]) {
        match self {
            Kind::Transform | Kind::Filter | Kind::AnyMatch | Kind::AllMatch | Kind::NoneMatch => {
                (1, &[1])
            }
            Kind::Reduce => (2, &[2, 1]),
            Kind::ZipWith => (2, &[2]),
            Kind::TransformValues | Kind::TransformKeys | Kind::MapFilter => (1, &[2]),
        }
    }
}

/// Replaces lambda calls by per-call-site functions registered in a copy of the session's
/// state; `None` when the statement has no lambda.
pub(crate) fn plan_lambdas(
    statement: &mut Statement,
    state: &SessionState,
) -> Result<Option<SessionState>> {
    let mut finder = Finder(false);
    let _ = Visit::visit(&*statement, &mut finder);
    if !finder.0 {
        return Ok(None);
    }
    let mut rewriter = Rewriter {
        state: state.clone(),
        next: 0,
    };
    if let ControlFlow::Break(e) = VisitMut::visit(statement, &mut rewriter) {
        return Err(e);
    }
    Ok(Some(rewriter.state))
}

struct Finder(bool);

impl Visitor for Finder {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if matches!(expr, Expr::Lambda(_)) {
            self.0 = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

struct Rewriter {
    state: SessionState,
    next: usize,
}

impl VisitorMut for Rewriter {
    type Break = DataFusionError;

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<DataFusionError> {
        let Expr::Function(f) = &*expr else {
            return ControlFlow::Continue(());
        };
        let name = function_name(f);
        let Some(kind) = Kind::of(&name) else {
            return ControlFlow::Continue(());
        };
        match self.lambda_call(kind, &name, expr) {
            Ok(new) => {
                *expr = new;
                ControlFlow::Continue(())
            }
            Err(e) => ControlFlow::Break(e),
        }
    }
}

impl Rewriter {
    fn lambda_call(&mut self, kind: Kind, name: &str, expr: &Expr) -> Result<Expr> {
        let Expr::Function(f) = expr else {
            return Err(DataFusionError::Internal("not a function".into()));
        };
        let position = expr.span().start;
        let args = plain_args(f).unwrap_or_default();
        let (value_count, lambda_params) = kind.shape();
        if args.len() != value_count + lambda_params.len() {
            return Err(DataFusionError::Plan(format!(
                "{name}() takes {} arguments (line {}:{})",
                value_count + lambda_params.len(),
                position.line,
                position.column
            )));
        }
        let mut lambdas = Vec::new();
        for (arg, want) in args[value_count..].iter().zip(lambda_params) {
            let Expr::Lambda(lambda) = arg else {
                return Err(DataFusionError::Plan(format!(
                    "{name}() needs a lambda (x -> …) as argument (line {}:{})",
                    position.line, position.column
                )));
            };
            let params: Vec<String> = match &lambda.params {
                OneOrManyWithParens::One(p) => vec![normalize(p)],
                OneOrManyWithParens::Many(ps) => ps.iter().map(normalize).collect(),
            };
            if params.len() != *want {
                return Err(DataFusionError::Plan(format!(
                    "the lambda of {name}() takes {want} parameter(s) (line {}:{})",
                    position.line, position.column
                )));
            }
            lambdas.push(LambdaDef {
                params,
                body: (*lambda.body).clone(),
            });
        }
        let mut captures: Vec<Capture> = Vec::new();
        for lambda in &lambdas {
            collect_captures(&lambda.body, &lambda.params, &mut captures)?;
        }
        let udf_name = format!("__lambda_{}", self.next);
        self.next += 1;
        let udf = LambdaUdf {
            name: udf_name.clone(),
            kind,
            value_count,
            lambdas,
            captures: captures.clone(),
            state: Arc::new(self.state.clone()),
            signature: Signature::variadic_any(Volatility::Immutable),
            compiled: Mutex::new(None),
        };
        self.state
            .register_udf(Arc::new(ScalarUDF::new_from_impl(udf)))?;
        let mut call_args: Vec<Expr> = args[..value_count].iter().map(|e| (*e).clone()).collect();
        call_args.extend(captures.iter().map(|c| c.expr.clone()));
        Ok(call(&udf_name, call_args))
    }
}

fn normalize(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_ascii_lowercase()
    }
}

/// An outer column a lambda body refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Capture {
    qualifier: Option<String>,
    name: String,
    expr: Expr,
}

fn collect_captures(body: &Expr, params: &[String], out: &mut Vec<Capture>) -> Result<()> {
    struct Collector<'a> {
        params: &'a [String],
        out: &'a mut Vec<Capture>,
        error: Option<DataFusionError>,
    }
    impl Visitor for Collector<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            let capture = match expr {
                Expr::Identifier(id) if !self.params.contains(&normalize(id)) => Capture {
                    qualifier: None,
                    name: normalize(id),
                    expr: expr.clone(),
                },
                Expr::CompoundIdentifier(parts) if !self.params.contains(&normalize(&parts[0])) => {
                    if parts.len() != 2 {
                        self.error = Some(DataFusionError::Plan(format!(
                            "a lambda refers to {expr}: only column or table.column references are supported on the embedded engine"
                        )));
                        return ControlFlow::Break(());
                    }
                    Capture {
                        qualifier: Some(normalize(&parts[0])),
                        name: normalize(&parts[1]),
                        expr: expr.clone(),
                    }
                }
                Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                    self.error = Some(DataFusionError::Plan(
                        "a subquery inside a lambda is not supported on the embedded engine".into(),
                    ));
                    return ControlFlow::Break(());
                }
                _ => return ControlFlow::Continue(()),
            };
            if !self.out.contains(&capture) {
                self.out.push(capture);
            }
            ControlFlow::Continue(())
        }
    }
    let mut collector = Collector {
        params,
        out,
        error: None,
    };
    let _ = body.visit(&mut collector);
    match collector.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[derive(Debug, Clone)]
struct LambdaDef {
    params: Vec<String>,
    body: Expr,
}

/// The bodies planned for one set of argument types.
#[derive(Debug, Clone)]
struct Compiled {
    arg_types: Vec<DataType>,
    bodies: Vec<(Arc<Schema>, Arc<dyn PhysicalExpr>, DataType)>,
    ret: DataType,
}

struct LambdaUdf {
    name: String,
    kind: Kind,
    value_count: usize,
    lambdas: Vec<LambdaDef>,
    captures: Vec<Capture>,
    /// The session (with the lambdas planned before this one) in which the bodies are planned.
    state: Arc<SessionState>,
    signature: Signature,
    compiled: Mutex<Option<Compiled>>,
}

impl std::fmt::Debug for LambdaUdf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaUdf")
            .field("name", &self.name)
            .finish()
    }
}

impl PartialEq for LambdaUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.kind == other.kind
    }
}
impl Eq for LambdaUdf {}
impl Hash for LambdaUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

fn element_type(t: &DataType, what: &str) -> Result<DataType> {
    match t {
        DataType::List(f) | DataType::LargeList(f) => Ok(f.data_type().clone()),
        DataType::Null => Ok(DataType::Null),
        other => Err(DataFusionError::Plan(format!(
            "{what} expects an array, got {}",
            super::trino_name(other)
        ))),
    }
}

fn map_types(t: &DataType, what: &str) -> Result<(DataType, DataType)> {
    match t {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                Ok((kv[0].data_type().clone(), kv[1].data_type().clone()))
            }
            _ => Err(DataFusionError::Plan(format!("{what}: malformed map type"))),
        },
        other => Err(DataFusionError::Plan(format!(
            "{what} expects a map, got {}",
            super::trino_name(other)
        ))),
    }
}

impl LambdaUdf {
    fn what(&self) -> &'static str {
        NAMES[self.kind as usize]
    }

    fn compile(&self, arg_types: &[DataType]) -> Result<Compiled> {
        if let Ok(guard) = self.compiled.lock()
            && let Some(c) = guard.as_ref().filter(|c| c.arg_types == arg_types)
        {
            return Ok(c.clone());
        }
        let what = self.what();
        let capture_types = &arg_types[self.value_count..];
        let param_types: Vec<Vec<DataType>> = match self.kind {
            Kind::Transform | Kind::Filter | Kind::AnyMatch | Kind::AllMatch | Kind::NoneMatch => {
                vec![vec![element_type(&arg_types[0], what)?]]
            }
            Kind::Reduce => {
                let element = element_type(&arg_types[0], what)?;
                let state = arg_types[1].clone();
                vec![vec![state.clone(), element], vec![state]]
            }
            Kind::ZipWith => vec![vec![
                element_type(&arg_types[0], what)?,
                element_type(&arg_types[1], what)?,
            ]],
            Kind::TransformValues | Kind::TransformKeys | Kind::MapFilter => {
                let (k, v) = map_types(&arg_types[0], what)?;
                vec![vec![k, v]]
            }
        };
        let mut bodies = Vec::new();
        for (lambda, types) in self.lambdas.iter().zip(param_types) {
            let mut fields: Vec<(Option<TableReference>, FieldRef)> = lambda
                .params
                .iter()
                .zip(types)
                .map(|(p, t)| (None, Arc::new(Field::new(p, t, true))))
                .collect();
            for (capture, t) in self.captures.iter().zip(capture_types) {
                fields.push((
                    capture.qualifier.as_deref().map(TableReference::bare),
                    Arc::new(Field::new(&capture.name, t.clone(), true)),
                ));
            }
            let schema = DFSchema::new_with_metadata(fields, HashMap::new())?;
            let logical = self.state.create_logical_expr_from_sql_expr(
                ExprWithAlias {
                    expr: lambda.body.clone(),
                    alias: None,
                },
                &schema,
            )?;
            let physical = self.state.create_physical_expr(logical, &schema)?;
            let arrow_schema = Arc::new(schema.as_arrow().clone());
            let body_type = physical.data_type(&arrow_schema)?;
            bodies.push((arrow_schema, physical, body_type));
        }
        let list_of = |t: &DataType| DataType::List(Arc::new(Field::new("item", t.clone(), true)));
        let ret = match self.kind {
            Kind::Transform | Kind::ZipWith => list_of(&bodies[0].2),
            Kind::Filter | Kind::MapFilter => arg_types[0].clone(),
            Kind::AnyMatch | Kind::AllMatch | Kind::NoneMatch => DataType::Boolean,
            Kind::Reduce => bodies[1].2.clone(),
            Kind::TransformValues | Kind::TransformKeys => {
                let (k, v) = map_types(&arg_types[0], what)?;
                let (k, v) = if self.kind == Kind::TransformValues {
                    (k, bodies[0].2.clone())
                } else {
                    (bodies[0].2.clone(), v)
                };
                super::map::map_type(&k, &v)
            }
        };
        for (i, (_, _, t)) in bodies.iter().enumerate() {
            let predicate = matches!(
                self.kind,
                Kind::Filter | Kind::AnyMatch | Kind::AllMatch | Kind::NoneMatch | Kind::MapFilter
            );
            if predicate && !matches!(t, DataType::Boolean | DataType::Null) {
                return Err(DataFusionError::Plan(format!(
                    "the lambda of {what}() must return boolean, not {}",
                    super::trino_name(t)
                )));
            }
            if self.kind == Kind::Reduce && i == 0 && *t != arg_types[1] && *t != DataType::Null {
                return Err(DataFusionError::Plan(format!(
                    "the input function of reduce() returns {} but the state is {}: cast the initial state",
                    super::trino_name(t),
                    super::trino_name(&arg_types[1])
                )));
            }
        }
        let compiled = Compiled {
            arg_types: arg_types.to_vec(),
            bodies,
            ret,
        };
        if let Ok(mut guard) = self.compiled.lock() {
            *guard = Some(compiled.clone());
        }
        Ok(compiled)
    }
}

impl ScalarUDFImpl for LambdaUdf {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.compile(arg_types)?.ret)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        Ok(Arc::new(Field::new(
            self.what(),
            self.compile(&types)?.ret,
            true,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if all_scalar { 1 } else { args.number_rows };
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let types: Vec<DataType> = arrays.iter().map(|a| a.data_type().clone()).collect();
        let compiled = self.compile(&types)?;
        let out = self.evaluate(&compiled, &arrays, rows)?;
        if all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

/// Elements of a list array flattened: values, offsets rebased to 0, and the row each element
/// belongs to.
fn flatten(offsets: &[i32], values: &ArrayRef) -> (ArrayRef, Vec<i32>, UInt32Array) {
    let first = offsets[0];
    let last = offsets[offsets.len() - 1];
    let values = values.slice(first as usize, (last - first) as usize);
    let rebased: Vec<i32> = offsets.iter().map(|o| o - first).collect();
    let mut parents = Vec::with_capacity(values.len());
    for row in 0..offsets.len() - 1 {
        for _ in offsets[row]..offsets[row + 1] {
            parents.push(row as u32);
        }
    }
    (values, rebased, UInt32Array::from(parents))
}

impl LambdaUdf {
    fn run(
        &self,
        body: &(Arc<Schema>, Arc<dyn PhysicalExpr>, DataType),
        params: Vec<ArrayRef>,
        captures: &[ArrayRef],
        parents: &UInt32Array,
    ) -> Result<ArrayRef> {
        let (schema, expr, _) = body;
        let n = parents.len();
        let mut columns = params;
        for c in captures {
            columns.push(take(c.as_ref(), parents, None)?);
        }
        let columns = columns
            .into_iter()
            .zip(schema.fields())
            .map(|(c, f)| {
                if c.data_type() == f.data_type() {
                    Ok(c)
                } else {
                    Ok(cast(&c, f.data_type())?)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let batch = RecordBatch::try_new_with_options(
            schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )?;
        expr.evaluate(&batch)?.into_array(n)
    }

    fn evaluate(&self, compiled: &Compiled, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
        let captures = &args[self.value_count..];
        match self.kind {
            Kind::Transform | Kind::Filter | Kind::AnyMatch | Kind::AllMatch | Kind::NoneMatch => {
                if args[0].data_type() == &DataType::Null {
                    return Ok(datafusion::arrow::array::new_null_array(
                        &compiled.ret,
                        rows,
                    ));
                }
                let list = args[0].as_list::<i32>();
                let (values, offsets, parents) = flatten(list.value_offsets(), list.values());
                let out = self.run(
                    &compiled.bodies[0],
                    vec![values.clone()],
                    captures,
                    &parents,
                )?;
                match self.kind {
                    Kind::Transform => Ok(Arc::new(ListArray::try_new(
                        Arc::new(Field::new("item", out.data_type().clone(), true)),
                        OffsetBuffer::new(offsets.into()),
                        out,
                        list.nulls().cloned(),
                    )?)),
                    Kind::Filter => {
                        let keep = as_bools(&out)?;
                        let kept = filter(values.as_ref(), &keep)?;
                        let mut new_offsets = vec![0i32];
                        for row in 0..rows {
                            let count = (offsets[row]..offsets[row + 1])
                                .filter(|i| keep.is_valid(*i as usize) && keep.value(*i as usize))
                                .count() as i32;
                            new_offsets.push(new_offsets[row] + count);
                        }
                        let DataType::List(field) = list.data_type() else {
                            return Err(DataFusionError::Internal("not a list".into()));
                        };
                        Ok(Arc::new(ListArray::try_new(
                            field.clone(),
                            OffsetBuffer::new(new_offsets.into()),
                            kept,
                            list.nulls().cloned(),
                        )?))
                    }
                    _ => {
                        let results = as_bools(&out)?;
                        let mut b = datafusion::arrow::array::BooleanBuilder::new();
                        for row in 0..rows {
                            if list.is_null(row) {
                                b.append_null();
                                continue;
                            }
                            let range = offsets[row] as usize..offsets[row + 1] as usize;
                            let any_true = range
                                .clone()
                                .any(|i| results.is_valid(i) && results.value(i));
                            let any_false = range
                                .clone()
                                .any(|i| results.is_valid(i) && !results.value(i));
                            let any_null = range.clone().any(|i| results.is_null(i));
                            b.append_option(match self.kind {
                                Kind::AnyMatch if any_true => Some(true),
                                Kind::AnyMatch if any_null => None,
                                Kind::AnyMatch => Some(false),
                                Kind::AllMatch if any_false => Some(false),
                                Kind::AllMatch if any_null => None,
                                Kind::AllMatch => Some(true),
                                _ if any_true => Some(false),
                                _ if any_null => None,
                                _ => Some(true),
                            });
                        }
                        Ok(Arc::new(b.finish()))
                    }
                }
            }
            Kind::ZipWith => {
                let (a, b) = (args[0].as_list::<i32>(), args[1].as_list::<i32>());
                let mut ia: Vec<Option<u32>> = Vec::new();
                let mut ib: Vec<Option<u32>> = Vec::new();
                let mut parents = Vec::new();
                let mut offsets = vec![0i32];
                let mut nulls = Vec::with_capacity(rows);
                for row in 0..rows {
                    let valid = a.is_valid(row) && b.is_valid(row);
                    nulls.push(valid);
                    let (sa, ea) = (a.value_offsets()[row], a.value_offsets()[row + 1]);
                    let (sb, eb) = (b.value_offsets()[row], b.value_offsets()[row + 1]);
                    let len = if valid { (ea - sa).max(eb - sb) } else { 0 };
                    for k in 0..len {
                        ia.push((sa + k < ea).then_some((sa + k) as u32));
                        ib.push((sb + k < eb).then_some((sb + k) as u32));
                        parents.push(row as u32);
                    }
                    offsets.push(offsets[row] + len);
                }
                let xa = take(a.values().as_ref(), &UInt32Array::from(ia), None)?;
                let xb = take(b.values().as_ref(), &UInt32Array::from(ib), None)?;
                let out = self.run(
                    &compiled.bodies[0],
                    vec![xa, xb],
                    captures,
                    &UInt32Array::from(parents),
                )?;
                Ok(Arc::new(ListArray::try_new(
                    Arc::new(Field::new("item", out.data_type().clone(), true)),
                    OffsetBuffer::new(offsets.into()),
                    out,
                    Some(NullBuffer::from(nulls)),
                )?))
            }
            Kind::Reduce => self.reduce(compiled, args, rows),
            Kind::TransformValues | Kind::TransformKeys | Kind::MapFilter => {
                let map = args[0].as_map();
                let (entries_values, offsets, parents) = {
                    let entries: ArrayRef = Arc::new(map.entries().clone());
                    flatten(map.value_offsets(), &entries)
                };
                let entries = entries_values.as_struct();
                let keys = entries.column(0).clone();
                let values = entries.column(1).clone();
                let out = self.run(
                    &compiled.bodies[0],
                    vec![keys.clone(), values.clone()],
                    captures,
                    &parents,
                )?;
                let DataType::Map(entries_field, sorted) = compiled.ret.clone() else {
                    return Err(DataFusionError::Internal("not a map".into()));
                };
                let DataType::Struct(kv) = entries_field.data_type().clone() else {
                    return Err(DataFusionError::Internal("not a map".into()));
                };
                let (new_keys, new_values, new_offsets) = match self.kind {
                    Kind::TransformValues => (keys, out, offsets),
                    Kind::TransformKeys => {
                        if out.null_count() > 0 {
                            return Err(DataFusionError::Execution(
                                "map key cannot be null".into(),
                            ));
                        }
                        for row in 0..rows {
                            let range = offsets[row] as usize..offsets[row + 1] as usize;
                            let mut seen: Vec<ScalarValue> = Vec::new();
                            for i in range {
                                let k = ScalarValue::try_from_array(&out, i)?;
                                if seen.contains(&k) {
                                    return Err(DataFusionError::Execution(format!(
                                        "Duplicate map keys ({k}) are not allowed"
                                    )));
                                }
                                seen.push(k);
                            }
                        }
                        (out, values, offsets)
                    }
                    _ => {
                        let keep = as_bools(&out)?;
                        let mut new_offsets = vec![0i32];
                        for row in 0..rows {
                            let count = (offsets[row]..offsets[row + 1])
                                .filter(|i| keep.is_valid(*i as usize) && keep.value(*i as usize))
                                .count() as i32;
                            new_offsets.push(new_offsets[row] + count);
                        }
                        (
                            filter(keys.as_ref(), &keep)?,
                            filter(values.as_ref(), &keep)?,
                            new_offsets,
                        )
                    }
                };
                let new_keys = cast(&new_keys, kv[0].data_type())?;
                let new_values = cast(&new_values, kv[1].data_type())?;
                let struct_array =
                    StructArray::try_new(kv.clone(), vec![new_keys, new_values], None)?;
                Ok(Arc::new(MapArray::try_new(
                    entries_field,
                    OffsetBuffer::new(new_offsets.into()),
                    struct_array,
                    map.nulls().cloned(),
                    sorted,
                )?))
            }
        }
    }

    fn reduce(&self, compiled: &Compiled, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
        let captures = &args[self.value_count..];
        let list = args[0].as_list::<i32>();
        let offsets = list.value_offsets();
        let mut state: ArrayRef = args[1].clone();
        let longest = (0..rows)
            .map(|r| offsets[r + 1] - offsets[r])
            .max()
            .unwrap_or(0);
        for k in 0..longest {
            let active: Vec<u32> = (0..rows as u32)
                .filter(|r| offsets[*r as usize + 1] - offsets[*r as usize] > k)
                .collect();
            let element_index: Vec<u32> = active
                .iter()
                .map(|r| (offsets[*r as usize] + k) as u32)
                .collect();
            let active = UInt32Array::from(active);
            let s = take(state.as_ref(), &active, None)?;
            let x = take(
                list.values().as_ref(),
                &UInt32Array::from(element_index),
                None,
            )?;
            let step = self.run(&compiled.bodies[0], vec![s, x], captures, &active)?;
            // Scatter the new states of the active rows back.
            let mut index: Vec<Option<u32>> = (0..rows as u32).map(|_| None).collect();
            for (i, r) in active.values().iter().enumerate() {
                index[*r as usize] = Some(i as u32);
            }
            let mut next = Vec::with_capacity(rows);
            for (row, slot) in index.iter().enumerate() {
                next.push(match slot {
                    Some(i) => ScalarValue::try_from_array(&step, *i as usize)?,
                    None => ScalarValue::try_from_array(&state, row)?,
                });
            }
            state = ScalarValue::iter_to_array(next)?;
            if state.data_type() != &compiled.bodies[0].2 && compiled.bodies[0].2 != DataType::Null
            {
                state = cast(&state, &compiled.bodies[0].2)?;
            }
        }
        let all = UInt32Array::from((0..rows as u32).collect::<Vec<_>>());
        let out = self.run(&compiled.bodies[1], vec![state], captures, &all)?;
        // A NULL array reduces to NULL.
        let nulls = NullBuffer::union(list.nulls(), out.nulls());
        let data = out.to_data().into_builder().nulls(nulls).build()?;
        Ok(datafusion::arrow::array::make_array(data))
    }
}

fn as_bools(array: &ArrayRef) -> Result<BooleanArray> {
    if array.data_type() == &DataType::Null {
        return Ok(BooleanArray::new_null(array.len()));
    }
    Ok(array.as_boolean().clone())
}
