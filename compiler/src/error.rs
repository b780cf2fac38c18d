//! Diagnostics that point at the user's input: what went wrong, in which model, where, and what to do.

use std::fmt;

/// A position in a project file. `file` is relative to the project directory, as dbt prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl Location {
    pub fn new(file: impl Into<String>, line: usize, column: usize) -> Self {
        Location {
            file: file.into(),
            line: line.max(1),
            column: column.max(1),
        }
    }

    /// The location of byte `offset` in `source`.
    pub fn at_offset(file: impl Into<String>, source: &str, offset: usize) -> Self {
        let offset = offset.min(source.len());
        let before = &source[..floor_char_boundary(source, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location::new(file, line, column)
    }

    /// The first place `needle` occurs in `source`, or the file's start when it does not.
    pub fn of_text(file: impl Into<String>, source: &str, needle: &str) -> Self {
        match source.find(needle) {
            Some(offset) => Location::at_offset(file, source, offset),
            None => Location::new(file, 1, 1),
        }
    }
}

fn floor_char_boundary(s: &str, mut index: usize) -> usize {
    while index > 0 && !s.is_char_boundary(index) {
        index -= 1;
    }
    index
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One compile error, printed as
/// ```text
/// error: <what> (model <name>)
///   --> models/x.sql:12:5
///   = help: <what to do>
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    /// The node it concerns, as `<resource type> <name>`: `model orders`, `test unique_x`.
    pub node: Option<String>,
    pub location: Option<Location>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            node: None,
            location: None,
            help: None,
        }
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        if self.location.is_none() {
            self.location = Some(Location::new(file, 1, 1));
        }
        self
    }

    pub fn model(self, name: impl Into<String>) -> Self {
        self.node("model", name)
    }

    /// The node the error concerns (`kind` is dbt's resource type: model, seed, test, source).
    pub fn node(mut self, kind: &str, name: impl Into<String>) -> Self {
        self.node = Some(format!("{kind} {}", name.into()));
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        if let Some(node) = &self.node {
            write!(f, " ({node})")?;
        }
        if let Some(location) = &self.location {
            write!(f, "\n  --> {location}")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

pub type Result<T, E = Diagnostic> = std::result::Result<T, E>;

/// Every error of a compile, printed one after the other, in the order of their files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Sorted by file and position; one cause met by several nodes (an error inside a shared
    /// macro) is printed once, naming the nodes.
    pub fn new(mut errors: Vec<Diagnostic>) -> Diagnostics {
        errors.sort_by(|a, b| {
            let key = |d: &Diagnostic| {
                d.location
                    .as_ref()
                    .map(|l| (l.file.clone(), l.line, l.column))
            };
            key(a).cmp(&key(b)).then_with(|| a.message.cmp(&b.message))
        });
        let mut out: Vec<Diagnostic> = Vec::with_capacity(errors.len());
        let mut nodes_of_last: Vec<String> = Vec::new();
        for error in errors {
            if let Some(last) = out.last_mut()
                && last.message == error.message
                && last.location == error.location
                && last.help == error.help
            {
                if let Some(node) = &error.node {
                    nodes_of_last.push(node.clone());
                    let shown = match nodes_of_last.len() {
                        n if n <= 3 => nodes_of_last.join(", "),
                        n => format!("{} and {} more", nodes_of_last[..3].join(", "), n - 3),
                    };
                    last.node = Some(format!("in {shown}"));
                }
                continue;
            }
            nodes_of_last = error.node.iter().cloned().collect();
            out.push(error);
        }
        Diagnostics(out)
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Diagnostics(vec![diagnostic])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f, "\n")?;
            }
            write!(f, "{diagnostic}")?;
        }
        if self.0.len() > 1 {
            write!(f, "\n\n{} errors; nothing was written", self.0.len())?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
