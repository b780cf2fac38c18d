//! `date - modules.datetime.timedelta(…)` in templates. minijinja has no operator overloading,
//! so `a ± modules.datetime.timedelta(…)` is rewritten at the source to
//! `__mdw_datetime_op(a,'±', modules.datetime.timedelta(…))`, which computes it as Python
//! does (`modules`). Only that shape is rewritten, and only where the left operand's extent is
//! certain — a call/attribute/subscript chain, a name, a literal or a parenthesized group after
//! an opening bracket, a comma, `=`, a comparison or a keyword, or an earlier such operation
//! (`d - td - td`); anything else (`a * b - td`) is left as written and fails as before,
//! naming the operation.
//!
//! The rewrite only inserts text; the inserts go into the template's [`SourceMap`] so error
//! columns still point into the user's file.

use super::rewrite::SourceMap;

pub(crate) const DATETIME_OP_FN: &str = "__mdw_datetime_op";

const TIMEDELTA: &str = "modules.datetime.timedelta";

/// Words after which an operand starts.
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "if", "else", "in", "is", "return", "do", "print",
];

/// Rewrites `source` (whose own inserts `map` holds), keeping `map` true for the result.
/// Repeated while it finds more: `d - td(1) - td(2)` is rewritten inside out.
pub(crate) fn wrap_datetime_arithmetic(source: &str, map: &mut SourceMap) -> String {
    let mut text = source.to_string();
    // Each pass rewrites at least one operation, and there is at most one per timedelta.
    for _ in 0..=source.matches(TIMEDELTA).count() {
        match rewrite_once(&text, map) {
            Some(next) => text = next,
            None => break,
        }
    }
    text
}

/// One pass: `None` when it rewrote nothing.
fn rewrite_once(source: &str, map: &mut SourceMap) -> Option<String> {
    if !source.contains(TIMEDELTA) {
        return None;
    }
    let bytes = source.as_bytes();
    let strings = string_mask(bytes);
    // (position, text) inserts, in source coordinates.
    let mut edits: Vec<(usize, &'static str)> = Vec::new();
    let mut from = 0;
    while let Some(found) = source[from..].find(TIMEDELTA) {
        let at = from + found;
        from = at + TIMEDELTA.len();
        if strings[at] || !in_expression(source, at) {
            continue;
        }
        // Already rewritten by an earlier pass.
        if source[..at].trim_end().ends_with(",'-',") || source[..at].trim_end().ends_with(",'+',")
        {
            continue;
        }
        if let Some((left, op, right_end)) = operands(bytes, &strings, at) {
            edits.push((left, "__mdw_datetime_op("));
            edits.push((op, ",'"));
            edits.push((op + 1, "',"));
            edits.push((right_end, ")"));
        }
    }
    if edits.is_empty() {
        return None;
    }
    // Opening inserts at one position nest outward-first: a stable sort keeps their order.
    edits.sort_by_key(|(at, _)| *at);
    let mut out = String::with_capacity(source.len() + edits.len() * 8);
    let mut new_inserts = Vec::with_capacity(edits.len());
    let mut copied = 0;
    for (at, text) in &edits {
        out.push_str(&source[copied..*at]);
        copied = *at;
        new_inserts.push((out.len(), text.len()));
        out.push_str(text);
    }
    out.push_str(&source[copied..]);
    // Earlier inserts move by what this pass inserted before them.
    for (offset, _) in map.inserts.iter_mut() {
        let shift: usize = edits
            .iter()
            .filter(|(at, _)| *at <= *offset)
            .map(|(_, text)| text.len())
            .sum();
        *offset += shift;
    }
    map.inserts.extend(new_inserts);
    map.inserts.sort_unstable();
    Some(out)
}

/// For `modules.datetime.timedelta` at `at`: the start of the left operand, the operator's
/// position and the end of the call, when the shape is one this pass rewrites.
fn operands(bytes: &[u8], strings: &[bool], at: usize) -> Option<(usize, usize, usize)> {
    // The call: `modules.datetime.timedelta(…)`, then nothing that binds tighter.
    let mut j = skip_ws(bytes, at + TIMEDELTA.len());
    if bytes.get(j) != Some(&b'(') {
        return None;
    }
    let right_end = closing(bytes, strings, j)? + 1;
    j = skip_ws(bytes, right_end);
    match bytes.get(j) {
        None
        | Some(b')' | b']' | b',' | b'}' | b'+' | b'-' | b'~' | b'=' | b'!' | b'<' | b'>' | b':') =>
            {}
        Some(b'%') if bytes.get(j + 1) == Some(&b'}') => {}
        Some(c) if c.is_ascii_alphabetic() => {
            let word = word_at(bytes, j);
            if !KEYWORDS.contains(&word) && word != "for" {
                return None;
            }
        }
        _ => return None,
    }
    // The operator, binary: an operand ends right before it.
    let op = back_ws(bytes, at)?;
    if !matches!(bytes[op], b'-' | b'+') {
        return None;
    }
    let left_end = back_ws(bytes, op)?;
    let left = left_operand(bytes, strings, left_end)?;
    // What comes before the left operand must bind looser than `+`/`-`.
    match back_ws(bytes, left) {
        None => Some((left, op, right_end)),
        Some(p) => match bytes[p] {
            b'(' | b'[' | b',' | b'=' | b'{' | b':' | b'<' | b'>' => Some((left, op, right_end)),
            c if c.is_ascii_alphabetic() => {
                let start = word_start(bytes, p);
                let word = std::str::from_utf8(&bytes[start..=p]).unwrap_or_default();
                KEYWORDS.contains(&word).then_some((left, op, right_end))
            }
            _ => None,
        },
    }
}

/// The start of the operand ending at `end` (inclusive): a chain of names, calls,
/// subscripts and attributes, a literal, or a parenthesized group.
fn left_operand(bytes: &[u8], strings: &[bool], end: usize) -> Option<usize> {
    let mut e = end;
    loop {
        let c = bytes[e];
        let start = if c == b')' || c == b']' {
            opening(bytes, strings, e)?
        } else if c == b'\'' || c == b'"' {
            let mut s = e;
            while s > 0 && strings[s - 1] {
                s -= 1;
            }
            (bytes[s] == c && s < e).then_some(s)?
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            word_start(bytes, e)
        } else {
            return None;
        };
        // A call or subscript continues with what it applies to; a name or literal with the
        // object it is an attribute of.
        match start.checked_sub(1).map(|p| bytes[p]) {
            Some(b'.') => e = start.checked_sub(2)?,
            Some(p)
                if (c == b')' || c == b']')
                    && (p.is_ascii_alphanumeric() || p == b'_' || p == b')' || p == b']') =>
            {
                e = start - 1
            }
            _ => return Some(start),
        }
    }
}

/// Whether each byte is inside a string literal (quotes included).
fn string_mask(bytes: &[u8]) -> Vec<bool> {
    let mut mask = vec![false; bytes.len()];
    let mut i = 0;
    let mut in_tag = false;
    while i < bytes.len() {
        if !in_tag {
            if bytes[i] == b'{' && matches!(bytes.get(i + 1), Some(b'{' | b'%')) {
                in_tag = true;
                i += 2;
                continue;
            }
            i += 1;
            continue;
        }
        match bytes[i] {
            b'\'' | b'"' => {
                let quote = bytes[i];
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let end = (i + 1).min(bytes.len());
                mask[start..end].iter_mut().for_each(|m| *m = true);
                i = end;
            }
            b'}' | b'%' if bytes.get(i + 1) == Some(&b'}') => {
                in_tag = false;
                i += 2;
            }
            _ => i += 1,
        }
    }
    mask
}

/// Whether `at` is inside a `{{ }}` or `{% %}` (outside comments).
fn in_expression(source: &str, at: usize) -> bool {
    let before = &source[..at];
    let open = [before.rfind("{{"), before.rfind("{%")]
        .into_iter()
        .flatten()
        .max();
    let close = [before.rfind("}}"), before.rfind("%}")]
        .into_iter()
        .flatten()
        .max();
    let comment = before.rfind("{#");
    let comment_end = before.rfind("#}");
    let in_comment = comment.is_some_and(|c| comment_end.is_none_or(|e| e < c));
    !in_comment && open.is_some_and(|o| close.is_none_or(|c| c < o))
}

fn closing(bytes: &[u8], strings: &[bool], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &c) in bytes.iter().enumerate().skip(open) {
        if strings[i] {
            continue;
        }
        match c {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn opening(bytes: &[u8], strings: &[bool], close: usize) -> Option<usize> {
    let mut depth = 0usize;
    for i in (0..=close).rev() {
        if strings[i] {
            continue;
        }
        match bytes[i] {
            b')' | b']' | b'}' => depth += 1,
            b'(' | b'[' | b'{' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// The last non-space position before `i`.
fn back_ws(bytes: &[u8], i: usize) -> Option<usize> {
    (0..i).rev().find(|&p| !bytes[p].is_ascii_whitespace())
}

fn word_start(bytes: &[u8], end: usize) -> usize {
    let mut s = end;
    while s > 0 && (bytes[s - 1].is_ascii_alphanumeric() || bytes[s - 1] == b'_') {
        s -= 1;
    }
    s
}

fn word_at(bytes: &[u8], start: usize) -> &str {
    let mut e = start;
    while e < bytes.len() && (bytes[e].is_ascii_alphanumeric() || bytes[e] == b'_') {
        e += 1;
    }
    std::str::from_utf8(&bytes[start..e]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(source: &str) -> String {
        wrap_datetime_arithmetic(source, &mut SourceMap::default())
    }

    #[test]
    fn rewrites_what_it_can_bound() {
        assert_eq!(
            rewrite("{{ modules.datetime.date.today() - modules.datetime.timedelta(365) }}"),
            "{{ __mdw_datetime_op(modules.datetime.date.today() ,'-', modules.datetime.timedelta(365)) }}"
        );
        assert_eq!(
            rewrite("{% set s = (end_date - modules.datetime.timedelta(days=10)) %}"),
            "{% set s = (__mdw_datetime_op(end_date ,'-', modules.datetime.timedelta(days=10))) %}"
        );
        assert_eq!(
            rewrite("{{ (a.b[0] + modules.datetime.timedelta(hours=1)).isoformat() }}"),
            "{{ (__mdw_datetime_op(a.b[0] ,'+', modules.datetime.timedelta(hours=1))).isoformat() }}"
        );
        assert_eq!(
            rewrite("{{ f(x, d - modules.datetime.timedelta(1)) if d else none }}"),
            "{{ f(x, __mdw_datetime_op(d ,'-', modules.datetime.timedelta(1))) if d else none }}"
        );
    }

    #[test]
    fn rewrites_chains_inside_out() {
        assert_eq!(
            rewrite("{{ d - modules.datetime.timedelta(1) + modules.datetime.timedelta(2) }}"),
            "{{ __mdw_datetime_op(__mdw_datetime_op(d ,'-', modules.datetime.timedelta(1)) ,'+', modules.datetime.timedelta(2)) }}"
        );
    }

    #[test]
    fn leaves_what_it_cannot() {
        for source in [
            // Precedence it does not parse: the left operand is `a * b`, or `a - b`.
            "{{ a * b - modules.datetime.timedelta(1) }}",
            "{{ a - b - modules.datetime.timedelta(1) }}",
            "{{ a - b - modules.datetime.timedelta(1) - modules.datetime.timedelta(2) }}",
            // Multiplied timedelta, text outside expressions, strings, comments.
            "{{ d - modules.datetime.timedelta(1) * 2 }}",
            "select d - modules.datetime.timedelta(1)",
            "{{ 'd - modules.datetime.timedelta(1)' }}",
            "{# d - modules.datetime.timedelta(1) #}",
            // A unary minus.
            "{{ -modules.datetime.timedelta(1) }}",
        ] {
            assert_eq!(rewrite(source), source, "{source}");
        }
    }

    #[test]
    fn keeps_columns_of_earlier_inserts() {
        let mut map = SourceMap::default();
        map.inserts.push((40, 3));
        let out =
            wrap_datetime_arithmetic("{{ d - modules.datetime.timedelta(1) }} {{ x }}", &mut map);
        assert!(out.starts_with("{{ __mdw_datetime_op(d ,'-', "), "{out}");
        let shifted: usize = "__mdw_datetime_op(".len() + ",'".len() + "',".len() + ")".len();
        assert!(
            map.inserts.contains(&(40 + shifted, 3)),
            "{:?}",
            map.inserts
        );
    }
}
