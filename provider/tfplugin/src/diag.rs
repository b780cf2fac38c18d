//! Diagnostics: what the user sees, pointing at the attribute that caused it.

use std::fmt;

use crate::proto::tfplugin6 as pb;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One step into a value: an attribute, a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Attribute(String),
    Key(String),
    Index(i64),
}

/// Where in the configuration a diagnostic points, e.g. `endpoints.s3` or `tags["env"]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttributePath(pub Vec<PathStep>);

impl AttributePath {
    pub fn root(attribute: &str) -> Self {
        AttributePath(vec![PathStep::Attribute(attribute.to_string())])
    }

    pub fn attribute(mut self, name: &str) -> Self {
        self.0.push(PathStep::Attribute(name.to_string()));
        self
    }

    pub fn key(mut self, key: &str) -> Self {
        self.0.push(PathStep::Key(key.to_string()));
        self
    }

    pub fn index(mut self, index: i64) -> Self {
        self.0.push(PathStep::Index(index));
        self
    }

    /// The exact path, as replacement paths need it.
    pub fn to_proto(&self) -> pb::AttributePath {
        steps_to_proto(self.0.iter().cloned())
    }

    /// The path as Terraform can place it in the source of a diagnostic. Terraform walks the
    /// steps after the first through nested *blocks* only, and this framework declares none, so
    /// `embedded.warehouse` would land on the header of the enclosing block. It does look a
    /// string key up inside the object written for an attribute (`embedded = { warehouse = … }`)
    /// and an index inside a list, so the second step is sent as a key and deeper steps, which
    /// it cannot place, are left out (the summary still names the whole path).
    pub fn to_location_proto(&self) -> pb::AttributePath {
        let located = self
            .0
            .iter()
            .take(2)
            .enumerate()
            .map(|(i, step)| match step {
                PathStep::Attribute(a) if i > 0 => PathStep::Key(a.clone()),
                other => other.clone(),
            });
        steps_to_proto(located)
    }
}

fn steps_to_proto(steps: impl Iterator<Item = PathStep>) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: steps
            .map(|step| pb::attribute_path::Step {
                selector: Some(match step {
                    PathStep::Attribute(a) => Selector::AttributeName(a),
                    PathStep::Key(k) => Selector::ElementKeyString(k),
                    PathStep::Index(i) => Selector::ElementKeyInt(i),
                }),
            })
            .collect(),
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attribute(a) if i == 0 => write!(f, "{a}")?,
                PathStep::Attribute(a) => write!(f, ".{a}")?,
                PathStep::Key(k) => write!(f, "[{k:?}]")?,
                PathStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A message for the user: `summary` is one line, `detail` says why and what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub path: Option<AttributePath>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            path: None,
        }
    }

    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(summary, detail)
        }
    }

    /// Points the diagnostic at an attribute path.
    pub fn at(mut self, path: AttributePath) -> Self {
        self.path = Some(path);
        self
    }

    /// Points the diagnostic at a top-level attribute.
    pub fn at_attribute(self, attribute: &str) -> Self {
        self.at(AttributePath::root(attribute))
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn to_proto(&self) -> pb::Diagnostic {
        pb::Diagnostic {
            severity: match self.severity {
                Severity::Error => pb::diagnostic::Severity::Error as i32,
                Severity::Warning => pb::diagnostic::Severity::Warning as i32,
            },
            summary: self.summary.clone(),
            detail: self.detail.clone(),
            attribute: self.path.as_ref().map(AttributePath::to_location_proto),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.summary)?;
        if let Some(path) = &self.path {
            write!(f, " (at {path})")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// A list of diagnostics; resource code returns `Err(Diagnostics)` on failure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Diagnostics(Vec::new())
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn to_proto(&self) -> Vec<pb::Diagnostic> {
        self.0.iter().map(Diagnostic::to_proto).collect()
    }
}

/// A value that does not fit the provider's model of it: a provider bug, or a value not known
/// where the provider needs it, pointed at the attribute.
impl From<crate::value::ValueError> for Diagnostic {
    fn from(e: crate::value::ValueError) -> Self {
        let mut path = AttributePath::default();
        for step in &e.path {
            path = match step.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                Some(index) => match index.parse() {
                    Ok(i) => path.index(i),
                    Err(_) => path.key(index),
                },
                // Map keys read as attributes: the path only has to find the place.
                None => path.attribute(step),
            };
        }
        let diagnostic = Diagnostic::error("Unexpected value", e.message);
        if path.0.is_empty() {
            diagnostic
        } else {
            diagnostic.at(path)
        }
    }
}

impl From<crate::value::ValueError> for Diagnostics {
    fn from(e: crate::value::ValueError) -> Self {
        Diagnostic::from(e).into()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(path: &AttributePath) -> Vec<String> {
        use pb::attribute_path::step::Selector;
        path.to_location_proto()
            .steps
            .into_iter()
            .map(|step| match step.selector {
                Some(Selector::AttributeName(a)) => format!(".{a}"),
                Some(Selector::ElementKeyString(k)) => format!("[{k:?}]"),
                Some(Selector::ElementKeyInt(i)) => format!("[{i}]"),
                None => String::new(),
            })
            .collect()
    }

    #[test]
    fn diagnostics_point_where_terraform_can_find_the_source() {
        // Inside `embedded = { warehouse = … }`: a key of the object written for `embedded`.
        let nested = AttributePath::root("embedded").attribute("warehouse");
        assert_eq!(located(&nested), [".embedded", r#"["warehouse"]"#]);
        // Deeper than Terraform can place: the element that holds it.
        let deep = AttributePath::root("columns").index(2).attribute("name");
        assert_eq!(located(&deep), [".columns", "[2]"]);
        assert_eq!(located(&AttributePath::root("sql")), [".sql"]);
        // Replacement paths stay exact.
        assert_eq!(deep.to_proto().steps.len(), 3);
    }
}
