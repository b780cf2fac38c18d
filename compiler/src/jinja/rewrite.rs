//! Source-level preparation of templates before minijinja compiles them:
//! - list and dict literals become mutable objects (`[a]` → `__mdw_list([a])`), because dbt
//!   macros mutate them in place and minijinja's own lists are immutable;
//! - macro files are split into one template per `{% macro %}` / `{% test %}` block, padded so
//!   every line and column stays where it is in the file.
//!
//! Lines never move. Columns move only where text was inserted; [`SourceMap`] undoes that for
//! error messages.

/// Text inserted into a template, to map error columns back to the user's file.
#[derive(Debug, Default, Clone)]
pub(crate) struct SourceMap {
    /// `(offset in the template where the insertion starts, inserted length)`, ascending.
    pub inserts: Vec<(usize, usize)>,
}

impl SourceMap {
    /// 1-based column in the user's file of `offset` in the template text.
    pub(crate) fn column(&self, template: &str, offset: usize) -> usize {
        let mut offset = offset.min(template.len());
        while offset > 0 && !template.is_char_boundary(offset) {
            offset -= 1;
        }
        let line_start = template[..offset].rfind('\n').map_or(0, |i| i + 1);
        let inserted: usize = self
            .inserts
            .iter()
            .filter(|(at, _)| *at >= line_start && *at < offset)
            .map(|(_, len)| *len)
            .sum();
        let chars = template[line_start..offset].chars().count();
        chars.saturating_sub(inserted) + 1
    }
}

pub(crate) const LIST_FN: &str = "__mdw_list";
pub(crate) const DICT_FN: &str = "__mdw_dict";
/// `f(**kwargs)` (which minijinja cannot parse) becomes `f(__mdw_splat=kwargs)`; macros
/// unpack it.
pub(crate) const SPLAT_KWARG: &str = "__mdw_splat";

#[derive(Clone, Copy, PartialEq)]
enum Prev {
    /// Start of an expression, an operator, an opening bracket or a keyword: a `[` here is a literal.
    Operator,
    /// An identifier, literal or closing bracket: a `[` here is a subscript.
    Operand,
}

#[derive(Clone, Copy, PartialEq)]
enum Open {
    Paren,
    Subscript,
    ListLiteral,
    DictLiteral,
}

const KEYWORDS: &[&str] = &[
    "in", "and", "or", "not", "if", "else", "elif", "is", "do", "return", "with", "for", "print",
];

/// Rewrites list and dict literals inside `{{ }}` and `{% %}` to mutable constructors.
pub(crate) fn wrap_literals(source: &str, map: &mut SourceMap) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len() + 16);
    let mut copied = 0;
    let mut i = 0;
    let push = |out: &mut String, map: &mut SourceMap, text: &str| {
        map.inserts.push((out.len(), text.len()));
        out.push_str(text);
    };
    while i + 1 < bytes.len() {
        if bytes[i] != b'{' {
            i += 1;
            continue;
        }
        match bytes[i + 1] {
            b'#' => {
                i = find(source, i + 2, "#}").map_or(bytes.len(), |end| end + 2);
                continue;
            }
            b'{' | b'%' => {}
            _ => {
                i += 1;
                continue;
            }
        }
        let is_block = bytes[i + 1] == b'%';
        if is_block && first_word(&source[i + 2..]) == "raw" {
            i = find_end_raw(source, i + 2);
            continue;
        }
        // Inside an expression: scan tokens until the closing delimiter at bracket depth 0.
        let mut stack: Vec<Open> = Vec::new();
        let mut prev = Prev::Operator;
        let mut j = i + 2;
        while j < bytes.len() {
            let c = bytes[j];
            match c {
                b'\'' | b'"' => {
                    j = skip_string(bytes, j);
                    prev = Prev::Operand;
                    continue;
                }
                b'}' if stack.is_empty() && !is_block && bytes.get(j + 1) == Some(&b'}') => {
                    j += 2;
                    break;
                }
                b'%' if stack.is_empty() && is_block && bytes.get(j + 1) == Some(&b'}') => {
                    j += 2;
                    break;
                }
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let start = j;
                    while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_')
                    {
                        j += 1;
                    }
                    prev = if KEYWORDS.contains(&&source[start..j]) {
                        Prev::Operator
                    } else {
                        Prev::Operand
                    };
                    continue;
                }
                c if c.is_ascii_digit() => {
                    while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'.')
                    {
                        j += 1;
                    }
                    prev = Prev::Operand;
                    continue;
                }
                b'(' => {
                    stack.push(Open::Paren);
                    prev = Prev::Operator;
                }
                b'*' if bytes.get(j + 1) == Some(&b'*')
                    && prev == Prev::Operator
                    && stack.last() == Some(&Open::Paren) =>
                {
                    out.push_str(&source[copied..j]);
                    copied = j + 2;
                    let splat = format!("{SPLAT_KWARG}=");
                    map.inserts.push((out.len(), splat.len() - 2));
                    out.push_str(&splat);
                    j += 2;
                    continue;
                }
                b'[' => {
                    if prev == Prev::Operator {
                        out.push_str(&source[copied..j]);
                        copied = j;
                        push(&mut out, map, LIST_FN);
                        push(&mut out, map, "(");
                        stack.push(Open::ListLiteral);
                    } else {
                        stack.push(Open::Subscript);
                    }
                    prev = Prev::Operator;
                }
                b'{' => {
                    out.push_str(&source[copied..j]);
                    copied = j;
                    push(&mut out, map, DICT_FN);
                    push(&mut out, map, "(");
                    stack.push(Open::DictLiteral);
                    prev = Prev::Operator;
                }
                b')' | b']' | b'}' => {
                    let literal =
                        matches!(stack.pop(), Some(Open::ListLiteral | Open::DictLiteral));
                    if literal {
                        out.push_str(&source[copied..=j]);
                        copied = j + 1;
                        push(&mut out, map, ")");
                    }
                    prev = Prev::Operand;
                }
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ => prev = Prev::Operator,
            }
            j += 1;
        }
        i = j;
    }
    out.push_str(&source[copied..]);
    out
}

fn find(source: &str, from: usize, needle: &str) -> Option<usize> {
    source.get(from..)?.find(needle).map(|i| i + from)
}

fn skip_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut j = start + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            c if c == quote => return j + 1,
            _ => j += 1,
        }
    }
    bytes.len()
}

/// The first word of a tag's content, after whitespace-control markers.
fn first_word(after_open: &str) -> &str {
    let trimmed = after_open.trim_start_matches(['-', '+']).trim_start();
    let end = trimmed
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(trimmed.len());
    &trimmed[..end]
}

/// Offset after the `{% endraw %}` that closes a raw block opened at `from`.
fn find_end_raw(source: &str, from: usize) -> usize {
    let mut at = from;
    while let Some(open) = find(source, at, "{%") {
        if first_word(&source[open + 2..]) == "endraw" {
            return find(source, open, "%}").map_or(source.len(), |end| end + 2);
        }
        at = open + 2;
    }
    source.len()
}

/// One `{% macro %}` (or `{% test %}`, which defines macro `test_<name>`) of a macro file.
#[derive(Debug, Clone)]
pub(crate) struct MacroBlock {
    pub name: String,
    /// Template source: the block padded so its lines and columns match the file.
    pub template: String,
    pub map: SourceMap,
    pub line: usize,
    /// The declared parameters, and the Jinja2 extras the body reads: `varargs` and `kwargs`
    /// (appended as parameters, since minijinja has neither) and `caller`.
    pub params: Vec<String>,
    pub varargs: bool,
    pub kwargs: bool,
}

/// Splits a macro file into its macro blocks. Text between blocks is ignored, as in dbt.
/// An unclosed block runs to the end of the file, so minijinja reports the missing end tag.
pub(crate) fn split_macros(source: &str) -> Vec<MacroBlock> {
    let mut blocks = Vec::new();
    let mut at = 0;
    while let Some(open) = find(source, at, "{%") {
        let word = first_word(&source[open + 2..]);
        match word {
            "raw" => {
                at = find_end_raw(source, open + 2);
                continue;
            }
            "macro" | "test" | "materialization" => {}
            _ => {
                at = open + 2;
                continue;
            }
        }
        let end_word = format!("end{word}");
        let mut depth = 0usize;
        let mut scan = open + 2;
        let mut block_end = source.len();
        while let Some(tag) = find(source, scan, "{%") {
            let inner = first_word(&source[tag + 2..]);
            if inner == word {
                depth += 1;
            } else if inner == end_word {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    block_end = find(source, tag, "%}").map_or(source.len(), |e| e + 2);
                    break;
                }
            }
            scan = tag + 2;
        }
        let text = &source[open..block_end];
        at = block_end.max(open + 2);
        if word == "materialization" {
            continue; // custom materializations are run by the provider, not rendered here
        }
        // A block without a name keeps an empty one: the engine reports it.
        let name = macro_name(&source[open + 2..block_end], word).unwrap_or_default();
        let before = &source[..open];
        let line = before.matches('\n').count() + 1;
        let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
            .chars()
            .count();
        let mut template = String::with_capacity(text.len() + line + column);
        template.extend(std::iter::repeat_n('\n', line - 1));
        template.extend(std::iter::repeat_n(' ', column));
        let mut map = SourceMap::default();
        let mut body = if word == "test" {
            rename_test_block(text, &mut map, template.len())
        } else {
            text.to_string()
        };
        let (params, varargs, kwargs) = add_jinja2_extras(&mut body, &mut map, template.len());
        template.push_str(&body);
        let mut wrapped_map = SourceMap::default();
        let wrapped = wrap_literals(&template, &mut wrapped_map);
        // Insertions made by the test rename happened before wrapping: shift them through it.
        for (offset, len) in map.inserts {
            let shift: usize = wrapped_map
                .inserts
                .iter()
                .filter(|(at, _)| *at <= offset)
                .map(|(_, l)| *l)
                .sum();
            wrapped_map.inserts.push((offset + shift, len));
        }
        wrapped_map.inserts.sort_unstable();
        let wrapped = super::datetime_ops::wrap_datetime_arithmetic(&wrapped, &mut wrapped_map);
        let name = if word == "test" && !name.is_empty() {
            format!("test_{name}")
        } else {
            name
        };
        blocks.push(MacroBlock {
            name,
            template: wrapped,
            map: wrapped_map,
            line,
            params,
            varargs,
            kwargs,
        });
    }
    blocks
}

/// Reads a macro block's signature and, when the body reads Jinja2's `varargs` or `kwargs`
/// (which minijinja does not provide), appends them as parameters: the caller then passes the
/// extra arguments in them. Returns the declared parameters and which extras were added.
fn add_jinja2_extras(
    block: &mut String,
    map: &mut SourceMap,
    base: usize,
) -> (Vec<String>, bool, bool) {
    let Some((params, close)) = signature(block) else {
        return (Vec::new(), false, false);
    };
    let tag_end = find(block, close, "%}").map_or(block.len(), |end| end + 2);
    let body = &block[tag_end..];
    let wants = |word: &str| contains_word(body, word) && !params.iter().any(|p| p == word);
    let (varargs, kwargs) = (wants("varargs"), wants("kwargs"));
    let mut extra = String::new();
    for (wanted, name) in [(varargs, "varargs"), (kwargs, "kwargs")] {
        if wanted {
            if !params.is_empty() || !extra.is_empty() {
                extra.push_str(", ");
            }
            // With a default, as they may follow parameters that have one; callers always
            // pass them.
            extra.push_str(name);
            extra.push_str("=none");
        }
    }
    if !extra.is_empty() {
        map.inserts.push((base + close, extra.len()));
        block.insert_str(close, &extra);
    }
    (params, varargs, kwargs)
}

/// The parameter names of the block's opening tag and the offset of its closing `)`.
fn signature(block: &str) -> Option<(Vec<String>, usize)> {
    let tag_end = find(block, 2, "%}")?;
    let open = block[..tag_end].find('(')?;
    let bytes = block.as_bytes();
    let mut depth = 0usize;
    let mut params = Vec::new();
    let mut start = open + 1;
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => {
                i = skip_string(bytes, i);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' if depth == 0 => {
                let last = block[start..i].trim();
                if !last.is_empty() {
                    params.push(param_name(last));
                }
                return Some((params, i));
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                params.push(param_name(block[start..i].trim()));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn param_name(param: &str) -> String {
    param
        .split('=')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Whether `word` occurs in `text` as an identifier (not part of a longer name or attribute).
fn contains_word(text: &str, word: &str) -> bool {
    let bytes = text.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    text.match_indices(word).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + word.len()).copied();
        !before.is_some_and(|b| is_ident(b) || b == b'.') && !after.is_some_and(is_ident)
    })
}

fn macro_name(after_open: &str, word: &str) -> Option<String> {
    let rest = after_open.trim_start_matches(['-', '+']).trim_start();
    let rest = rest.strip_prefix(word)?.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| rest[..end].to_string())
}

/// `{% test name(...) %}…{% endtest %}` → `{% macro test_name(...) %}…{% endmacro %}`.
fn rename_test_block(text: &str, map: &mut SourceMap, base: usize) -> String {
    let mut out = text.to_string();
    if let Some(pos) = out.find("test") {
        let spaces = out[pos + 4..].len() - out[pos + 4..].trim_start().len();
        let replaced = 4 + spaces;
        out.replace_range(pos..pos + replaced, "macro test_");
        map.inserts
            .push((base + pos, "macro test_".len().saturating_sub(replaced)));
    }
    if let Some(pos) = out.rfind("endtest") {
        out.replace_range(pos..pos + 7, "endmacro");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(source: &str) -> String {
        wrap_literals(source, &mut SourceMap::default())
    }

    #[test]
    fn literals_are_wrapped_and_subscripts_are_not() {
        assert_eq!(wrap("{% set x = [] %}"), "{% set x = __mdw_list([]) %}");
        assert_eq!(
            wrap("{{ x[0] }} {{ f([1, {'a': [2]}]) }}"),
            "{{ x[0] }} {{ f(__mdw_list([1, __mdw_dict({'a': __mdw_list([2])})])) }}"
        );
        assert_eq!(
            wrap("{% for c in ['a'] %}"),
            "{% for c in __mdw_list(['a']) %}"
        );
        assert_eq!(
            wrap("{{ 'x[' ~ y }} [not] {# [c] #}"),
            "{{ 'x[' ~ y }} [not] {# [c] #}"
        );
        assert_eq!(
            wrap("{% raw %}{{ [1] }}{% endraw %}"),
            "{% raw %}{{ [1] }}{% endraw %}"
        );
        assert_eq!(
            wrap("{{ f(a, **kwargs) }} {{ 2 ** 3 }}"),
            "{{ f(a, __mdw_splat=kwargs) }} {{ 2 ** 3 }}"
        );
    }

    #[test]
    fn columns_map_back_past_insertions() {
        let mut map = SourceMap::default();
        let out = wrap_literals("{% set x = [1] %}{{ y }}", &mut map);
        let offset = out.find("y }}").unwrap();
        assert_eq!(map.column(&out, offset), "{% set x = [1] %}{{ ".len() + 1);
    }

    #[test]
    fn macro_files_split_with_positions_kept() {
        let file = "{% macro a(x) %}{{ x }}{% endmacro %}\n\n  {% test positive(model, column_name) %}\nselect 1\n{% endtest %}";
        let blocks = split_macros(file);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].name, "a");
        assert_eq!(blocks[1].name, "test_positive");
        assert_eq!(blocks[1].line, 3);
        assert!(
            blocks[1]
                .template
                .starts_with("\n\n  {% macro test_positive(model"),
            "{:?}",
            blocks[1].template
        );
        assert_eq!(blocks[1].params, ["model", "column_name"]);
    }

    #[test]
    fn jinja2_varargs_and_kwargs_become_parameters() {
        let file = "{% macro m(a, b={'x': (1, 2)}) %}{{ kwargs.c }}{{ varargs }}{% endmacro %}";
        let block = &split_macros(file)[0];
        assert_eq!(block.params, ["a", "b"]);
        assert!(block.varargs && block.kwargs);
        assert!(
            block.template.starts_with(
                "{% macro m(a, b=__mdw_dict({'x': (1, 2)}), varargs=none, kwargs=none) %}"
            ),
            "{}",
            block.template
        );
        let plain = &split_macros("{% macro n() %}{{ x.kwargs }}{% endmacro %}")[0];
        assert!(!plain.kwargs && plain.params.is_empty());
    }
}
