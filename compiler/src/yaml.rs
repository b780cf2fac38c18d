//! Reading YAML (dbt_project.yml, profiles.yml, properties, packages.yml, `--vars`): nesting
//! limited before parsing, merge keys (`<<: *anchor`) applied as PyYAML does, and keys found
//! again by path, so an error about a value can point at the line that wrote it.

use serde_json::Value as Json;

use crate::error::{Diagnostic, Location, Result};
use crate::values::yaml_to_json;

/// Deeper flow nesting (`[[[…]]]`) than any real project uses. libyaml's scanner takes time
/// quadratic in the flow depth, so this is checked before the parser sees the text.
const MAX_FLOW_DEPTH: usize = 64;

/// Parses a YAML document into JSON values. `file` names it in errors (`--vars` for the flag).
pub(crate) fn parse(file: &str, text: &str) -> Result<Json> {
    check_depth(file, text)?;
    // Straight into JSON values is twice as fast as going through serde_norway::Value; keys
    // that are not strings (`1: x`) and merge keys need the general path.
    if !text.contains("<<") {
        match serde_norway::from_str::<Unique>(text) {
            Ok(Unique(json)) => return Ok(json),
            Err(err) if err.to_string().starts_with(DUPLICATE) => {
                return Err(error(file, text, &err));
            }
            Err(_) => {}
        }
    }
    let mut yaml: serde_norway::Value =
        serde_norway::from_str(text).map_err(|err| error(file, text, &err))?;
    yaml.apply_merge().map_err(|err| {
        Diagnostic::new(format!("invalid YAML merge key (`<<`): {err}"))
            .at(Location::of_text(file, text, "<<"))
            .help("`<<:` takes an alias of a mapping (`<<: *defaults`) or a list of them")
    })?;
    Ok(yaml_to_json(&yaml))
}

const DUPLICATE: &str = "duplicate entry with key";

/// A JSON value read straight from YAML, refusing a key written twice in one mapping (PyYAML
/// keeps the last one silently; dbt warns that this will become an error).
struct Unique(Json);

impl<'de> serde::Deserialize<'de> for Unique {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Unique(value) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("{DUPLICATE} \"{key}\"")));
            }
            out.insert(key, value);
        }
        Ok(Json::Object(out))
    }
}

/// Turns a YAML parse error into a diagnostic at the position the parser reports (for a
/// duplicate key, the parser reports its mapping: point at the second occurrence instead).
fn error(file: &str, text: &str, err: &serde_norway::Error) -> Diagnostic {
    let message = err.to_string();
    // serde_norway appends " at line L column C" to its messages; the location goes on its own line.
    let message = match message.find(" at line ") {
        Some(cut) => message[..cut].to_string(),
        None => message,
    };
    let diagnostic = Diagnostic::new(format!("invalid YAML: {message}")).help(
        "fix the YAML syntax at this position (indentation, a missing `:` or an unclosed quote)",
    );
    if let Some(key) = message
        .strip_prefix("duplicate entry with key \"")
        .and_then(|rest| rest.strip_suffix('"'))
        && let Some(location) = second_occurrence(file, text, key, err.location())
    {
        return diagnostic
            .at(location)
            .help(format!("`{key}` is written twice in one mapping; keep one"));
    }
    match err.location() {
        Some(loc) => diagnostic.at(Location::new(file, loc.line(), loc.column())),
        None => diagnostic.in_file(file),
    }
}

/// The second line, from the duplicated mapping's start on, that writes `key:` at the indentation
/// of the first one.
fn second_occurrence(
    file: &str,
    text: &str,
    key: &str,
    mapping: Option<serde_norway::Location>,
) -> Option<Location> {
    let skip = mapping.map_or(0, |m| m.line().saturating_sub(1));
    let mut first_indent = None;
    for (index, line) in text.lines().enumerate().skip(skip) {
        let content = line.trim_start();
        let entry = content.strip_prefix("- ").unwrap_or(content);
        if !key_matches(entry, key) {
            continue;
        }
        let column = line.len() - entry.len();
        match first_indent {
            None => first_indent = Some(column),
            Some(indent) if indent == column => {
                return Some(Location::new(file, index + 1, column + 1));
            }
            Some(_) => {}
        }
    }
    None
}

/// Rejects flow nesting deeper than [`MAX_FLOW_DEPTH`] in one linear pass. Brackets inside
/// quoted scalars and comments do not count; a plain scalar's brackets may, which only matters
/// for texts that would be rejected anyway.
fn check_depth(file: &str, text: &str) -> Result<()> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    let mut token_start = true;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'#' if token_start => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'\'' | b'"' if token_start => {
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' if c == b'"' => i += 1,
                        b'\'' if c == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 1,
                        q if q == c => break,
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Err(Diagnostic::new(format!(
                        "YAML nested more than {MAX_FLOW_DEPTH} levels deep"
                    ))
                    .at(Location::at_offset(file, text, i))
                    .help("flatten this value; dbt projects never need this much nesting"));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        token_start = matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'[' | b'{' | b',' | b':');
        i += 1;
    }
    Ok(())
}

/// One step of a path into a YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// A mapping key.
    Key(String),
    /// The list entry whose `name:` is this.
    Named(String),
    /// The n-th entry of a list (from 0).
    Index(usize),
}

impl Step {
    pub(crate) fn key(key: &str) -> Step {
        Step::Key(key.to_string())
    }

    pub(crate) fn named(name: &str) -> Step {
        Step::Named(name.to_string())
    }
}

/// Where the value at `path` is written, found by indentation (block style, as dbt projects
/// are written). Steps that cannot be found (flow style, keys produced by merge keys) leave
/// the location at the deepest step found, or the file's start.
pub(crate) fn locate(file: &str, text: &str, path: &[Step]) -> Location {
    let lines: Vec<(usize, &str)> = {
        let mut offset = 0;
        text.split_inclusive('\n')
            .map(|line| {
                let start = offset;
                offset += line.len();
                (start, line.trim_end_matches(['\n', '\r']))
            })
            .collect()
    };
    let mut found: Option<(usize, usize)> = None; // (line index, column of the key)
    let mut parent_indent: Option<usize> = None;
    let mut from = 0;
    // After a list entry was found: the text after its dash, which holds its first key.
    let mut dash_entry: Option<(usize, usize, &str)> = None;
    for step in path {
        if let (Step::Key(key), Some((index, column, entry))) = (step, dash_entry.take())
            && key_matches(entry, key)
        {
            found = Some((index, column));
            parent_indent = Some(column);
            continue;
        }
        let mut hit = None;
        let mut items_seen = 0;
        // Only the parent's direct children: lines at the indentation of its first child.
        let mut child_indent = None;
        for (index, (_, line)) in lines.iter().enumerate().skip(from) {
            let content = line.trim_start();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let indent = line.len() - content.len();
            if parent_indent.is_some_and(|parent| indent <= parent) {
                break; // left the parent's block
            }
            if *child_indent.get_or_insert(indent) != indent {
                continue;
            }
            let entry = content.strip_prefix("- ").map_or(content, str::trim_start);
            let key_column = line.len() - entry.len();
            let is_item = content.starts_with("- ") || content == "-";
            let matches = match step {
                Step::Key(key) => key_matches(entry, key),
                Step::Named(name) => {
                    key_matches(entry, "name")
                        && entry
                            .split_once(':')
                            .is_some_and(|(_, v)| v.trim().trim_matches(['\'', '"']) == name)
                }
                Step::Index(n) if is_item => {
                    items_seen += 1;
                    items_seen == n + 1
                }
                Step::Index(_) => false,
            };
            if matches {
                // A list entry's other keys are indented past its dash; a key's children past it.
                let block_indent = match step {
                    Step::Named(_) | Step::Index(_) => indent,
                    Step::Key(_) => key_column,
                };
                hit = Some((index, key_column, block_indent));
                break;
            }
        }
        match hit {
            Some((index, column, block_indent)) => {
                found = Some((index, column));
                parent_indent = Some(block_indent);
                from = index + 1;
                if matches!(step, Step::Index(_) | Step::Named(_)) {
                    let line = lines[index].1;
                    let content = line.trim_start();
                    let entry = content.strip_prefix("- ").map_or(content, str::trim_start);
                    dash_entry = Some((index, line.len() - entry.len(), entry));
                }
            }
            None => break,
        }
    }
    match found {
        Some((index, column)) => Location::new(file, index + 1, column + 1),
        None => Location::new(file, 1, 1),
    }
}

fn key_matches(entry: &str, key: &str) -> bool {
    for quote in ["", "'", "\""] {
        if let Some(rest) = entry
            .strip_prefix(quote)
            .and_then(|r| r.strip_prefix(key))
            .and_then(|r| r.strip_prefix(quote))
            && rest.trim_start().starts_with(':')
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_flow_nesting_is_rejected_fast() {
        let text = format!("x: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        let err = parse("f.yml", &text).unwrap_err();
        assert!(err.message.contains("nested more than"), "{err}");
        assert_eq!(err.location.unwrap().column, 4 + MAX_FLOW_DEPTH);
        // Brackets in strings and comments do not count.
        let text = format!("x: '{}'\n# {}\ny: [[1]]", "[".repeat(100), "{".repeat(100));
        assert!(parse("f.yml", &text).is_ok());
    }

    #[test]
    fn merge_keys_apply() {
        let json = parse("f.yml", "base: &b {a: 1, b: 2}\nother:\n  <<: *b\n  b: 3\n").unwrap();
        assert_eq!(json["other"], serde_json::json!({"a": 1, "b": 3}));
    }

    #[test]
    fn paths_are_located_by_indentation() {
        let text = "name: x\nmodels:\n  x:\n    +materialized: view\n    staging:\n      +materialized: 123\nseeds:\n  - name: a\n    config:\n      x: 1\n";
        let at = |path: &[&str]| {
            let steps: Vec<Step> = path
                .iter()
                .map(|p| match (p.strip_prefix('='), p.parse::<usize>()) {
                    (Some(name), _) => Step::named(name),
                    (None, Ok(n)) => Step::Index(n),
                    (None, Err(_)) => Step::key(p),
                })
                .collect();
            let l = locate("f", text, &steps);
            (l.line, l.column)
        };
        assert_eq!(at(&["models", "x", "staging", "+materialized"]), (6, 7));
        assert_eq!(at(&["models", "x", "+materialized"]), (4, 5));
        assert_eq!(at(&["seeds", "=a", "config", "x"]), (10, 7));
        assert_eq!(at(&["seeds", "0", "config"]), (9, 5));
        assert_eq!(at(&["seeds", "0", "name"]), (8, 5));
        // Not found below `models.x`: the deepest step found.
        assert_eq!(at(&["models", "x", "nope"]), (3, 3));
    }
}
