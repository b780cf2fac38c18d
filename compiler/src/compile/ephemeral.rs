//! Ephemeral models, inlined as dbt-core inlines them: a ref to one renders `__dbt__cte__<alias>`,
//! and the referring node's SQL gets a CTE of that name holding the ephemeral model's SQL (its
//! own ephemeral refs first), after its top-level `with` or in a new one.

use std::collections::HashMap;

/// The prefix dbt gives an ephemeral model's CTE.
pub(crate) const CTE_PREFIX: &str = "__dbt__cte__";

/// An ephemeral model's compiled SQL before its own CTEs were injected, and the ephemeral
/// models it refs, in ref order.
pub(super) struct Ephemeral {
    pub alias: String,
    pub sql: String,
    pub sql_with_markers: String,
    /// Every node it refs (ephemeral or not) and the sources it reads, in first-use order.
    pub refs: Vec<String>,
    pub sources: Vec<(String, String)>,
}

/// The SQL as dbt compiles it.
pub(super) fn values(ephemeral: &Ephemeral) -> &str {
    &ephemeral.sql
}

/// The SQL with deferred-var markers.
pub(super) fn markers(ephemeral: &Ephemeral) -> &str {
    &ephemeral.sql_with_markers
}

/// What a node reads once its ephemeral refs are inlined: the non-ephemeral refs, and the
/// sources, of it and of every ephemeral model it inlines.
pub(super) fn expand(
    refs: &[String],
    sources: &[(String, String)],
    ephemerals: &HashMap<String, Ephemeral>,
) -> (Vec<String>, Vec<(String, String)>) {
    let mut out_refs = Vec::new();
    let mut out_sources: Vec<(String, String)> = sources.to_vec();
    let mut pending: Vec<&String> = refs.iter().rev().collect();
    let mut seen = std::collections::HashSet::new();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        match ephemerals.get(name) {
            Some(ephemeral) => {
                pending.extend(ephemeral.refs.iter().rev());
                for source in &ephemeral.sources {
                    if !out_sources.contains(source) {
                        out_sources.push(source.clone());
                    }
                }
            }
            None => out_refs.push(name.clone()),
        }
    }
    (out_refs, out_sources)
}

/// The CTEs a node that refs `refs` needs, dependencies first, each once: `(name, cte sql)`.
pub(super) fn ctes(
    refs: &[String],
    ephemerals: &HashMap<String, Ephemeral>,
    pick: fn(&Ephemeral) -> &str,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for name in refs {
        add(name, ephemerals, pick, &mut out, 0);
    }
    out
}

fn add(
    name: &str,
    ephemerals: &HashMap<String, Ephemeral>,
    pick: fn(&Ephemeral) -> &str,
    out: &mut Vec<(String, String)>,
    depth: usize,
) {
    let Some(ephemeral) = ephemerals.get(name) else {
        return;
    };
    // The graph has no cycles (checked before); the bound only guards against a bug looping.
    if depth > 64 {
        return;
    }
    for inner in &ephemeral.refs {
        add(inner, ephemerals, pick, out, depth + 1);
    }
    let cte = format!(
        " {CTE_PREFIX}{} as (\n{}\n)",
        ephemeral.alias,
        pick(ephemeral)
    );
    match out.iter_mut().find(|(n, _)| n == name) {
        Some(existing) => existing.1 = cte,
        None => out.push((name.to_string(), cte)),
    }
}

/// dbt's `inject_ctes_into_sql`: after a top-level `with` (or `with recursive`), the CTEs and
/// a comma; without one, `with` and the CTEs before the first token.
pub(super) fn inject(sql: &str, ctes: &[(String, String)]) -> String {
    if ctes.is_empty() {
        return sql.to_string();
    }
    let joined: Vec<&str> = ctes.iter().map(|(_, cte)| cte.as_str()).collect();
    let joined = joined.join(", ");
    match top_level_with(sql) {
        Some(after_with) => format!("{}{joined}, {}", &sql[..after_with], &sql[after_with..]),
        None => {
            let first = sql.len() - sql.trim_start().len();
            format!("{}with{joined} {}", &sql[..first], &sql[first..])
        }
    }
}

/// The offset just after the top-level `with` keyword (or `with recursive`), if any: outside
/// parentheses, strings and comments, as sqlparse groups a statement.
fn top_level_with(sql: &str) -> Option<usize> {
    let bytes = sql.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    let mut after_with: Option<usize> = None;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\'' | b'"' | b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != c {
                    i += 1;
                }
                i += 1;
                if after_with.is_some() {
                    return after_with;
                }
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |end| i + 2 + end + 2);
                continue;
            }
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let word = &sql[start..i];
                if let Some(end) = after_with {
                    // The token after `with`: `recursive` extends it, anything else ends it.
                    return Some(if word.eq_ignore_ascii_case("recursive") {
                        i
                    } else {
                        end
                    });
                }
                if depth == 0 && word.eq_ignore_ascii_case("with") {
                    after_with = Some(i);
                }
                continue;
            }
            c if c.is_ascii_whitespace() => {}
            _ if after_with.is_some() => return after_with,
            _ => {}
        }
        i += 1;
    }
    after_with
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctes_go_after_with_or_in_a_new_one() {
        let ctes = vec![(
            "e".to_string(),
            " __dbt__cte__e as (\nselect 1\n)".to_string(),
        )];
        assert_eq!(
            inject("with a as (select 1) select * from a", &ctes),
            "with __dbt__cte__e as (\nselect 1\n),  a as (select 1) select * from a"
        );
        assert_eq!(
            inject("\n-- note\nwith a as (select 1) select 1", &ctes),
            "\n-- note\nwith __dbt__cte__e as (\nselect 1\n),  a as (select 1) select 1"
        );
        assert_eq!(
            inject("  select * from __dbt__cte__e", &ctes),
            "  with __dbt__cte__e as (\nselect 1\n) select * from __dbt__cte__e"
        );
        assert_eq!(
            inject("select (with x as (select 1) select 1)", &ctes),
            "with __dbt__cte__e as (\nselect 1\n) select (with x as (select 1) select 1)"
        );
    }

    #[test]
    fn nested_ephemerals_come_first_once() {
        let mut ephemerals = HashMap::new();
        for (name, refs) in [("a", vec![]), ("b", vec!["a".to_string()])] {
            ephemerals.insert(
                name.to_string(),
                Ephemeral {
                    alias: name.to_string(),
                    sql: format!("select '{name}'"),
                    sql_with_markers: String::new(),
                    refs,
                    sources: Vec::new(),
                },
            );
        }
        let names: Vec<String> = ctes(&["b".into(), "a".into()], &ephemerals, values)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["a", "b"]);
    }
}
