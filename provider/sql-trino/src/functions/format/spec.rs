//! Java's format string: `%[index$ | <][flags][width][.precision]conversion`, with Java's
//! refusals (a combination Java rejects is an error here too).

use datafusion::error::Result;

use super::Kind;
use crate::functions::exec_err;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Flags {
    pub(super) left: bool,
    pub(super) alternate: bool,
    pub(super) plus: bool,
    pub(super) space: bool,
    pub(super) zero: bool,
    pub(super) group: bool,
    pub(super) parens: bool,
}

#[derive(Debug, Clone)]
pub(super) enum Piece {
    Text(String),
    Spec {
        /// The argument (0-based); `None` for `%%` and `%n`.
        arg: Option<usize>,
        flags: Flags,
        width: Option<usize>,
        precision: Option<usize>,
        conversion: char,
    },
}

/// Parses a Java format string (what `check_spec` and `render` share).
/// A width or precision: Java takes any `int`; the embedded engine stops at 10000 characters
/// rather than build a string of gigabytes.
fn bounded(digits: &str) -> Option<usize> {
    digits.parse().ok().filter(|n| *n <= 10_000)
}

pub(super) fn parse(spec: &str) -> Result<Vec<Piece>> {
    let bad = |m: &str| exec_err(format!("format: {m} in '{spec}'"));
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = spec.chars().peekable();
    let mut ordinary = 0usize;
    let mut last: Option<usize> = None;
    while let Some(c) = chars.next() {
        if c != '%' {
            text.push(c);
            continue;
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        // [argument_index$ | <][flags][width][.precision]conversion
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        let mut explicit = None;
        let mut previous = false;
        if chars.peek() == Some(&'$') && !digits.is_empty() {
            chars.next();
            let n: usize = digits.parse().map_err(|_| bad("bad argument index"))?;
            if n == 0 {
                return Err(bad("argument index 0"));
            }
            explicit = Some(n - 1);
            digits.clear();
        } else if digits.is_empty() && chars.peek() == Some(&'<') {
            chars.next();
            previous = true;
        }
        let mut flags = Flags::default();
        // A width that starts with 0 is the zero flag.
        if digits.starts_with('0') {
            flags.zero = true;
            digits.remove(0);
            if digits.starts_with('0') {
                return Err(bad("the flag '0' twice"));
            }
        }
        if digits.is_empty() {
            while let Some(f) = chars.peek().copied() {
                let flag = match f {
                    '-' => &mut flags.left,
                    '#' => &mut flags.alternate,
                    '+' => &mut flags.plus,
                    ' ' => &mut flags.space,
                    '0' => &mut flags.zero,
                    ',' => &mut flags.group,
                    '(' => &mut flags.parens,
                    _ => break,
                };
                if *flag {
                    return Err(bad(&format!("the flag '{f}' twice")));
                }
                *flag = true;
                chars.next();
            }
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
        }
        let width = if digits.is_empty() {
            None
        } else {
            Some(bounded(&digits).ok_or_else(|| bad("a width above 10000"))?)
        };
        let precision = if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(*d);
                chars.next();
            }
            Some(bounded(&p).ok_or_else(|| bad("a missing precision, or one above 10000"))?)
        } else {
            None
        };
        let conversion = chars.next().ok_or_else(|| bad("a conversion is missing"))?;
        let arg = match conversion {
            '%' | 'n' => None,
            't' | 'T' => {
                return Err(exec_err(
                    "format(): date/time conversions (%t…) are not supported on the embedded engine; use format_datetime or date_format",
                ));
            }
            'g' | 'G' | 'a' | 'A' | 'h' | 'H' => {
                return Err(exec_err(format!(
                    "format(): the conversion %{conversion} is not supported on the embedded engine"
                )));
            }
            's' | 'S' | 'b' | 'B' | 'd' | 'o' | 'x' | 'X' | 'e' | 'E' | 'f' | 'c' | 'C' => {
                let i = if let Some(i) = explicit {
                    i
                } else if previous {
                    last.ok_or_else(|| bad("'<' without a previous argument"))?
                } else {
                    ordinary += 1;
                    ordinary - 1
                };
                last = Some(i);
                Some(i)
            }
            other => return Err(bad(&format!("unknown conversion '{other}'"))),
        };
        check_flags(conversion, &flags, width, precision).map_err(|m| bad(&m))?;
        pieces.push(Piece::Spec {
            arg,
            flags,
            width,
            precision,
            conversion,
        });
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// Java's rules for flags, width and precision by conversion: a combination Java rejects is
/// an error here too (never a differently formatted text).
fn check_flags(
    conversion: char,
    flags: &Flags,
    width: Option<usize>,
    precision: Option<usize>,
) -> std::result::Result<(), String> {
    if (flags.left || flags.zero) && width.is_none() {
        return Err(format!("%{conversion}: the '-' and '0' flags need a width"));
    }
    if (flags.left && flags.zero) || (flags.plus && flags.space) {
        return Err(format!("%{conversion}: conflicting flags"));
    }
    let numeric_sign = flags.plus || flags.space || flags.parens;
    let (allowed, precision_ok) = match conversion.to_ascii_lowercase() {
        's' | 'b' => (
            !flags.alternate && !flags.zero && !numeric_sign && !flags.group,
            true,
        ),
        'c' => (
            !flags.alternate && !flags.zero && !numeric_sign && !flags.group,
            false,
        ),
        'd' => (!flags.alternate, false),
        'o' | 'x' => (!numeric_sign && !flags.group, false),
        'e' => (!flags.group, true),
        'f' => (true, true),
        '%' => (
            !flags.alternate && !flags.zero && !numeric_sign && !flags.group,
            false,
        ),
        'n' => (*flags == Flags::default() && width.is_none(), false),
        _ => (false, false),
    };
    if !allowed {
        return Err(format!("%{conversion}: a flag Java does not allow with it"));
    }
    if precision.is_some() && !precision_ok {
        return Err(format!("%{conversion} takes no precision"));
    }
    Ok(())
}

/// What can be checked before a row is read: the format string parses, names arguments that
/// exist, and each conversion fits its argument's Java class.
pub(super) fn check_spec(spec: &str, kinds: &[Kind]) -> Result<()> {
    for piece in parse(spec)? {
        let Piece::Spec {
            arg: Some(i),
            conversion,
            ..
        } = piece
        else {
            continue;
        };
        let kind = kinds.get(i).ok_or_else(|| {
            exec_err(format!("format: no argument for %{conversion} in '{spec}'"))
        })?;
        conversion_fits(conversion, *kind)?;
    }
    Ok(())
}

fn conversion_fits(conversion: char, kind: Kind) -> Result<()> {
    let fits = match conversion.to_ascii_lowercase() {
        's' | 'b' => true,
        'd' | 'o' | 'x' => matches!(kind, Kind::Long | Kind::Unknown),
        // Java's %c takes Character, Byte, Short or Integer; Trino passes integers as Long.
        'c' => kind == Kind::Unknown,
        'e' | 'f' => matches!(
            kind,
            Kind::Float | Kind::Double | Kind::Decimal | Kind::Unknown
        ),
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err(exec_err(format!(
            "format(): %{conversion} cannot format a {kind:?} value"
        )))
    }
}
