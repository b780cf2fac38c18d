//! The output column names of a compiled model, read from its SQL the way Athena (Trino) names
//! them: a column reference or a dereference is named by its last part, an alias by the alias,
//! any other expression `_col<position>`; `*` and `t.*` expand to the columns of the relations
//! they read, when those are known (a CTE, a subquery, or a relation the catalog knows).
//! Names are lower case, as Glue stores them. Anything this cannot work out for certain is
//! an [`Unresolved`] with the reason: a wrong column list would be a wrong answer.
//!
//! A column's type is known only where the SQL fixes it: a `CAST`/`TRY_CAST` to a type, or a
//! column read unchanged from a relation whose column types are known (a seed's, say). Any
//! other expression's type would need Trino's typing rules, so it is left unknown.

use std::collections::HashMap;

use mdw_sql_types::SqlType;
use serde::Serialize;
use sqlparser::ast::{
    CastKind, Expr, Ident, ObjectName, ObjectNamePart, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, Statement, TableFactor, TableWithJoins,
    WildcardAdditionalOptions,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

/// Why the columns are not known (yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unresolved {
    /// They depend on a relation whose columns are not known yet: its key.
    Waiting(Vec<String>),
    /// They cannot be known without the warehouse.
    Unknown(String),
}

/// One column of a relation the project builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnownColumn {
    /// As Glue names it (lower case).
    pub name: String,
    /// Its type, when it is known before the build (see the module's doc).
    pub sql_type: Option<SqlType>,
}

impl KnownColumn {
    /// A column whose type only the build will tell.
    pub(crate) fn untyped(name: String) -> Self {
        KnownColumn {
            name,
            sql_type: None,
        }
    }

    /// The type Glue will store for it (`bigint`, `string`, `decimal(10,2)`, …), which is what
    /// dbt-athena's `get_columns_in_relation` reports as its `dtype`.
    pub fn glue_type(&self) -> Option<String> {
        self.sql_type.and_then(SqlType::glue_name)
    }
}

type Columns = Result<Vec<KnownColumn>, Unresolved>;

/// What the caller knows of a relation named in the SQL (lower-case name parts).
pub(crate) enum Lookup {
    Known(Vec<KnownColumn>),
    /// A relation the project builds whose columns are not known yet.
    Waiting,
    /// Not known, with the reason (a source, a relation outside the project, …).
    Unknown(String),
}

/// The lower-case name parts of a relation as written in SQL (`"db"."Schema".t` →
/// `[db, schema, t]`): the key relations are looked up by.
pub(crate) fn relation_key(rendered: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = rendered.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    parts.push(current);
    parts.iter().map(|p| p.trim().to_lowercase()).collect()
}

/// The output columns of `sql` (one query), looking relations up with `lookup`.
pub(crate) fn output_columns(sql: &str, lookup: &dyn Fn(&[String]) -> Lookup) -> Columns {
    let statements = Parser::parse_sql(&GenericDialect {}, sql).map_err(|err| {
        Unresolved::Unknown(format!(
            "mdwc could not read its SQL to find the columns ({err})"
        ))
    })?;
    match statements.as_slice() {
        [Statement::Query(query)] => Scope::new(lookup).query(query),
        _ => Err(Unresolved::Unknown(
            "its SQL is not one select statement".to_string(),
        )),
    }
}

/// The CTEs visible at a point of the query, innermost last.
struct Scope<'a> {
    lookup: &'a dyn Fn(&[String]) -> Lookup,
    ctes: Vec<HashMap<String, Columns>>,
}

/// A relation in a FROM clause: what it is called there and its columns, which are only
/// needed (and so only an error) when a `*` reads them.
struct FromItem {
    names: Vec<String>,
    columns: Columns,
    /// Stands for a USING or NATURAL join's merged columns, whose types are Trino's common
    /// super type of both sides.
    merged: bool,
}

fn ident(ident: &Ident) -> String {
    ident.value.to_lowercase()
}

fn unknown<T>(reason: impl Into<String>) -> Result<T, Unresolved> {
    Err(Unresolved::Unknown(reason.into()))
}

fn name_parts(name: &ObjectName) -> Result<Vec<String>, Unresolved> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(id) => Ok(ident(id)),
            ObjectNamePart::Function(_) => unknown(format!("it reads `{name}`")),
        })
        .collect()
}

impl<'a> Scope<'a> {
    fn new(lookup: &'a dyn Fn(&[String]) -> Lookup) -> Scope<'a> {
        Scope {
            lookup,
            ctes: Vec::new(),
        }
    }

    fn query(&mut self, query: &Query) -> Columns {
        let pushed = query.with.is_some();
        if let Some(with) = &query.with {
            if with.recursive {
                return unknown("it has a recursive CTE");
            }
            self.ctes.push(HashMap::new());
            for cte in &with.cte_tables {
                // Only an error if a `*` reads it.
                let columns = self.query(&cte.query);
                let names: Vec<String> = cte.alias.columns.iter().map(|c| ident(&c.name)).collect();
                let columns = renamed(columns, names);
                if let Some(level) = self.ctes.last_mut() {
                    level.insert(ident(&cte.alias.name), columns);
                }
            }
        }
        let result = self.set_expr(&query.body);
        if pushed {
            self.ctes.pop();
        }
        result
    }

    fn set_expr(&mut self, body: &SetExpr) -> Columns {
        match body {
            SetExpr::Select(select) => self.select(select),
            SetExpr::Query(query) => self.query(query),
            // A set operation is named by its first query, as in Trino.
            SetExpr::SetOperation { left, right, .. } => {
                let mut columns = self.set_expr(left)?;
                let other = self.set_expr(right)?;
                if other.len() != columns.len() {
                    return unknown("the queries of its set operation have different widths");
                }
                // Trino unifies the types of each position: known only when they agree.
                for (column, other) in columns.iter_mut().zip(other) {
                    if column.sql_type != other.sql_type {
                        column.sql_type = None;
                    }
                }
                Ok(columns)
            }
            SetExpr::Values(values) => {
                let width = values.rows.first().map_or(0, |row| row.len());
                Ok((0..width)
                    .map(|i| KnownColumn::untyped(format!("_col{i}")))
                    .collect())
            }
            other => unknown(format!(
                "it is not a select ({})",
                first_words(&other.to_string())
            )),
        }
    }

    fn select(&mut self, select: &Select) -> Columns {
        let mut from = Vec::new();
        for table in &select.from {
            self.table_with_joins(table, &mut from)?;
        }
        let mut names = Vec::new();
        for item in &select.projection {
            match item {
                SelectItem::ExprWithAlias { alias, expr } => names.push(KnownColumn {
                    name: ident(alias),
                    sql_type: expr_type(expr, &from),
                }),
                SelectItem::UnnamedExpr(expr) => {
                    let position = names.len();
                    names.push(KnownColumn {
                        name: expr_name(expr).unwrap_or_else(|| format!("_col{position}")),
                        sql_type: expr_type(expr, &from),
                    });
                }
                SelectItem::Wildcard(options) => {
                    plain_wildcard(options)?;
                    if from.is_empty() {
                        return unknown("it selects `*` from no relation");
                    }
                    for item in &from {
                        names.extend(item.columns.clone()?);
                    }
                }
                SelectItem::QualifiedWildcard(kind, options) => {
                    plain_wildcard(options)?;
                    let SelectItemQualifiedWildcardKind::ObjectName(name) = kind else {
                        return unknown(format!("it selects `{kind}`"));
                    };
                    let parts = name_parts(name)?;
                    let found = from.iter().find(|item| {
                        item.names.len() >= parts.len()
                            && item.names[item.names.len() - parts.len()..] == parts[..]
                    });
                    match found {
                        Some(item) => names.extend(item.columns.clone()?),
                        None => {
                            return unknown(format!(
                                "it selects `{name}.*` of no relation it reads"
                            ));
                        }
                    }
                }
            }
        }
        Ok(names)
    }

    fn table_with_joins(
        &mut self,
        table: &TableWithJoins,
        from: &mut Vec<FromItem>,
    ) -> Result<(), Unresolved> {
        from.push(self.table_factor(&table.relation)?);
        for join in &table.joins {
            // `USING` and `NATURAL` merge the join columns, which changes what `*` is (not
            // what `t.*` is).
            let text = format!("{:?}", join.join_operator).to_uppercase();
            if text.contains("USING") || text.contains("NATURAL") {
                from.push(FromItem {
                    names: Vec::new(),
                    columns: unknown("it selects `*` of a join with USING or NATURAL"),
                    merged: true,
                });
            }
            from.push(self.table_factor(&join.relation)?);
        }
        Ok(())
    }

    fn table_factor(&mut self, factor: &TableFactor) -> Result<FromItem, Unresolved> {
        match factor {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                if args.is_some() {
                    return unknown(format!("it reads the table function `{name}`"));
                }
                let parts = name_parts(name)?;
                let columns = self.relation(&parts, name);
                Ok(aliased(parts, columns, alias.as_ref()))
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                let columns = self.query(subquery);
                Ok(aliased(Vec::new(), columns, alias.as_ref()))
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                let mut inner = Vec::new();
                self.table_with_joins(table_with_joins, &mut inner)?;
                let columns = inner
                    .into_iter()
                    .map(|item| item.columns)
                    .collect::<Result<Vec<_>, _>>()
                    .map(|all| all.concat());
                Ok(aliased(Vec::new(), columns, alias.as_ref()))
            }
            other => Ok(FromItem {
                names: Vec::new(),
                columns: unknown(format!("it reads `{}`", first_words(&other.to_string()))),
                merged: false,
            }),
        }
    }

    fn relation(&self, parts: &[String], name: &ObjectName) -> Columns {
        if let [single] = parts {
            for level in self.ctes.iter().rev() {
                if let Some(columns) = level.get(single) {
                    return columns.clone();
                }
            }
        }
        match (self.lookup)(parts) {
            Lookup::Known(columns) => Ok(columns),
            Lookup::Waiting => Err(Unresolved::Waiting(parts.to_vec())),
            Lookup::Unknown(reason) => unknown(format!("it reads {name}, {reason}")),
        }
    }
}

fn plain_wildcard(options: &WildcardAdditionalOptions) -> Result<(), Unresolved> {
    let plain = options.opt_ilike.is_none()
        && options.opt_exclude.is_none()
        && options.opt_except.is_none()
        && options.opt_replace.is_none()
        && options.opt_rename.is_none();
    if plain {
        Ok(())
    } else {
        unknown(format!("it selects `*{options}`"))
    }
}

/// Trino's name for a select item without an alias: a column's or a field's name.
fn expr_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(id) => Some(ident(id)),
        Expr::CompoundIdentifier(parts) => parts.last().map(ident),
        Expr::Nested(inner) => expr_name(inner),
        _ => None,
    }
}

fn aliased(
    names: Vec<String>,
    columns: Columns,
    alias: Option<&sqlparser::ast::TableAlias>,
) -> FromItem {
    match alias {
        Some(alias) => FromItem {
            names: vec![ident(&alias.name)],
            columns: renamed(
                columns,
                alias.columns.iter().map(|c| ident(&c.name)).collect(),
            ),
            merged: false,
        },
        None => FromItem {
            names,
            columns,
            merged: false,
        },
    }
}

/// `columns` under the names of a column list (`t(a, b)`), their types kept where the widths
/// agree; no list leaves them as they are.
fn renamed(columns: Columns, names: Vec<String>) -> Columns {
    if names.is_empty() {
        return columns;
    }
    let types: Vec<Option<SqlType>> = match &columns {
        Ok(columns) if columns.len() == names.len() => columns.iter().map(|c| c.sql_type).collect(),
        _ => vec![None; names.len()],
    };
    Ok(names
        .into_iter()
        .zip(types)
        .map(|(name, sql_type)| KnownColumn { name, sql_type })
        .collect())
}

/// The type of a select item, where the SQL fixes it (see the module's doc).
fn expr_type(expr: &Expr, from: &[FromItem]) -> Option<SqlType> {
    match expr {
        Expr::Cast {
            kind: CastKind::Cast | CastKind::TryCast,
            data_type,
            array: false,
            format: None,
            ..
        } => {
            // A bare `decimal` is decimal(38,0) in Trino and (38,10) in DataFusion.
            let written = data_type.to_string();
            let bare_decimal = matches!(
                written.to_ascii_lowercase().as_str(),
                "decimal" | "numeric" | "dec"
            );
            (!bare_decimal).then(|| written.parse().ok()).flatten()
        }
        Expr::Nested(inner) => expr_type(inner, from),
        // A column of one relation read, whose type is known. Were it a column of two, Trino
        // would refuse the query as ambiguous.
        Expr::Identifier(id) => {
            if from.iter().any(|item| item.merged) {
                return None;
            }
            let name = ident(id);
            let mut found = from
                .iter()
                .filter_map(|item| item.columns.as_ref().ok())
                .flatten()
                .filter(|c| c.name == name);
            match (found.next(), found.next()) {
                (Some(column), None) => column.sql_type,
                _ => None,
            }
        }
        Expr::CompoundIdentifier(parts) => {
            let (column, qualifier) = parts.split_last()?;
            let qualifier: Vec<String> = qualifier.iter().map(ident).collect();
            let item = from.iter().find(|item| {
                item.names.len() >= qualifier.len()
                    && item.names[item.names.len() - qualifier.len()..] == qualifier[..]
            })?;
            let name = ident(column);
            let columns = item.columns.as_ref().ok()?;
            columns.iter().find(|c| c.name == name)?.sql_type
        }
        _ => None,
    }
}

fn first_words(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().take(4).collect();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(columns: &[(&str, Option<SqlType>)]) -> Lookup {
        Lookup::Known(
            columns
                .iter()
                .map(|(name, sql_type)| KnownColumn {
                    name: name.to_string(),
                    sql_type: *sql_type,
                })
                .collect(),
        )
    }

    fn catalog(parts: &[String]) -> Lookup {
        match parts.join(".").as_str() {
            "db.s.seed" => typed(&[
                ("id", Some(SqlType::Bigint)),
                ("name", Some(SqlType::Varchar)),
            ]),
            "db.s.other" => typed(&[("id", None), ("amount", None)]),
            "db.s.later" => Lookup::Waiting,
            _ => Lookup::Unknown("a source, whose columns only the warehouse knows".into()),
        }
    }

    fn columns(sql: &str) -> Result<Vec<String>, Unresolved> {
        output_columns(sql, &catalog).map(|cs| cs.into_iter().map(|c| c.name).collect())
    }

    fn names(sql: &str) -> Vec<String> {
        columns(sql).unwrap_or_else(|err| panic!("{sql}: {err:?}"))
    }

    /// `name:type` of each column, `?` where the type is not known.
    fn types(sql: &str) -> Vec<String> {
        output_columns(sql, &catalog)
            .unwrap_or_else(|err| panic!("{sql}: {err:?}"))
            .into_iter()
            .map(|c| match c.sql_type {
                Some(t) => format!("{}:{t}", c.name),
                None => format!("{}:?", c.name),
            })
            .collect()
    }

    #[test]
    fn types_are_known_where_the_sql_fixes_them() {
        assert_eq!(
            types(
                "select cast(amount as date) as d, try_cast(x as varchar(3)) as v, (cast(1 as double)) as f, \
                 id, s.name, amount, upper(name) as u, cast(1 as json) as j from db.s.seed s join db.s.other o on true"
            ),
            [
                "d:date",
                "v:varchar",
                "f:double",
                "id:?",
                "name:varchar",
                "amount:?",
                "u:?",
                "j:?"
            ]
        );
        assert_eq!(
            types("with a(k, n) as (select * from db.s.seed) select * from a"),
            ["k:bigint", "n:varchar"]
        );
        assert_eq!(
            types("select id, name from db.s.seed union all select cast(1 as bigint), 'x'"),
            ["id:bigint", "name:?"]
        );
        assert_eq!(types("select id from db.s.seed"), ["id:bigint"]);
        assert_eq!(
            types(
                "select id, s.name, cast(1 as decimal) as d from db.s.seed s join db.s.seed t using (id)"
            ),
            ["id:?", "name:varchar", "d:?"]
        );
    }

    #[test]
    fn names_follow_trino() {
        assert_eq!(
            names(
                r#"select ID, t.Name, "Quoted" as "Alias", 1, upper(name) as u, cast(id as int) from "db"."s"."seed" t"#
            ),
            ["id", "name", "alias", "_col3", "u", "_col5"]
        );
    }

    #[test]
    fn stars_expand_from_what_is_read() {
        assert_eq!(names(r#"select * from "db"."s"."seed""#), ["id", "name"]);
        assert_eq!(
            names(r#"select o.*, s.name as n from db.s.other o join db.s.seed s on o.id = s.id"#),
            ["id", "amount", "n"]
        );
        assert_eq!(
            names(
                "with a as (select id, 2 as two from db.s.seed), b(x, y) as (select * from a) select * from b"
            ),
            ["x", "y"]
        );
        assert_eq!(
            names("select * from (select name from db.s.seed) as sub union all select 'x'"),
            ["name"]
        );
        assert_eq!(
            names("select * from (values (1, 2)) as v(a, b)"),
            ["a", "b"]
        );
    }

    #[test]
    fn what_cannot_be_known_says_why() {
        assert_eq!(
            columns("select * from db.s.later"),
            Err(Unresolved::Waiting(vec![
                "db".into(),
                "s".into(),
                "later".into()
            ]))
        );
        let Err(Unresolved::Unknown(reason)) = columns("select * from raw.orders") else {
            panic!("a source's columns are not known")
        };
        assert!(reason.contains("raw.orders"), "{reason}");
        for sql in [
            "select * from db.s.seed join db.s.other using (id)",
            "select * from unnest(array[1])",
            "select a from x; select b from y",
            "select 1 union select 1, 2",
            "this is not sql",
        ] {
            assert!(matches!(columns(sql), Err(Unresolved::Unknown(_))), "{sql}");
        }
        // A column list needs no lookup of what is read.
        assert_eq!(names("select id, name from raw.orders"), ["id", "name"]);
    }

    #[test]
    fn relation_keys_fold_case_and_quotes() {
        assert_eq!(relation_key(r#""DB"."a.b".T"#), ["db", "a.b", "t"]);
        assert_eq!(relation_key("__dbt__cte__x"), ["__dbt__cte__x"]);
    }
}
