//! The output column names of a compiled model, read from its SQL the way Athena (Trino) names
//! them: a column reference or a dereference is named by its last part, an alias by the alias,
//! any other expression `_col<position>`; `*` and `t.*` expand to the columns of the relations
//! they read, when those are known (a CTE, a subquery, or a relation the catalog knows).
//! Names are lower case, as Glue stores them. Anything this cannot work out for certain is
//! an [`Unresolved`] with the reason: a wrong column list would be a wrong answer.

use std::collections::HashMap;

use sqlparser::ast::{
    Expr, Ident, ObjectName, ObjectNamePart, Query, Select, SelectItem,
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

/// What the caller knows of a relation named in the SQL (lower-case name parts).
pub(crate) enum Lookup {
    Known(Vec<String>),
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
pub(crate) fn output_columns(
    sql: &str,
    lookup: &dyn Fn(&[String]) -> Lookup,
) -> Result<Vec<String>, Unresolved> {
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
    ctes: Vec<HashMap<String, Result<Vec<String>, Unresolved>>>,
}

/// A relation in a FROM clause: what it is called there and its columns, which are only
/// needed (and so only an error) when a `*` reads them.
struct FromItem {
    names: Vec<String>,
    columns: Result<Vec<String>, Unresolved>,
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

    fn query(&mut self, query: &Query) -> Result<Vec<String>, Unresolved> {
        let pushed = query.with.is_some();
        if let Some(with) = &query.with {
            if with.recursive {
                return unknown("it has a recursive CTE");
            }
            self.ctes.push(HashMap::new());
            for cte in &with.cte_tables {
                // Only an error if a `*` reads it.
                let columns = if cte.alias.columns.is_empty() {
                    self.query(&cte.query)
                } else {
                    Ok(cte.alias.columns.iter().map(|c| ident(&c.name)).collect())
                };
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

    fn set_expr(&mut self, body: &SetExpr) -> Result<Vec<String>, Unresolved> {
        match body {
            SetExpr::Select(select) => self.select(select),
            SetExpr::Query(query) => self.query(query),
            // A set operation is named by its first query, as in Trino.
            SetExpr::SetOperation { left, right, .. } => {
                let names = self.set_expr(left)?;
                let other = self.set_expr(right)?;
                if other.len() != names.len() {
                    return unknown("the queries of its set operation have different widths");
                }
                Ok(names)
            }
            SetExpr::Values(values) => {
                let width = values.rows.first().map_or(0, |row| row.len());
                Ok((0..width).map(|i| format!("_col{i}")).collect())
            }
            other => unknown(format!(
                "it is not a select ({})",
                first_words(&other.to_string())
            )),
        }
    }

    fn select(&mut self, select: &Select) -> Result<Vec<String>, Unresolved> {
        let mut from = Vec::new();
        for table in &select.from {
            self.table_with_joins(table, &mut from)?;
        }
        let mut names = Vec::new();
        for item in &select.projection {
            match item {
                SelectItem::ExprWithAlias { alias, .. } => names.push(ident(alias)),
                SelectItem::UnnamedExpr(expr) => {
                    let position = names.len();
                    names.push(expr_name(expr).unwrap_or_else(|| format!("_col{position}")));
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
            }),
        }
    }

    fn relation(&self, parts: &[String], name: &ObjectName) -> Result<Vec<String>, Unresolved> {
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
    columns: Result<Vec<String>, Unresolved>,
    alias: Option<&sqlparser::ast::TableAlias>,
) -> FromItem {
    match alias {
        Some(alias) => FromItem {
            names: vec![ident(&alias.name)],
            columns: if alias.columns.is_empty() {
                columns
            } else {
                Ok(alias.columns.iter().map(|c| ident(&c.name)).collect())
            },
        },
        None => FromItem { names, columns },
    }
}

fn first_words(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().take(4).collect();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(parts: &[String]) -> Lookup {
        match parts.join(".").as_str() {
            "db.s.seed" => Lookup::Known(vec!["id".into(), "name".into()]),
            "db.s.other" => Lookup::Known(vec!["id".into(), "amount".into()]),
            "db.s.later" => Lookup::Waiting,
            _ => Lookup::Unknown("a source, whose columns only the warehouse knows".into()),
        }
    }

    fn columns(sql: &str) -> Result<Vec<String>, Unresolved> {
        output_columns(sql, &catalog)
    }

    fn names(sql: &str) -> Vec<String> {
        columns(sql).unwrap_or_else(|err| panic!("{sql}: {err:?}"))
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
