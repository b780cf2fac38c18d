//! The SQL dialect: sqlparser's generic dialect plus Trino's type syntax in casts
//! (`CAST(x AS ARRAY(ROW(a INTEGER)))`, `TRY_CAST(x AS TIMESTAMP(3) WITH TIME ZONE)`), which
//! no sqlparser dialect parses. A cast becomes `__trino_cast(x, '<type>')`, so Trino's cast
//! rules apply instead of Arrow's.

use std::any::TypeId;

use datafusion::sql::sqlparser::ast::{Expr, Ident, Value};
use datafusion::sql::sqlparser::dialect::{Dialect, GenericDialect};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::ast::call;
use crate::types::TrinoType;

pub(crate) const CAST: &str = "__trino_cast";
pub(crate) const TRY_CAST: &str = "__trino_try_cast";

#[derive(Debug, Default)]
pub(crate) struct TrinoDialect {
    generic: GenericDialect,
}

impl Dialect for TrinoDialect {
    // The parser's dialect-specific branches (e.g. `MAP(K, V)` types, lambdas) then treat this
    // dialect as the generic one.
    fn dialect(&self) -> TypeId {
        TypeId::of::<GenericDialect>()
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_alphabetic() || ch == '_'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_alphanumeric() || ch == '_'
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '"'
    }

    fn supports_unicode_string_literal(&self) -> bool {
        true
    }

    fn supports_group_by_expr(&self) -> bool {
        self.generic.supports_group_by_expr()
    }

    fn supports_filter_during_aggregation(&self) -> bool {
        true
    }

    fn supports_window_function_null_treatment_arg(&self) -> bool {
        true
    }

    fn supports_window_clause_named_window_reference(&self) -> bool {
        true
    }

    fn supports_lambda_functions(&self) -> bool {
        true
    }

    // `EXTRACT(DAY_OF_WEEK FROM d)` and Trino's other long field names: they reach the
    // rewrite as custom fields, which maps the ones it knows and refuses the rest.
    fn allow_extract_custom(&self) -> bool {
        true
    }

    fn supports_left_associative_joins_without_parens(&self) -> bool {
        true
    }

    fn supports_parens_around_table_factor(&self) -> bool {
        true
    }

    fn supports_values_as_table_factor(&self) -> bool {
        true
    }

    fn supports_within_after_array_aggregation(&self) -> bool {
        true
    }

    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        let name = match &parser.peek_token_ref().token {
            Token::Word(w) if w.keyword == Keyword::CAST => CAST,
            Token::Word(w) if w.keyword == Keyword::TRY_CAST => TRY_CAST,
            _ => return None,
        };
        if parser.peek_nth_token_ref(1).token != Token::LParen {
            return None;
        }
        Some(parse_cast(parser, name))
    }
}

fn parse_cast(parser: &mut Parser, name: &str) -> Result<Expr, ParserError> {
    let start = parser.next_token();
    parser.expect_token(&Token::LParen)?;
    let expr = parser.parse_expr()?;
    parser.expect_keyword_is(Keyword::AS)?;
    let mut depth = 0usize;
    let mut text = String::new();
    loop {
        let token = parser.next_token();
        match &token.token {
            Token::LParen => depth += 1,
            Token::RParen if depth == 0 => break,
            Token::RParen => depth -= 1,
            Token::EOF => {
                return Err(ParserError::ParserError(format!(
                    "unterminated CAST at {}",
                    start.span.start
                )));
            }
            _ => {}
        }
        text.push_str(&token.token.to_string());
        text.push(' ');
    }
    let target = TrinoType::parse(&text)
        .map_err(|e| ParserError::ParserError(format!("{e} at {}", start.span.start)))?;
    let mut function = call(
        name,
        vec![
            expr,
            Expr::Value(Value::SingleQuotedString(target.to_string()).with_span(start.span)),
        ],
    );
    if let Expr::Function(f) = &mut function {
        f.name = datafusion::sql::sqlparser::ast::ObjectName::from(vec![Ident::with_span(
            start.span, name,
        )]);
    }
    Ok(function)
}

/// Tokens of a statement, with Trino's `VALUES 1, 2` (rows of one column, no parentheses)
/// turned into `VALUES (1), (2)`, which sqlparser reads.
pub(crate) fn tokens(sql: &str) -> Result<Vec<TokenWithSpan>, ParserError> {
    let dialect = TrinoDialect::default();
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| ParserError::TokenizerError(e.to_string()))?;
    let significant = |t: &TokenWithSpan| !matches!(t.token, Token::Whitespace(_));
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        out.push(token.clone());
        i += 1;
        let is_values = matches!(&token.token, Token::Word(w) if w.keyword == Keyword::VALUES);
        if !is_values {
            continue;
        }
        let Some(next) = tokens[i..].iter().position(significant).map(|p| p + i) else {
            continue;
        };
        let starts_row = matches!(&tokens[next].token, Token::LParen)
            || matches!(&tokens[next].token, Token::Word(w) if w.keyword == Keyword::ROW);
        if starts_row {
            continue;
        }
        // Wrap each top-level item until the list ends.
        let mut depth = 0usize;
        out.push(TokenWithSpan::wrap(Token::LParen));
        while i < tokens.len() {
            let t = &tokens[i];
            let ends = depth == 0
                && match &t.token {
                    Token::RParen | Token::SemiColon | Token::EOF => true,
                    Token::Word(w) => matches!(
                        w.keyword,
                        Keyword::ORDER
                            | Keyword::LIMIT
                            | Keyword::OFFSET
                            | Keyword::UNION
                            | Keyword::EXCEPT
                            | Keyword::INTERSECT
                            | Keyword::FETCH
                            | Keyword::AS
                    ),
                    _ => false,
                };
            if ends {
                break;
            }
            match &t.token {
                Token::LParen | Token::LBracket => depth += 1,
                Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
                Token::Comma if depth == 0 => {
                    out.push(TokenWithSpan::wrap(Token::RParen));
                    out.push(t.clone());
                    out.push(TokenWithSpan::wrap(Token::LParen));
                    i += 1;
                    continue;
                }
                _ => {}
            }
            out.push(t.clone());
            i += 1;
        }
        out.push(TokenWithSpan::wrap(Token::RParen));
    }
    Ok(out)
}
