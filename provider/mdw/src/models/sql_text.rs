//! Model SQL compared the way a reader compares it: comments and layout do not change what a
//! query means, so they must not rebuild a table.

/// The SQL with comments removed and whitespace runs folded to one space, outside string
/// literals and quoted identifiers; no trailing semicolon.
pub(crate) fn normalize(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut pending_space = false;
    let push_space = |out: &mut String, pending: &mut bool| {
        if *pending && !out.is_empty() {
            out.push(' ');
        }
        *pending = false;
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                push_space(&mut out, &mut pending_space);
                out.push(c);
                // A quoted run ends at the next unescaped quote; a doubled quote is an escape
                // and is copied like any other character.
                while let Some(q) = chars.next() {
                    out.push(q);
                    if q == c {
                        if chars.peek() == Some(&c) {
                            out.push(c);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        break;
                    }
                }
                pending_space = true;
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = '\0';
                for skipped in chars.by_ref() {
                    if previous == '*' && skipped == '/' {
                        break;
                    }
                    previous = skipped;
                }
                pending_space = true;
            }
            c if c.is_whitespace() => pending_space = true,
            c => {
                push_space(&mut out, &mut pending_space);
                out.push(c);
            }
        }
    }
    while out.ends_with(';') || out.ends_with(' ') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn layout_and_comments_do_not_count() {
        let a = "select id,\n       name -- the store's name\nfrom   stores /* all of them */;\n";
        let b = "-- header\nselect id, name from stores";
        assert_eq!(normalize(a), normalize(b));
        assert_eq!(normalize(b), "select id, name from stores");
    }

    #[test]
    fn quoted_text_is_kept_exactly() {
        assert_ne!(normalize("select 'a  b'"), normalize("select 'a b'"));
        assert_eq!(
            normalize("select '--not a comment', \"x  y\""),
            "select '--not a comment', \"x  y\""
        );
        assert_eq!(
            normalize("select 'it''s  ok'  from t"),
            "select 'it''s  ok' from t"
        );
    }

    #[test]
    fn real_changes_count() {
        assert_ne!(
            normalize("select id from stores"),
            normalize("select id from stores where id > 1")
        );
        assert_ne!(
            normalize("select ID from stores"),
            normalize("select id from stores")
        );
    }
}
