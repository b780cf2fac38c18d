//! Regular expression functions (Trino docs: functions/regexp.md).
//!
//! Trino uses Java regular expressions (through Joni); patterns are translated to Rust's
//! `regex` where the two agree: `\d`, `\w`, `\s` and `\b` are ASCII-only in Java, Rust's are
//! Unicode, so they are rewritten to ASCII classes. Constructs Rust has no equivalent for
//! (look-around, back-references, possessive quantifiers) fail to compile, which is an error,
//! not a different answer. Where `.` or `$` would match differently (input with `\r` or other
//! Java line terminators, or ending in a newline) the call fails instead of answering.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use datafusion::error::Result;
use datafusion::logical_expr::ScalarUDF;
use regex::Regex;

use super::rows::{self, i64_at, str_at};
use super::string::str_list;
use super::{
    Arg, Call, Func, args, args_opt, exec_err, ret_bool, ret_i64, ret_str_array, ret_utf8,
};

pub(super) fn functions() -> Vec<ScalarUDF> {
    use Arg::*;
    vec![
        Func::new("regexp_like", args(&[Str, Str]), ret_bool, |c| {
            rows::bools(c, |r| {
                let Some((text, re)) = text_and_pattern(c, r)? else {
                    return Ok(None);
                };
                Ok(Some(re.regex.is_match(text)))
            })
        }),
        Func::new(
            "regexp_extract",
            args_opt(&[Str, Str], &[Int]),
            ret_utf8,
            |c| {
                rows::utf8(c, |r| {
                    let Some((text, re)) = text_and_pattern(c, r)? else {
                        return Ok(None);
                    };
                    let Some(group) = group_arg(c, r, &re)? else {
                        return Ok(None);
                    };
                    Ok(re
                        .regex
                        .captures(text)
                        .and_then(|caps| caps.get(group).map(|m| m.as_str().to_string())))
                })
            },
        ),
        Func::new(
            "regexp_extract_all",
            args_opt(&[Str, Str], &[Int]),
            ret_str_array,
            |c| {
                rows::scalars(c, |r| {
                    let Some((text, re)) = text_and_pattern(c, r)? else {
                        return Ok(None);
                    };
                    let Some(group) = group_arg(c, r, &re)? else {
                        return Ok(None);
                    };
                    let items: Vec<Option<&str>> = java_matches(&re.regex, text)
                        .iter()
                        .map(|caps| caps.get(group).map(|m| m.as_str()))
                        .collect();
                    Ok(Some(str_list(items.into_iter())))
                })
            },
        ),
        Func::new(
            "regexp_replace",
            args_opt(&[Str, Str], &[Str]),
            ret_utf8,
            |c| {
                rows::utf8(c, |r| {
                    let Some((text, re)) = text_and_pattern(c, r)? else {
                        return Ok(None);
                    };
                    let replacement = if c.args.len() > 2 {
                        match str_at(c.arg(2), r) {
                            Some(s) => s,
                            None => return Ok(None),
                        }
                    } else {
                        ""
                    };
                    replace_all(&re, text, replacement).map(Some)
                })
            },
        ),
        Func::new("regexp_count", args(&[Str, Str]), ret_i64, |c| {
            rows::i64s(c, |r| {
                let Some((text, re)) = text_and_pattern(c, r)? else {
                    return Ok(None);
                };
                Ok(Some(java_matches(&re.regex, text).len() as i64))
            })
        }),
        Func::new(
            "regexp_position",
            args_opt(&[Str, Str], &[Int, Int]),
            ret_i64,
            |c| {
                rows::i64s(c, |r| {
                    let Some((text, re)) = text_and_pattern(c, r)? else {
                        return Ok(None);
                    };
                    let start = if c.args.len() > 2 {
                        i64_at(c.arg(2), r)
                    } else {
                        Some(1)
                    };
                    let occurrence = if c.args.len() > 3 {
                        i64_at(c.arg(3), r)
                    } else {
                        Some(1)
                    };
                    let (Some(start), Some(occurrence)) = (start, occurrence) else {
                        return Ok(None);
                    };
                    if start < 1 {
                        return Err(exec_err("start position cannot be smaller than 1"));
                    }
                    if occurrence < 1 {
                        return Err(exec_err("occurrence cannot be smaller than 1"));
                    }
                    let chars = text.chars().count() as i64;
                    if start > chars {
                        return Ok(Some(-1));
                    }
                    let offset = text
                        .char_indices()
                        .nth(start as usize - 1)
                        .map_or(text.len(), |(b, _)| b);
                    let found = re
                        .regex
                        .find_iter(&text[offset..])
                        .nth(occurrence as usize - 1);
                    Ok(Some(match found {
                        Some(m) => text[..offset + m.start()].chars().count() as i64 + 1,
                        None => -1,
                    }))
                })
            },
        ),
        Func::new("regexp_split", args(&[Str, Str]), ret_str_array, |c| {
            rows::scalars(c, |r| {
                let Some((text, re)) = text_and_pattern(c, r)? else {
                    return Ok(None);
                };
                let parts: Vec<Option<&str>> = re.regex.split(text).map(Some).collect();
                Ok(Some(str_list(parts.into_iter())))
            })
        }),
    ]
    .into_iter()
    .map(Func::udf)
    .collect()
}

/// A compiled pattern and what its translation cannot match as Java would.
pub(crate) struct Pattern {
    regex: Regex,
    /// `.` outside a class: Java's does not match `\r`, `\u{85}`, `\u{2028}`, `\u{2029}`.
    has_dot: bool,
    /// `$` outside a class: Java's also matches before a final line terminator.
    has_dollar: bool,
}

fn text_and_pattern<'a>(c: &'a Call, r: usize) -> Result<Option<(&'a str, Arc<Pattern>)>> {
    let (Some(text), Some(pattern)) = (str_at(c.arg(0), r), str_at(c.arg(1), r)) else {
        return Ok(None);
    };
    let re = compile(pattern)?;
    if re.has_dot && text.contains(['\r', '\u{85}', '\u{2028}', '\u{2029}']) {
        return Err(exec_err(
            "a pattern with '.' on text containing \\r or Unicode line separators is not supported on the embedded engine",
        ));
    }
    if re.has_dollar && text.ends_with(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']) {
        return Err(exec_err(
            "a pattern with '$' on text ending in a line break is not supported on the embedded engine",
        ));
    }
    Ok(Some((text, re)))
}

fn group_arg(c: &Call, r: usize, re: &Pattern) -> Result<Option<usize>> {
    if c.args.len() < 3 {
        return Ok(Some(0));
    }
    let Some(group) = i64_at(c.arg(2), r) else {
        return Ok(None);
    };
    let groups = re.regex.captures_len() as i64 - 1;
    if group < 0 || group > groups {
        return Err(exec_err(format!(
            "Pattern has {groups} groups. Cannot access group {group}"
        )));
    }
    Ok(Some(group as usize))
}

/// Compiles (and caches) a Java pattern as a Rust regex.
pub(crate) fn compile(pattern: &str) -> Result<Arc<Pattern>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Pattern>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(found) = cache.lock().ok().and_then(|c| c.get(pattern).cloned()) {
        return Ok(found);
    }
    let (translated, has_dot, has_dollar) = translate(pattern)?;
    let regex = Regex::new(&translated).map_err(|e| {
        exec_err(format!(
            "the pattern {pattern} is not supported on the embedded engine: {e}"
        ))
    })?;
    let compiled = Arc::new(Pattern {
        regex,
        has_dot,
        has_dollar,
    });
    if let Ok(mut c) = cache.lock() {
        if c.len() > 1000 {
            c.clear();
        }
        c.insert(pattern.to_string(), compiled.clone());
    }
    Ok(compiled)
}

/// Java → Rust: ASCII `\d \w \s \b`; returns the pattern and whether it uses `.` and `$`
/// outside character classes.
fn translate(pattern: &str) -> Result<(String, bool, bool)> {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    let mut in_class = 0usize;
    let (mut has_dot, mut has_dollar) = (false, false);
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => {
                let Some(next) = chars.next() else {
                    return Err(exec_err(format!(
                        "the pattern {pattern} ends with a backslash"
                    )));
                };
                let ascii = match (next, in_class > 0) {
                    ('d', false) => Some("[0-9]"),
                    ('D', false) => Some("[^0-9]"),
                    ('w', false) => Some("[a-zA-Z0-9_]"),
                    ('W', false) => Some("[^a-zA-Z0-9_]"),
                    ('s', false) => Some("[\\t\\n\\x0B\\f\\r ]"),
                    ('S', false) => Some("[^\\t\\n\\x0B\\f\\r ]"),
                    ('b', false) => Some("(?-u:\\b)"),
                    ('B', false) => Some("(?-u:\\B)"),
                    ('d', true) => Some("0-9"),
                    ('w', true) => Some("a-zA-Z0-9_"),
                    ('s', true) => Some("\\t\\n\\x0B\\f\\r "),
                    ('D' | 'W' | 'S', true) => {
                        return Err(exec_err(format!(
                            "the pattern {pattern} (a negated class inside [...]) is not supported on the embedded engine"
                        )));
                    }
                    _ => None,
                };
                match ascii {
                    Some(a) => out.push_str(a),
                    None => {
                        out.push('\\');
                        out.push(next);
                    }
                }
            }
            '[' => {
                in_class += 1;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                // A `]` right after `[` or `[^` is a literal in Java.
                if chars.peek() == Some(&']') {
                    chars.next();
                    out.push_str("\\]");
                }
            }
            ']' if in_class > 0 => {
                in_class -= 1;
                out.push(']');
            }
            '.' if in_class == 0 => {
                has_dot = true;
                out.push('.');
            }
            '$' if in_class == 0 => {
                has_dollar = true;
                out.push('$');
            }
            other => out.push(other),
        }
    }
    Ok((out, has_dot, has_dollar))
}

/// Successive matches as Java's `Matcher.find` reports them: after a non-empty match an empty
/// match may follow right at its end (Rust's iterators skip it).
fn java_matches<'t>(re: &Regex, text: &'t str) -> Vec<regex::Captures<'t>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos <= text.len() {
        let Some(caps) = re.captures_at(text, pos) else {
            break;
        };
        let (start, end) = match caps.get(0) {
            Some(m) => (m.start(), m.end()),
            None => break,
        };
        out.push(caps);
        pos = if end == start {
            match text[end..].chars().next() {
                Some(ch) => end + ch.len_utf8(),
                None => break,
            }
        } else {
            end
        };
    }
    out
}

/// Java's replacement syntax: `$n` and `${name}` refer to groups, `\x` is a literal `x`.
fn replace_all(re: &Pattern, text: &str, replacement: &str) -> Result<String> {
    let groups = re.regex.captures_len() - 1;
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in java_matches(&re.regex, text) {
        let m = caps
            .get(0)
            .ok_or_else(|| exec_err("regex match without a group 0"))?;
        out.push_str(&text[last..m.start()]);
        let mut chars = replacement.chars().peekable();
        while let Some(ch) = chars.next() {
            match ch {
                '\\' => match chars.next() {
                    Some(next) => out.push(next),
                    None => return Err(exec_err("character to be escaped is missing")),
                },
                '$' => {
                    if chars.peek() == Some(&'{') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                        let group = caps
                            .name(&name)
                            .ok_or_else(|| exec_err(format!("No group with name {{{name}}}")))?;
                        out.push_str(group.as_str());
                        continue;
                    }
                    let Some(first) = chars.next_if(char::is_ascii_digit) else {
                        return Err(exec_err("Illegal group reference"));
                    };
                    let mut number = first.to_digit(10).unwrap_or(0) as usize;
                    if number > groups {
                        return Err(exec_err(format!("No group {number}")));
                    }
                    // Java reads more digits while the number stays a valid group.
                    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                        let longer = number * 10 + d as usize;
                        if longer > groups {
                            break;
                        }
                        number = longer;
                        chars.next();
                    }
                    if let Some(g) = caps.get(number) {
                        out.push_str(g.as_str());
                    }
                }
                other => out.push(other),
            }
        }
        last = m.end();
    }
    out.push_str(&text[last..]);
    Ok(out)
}
