//! URL functions (Trino docs: functions/url.md). Trino parses with `java.net.URI`: a URL with
//! characters URI does not allow gives NULL for every part; parts are returned as written
//! (not decoded). `url_encode`/`url_decode` are Java's `URLEncoder`/`URLDecoder` in UTF-8.

use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::ScalarUDF;

use super::rows::{self, str_at};
use super::{Arg, Func, args, exec_err, ret_utf8};

pub(super) fn functions() -> Vec<ScalarUDF> {
    use Arg::*;
    vec![
        Func::new("url_extract_protocol", args(&[Str]), ret_utf8, |c| {
            rows::utf8(c, |r| {
                Ok(str_at(c.arg(0), r).and_then(parse).map(|u| u.scheme))
            })
        }),
        Func::new("url_extract_host", args(&[Str]), ret_utf8, |c| {
            rows::utf8(c, |r| {
                Ok(str_at(c.arg(0), r).and_then(parse).map(|u| u.host))
            })
        }),
        Func::new(
            "url_extract_port",
            args(&[Str]),
            |_, _| Ok(DataType::Int64),
            |c| {
                rows::i64s(c, |r| {
                    Ok(str_at(c.arg(0), r).and_then(parse).and_then(|u| u.port))
                })
            },
        ),
        Func::new("url_extract_path", args(&[Str]), ret_utf8, |c| {
            rows::utf8(c, |r| {
                Ok(str_at(c.arg(0), r).and_then(parse).map(|u| u.path))
            })
        }),
        Func::new("url_extract_query", args(&[Str]), ret_utf8, |c| {
            rows::utf8(c, |r| {
                Ok(str_at(c.arg(0), r).and_then(parse).map(|u| u.query))
            })
        }),
        Func::new("url_extract_fragment", args(&[Str]), ret_utf8, |c| {
            rows::utf8(c, |r| {
                Ok(str_at(c.arg(0), r).and_then(parse).map(|u| u.fragment))
            })
        }),
        Func::new("url_extract_parameter", args(&[Str, Str]), ret_utf8, |c| {
            rows::utf8(c, |r| {
                let (Some(url), Some(name)) = (str_at(c.arg(0), r), str_at(c.arg(1), r)) else {
                    return Ok(None);
                };
                let Some(u) = parse(url) else {
                    return Ok(None);
                };
                Ok(u.query
                    .split('&')
                    .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string()))
            })
        }),
        Func::new("url_encode", args(&[Str]), ret_utf8, |c| {
            rows::utf8(c, |r| Ok(str_at(c.arg(0), r).map(encode)))
        }),
        Func::new("url_decode", args(&[Str]), ret_utf8, |c| {
            rows::utf8(c, |r| str_at(c.arg(0), r).map(decode).transpose())
        }),
    ]
    .into_iter()
    .map(Func::udf)
    .collect()
}

struct Parts {
    scheme: String,
    host: String,
    port: Option<i64>,
    path: String,
    query: String,
    fragment: String,
}

/// Characters `java.net.URI` accepts (escapes checked separately); non-ASCII letters are
/// "other" characters, which it also accepts.
fn allowed(ch: char) -> bool {
    ch.is_ascii_alphanumeric()
        || "-_.!~*'();/?:@&=+$,[]#%".contains(ch)
        || (!ch.is_ascii() && !ch.is_control() && !ch.is_whitespace())
}

fn parse(url: &str) -> Option<Parts> {
    if !url.chars().all(allowed) || url.matches('#').count() > 1 {
        return None;
    }
    let bytes = url.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return None;
        }
    }
    let (rest, fragment) = url.split_once('#').unwrap_or((url, ""));
    let scheme_end = rest.find(':').filter(|i| {
        let s = &rest[..*i];
        !s.is_empty()
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    let (scheme, rest) = match scheme_end {
        Some(i) => (rest[..i].to_string(), &rest[i + 1..]),
        None => (String::new(), rest),
    };
    if !scheme.is_empty() && !rest.starts_with('/') {
        // Opaque (`mailto:x@y`): no host, path or query.
        return Some(Parts {
            scheme,
            host: String::new(),
            port: None,
            path: String::new(),
            query: String::new(),
            fragment: fragment.to_string(),
        });
    }
    let (hier, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, port, path) = match hier.strip_prefix("//") {
        Some(after) => {
            let end = after.find('/').unwrap_or(after.len());
            let authority = &after[..end];
            let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let (host, port) = match host_port.rsplit_once(':') {
                Some((h, p)) if !h.ends_with(']') || p.chars().all(|c| c.is_ascii_digit()) => {
                    if p.is_empty() {
                        (h, None)
                    } else {
                        (h, Some(p.parse::<i64>().ok()?))
                    }
                }
                _ => (host_port, None),
            };
            (host.to_string(), port, after[end..].to_string())
        }
        None => (String::new(), None, hier.to_string()),
    };
    Some(Parts {
        scheme,
        host,
        port,
        path,
        query: query.to_string(),
        fragment: fragment.to_string(),
    })
}

/// `URLEncoder.encode(value, UTF_8)`.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// `URLDecoder.decode(value, UTF_8)`.
fn decode(value: &str) -> Result<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = value
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        exec_err(format!(
                            "URLDecoder: Illegal hex characters in escape (%) pattern: {value}"
                        ))
                    })?;
                out.push(hex);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}
