//! Names that must stay apart: two nodes may not share a Terraform resource (names that
//! sanitize to the same one) or a Glue table (Glue lower-cases names), and every relation name
//! must be one Glue can store unchanged.

use std::collections::HashMap;

use crate::emit::terraform::resource_name;
use crate::error::{Diagnostic, Location};
use crate::jinja::objects::Relation;

/// Glue stores database and table names in lower case and Athena reads only these characters:
/// accept what round-trips unchanged.
pub(crate) fn is_glue_name(name: &str) -> bool {
    (1..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A model or seed, for the checks.
pub(crate) struct Named<'a> {
    /// `model` or `seed`.
    pub kind: &'static str,
    /// dbt's search name (`m`, or `m.v2` for a model version).
    pub name: String,
    pub file: &'a str,
    pub relation: &'a Relation,
    /// Where the relation's name comes from (the config call, or the file).
    pub location: Location,
}

/// Every clash and every invalid name among `nodes`, each with the node to blame.
pub(crate) fn check<'n, 'a>(nodes: &'n [Named<'a>]) -> Vec<(&'n Named<'a>, Diagnostic)> {
    let mut errors = Vec::new();
    let mut resources: HashMap<String, &Named> = HashMap::new();
    let mut tables: HashMap<(String, String), &Named> = HashMap::new();
    for node in nodes {
        let resource = format!("{}_{}", node.kind, resource_name(&node.name)).to_lowercase();
        if let Some(other) = resources.get(&resource) {
            errors.push((
                node,
                Diagnostic::new(format!(
                    "{} '{}' ({}) and {} '{}' ({}) would be one Terraform resource, `{}`",
                    other.kind, other.name, other.file, node.kind, node.name, node.file,
                    resource_name(&node.name)
                ))
                .node(node.kind, &node.name)
                .at(Location::new(node.file, 1, 1))
                .help("rename one of the two files: names differing only in case or in characters other than letters, digits, `_` and `-` collide"),
            ));
            continue;
        }
        resources.insert(resource, node);
        let table = (
            node.relation.schema.to_lowercase(),
            node.relation.identifier.to_lowercase(),
        );
        if let Some(other) = tables.get(&table) {
            errors.push((
                node,
                Diagnostic::new(format!(
                    "{} '{}' ({}) and {} '{}' ({}) are both built as table {}.{} (Glue names are lower case)",
                    other.kind, other.name, other.file, node.kind, node.name, node.file,
                    table.0, table.1
                ))
                .node(node.kind, &node.name)
                .at(node.location.clone())
                .help("give one of them another alias or schema, or rename its file"),
            ));
            continue;
        }
        tables.insert(table, node);
    }
    // Invalid names after clashes: a clash names both files, which says more.
    for node in nodes {
        for (what, name) in [
            ("schema", &node.relation.schema),
            ("table", &node.relation.identifier),
        ] {
            if !is_glue_name(name) {
                errors.push((
                    node,
                    Diagnostic::new(format!(
                        "'{name}' is not a valid Glue {what} name ({} '{}')",
                        node.kind, node.name
                    ))
                    .node(node.kind, &node.name)
                    .at(node.location.clone())
                    .help(format!(
                        "Glue stores names in lower case and Athena reads only letters, digits and `_`: use 1–255 of those{}",
                        if what == "table" { " (set alias='...' or rename the file)" } else { "" }
                    )),
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named<'a>(name: &'a str, relation: &'a Relation) -> Named<'a> {
        Named {
            kind: "model",
            name: name.to_string(),
            file: name,
            relation,
            location: Location::new(name, 1, 1),
        }
    }

    #[test]
    fn clashes_and_bad_names_are_found() {
        let a = Relation::new("c", "s", "a", "table");
        let upper_a = Relation::new("c", "s", "A", "table");
        let b = Relation::new("c", "s", "b", "table");
        let space = Relation::new("c", "s", "my model", "table");
        let underscore = Relation::new("c", "s", "my_model", "table");
        assert!(check(&[named("a", &a), named("b", &b)]).is_empty());
        let nodes = [named("A", &upper_a), named("a", &a)];
        let errors: Vec<&str> = check(&nodes)
            .into_iter()
            .map(|(node, _)| node.name.as_str())
            .collect();
        // Both are one resource (blamed on the second); 'A' is no Glue name.
        assert_eq!(errors, ["a", "A"]);
        let nodes = [named("my model", &space), named("my_model", &underscore)];
        assert!(
            check(&nodes)
                .iter()
                .any(|(_, e)| e.message.contains("one Terraform resource"))
        );
        assert!(is_glue_name("stg_orders_2") && !is_glue_name("Orders") && !is_glue_name(""));
    }
}
