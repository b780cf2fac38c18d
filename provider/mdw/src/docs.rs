//! The registry docs' argument and attribute tables, generated from the schemas so they cannot
//! drift: `docs/**/*.md` hold them between `<!-- schema:arguments -->` / `<!-- schema:attributes -->`
//! markers, this test renders them from the code and fails on any difference.
//! `MDW_UPDATE_DOCS=1 cargo test -p terraform-provider-mdw docs` rewrites them.

use std::path::{Path, PathBuf};

use tfplugin::schema::AttributeKind;
use tfplugin::{Attribute, Nesting, Provider, Schema, Type, Value};

use crate::models::model_group;
use crate::provider::MdwProvider;

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// What kind of value an argument takes, when it is not a string.
fn type_note(attribute: &Attribute) -> Option<&'static str> {
    match &attribute.kind {
        AttributeKind::Nested(Nesting::Map, _) => Some("map of objects"),
        AttributeKind::Nested(..) => Some("object"),
        AttributeKind::Typed(Type::Bool) => Some("bool"),
        AttributeKind::Typed(Type::Number) => Some("number"),
        AttributeKind::Typed(Type::Map(_)) => Some("map"),
        AttributeKind::Typed(Type::List(_) | Type::Set(_)) => Some("list"),
        AttributeKind::Typed(Type::Object(_)) => Some("object"),
        _ => None,
    }
}

fn literal(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{s:?}`"),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("`{}`", n.canonical()),
        Value::List(items) if items.is_empty() => "`[]`".to_string(),
        other => format!("`{other:?}`"),
    }
}

fn is_argument(attribute: &Attribute) -> bool {
    attribute.required || attribute.optional
}

/// One line of the arguments table per argument, nested ones as `block.name`.
fn argument_rows(attributes: &[Attribute], prefix: &str, rows: &mut Vec<String>) {
    for a in attributes.iter().filter(|a| is_argument(a)) {
        let mut notes = vec![if a.required { "required" } else { "optional" }.to_string()];
        notes.extend(type_note(a).map(str::to_string));
        if let Some(default) = &a.default {
            notes.push(format!("default {}", literal(default)));
        }
        if a.requires_replace {
            notes.push("forces replacement".to_string());
        }
        if a.sensitive {
            notes.push("sensitive".to_string());
        }
        let name = format!("{prefix}{}", a.name);
        rows.push(format!(
            "| `{name}` | {} | {} |",
            notes.join(", "),
            a.description.replace('|', "\\|")
        ));
        match &a.kind {
            AttributeKind::Nested(Nesting::Map, inner) => {
                argument_rows(inner, &format!("{name}.<key>."), rows);
            }
            AttributeKind::Nested(_, inner) => argument_rows(inner, &format!("{name}."), rows),
            AttributeKind::Typed(_) => {}
        }
    }
}

fn arguments_table(schema: &Schema) -> String {
    let mut rows = vec![
        "| name | | description |".to_string(),
        "|---|---|---|".to_string(),
    ];
    argument_rows(&schema.attributes, "", &mut rows);
    rows.join("\n")
}

fn attributes_table(schema: &Schema) -> String {
    let mut rows = vec![
        "| name | description |".to_string(),
        "|---|---|".to_string(),
    ];
    attribute_rows(&schema.attributes, "", &mut rows);
    rows.join("\n")
}

/// The computed attributes, also those inside nested arguments (`models.<key>.build_id`).
fn attribute_rows(attributes: &[Attribute], prefix: &str, rows: &mut Vec<String>) {
    for a in attributes {
        let name = format!("{prefix}{}", a.name);
        if !is_argument(a) {
            rows.push(format!(
                "| `{name}` | {} |",
                a.description.replace('|', "\\|")
            ));
            continue;
        }
        match &a.kind {
            AttributeKind::Nested(Nesting::Map, inner) => {
                attribute_rows(inner, &format!("{name}.<key>."), rows);
            }
            AttributeKind::Nested(_, inner) => attribute_rows(inner, &format!("{name}."), rows),
            AttributeKind::Typed(_) => {}
        }
    }
}

/// Puts `content` between `<!-- schema:NAME -->` and `<!-- /schema:NAME -->` in `text`.
fn fill(text: &str, name: &str, content: &str) -> Option<String> {
    let open = format!("<!-- schema:{name} -->");
    let close = format!("<!-- /schema:{name} -->");
    let start = text.find(&open)? + open.len();
    let end = start + text[start..].find(&close)?;
    Some(format!("{}\n{content}\n{}", &text[..start], &text[end..]))
}

/// Every page and the schema it documents.
fn pages() -> Vec<(PathBuf, Schema)> {
    let provider = MdwProvider;
    let mut pages = vec![(docs_dir().join("index.md"), provider.schema())];
    for resource in provider.resources() {
        let name = resource.type_name().trim_start_matches("mdw_");
        pages.push((
            docs_dir().join(format!("resources/{name}.md")),
            resource.schema(),
        ));
    }
    for source in provider.data_sources() {
        let name = source.type_name().trim_start_matches("mdw_");
        pages.push((
            docs_dir().join(format!("data-sources/{name}.md")),
            source.schema(),
        ));
    }
    pages
}

fn every_attribute(attributes: &[Attribute], out: &mut Vec<String>, prefix: &str) {
    for a in attributes {
        if a.description.trim().is_empty() {
            out.push(format!("{prefix}{}", a.name));
        }
        if let AttributeKind::Nested(_, inner) = &a.kind {
            every_attribute(inner, out, &format!("{prefix}{}.", a.name));
        }
    }
}

#[test]
fn every_attribute_has_a_description() {
    let mut missing = Vec::new();
    for (page, schema) in pages() {
        let mut here = Vec::new();
        every_attribute(&schema.attributes, &mut here, "");
        missing.extend(here.into_iter().map(|a| format!("{}: {a}", page.display())));
    }
    assert!(
        missing.is_empty(),
        "attributes without a description:\n{}",
        missing.join("\n")
    );
}

#[test]
fn docs_tables_match_the_schemas() {
    let update = std::env::var_os("MDW_UPDATE_DOCS").is_some();
    let mut stale = Vec::new();
    for (page, schema) in pages() {
        let text =
            std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        let generated = fill(&text, "arguments", &arguments_table(&schema))
            .and_then(|t| {
                let mut computed = Vec::new();
                attribute_rows(&schema.attributes, "", &mut computed);
                if !computed.is_empty() {
                    fill(&t, "attributes", &attributes_table(&schema))
                } else {
                    Some(t)
                }
            })
            .unwrap_or_else(|| {
                panic!(
                    "{} has no <!-- schema:arguments --> … <!-- /schema:arguments --> markers (and \
                     schema:attributes when it has computed attributes)",
                    page.display()
                )
            });
        // A page may also document the keys of a JSON argument (mdw_model_group's models).
        let generated = if generated.contains("<!-- schema:definition -->") {
            let definition = Schema::new("", model_group::definition_attributes());
            fill(&generated, "definition", &arguments_table(&definition)).unwrap_or(generated)
        } else {
            generated
        };
        if generated != text {
            if update {
                std::fs::write(&page, generated).expect("writing the docs page");
            } else {
                stale.push(page.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "docs out of date with the schema: {}\nrun MDW_UPDATE_DOCS=1 cargo test -p terraform-provider-mdw docs",
        stale.join(", ")
    );
}
