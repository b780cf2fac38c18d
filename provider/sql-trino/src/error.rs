//! The error of a construct the embedded engine does not run as Athena would.

use std::fmt;

use datafusion::sql::sqlparser::tokenizer::Span;

/// A construct (function, syntax, type) that the embedded engine refuses, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrinoSqlError {
    /// 1-based line of the construct in the SQL text (0 when unknown).
    pub line: u64,
    /// 1-based column (0 when unknown).
    pub column: u64,
    /// What is refused: `function json_object`, `CROSS JOIN UNNEST … WITH ORDINALITY`, ...
    pub construct: String,
    /// What to do instead, when there is something to say.
    pub hint: String,
}

impl TrinoSqlError {
    pub(crate) fn at(span: Span, construct: &str, hint: &str) -> Self {
        Self {
            line: span.start.line,
            column: span.start.column,
            construct: construct.to_string(),
            hint: hint.to_string(),
        }
    }

    /// A SQL text that does not parse.
    pub(crate) fn syntax(message: &str) -> Self {
        Self {
            line: 0,
            column: 0,
            construct: "syntax".to_string(),
            hint: message.to_string(),
        }
    }
}

impl fmt::Display for TrinoSqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.construct == "syntax" {
            return write!(f, "SQL syntax error: {}", self.hint);
        }
        if self.line > 0 {
            write!(f, "line {}:{}: ", self.line, self.column)?;
        }
        write!(
            f,
            "{} is not supported on the embedded engine",
            self.construct
        )?;
        if !self.hint.is_empty() {
            write!(f, " ({})", self.hint)?;
        }
        Ok(())
    }
}

impl std::error::Error for TrinoSqlError {}
