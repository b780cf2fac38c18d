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
//! one NULL element). More columns named than arrays means arrays of rows, whose fields become
//! the columns: the arrays are unnested into element columns and the fields read from them one
//! level up (`with_row_fields`). `__trino_unnest_arg` checks the element types when planned and
//! refuses maps, and rows where no expansion was asked for. UNNEST of literal arrays (no
//! relation) takes the same form, without the relation.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    ExcludeSelectItem, Expr, Ident, JoinConstraint, JoinOperator, ObjectName, ObjectNamePart,
    Query, Select, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Spanned, TableAlias,
    TableFactor, TableWithJoins, Value, VisitMut, VisitorMut,
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
    // UNNEST of arrays that read no column: a subquery of its own.
    for item in &mut select.from {
        for factor in std::iter::once(&mut item.relation)
            .chain(item.joins.iter_mut().map(|j| &mut j.relation))
        {
            if matches!(factor, TableFactor::UNNEST { .. }) && !is_lateral_unnest(factor) {
                let unnest = std::mem::replace(factor, placeholder());
                *factor = standalone(unnest)?;
            }
        }
    }
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
    let Some(left_alias) = alias_of(left) else {
        return Err(TrinoSqlError::at(
            span,
            "UNNEST of a column of a relation without a name",
            "give the relation before UNNEST an alias",
        ));
    };
    let parts = Parts::of(unnest)?;
    let mut template = parse_template(Some(&left_alias))?;
    let select = select_of(&mut template, span)?;
    select.projection.extend(parts.unnest_items(outer));
    select.from = vec![TableWithJoins {
        relation: left.clone(),
        joins: Vec::new(),
    }];
    renames.push((
        parts.alias.name.value.to_ascii_lowercase(),
        left_alias.clone(),
    ));
    parts.with_row_fields(derived(template, &left_alias), &left_alias, true, span)
}

/// `FROM UNNEST(ARRAY[…], …) [WITH ORDINALITY] AS t(…)` (arrays that read no column): the same
/// projection form without a relation, so that NULL padding, ordinality and arrays of rows are
/// Trino's here too.
fn standalone(unnest: TableFactor) -> Result<TableFactor, TrinoSqlError> {
    let span = unnest.span();
    let parts = Parts::of(unnest)?;
    let name = parts.alias.name.clone();
    let mut template = parse_template(None)?;
    let select = select_of(&mut template, span)?;
    select.projection = parts.unnest_items(false);
    parts.with_row_fields(derived(template, &name), &name, false, span)
}

/// An UNNEST's arrays and the columns it names.
struct Parts {
    arrays: Vec<Expr>,
    alias: TableAlias,
    with_ordinality: bool,
    /// More columns named than arrays: arrays of rows, whose fields become one column each
    /// (Trino's expansion; which array gives which columns is known once the element types
    /// are, so the fields are read through `__trino_unnest_flat` when planned).
    expand_rows: bool,
}

impl Parts {
    fn of(unnest: TableFactor) -> Result<Parts, TrinoSqlError> {
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
        let Some(alias) = alias else {
            return Err(TrinoSqlError::at(
                span,
                "UNNEST without AS t(columns)",
                "name the UNNEST's columns",
            ));
        };
        let named = alias
            .columns
            .len()
            .saturating_sub(usize::from(with_ordinality));
        if named < array_exprs.len() {
            return Err(TrinoSqlError::at(
                span,
                "UNNEST with fewer columns than arrays",
                "name one column per array (one per field for arrays of rows)",
            ));
        }
        Ok(Parts {
            expand_rows: named > array_exprs.len(),
            arrays: array_exprs,
            alias,
            with_ordinality,
        })
    }

    /// The named columns, without the ordinality.
    fn named(&self) -> &[datafusion::sql::sqlparser::ast::TableAliasColumnDef] {
        &self.alias.columns[..self.alias.columns.len() - usize::from(self.with_ordinality)]
    }

    fn ordinality(&self) -> Option<Ident> {
        self.with_ordinality.then(|| {
            self.alias.columns[self.alias.columns.len() - 1]
                .name
                .clone()
        })
    }

    /// The column array `i` is unnested into while its rows still have to be expanded.
    fn element_column(i: usize) -> Ident {
        Ident::new(format!("{ELEMENT_COLUMN}{i}"))
    }

    /// `unnest(…) AS column` for every array, and the ordinality.
    fn unnest_items(&self, outer: bool) -> Vec<SelectItem> {
        let mut items = Vec::new();
        for (i, expr) in self.arrays.iter().enumerate() {
            let mut args = vec![expr.clone(), Expr::value(Value::Boolean(outer))];
            if self.expand_rows {
                args.push(Expr::value(Value::Boolean(true)));
            }
            items.push(SelectItem::ExprWithAlias {
                expr: call("unnest", vec![call("__trino_unnest_arg", args)]),
                alias: if self.expand_rows {
                    Self::element_column(i)
                } else {
                    self.named()[i].name.clone()
                },
            });
        }
        if let Some(ordinality) = self.ordinality() {
            let mut args = self.arrays.clone();
            args.push(Expr::value(Value::Boolean(outer)));
            items.push(SelectItem::ExprWithAlias {
                expr: call("unnest", vec![call("__trino_ordinals", args)]),
                alias: ordinality,
            });
        }
        items
    }

    /// For arrays of rows, `SELECT [r.* EXCLUDE (elements…),] flat[1] AS a, flat[2] AS b, …
    /// FROM (…) AS r` around the unnested relation, where `flat` is
    /// `__trino_unnest_flat(elements…, width)`: every element's fields (a non-row element is one
    /// field) in order. Otherwise the relation as it is.
    fn with_row_fields(
        &self,
        unnested: TableFactor,
        alias: &Ident,
        keep_other_columns: bool,
        span: datafusion::sql::sqlparser::tokenizer::Span,
    ) -> Result<TableFactor, TrinoSqlError> {
        if !self.expand_rows {
            return Ok(unnested);
        }
        let elements: Vec<Ident> = (0..self.arrays.len()).map(Self::element_column).collect();
        let mut fields = parse_template(Some(alias))?;
        let select = select_of(&mut fields, span)?;
        match select.projection.first_mut() {
            // The relation's own columns, then the fields, then the ordinality (Trino's order).
            Some(SelectItem::QualifiedWildcard(_, options)) if keep_other_columns => {
                let mut excluded = elements.clone();
                excluded.extend(self.ordinality());
                options.opt_exclude = Some(ExcludeSelectItem::Multiple(excluded));
            }
            _ => select.projection.clear(),
        }
        let named = self.named();
        let mut flat_args: Vec<Expr> = elements
            .iter()
            .map(|e| Expr::CompoundIdentifier(vec![alias.clone(), e.clone()]))
            .collect();
        flat_args.push(number(named.len()));
        let flat = call("__trino_unnest_flat", flat_args);
        for (i, column) in named.iter().enumerate() {
            select.projection.push(SelectItem::ExprWithAlias {
                expr: call("__trino_subscript", vec![flat.clone(), number(i + 1)]),
                alias: column.name.clone(),
            });
        }
        if let Some(ordinality) = self.ordinality() {
            select.projection.push(SelectItem::ExprWithAlias {
                expr: Expr::CompoundIdentifier(vec![alias.clone(), ordinality.clone()]),
                alias: ordinality,
            });
        }
        select.from = vec![TableWithJoins {
            relation: unnested,
            joins: Vec::new(),
        }];
        Ok(derived(fields, alias))
    }
}

/// A plain number (the `long` flag keeps the literal rewrite from typing it as an integer
/// cast: the functions reading it need a literal when planned).
fn number(n: usize) -> Expr {
    Expr::value(Value::Number(n.to_string(), true))
}

fn select_of(
    query: &mut Query,
    span: datafusion::sql::sqlparser::tokenizer::Span,
) -> Result<&mut Select, TrinoSqlError> {
    match query.body.as_mut() {
        SetExpr::Select(select) => Ok(select),
        _ => Err(TrinoSqlError::at(span, "UNNEST", "internal template")),
    }
}

/// A FROM item to hold a place while the one it replaces is rewritten.
fn placeholder() -> TableFactor {
    TableFactor::Table {
        name: ObjectName::from(vec![Ident::new("__trino_unnest")]),
        alias: None,
        args: None,
        with_hints: Vec::new(),
        version: None,
        with_ordinality: false,
        partitions: Vec::new(),
        json_path: None,
        sample: None,
        index_hints: Vec::new(),
    }
}

/// The columns arrays of rows are unnested into before their fields become columns.
const ELEMENT_COLUMN: &str = "__trino_unnest_element";

fn derived(subquery: Box<Query>, alias: &Ident) -> TableFactor {
    TableFactor::Derived {
        lateral: false,
        subquery,
        alias: Some(TableAlias {
            explicit: true,
            name: alias.clone(),
            columns: Vec::new(),
        }),
        sample: None,
    }
}

/// `SELECT <alias>.* FROM x` (or `SELECT 1` without an alias), whose projection and FROM are
/// then filled in.
fn parse_template(alias: Option<&Ident>) -> Result<Box<Query>, TrinoSqlError> {
    let Some(alias) = alias else {
        return parse_query("SELECT 1");
    };
    let mut query = parse_query("SELECT x.* FROM x")?;
    if let SetExpr::Select(select) = query.body.as_mut()
        && let Some(SelectItem::QualifiedWildcard(kind, _)) = select.projection.first_mut()
    {
        *kind = SelectItemQualifiedWildcardKind::ObjectName(ObjectName::from(vec![alias.clone()]));
    }
    Ok(query)
}

fn parse_query(sql: &str) -> Result<Box<Query>, TrinoSqlError> {
    let dialect = crate::dialect::TrinoDialect::default();
    let mut statements = datafusion::sql::sqlparser::parser::Parser::parse_sql(&dialect, sql)
        .map_err(|e| TrinoSqlError::syntax(&e.to_string()))?;
    match statements.pop() {
        Some(datafusion::sql::sqlparser::ast::Statement::Query(query)) => Ok(query),
        _ => Err(TrinoSqlError::syntax("UNNEST template")),
    }
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
