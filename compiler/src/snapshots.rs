//! Snapshot files: the `{% snapshot name %} … {% endsnapshot %}` block of each `.sql` file under
//! the snapshot paths, as dbt's snapshot parser reads it. The block's body becomes the node's
//! template; everything before it is blanked (newlines kept, other characters as spaces), so an
//! error inside the body points at the line and column of the file.

use crate::error::{Diagnostic, Location, Result};
use crate::project::{SourceFile, is_identifier};

/// One snapshot block.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotBlock {
    /// The block's name (`{% snapshot <name> %}`).
    pub name: String,
    /// The file's path and the block's body, positioned as in the file.
    pub file: SourceFile,
    /// Where the body starts in `file.text` (what is before it is blank).
    pub body_start: usize,
}

/// The template name of a snapshot: its file's path, `<path>#<name>` for one defined in yml
/// (where several share a file).
pub(crate) fn template_name(path: &str, name: &str) -> String {
    if path.ends_with(".yml") || path.ends_with(".yaml") {
        format!("{path}#{name}")
    } else {
        path.to_string()
    }
}

/// A snapshot defined in properties yml (dbt 1.9+): `relation: ref('x')` or `source('s', 't')`.
/// dbt's query for it is `select * from {{ <relation> }}`.
pub(crate) fn from_yml(name: &str, relation: &str, file: &str, line: usize) -> SnapshotBlock {
    // The query on the line of its `relation:`, so errors in it point there.
    let blank = "\n".repeat(line.saturating_sub(1));
    SnapshotBlock {
        name: name.to_string(),
        body_start: blank.len(),
        file: SourceFile {
            path: file.to_string(),
            text: format!("{blank}select * from {{{{ {relation} }}}}"),
        },
    }
}

impl SnapshotBlock {
    pub(crate) fn template(&self) -> String {
        template_name(&self.file.path, &self.name)
    }

    /// `rendered` without the blank that stands for what precedes the block in the file.
    pub(crate) fn without_padding<'a>(&self, rendered: &'a str) -> &'a str {
        rendered
            .strip_prefix(&self.file.text[..self.body_start])
            .unwrap_or(rendered)
    }
}

/// A `{% … %}` tag: where it starts and ends, and its words.
struct Tag<'a> {
    start: usize,
    end: usize,
    words: Vec<&'a str>,
}

fn tags(text: &str) -> Vec<Tag<'_>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("{%") {
        let start = from + at;
        let Some(close) = text[start + 2..].find("%}") else {
            break;
        };
        let end = start + 2 + close + 2;
        let inner = text[start + 2..end - 2].trim_matches(['-', '+']).trim();
        out.push(Tag {
            start,
            end,
            words: inner.split_whitespace().collect(),
        });
        from = end;
    }
    out
}

/// The snapshot blocks of one file (none when it holds no snapshot).
pub(crate) fn blocks(file: &SourceFile) -> Result<Option<SnapshotBlock>> {
    let text = &file.text;
    let tags = tags(text);
    let mut opened: Option<(&Tag, String)> = None;
    let mut found: Option<SnapshotBlock> = None;
    for tag in &tags {
        match tag.words.first().copied() {
            Some("snapshot") => {
                let at = Location::at_offset(&file.path, text, tag.start);
                if opened.is_some() {
                    return Err(Diagnostic::new("a snapshot block inside another")
                        .at(at)
                        .help("close the first block with {% endsnapshot %}"));
                }
                let name = tag.words.get(1).copied().unwrap_or_default();
                if !is_identifier(name) || tag.words.len() != 2 {
                    return Err(Diagnostic::new(format!(
                        "snapshot block name '{name}' is not valid"
                    ))
                    .at(at)
                    .help("write {% snapshot my_snapshot %} (letters, digits and underscores)"));
                }
                if let Some(first) = &found {
                    return Err(Diagnostic::new(format!(
                        "a second snapshot ('{name}') in {}, after '{}'",
                        file.path, first.name
                    ))
                    .at(at)
                    .help(
                        "mdwc reads one snapshot per file: move this block to a file of its own",
                    ));
                }
                opened = Some((tag, name.to_string()));
            }
            Some("endsnapshot") => {
                let Some((open, name)) = opened.take() else {
                    return Err(Diagnostic::new("{% endsnapshot %} without {% snapshot %}")
                        .at(Location::at_offset(&file.path, text, tag.start))
                        .help("remove it, or open the block with {% snapshot name %}"));
                };
                let blank: String = text[..open.end]
                    .chars()
                    .map(|c| if c == '\n' { '\n' } else { ' ' })
                    .collect();
                found = Some(SnapshotBlock {
                    name,
                    body_start: blank.len(),
                    file: SourceFile {
                        path: file.path.clone(),
                        text: format!("{blank}{}", &text[open.end..tag.start]),
                    },
                });
            }
            _ => {}
        }
    }
    if let Some((open, name)) = opened {
        return Err(Diagnostic::new(format!("snapshot '{name}' is not closed"))
            .at(Location::at_offset(&file.path, text, open.start))
            .help("end the block with {% endsnapshot %}"));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> SourceFile {
        SourceFile {
            path: "snapshots/s.sql".into(),
            text: text.into(),
        }
    }

    #[test]
    fn the_body_keeps_its_place_in_the_file() {
        let block = blocks(&file(
            "{% snapshot orders_snapshot %}\nselect 1\n{% endsnapshot %}\n",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(block.name, "orders_snapshot");
        let body = &block.file.text;
        assert_eq!(body.trim(), "select 1");
        assert_eq!(
            body.find("select"),
            Some("{% snapshot orders_snapshot %}\n".len())
        );
    }

    #[test]
    fn malformed_blocks_are_errors() {
        assert!(blocks(&file("{% snapshot a %} select 1")).is_err());
        assert!(blocks(&file("select 1 {% endsnapshot %}")).is_err());
        assert!(
            blocks(&file(
                "{% snapshot a %}select 1{% endsnapshot %}{% snapshot b %}select 2{% endsnapshot %}"
            ))
            .is_err()
        );
        assert!(blocks(&file("{% snapshot a-b %}select 1{% endsnapshot %}")).is_err());
        assert!(blocks(&file("select 1")).unwrap().is_none());
    }
}
