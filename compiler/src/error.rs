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
    pub model: Option<String>,
    pub location: Option<Location>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            model: None,
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

    pub fn model(mut self, name: impl Into<String>) -> Self {
        self.model = Some(name.into());
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
        if let Some(model) = &self.model {
            write!(f, " (model {model})")?;
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
