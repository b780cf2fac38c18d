//! `FROM r CROSS JOIN UNNEST(r.a, …) [WITH ORDINALITY] AS t(x, …)` (and `FROM r, UNNEST(…)`,
//! `LEFT JOIN UNNEST(…) ON TRUE`): UNNEST of a column of an earlier relation, which DataFusion
//! plans but cannot run. It becomes the projection form DataFusion runs:
//!
//! ```sql
//! (SELECT r.*, unnest(r.a) AS x, … FROM r) AS r
//! ```
//!
//! and references to `t.x` become `r.x`. Several arrays are zipped, the shorter padded with
//! NULL, as in Trino; `WITH ORDINALITY` adds `unnest(__trino_ordinals(arrays…))`; a LEFT JOIN
//! keeps rows whose arrays are empty or NULL (`__trino_unnest_arg(a, true)` turns those into
//! one NULL element). `__trino_unnest_arg` also refuses arrays of rows and maps, whose Trino
//! expansion into several columns this rewrite does not do.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    Expr, Ident, JoinConstraint, JoinOperator, ObjectName, ObjectNamePart, Query, Select,
    SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Spanned, TableAlias, TableFactor,
    TableWithJoins, Value, VisitMut, VisitorMut,
};

use crate::ast::call;
use crate::error::TrinoSqlError;

/// Rewrites the lateral UNNESTs of every SELECT of the query (not of nested queries, which
/// the rewriter visits on its own).
pub(crate) fn rewrite_query(query: &mut Query) -> Result<(), TrinoSqlError> {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return Ok(());
    };
    let mut renames: Vec<(String, Ident)> = Vec::new();
    rewrite_select(select, &mut renames)?;
    if renames.is_empty() {
        return Ok(());
    }
    let mut renamer = Renamer { renames: &renames };
    let _ = VisitMut::visit(select.as_mut(), &mut renamer);
    if let Some(order_by) = &mut query.order_by {
        let _ = VisitMut::visit(order_by, &mut renamer);
    }
    Ok(())
}

fn rewrite_select(
    select: &mut Select,
    renames: &mut Vec<(String, Ident)>,
) -> Result<(), TrinoSqlError> {
    // `FROM r, UNNEST(r.a) AS t(x)`: the UNNEST item joins the item before it.
    let mut i = 1;
    while i < select.from.len() {
        if select.from[i].joins.is_empty()
            && is_lateral_unnest(&select.from[i].relation)
            && select.from[i - 1].joins.is_empty()
        {
            let unnest = select.from.remove(i).relation;
            let left = &mut select.from[i - 1].relation;
            *left = lateral(left, unnest, false, renames)?;
        } else {
            i += 1;
        }
    }
    for item in &mut select.from {
        while let Some(first) = item.joins.first() {
            if !is_lateral_unnest(&first.relation) {
                break;
            }
            let outer = match &first.join_operator {
                JoinOperator::CrossJoin(JoinConstraint::None) => false,
                JoinOperator::Inner(JoinConstraint::On(on))
                | JoinOperator::Join(JoinConstraint::On(on))
                    if is_true(on) =>
                {
                    false
                }
                JoinOperator::Left(JoinConstraint::On(on))
                | JoinOperator::LeftOuter(JoinConstraint::On(on))
                    if is_true(on) =>
                {
                    true
                }
                _ => {
                    return Err(TrinoSqlError::at(
                        first.relation.span(),
                        "this join with UNNEST",
                        "use CROSS JOIN UNNEST, or LEFT JOIN UNNEST … ON TRUE",
                    ));
                }
            };
            let join = item.joins.remove(0);
            item.relation = lateral(&item.relation, join.relation, outer, renames)?;
        }
        if let Some(nested) = item.joins.iter().find(|j| is_lateral_unnest(&j.relation)) {
            return Err(TrinoSqlError::at(
                nested.relation.span(),
                "UNNEST of a column after a join of several relations",
                "join the UNNEST to the relation whose column it expands, in a subquery",
            ));
        }
    }
    Ok(())
}

fn is_true(expr: &Expr) -> bool {
    matches!(expr, Expr::Value(v) if v.value == Value::Boolean(true))
}

/// An UNNEST whose arguments refer to columns (literal arrays are planned as they are).
fn is_lateral_unnest(factor: &TableFactor) -> bool {
    let TableFactor::UNNEST { array_exprs, .. } = factor else {
        return false;
    };
    struct Columns(bool);
    impl datafusion::sql::sqlparser::ast::Visitor for Columns {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            if matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
                self.0 = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    let mut found = Columns(false);
    for e in array_exprs {
        let _ = datafusion::sql::sqlparser::ast::Visit::visit(e, &mut found);
    }
    found.0
}

fn alias_of(factor: &TableFactor) -> Option<Ident> {
    match factor {
        TableFactor::Table { alias: Some(a), .. } | TableFactor::Derived { alias: Some(a), .. } => {
            Some(a.name.clone())
        }
        TableFactor::Table {
            name, alias: None, ..
        } => match name.0.last() {
            Some(ObjectNamePart::Identifier(id)) => Some(id.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn lateral(
    left: &TableFactor,
    unnest: TableFactor,
    outer: bool,
    renames: &mut Vec<(String, Ident)>,
) -> Result<TableFactor, TrinoSqlError> {
    let span = unnest.span();
    let TableFactor::UNNEST {
        alias,
        array_exprs,
        with_offset,
        with_ordinality,
        ..
    } = unnest
    else {
        return Err(TrinoSqlError::at(span, "this UNNEST", ""));
    };
    if with_offset {
        return Err(TrinoSqlError::at(
            span,
            "UNNEST … WITH OFFSET",
            "use WITH ORDINALITY",
        ));
    }
    let Some(left_alias) = alias_of(left) else {
        return Err(TrinoSqlError::at(
            span,
            "UNNEST of a column of a relation without a name",
            "give the relation before UNNEST an alias",
        ));
    };
    let Some(alias) = alias else {
        return Err(TrinoSqlError::at(
            span,
            "UNNEST without AS t(columns)",
            "name the UNNEST's columns",
        ));
    };
    let wanted = array_exprs.len() + usize::from(with_ordinality);
    if alias.columns.len() != wanted {
        return Err(TrinoSqlError::at(
            span,
            "UNNEST with a column list that does not match its arrays (arrays of rows and maps expand to several columns)",
            "name one column per array",
        ));
    }
    let mut template = parse_template(&left_alias)?;
    let SetExpr::Select(select) = template.body.as_mut() else {
        return Err(TrinoSqlError::at(span, "UNNEST", "internal template"));
    };
    for (expr, column) in array_exprs.iter().zip(&alias.columns) {
        let arg = call(
            "__trino_unnest_arg",
            vec![expr.clone(), Expr::value(Value::Boolean(outer))],
        );
        select.projection.push(SelectItem::ExprWithAlias {
            expr: call("unnest", vec![arg]),
            alias: column.name.clone(),
        });
    }
    if with_ordinality {
        let mut args = array_exprs.clone();
        args.push(Expr::value(Value::Boolean(outer)));
        select.projection.push(SelectItem::ExprWithAlias {
            expr: call("unnest", vec![call("__trino_ordinals", args)]),
            alias: alias.columns[array_exprs.len()].name.clone(),
        });
    }
    select.from = vec![TableWithJoins {
        relation: left.clone(),
        joins: Vec::new(),
    }];
    renames.push((alias.name.value.to_ascii_lowercase(), left_alias.clone()));
    Ok(TableFactor::Derived {
        lateral: false,
        subquery: template,
        alias: Some(TableAlias {
            explicit: true,
            name: left_alias,
            columns: Vec::new(),
        }),
        sample: None,
    })
}

/// `SELECT <alias>.* FROM x`, whose projection and FROM are then filled in.
fn parse_template(alias: &Ident) -> Result<Box<Query>, TrinoSqlError> {
    let dialect = crate::dialect::TrinoDialect::default();
    let sql = "SELECT x.* FROM x";
    let mut statements = datafusion::sql::sqlparser::parser::Parser::parse_sql(&dialect, sql)
        .map_err(|e| TrinoSqlError::syntax(&e.to_string()))?;
    let Some(datafusion::sql::sqlparser::ast::Statement::Query(mut query)) = statements.pop()
    else {
        return Err(TrinoSqlError::syntax("UNNEST template"));
    };
    if let SetExpr::Select(select) = query.body.as_mut()
        && let Some(SelectItem::QualifiedWildcard(kind, _)) = select.projection.first_mut()
    {
        *kind = SelectItemQualifiedWildcardKind::ObjectName(ObjectName::from(vec![alias.clone()]));
    }
    Ok(query)
}

/// `t.x` → `r.x` for every UNNEST alias `t` folded into relation `r`.
struct Renamer<'a> {
    renames: &'a [(String, Ident)],
}

impl VisitorMut for Renamer<'_> {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Expr::CompoundIdentifier(parts) = expr
            && parts.len() >= 2
        {
            let first = parts[0].value.to_ascii_lowercase();
            if let Some((_, to)) = self.renames.iter().rev().find(|(from, _)| *from == first) {
                parts[0] = to.clone();
            }
        }
        ControlFlow::Continue(())
    }
}
