//! Rewrites Trino syntax that DataFusion plans differently (or not at all) into calls of the
//! layer's functions, before planning:
//!
//! - literals typed as Trino types them: `1` is an `integer`, `1.5` a `decimal(2,1)` (the
//!   session parses decimals as decimals), `1.5e0` a `double`, `DECIMAL '1.20'` a
//!   `decimal(3,2)`, `TIMESTAMP '2020-01-01 10:00:00.123 UTC'` a `timestamp(3) with time zone`;
//! - `AT TIME ZONE`, `EXTRACT`, `SUBSTRING(… FROM …)`, `POSITION(… IN …)`, `TRIM(… FROM …)`,
//!   `CEIL`/`FLOOR`, `array[i]` and `map[k]` (which fail when out of range in Trino) become
//!   function calls with Trino's semantics;
//! - `if(c, a, b)` becomes `CASE`, `try(e)` the failure-free forms of the casts and divisions
//!   in `e`.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::Spanned;
use datafusion::sql::sqlparser::ast::{
    AccessExpr, BinaryOperator, CeilFloorKind, DataType, DateTimeField, Expr, GroupByExpr, Ident,
    LimitClause, ObjectNamePart, OrderByKind, Query, SelectItem, SetExpr, Subscript, TableFactor,
    TimezoneInfo, TrimWhereField, TypedString, Value, VisitMut, VisitorMut,
};

use crate::ast::{call, function_name, plain_args, string};
use crate::dialect::{CAST, TRY_CAST};
use crate::error::TrinoSqlError;
use crate::functions::parse_target;
use crate::types::TrinoType;

/// Rewrites a parsed statement in place; errors name what cannot be rewritten.
pub(crate) fn rewrite<V: VisitMut>(node: &mut V) -> Result<(), TrinoSqlError> {
    match node.visit(&mut Rewriter) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

struct Rewriter;

impl VisitorMut for Rewriter {
    type Break = TrinoSqlError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<Self::Break> {
        if let Err(e) = crate::unnest::rewrite_query(query) {
            return ControlFlow::Break(e);
        }
        // Ordinals (`ORDER BY 1`, `GROUP BY 1`) and LIMIT/OFFSET must stay plain numbers: the
        // `long` flag, which nothing here parses, marks them for `post_visit_expr`.
        if let Some(order_by) = &mut query.order_by
            && let OrderByKind::Expressions(items) = &mut order_by.kind
        {
            for item in items {
                mark_positional(&mut item.expr);
            }
        }
        if let Some(limit) = &mut query.limit_clause {
            match limit {
                LimitClause::LimitOffset { limit, offset, .. } => {
                    if let Some(limit) = limit {
                        mark_positional(limit);
                    }
                    if let Some(offset) = offset {
                        mark_positional(&mut offset.value);
                    }
                }
                LimitClause::OffsetCommaLimit { offset, limit } => {
                    mark_positional(offset);
                    mark_positional(limit);
                }
            }
        }
        if let SetExpr::Select(select) = query.body.as_mut()
            && let GroupByExpr::Expressions(items, _) = &mut select.group_by
        {
            for item in items {
                mark_positional(item);
            }
        }
        name_like_trino(&mut query.body);
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Self::Break> {
        match rewrite_expr(expr) {
            Ok(Some(new)) => {
                *expr = new;
                ControlFlow::Continue(())
            }
            Ok(None) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}

/// A select item's name that [`crate::plan`] replaces with `_col<its output position>`, for
/// items after a `*` (whose width only the planner knows).
pub(crate) const UNNAMED: &str = "__mdw_unnamed_";

/// Trino names a select item without an alias by its column (or field) when it is one, and
/// `_col<output position>` otherwise; DataFusion would name it by the expression's text, so a
/// table built from `select upper(name) from t` would get another column name than on Athena.
fn name_like_trino(body: &mut SetExpr) {
    match body {
        SetExpr::Select(select) => {
            let relations = relation_names(select);
            // Fields get their name only where it is the item's alone: two items named alike
            // keep DataFusion's distinct names rather than fail the query.
            let names: Vec<Option<String>> = select
                .projection
                .iter()
                .map(|item| match item {
                    SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.to_lowercase()),
                    SelectItem::UnnamedExpr(expr) => field_name(expr, &relations)
                        .map(|i| i.value.to_lowercase())
                        .or_else(|| column_name(expr)),
                    _ => None,
                })
                .collect();
            let unique = |name: &str| names.iter().flatten().filter(|n| *n == name).count() == 1;
            let mut after_wildcard = false;
            for (position, item) in select.projection.iter_mut().enumerate() {
                match item {
                    SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                        after_wildcard = true;
                    }
                    // `col.field`, `t.col.field` and `(expr).field` are named by the field, as
                    // in Trino (DataFusion would name them `col[field]`).
                    SelectItem::UnnamedExpr(expr)
                        if field_name(expr, &relations)
                            .is_some_and(|f| unique(&f.value.to_lowercase())) =>
                    {
                        let alias = field_name(expr, &relations).expect("checked");
                        *item = SelectItem::ExprWithAlias {
                            expr: expr.clone(),
                            alias,
                        };
                    }
                    SelectItem::UnnamedExpr(expr) if !is_column(expr) => {
                        let alias = if after_wildcard {
                            format!("{UNNAMED}{position}")
                        } else {
                            format!("_col{position}")
                        };
                        *item = SelectItem::ExprWithAlias {
                            expr: expr.clone(),
                            alias: Ident::new(alias),
                        };
                    }
                    _ => {}
                }
            }
        }
        // A set operation is named by its first query; the others keep their text.
        SetExpr::SetOperation { left, .. } => name_like_trino(left),
        _ => {}
    }
}

/// The name Trino gives a select item that reads a row's field by name (`col.field`,
/// `t.col.field`, `(expr).field`): the field's. `None` for a column (`t.col`,
/// `db.t.col`: DataFusion names it `col` already) and anything else.
fn field_name(expr: &Expr, relations: &[String]) -> Option<Ident> {
    match expr {
        Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
            // The column is the part right after the last relation name; more parts read fields.
            let relation = parts[..parts.len() - 1]
                .iter()
                .rposition(|p| relations.contains(&p.value.to_lowercase()));
            if relation == Some(parts.len() - 2) {
                None
            } else {
                parts.last().cloned()
            }
        }
        Expr::CompoundFieldAccess { access_chain, .. } => match access_chain.last() {
            Some(AccessExpr::Dot(Expr::Identifier(field))) => Some(field.clone()),
            _ => None,
        },
        Expr::Nested(inner) => field_name(inner, relations),
        _ => None,
    }
}

/// A plain column's output name (`col`, `t.col`), lower-case.
fn column_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(id) => Some(id.value.to_lowercase()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.to_lowercase()),
        Expr::Nested(inner) => column_name(inner),
        _ => None,
    }
}

/// The names the FROM items of a SELECT go by (aliases, else table names, inside nested
/// joins too), lower-case.
fn relation_names(select: &datafusion::sql::sqlparser::ast::Select) -> Vec<String> {
    fn collect(factor: &TableFactor, names: &mut Vec<String>) {
        let name = match factor {
            TableFactor::Table { alias: Some(a), .. }
            | TableFactor::Derived { alias: Some(a), .. }
            | TableFactor::UNNEST { alias: Some(a), .. }
            | TableFactor::Function { alias: Some(a), .. } => Some(a.name.value.clone()),
            TableFactor::Table { name, .. } => match name.0.last() {
                Some(ObjectNamePart::Identifier(id)) => Some(id.value.clone()),
                _ => None,
            },
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                collect(&table_with_joins.relation, names);
                for join in &table_with_joins.joins {
                    collect(&join.relation, names);
                }
                alias.as_ref().map(|a| a.name.value.clone())
            }
            _ => None,
        };
        names.extend(name.map(|n| n.to_lowercase()));
    }
    let mut names = Vec::new();
    for item in &select.from {
        collect(&item.relation, &mut names);
        for join in &item.joins {
            collect(&join.relation, &mut names);
        }
    }
    names
}

fn is_column(expr: &Expr) -> bool {
    match expr {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => true,
        Expr::Nested(inner) => is_column(inner),
        _ => false,
    }
}

/// A subscript's integer literal as a plain literal again (children are rewritten first, into
/// `CAST(n AS integer)`): a row's field is chosen when the query is planned, from a literal.
fn plain_number(index: &Expr) -> Expr {
    match index {
        Expr::Cast {
            expr,
            data_type: DataType::Int(None),
            ..
        } if matches!(expr.as_ref(), Expr::Value(v) if matches!(v.value, Value::Number(..))) => {
            (**expr).clone()
        }
        other => other.clone(),
    }
}

fn mark_positional(expr: &mut Expr) {
    if let Expr::Value(v) = expr
        && let Value::Number(_, long) = &mut v.value
    {
        *long = true;
    }
}

fn unsupported(expr: &Expr, what: &str) -> TrinoSqlError {
    TrinoSqlError::at(expr.span(), what, "")
}

fn rewrite_expr(expr: &Expr) -> Result<Option<Expr>, TrinoSqlError> {
    Ok(Some(match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, false) => number(n),
            _ => return Ok(None),
        },
        Expr::TypedString(typed) => typed_literal(expr, typed)?,
        Expr::AtTimeZone {
            timestamp,
            time_zone,
        } => call(
            "at_timezone",
            vec![(**timestamp).clone(), (**time_zone).clone()],
        ),
        Expr::Extract {
            field, expr: inner, ..
        } => {
            let name = match field {
                DateTimeField::Year | DateTimeField::Years => "year",
                DateTimeField::Month | DateTimeField::Months => "month",
                DateTimeField::Week(None) | DateTimeField::Weeks => "week",
                DateTimeField::Day | DateTimeField::Days => "day",
                DateTimeField::DayOfWeek | DateTimeField::Dow => "day_of_week",
                DateTimeField::DayOfYear | DateTimeField::Doy => "day_of_year",
                DateTimeField::Hour | DateTimeField::Hours => "hour",
                DateTimeField::Minute | DateTimeField::Minutes => "minute",
                DateTimeField::Second | DateTimeField::Seconds => "second",
                DateTimeField::Quarter => "quarter",
                DateTimeField::TimezoneHour => "timezone_hour",
                DateTimeField::TimezoneMinute => "timezone_minute",
                DateTimeField::Custom(ident) => match ident.value.to_ascii_lowercase().as_str() {
                    "year_of_week" | "yow" => "year_of_week",
                    "day_of_month" => "day",
                    "day_of_week" => "day_of_week",
                    "day_of_year" => "day_of_year",
                    _ => return Err(unsupported(expr, &format!("EXTRACT({field})"))),
                },
                _ => return Err(unsupported(expr, &format!("EXTRACT({field})"))),
            };
            call(name, vec![(**inner).clone()])
        }
        Expr::Substring {
            expr: inner,
            substring_from,
            substring_for,
            ..
        } => {
            let mut args = vec![(**inner).clone()];
            args.push(
                substring_from
                    .as_deref()
                    .cloned()
                    .unwrap_or_else(|| Expr::value(Value::Number("1".into(), false))),
            );
            if let Some(length) = substring_for {
                args.push((**length).clone());
            }
            call("substr", args)
        }
        Expr::Position { expr: needle, r#in } => {
            call("strpos", vec![(**r#in).clone(), (**needle).clone()])
        }
        Expr::Trim {
            expr: inner,
            trim_where,
            trim_what,
            trim_characters,
        } => {
            if trim_characters.is_some() {
                return Err(unsupported(expr, "TRIM with a character list"));
            }
            let name = match trim_where {
                None | Some(TrimWhereField::Both) => "trim",
                Some(TrimWhereField::Leading) => "ltrim",
                Some(TrimWhereField::Trailing) => "rtrim",
            };
            let mut args = vec![(**inner).clone()];
            if let Some(what) = trim_what {
                args.push((**what).clone());
            }
            call(name, args)
        }
        Expr::Ceil { expr: inner, field } | Expr::Floor { expr: inner, field } => {
            let name = if matches!(expr, Expr::Ceil { .. }) {
                "ceil"
            } else {
                "floor"
            };
            match field {
                CeilFloorKind::DateTimeField(DateTimeField::NoDateTime) => {
                    call(name, vec![(**inner).clone()])
                }
                _ => {
                    return Err(unsupported(
                        expr,
                        &format!("{} with a unit or scale", name.to_uppercase()),
                    ));
                }
            }
        }
        Expr::CompoundFieldAccess { root, access_chain } => {
            // `a[i]` / `m[k]` fail in Trino when out of range; `.field` stays as it is.
            let mut current = (**root).clone();
            let mut rest = Vec::new();
            for access in access_chain {
                match access {
                    AccessExpr::Subscript(Subscript::Index { index }) if rest.is_empty() => {
                        current = call("__trino_subscript", vec![current, plain_number(index)]);
                    }
                    AccessExpr::Subscript(Subscript::Slice { .. }) => {
                        return Err(unsupported(expr, "array slice a[i:j]"));
                    }
                    // `(expr).field` of a row (DataFusion reads `.field` only after a column).
                    AccessExpr::Dot(Expr::Identifier(field)) if rest.is_empty() => {
                        let name = match field.quote_style {
                            Some(_) => field.value.clone(),
                            None => field.value.to_ascii_lowercase(),
                        };
                        current = call("__trino_field", vec![current, string(&name)]);
                    }
                    other => rest.push(other.clone()),
                }
            }
            if rest.is_empty() {
                current
            } else {
                Expr::CompoundFieldAccess {
                    root: Box::new(current),
                    access_chain: rest,
                }
            }
        }
        // Without ESCAPE, Trino's patterns have no escape character; DataFusion's treat `\` as
        // one: double it so that it stays a literal backslash.
        Expr::Like {
            negated,
            any: false,
            expr: value,
            pattern,
            escape_char: None,
        } => Expr::Like {
            negated: *negated,
            any: false,
            expr: value.clone(),
            pattern: Box::new(call(
                "replace",
                vec![(**pattern).clone(), string("\\"), string("\\\\")],
            )),
            escape_char: Some(Value::SingleQuotedString("\\".into())),
        },
        Expr::Function(f) => match function_name(f).as_str() {
            "rand" => {
                let mut renamed = f.clone();
                renamed.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![
                    datafusion::sql::sqlparser::ast::Ident::new("random"),
                ]);
                Expr::Function(renamed)
            }
            "if" => if_to_case(expr, f)?,
            "try" => try_expr(expr, f)?,
            "listagg" => listagg(expr, f)?,
            _ => return Ok(None),
        },
        _ => return Ok(None),
    }))
}

/// Integer literals are `integer` when they fit, as in Trino; `1.5e0` is a double.
fn number(n: &str) -> Expr {
    if n.contains(['e', 'E']) {
        return Expr::Cast {
            kind: datafusion::sql::sqlparser::ast::CastKind::Cast,
            expr: Box::new(string(n)),
            data_type: DataType::Double(datafusion::sql::sqlparser::ast::ExactNumberInfo::None),
            array: false,
            format: None,
        };
    }
    if !n.contains('.') && n.parse::<i32>().is_ok() {
        return Expr::Cast {
            kind: datafusion::sql::sqlparser::ast::CastKind::Cast,
            expr: Box::new(Expr::value(Value::Number(n.to_string(), true))),
            data_type: DataType::Int(None),
            array: false,
            format: None,
        };
    }
    Expr::value(Value::Number(n.to_string(), true))
}

fn typed_literal(expr: &Expr, typed: &TypedString) -> Result<Expr, TrinoSqlError> {
    let Some(text) = typed.value.value.clone().into_string() else {
        return Err(unsupported(expr, "typed literal without a string"));
    };
    let target = match &typed.data_type {
        DataType::Decimal(_) | DataType::Numeric(_) | DataType::Dec(_) => {
            let digits = text.trim().trim_start_matches(['-', '+']);
            let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
            let int = int.trim_start_matches('0');
            let precision = (int.len() + frac.len()).max(1);
            if precision > 38 {
                return Err(unsupported(
                    expr,
                    "DECIMAL literal with more than 38 digits",
                ));
            }
            format!("decimal({precision},{})", frac.len())
        }
        DataType::Timestamp(precision, tz) => {
            let Some((_, digits, zone)) = crate::functions::parse_timestamp_text(&text) else {
                return Err(unsupported(expr, &format!("TIMESTAMP literal '{text}'")));
            };
            let p = precision.map(|p| p as usize).unwrap_or(digits);
            if p > 9 {
                return Err(unsupported(
                    expr,
                    &format!(
                        "timestamp({p}) (a literal with {digits} fraction digits; Arrow keeps nanoseconds, precisions up to 9 are supported)"
                    ),
                ));
            }
            if zone.is_some() || matches!(tz, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) {
                format!("timestamp({p}) with time zone")
            } else {
                format!("timestamp({p})")
            }
        }
        DataType::JSON => return Ok(call("json_parse", vec![string(&text)])),
        DataType::Date => "date".to_string(),
        other => {
            let name = other.to_string();
            match TrinoType::parse(&name) {
                Ok(t) => t.to_string(),
                Err(_) => return Err(unsupported(expr, &format!("{name} literal"))),
            }
        }
    };
    parse_target(&target).map_err(|e| unsupported(expr, &e.to_string()))?;
    Ok(call(CAST, vec![string(&text), string(&target)]))
}

fn if_to_case(
    expr: &Expr,
    f: &datafusion::sql::sqlparser::ast::Function,
) -> Result<Expr, TrinoSqlError> {
    let args = plain_args(f).unwrap_or_default();
    if !(2..=3).contains(&args.len()) {
        return Err(unsupported(expr, "if() with other than 2 or 3 arguments"));
    }
    Ok(Expr::Case {
        case_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(
        ),
        end_token: datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: vec![datafusion::sql::sqlparser::ast::CaseWhen {
            condition: args[0].clone(),
            result: args[1].clone(),
        }],
        else_result: args.get(2).map(|e| Box::new((*e).clone())),
    })
}

/// `listagg(x, sep) WITHIN GROUP (ORDER BY …)` is DataFusion's `string_agg(x, sep ORDER BY …)`.
fn listagg(
    expr: &Expr,
    f: &datafusion::sql::sqlparser::ast::Function,
) -> Result<Expr, TrinoSqlError> {
    use datafusion::sql::sqlparser::ast::{FunctionArgumentClause, FunctionArguments};
    let FunctionArguments::List(list) = &f.args else {
        return Err(unsupported(expr, "listagg() without arguments"));
    };
    if !list.clauses.is_empty() || f.over.is_some() || f.filter.is_some() {
        return Err(unsupported(
            expr,
            "listagg() with ON OVERFLOW, FILTER or OVER",
        ));
    }
    let args = plain_args(f).unwrap_or_default();
    let mut args: Vec<Expr> = args.into_iter().cloned().collect();
    if args.len() == 1 {
        args.push(string(""));
    }
    if args.len() != 2 {
        return Err(unsupported(
            expr,
            "listagg() with other than one or two arguments",
        ));
    }
    let mut out = call("string_agg", args);
    if let Expr::Function(g) = &mut out
        && let FunctionArguments::List(l) = &mut g.args
    {
        l.duplicate_treatment = list.duplicate_treatment;
        if !f.within_group.is_empty() {
            l.clauses
                .push(FunctionArgumentClause::OrderBy(f.within_group.clone()));
        }
    }
    Ok(out)
}

/// `try(e)`: Trino returns NULL where evaluating `e` fails. Only failures this layer can turn
/// into NULL are accepted: casts and divisions (by zero) inside otherwise failure-free
/// expressions (columns, literals, arithmetic other than division, comparisons).
fn try_expr(
    expr: &Expr,
    f: &datafusion::sql::sqlparser::ast::Function,
) -> Result<Expr, TrinoSqlError> {
    let args = plain_args(f).unwrap_or_default();
    let [inner] = args.as_slice() else {
        return Err(unsupported(expr, "try() with other than one argument"));
    };
    let mut out = (*inner).clone();
    make_failure_free(&mut out)?;
    Ok(out)
}

fn make_failure_free(expr: &mut Expr) -> Result<(), TrinoSqlError> {
    match expr {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Value(_) => Ok(()),
        Expr::Nested(inner) => make_failure_free(inner),
        Expr::Cast { expr: inner, .. } => make_failure_free(inner),
        Expr::IsNull(inner) | Expr::IsNotNull(inner) => make_failure_free(inner),
        Expr::BinaryOp { left, op, right } => {
            make_failure_free(left)?;
            make_failure_free(right)?;
            if *op == BinaryOperator::Divide || *op == BinaryOperator::Modulo {
                let name = if *op == BinaryOperator::Divide {
                    "__trino_try_divide"
                } else {
                    "__trino_try_modulo"
                };
                *expr = call(name, vec![(**left).clone(), (**right).clone()]);
            }
            Ok(())
        }
        Expr::Function(f) if function_name(f) == CAST || function_name(f) == TRY_CAST => {
            f.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![
                datafusion::sql::sqlparser::ast::Ident::new(TRY_CAST),
            ]);
            for arg in crate::ast::plain_args_mut(f) {
                make_failure_free(arg)?;
            }
            Ok(())
        }
        other => Err(TrinoSqlError::at(
            other.span(),
            "try() around this expression",
            "try() is supported around casts, divisions and plain arithmetic",
        )),
    }
}
