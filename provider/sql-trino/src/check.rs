//! The allow-list: every function and syntax node of a statement must be one whose Trino
//! semantics this layer gives. Anything else is refused with its position, so a model never
//! silently gets DataFusion's answer where Athena's would differ.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::OnceLock;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, CastKind, Expr, SetExpr, Spanned, Statement, TableFactor, UnaryOperator, Visit,
    Visitor,
};

use crate::ast::function_name;
use crate::error::TrinoSqlError;
use crate::functions;

/// DataFusion built-ins whose results (values and types) are Trino's for the argument types
/// Trino accepts; everything else DataFusion has is refused unless the layer replaces it.
const VERIFIED_BUILTINS: &[&str] = &[
    // aggregates
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "stddev",
    "stddev_samp",
    "stddev_pop",
    "variance",
    "var_samp",
    "var_pop",
    "corr",
    "covar_samp",
    "covar_pop",
    "bool_and",
    "bool_or",
    "array_agg",
    // window functions
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
    // scalars
    "coalesce",
    "nullif",
    "current_date",
    "random",
];

/// Names rewritten before planning (not functions of the registry).
const REWRITTEN: &[&str] = &["if", "try", "listagg", "rand"];

/// Every function name the layer accepts, sorted.
pub(crate) fn supported_functions() -> &'static BTreeSet<String> {
    static NAMES: OnceLock<BTreeSet<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: BTreeSet<String> = VERIFIED_BUILTINS
            .iter()
            .chain(REWRITTEN)
            .chain(functions::lambda_function_names())
            .map(|s| s.to_string())
            .collect();
        for f in functions::scalar_functions() {
            if !f.name().starts_with("__") {
                names.insert(f.name().to_string());
            }
            names.extend(f.aliases().iter().cloned());
        }
        for f in functions::aggregate_functions() {
            names.insert(f.name().to_string());
            names.extend(f.aliases().iter().cloned());
        }
        names
    })
}

/// Collects every refused construct of a parsed statement.
pub(crate) fn check_statement(statement: &Statement) -> Vec<TrinoSqlError> {
    let mut checker = Checker { errors: Vec::new() };
    match statement {
        Statement::Query(_) => {
            let _ = statement.visit(&mut checker);
        }
        other => checker.errors.push(TrinoSqlError::at(
            other.span(),
            "a statement other than a query",
            "models and queries are one SELECT, WITH or VALUES",
        )),
    }
    checker.errors
}

struct Checker {
    errors: Vec<TrinoSqlError>,
}

impl Checker {
    fn refuse(&mut self, node: &impl Spanned, construct: &str, hint: &str) {
        self.errors
            .push(TrinoSqlError::at(node.span(), construct, hint));
    }
}

impl Visitor for Checker {
    type Break = ();

    fn pre_visit_query(
        &mut self,
        query: &datafusion::sql::sqlparser::ast::Query,
    ) -> ControlFlow<()> {
        if query.fetch.is_some() {
            self.refuse(query, "FETCH FIRST", "use LIMIT");
        }
        if let SetExpr::Select(select) = query.body.as_ref()
            && select.top.is_some()
        {
            self.refuse(query, "TOP", "use LIMIT");
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        match factor {
            TableFactor::Table { args: None, .. }
            | TableFactor::Derived { .. }
            | TableFactor::NestedJoin { .. } => {}
            TableFactor::UNNEST { with_offset, .. } => {
                if *with_offset {
                    self.refuse(factor, "UNNEST … WITH OFFSET", "use WITH ORDINALITY");
                }
            }
            other => self.refuse(other, "this kind of FROM item", ""),
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Identifier(_)
            | Expr::CompoundIdentifier(_)
            | Expr::Nested(_)
            | Expr::IsNull(_)
            | Expr::IsNotNull(_)
            // Two-valued tests of a boolean: DataFusion's agree with Trino's (NULL IS TRUE is
            // false, NULL IS UNKNOWN true).
            | Expr::IsTrue(_)
            | Expr::IsNotTrue(_)
            | Expr::IsFalse(_)
            | Expr::IsNotFalse(_)
            | Expr::IsUnknown(_)
            | Expr::IsNotUnknown(_)
            | Expr::IsDistinctFrom(..)
            | Expr::IsNotDistinctFrom(..)
            | Expr::InList { .. }
            | Expr::InSubquery { .. }
            | Expr::Between { .. }
            | Expr::Case { .. }
            | Expr::Exists { .. }
            | Expr::Subquery(_)
            | Expr::TypedString(_)
            | Expr::Interval(_)
            | Expr::Array(_)
            | Expr::CompoundFieldAccess { .. }
            | Expr::AtTimeZone { .. }
            | Expr::Extract { .. }
            | Expr::Substring { .. }
            | Expr::Position { .. }
            | Expr::Trim { .. }
            | Expr::Ceil { .. }
            | Expr::Floor { .. }
            | Expr::Lambda(_) => {}
            Expr::Value(v) => {
                use datafusion::sql::sqlparser::ast::Value as V;
                match &v.value {
                    V::Number(..)
                    | V::SingleQuotedString(_)
                    | V::HexStringLiteral(_)
                    | V::Boolean(_)
                    | V::Null
                    | V::UnicodeStringLiteral(_) => {}
                    _ => self.refuse(expr, &format!("the literal {v}"), ""),
                }
            }
            Expr::Like {
                any: false,
                negated: _,
                ..
            } => {}
            Expr::Like { .. } => self.refuse(expr, "LIKE ANY", ""),
            Expr::ILike { .. } => {
                self.refuse(expr, "ILIKE", "Trino has no ILIKE: use lower(x) LIKE …")
            }
            Expr::UnaryOp { op, .. } => {
                if !matches!(
                    op,
                    UnaryOperator::Not | UnaryOperator::Minus | UnaryOperator::Plus
                ) {
                    self.refuse(expr, &format!("the operator {op}"), "");
                }
            }
            Expr::BinaryOp { op, left, right }
                if matches!(op, BinaryOperator::Multiply | BinaryOperator::Divide)
                    && (is_interval(left) || is_interval(right)) =>
            {
                self.refuse(
                    expr,
                    &format!("an interval under the operator {op}"),
                    "the embedded engine cannot scale an interval: write date_add('second', n, ts) for ts + n * INTERVAL '1' SECOND, or an interval literal of the product",
                );
            }
            Expr::BinaryOp { op, .. } => {
                use BinaryOperator as B;
                if !matches!(
                    op,
                    B::Plus
                        | B::Minus
                        | B::Multiply
                        | B::Divide
                        | B::Modulo
                        | B::StringConcat
                        | B::Gt
                        | B::Lt
                        | B::GtEq
                        | B::LtEq
                        | B::Eq
                        | B::NotEq
                        | B::And
                        | B::Or
                ) {
                    self.refuse(expr, &format!("the operator {op}"), "");
                }
            }
            Expr::Cast { kind, .. } => {
                // CAST and TRY_CAST are parsed into calls; what is left is `x::type`.
                if *kind != CastKind::Cast {
                    self.refuse(expr, "the :: cast", "use CAST(x AS type)");
                }
            }
            Expr::Function(f) => {
                let name = function_name(f);
                if name.starts_with("__trino_") {
                    return ControlFlow::Continue(());
                }
                if f.name.0.len() > 1 {
                    self.refuse(
                        &f.name,
                        &format!("the qualified function name {}", f.name),
                        "",
                    );
                } else if !supported_functions().contains(&name) {
                    self.refuse(
                        &f.name,
                        &format!("function {name}"),
                        "see docs/sql-functions.md for what is supported",
                    );
                }
            }
            other => {
                let text = other.to_string();
                let short: String = text.chars().take(40).collect();
                self.refuse(other, &format!("the expression `{short}`"), "");
            }
        }
        ControlFlow::Continue(())
    }
}

/// An interval literal, parenthesized or not.
fn is_interval(expr: &Expr) -> bool {
    match expr {
        Expr::Interval(_) => true,
        Expr::Nested(inner) => is_interval(inner),
        _ => false,
    }
}
