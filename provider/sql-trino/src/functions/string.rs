//! String functions (Trino docs: functions/string.md). Positions and lengths count Unicode code
//! points, as Trino does; a NULL argument gives NULL unless said otherwise.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::ScalarUDF;

use super::rows::{self, bytes_at, i64_at, str_at};
use super::{
    Arg, Call, Func, args, args_opt, args_var, exec_err, ret_binary, ret_bool, ret_i64,
    ret_str_array, ret_utf8,
};

pub(super) fn functions() -> Vec<ScalarUDF> {
    use Arg::*;
    vec![
        Func::new(
            "length",
            args(&[Any]),
            |t, _| match &t[0] {
                DataType::Utf8
                | DataType::Utf8View
                | DataType::Binary
                | DataType::BinaryView
                | DataType::Null => Ok(DataType::Int64),
                other => Err(datafusion::error::DataFusionError::Plan(format!(
                    "length() does not accept {}",
                    super::trino_name(other)
                ))),
            },
            |c| {
                // varchar: code points; varbinary: bytes.
                if matches!(c.arg(0).data_type(), DataType::Binary | DataType::BinaryView) {
                    return rows::i64s(c, |r| Ok(bytes_at(c.arg(0), r).map(|b| b.len() as i64)));
                }
                rows::i64s(c, |r| Ok(str_at(c.arg(0), r).map(|v| v.chars().count() as i64)))
            },
        ),
        Func::new("lower", args(&[Str]), ret_utf8, |c| {
            rows::utf8(c, |r| Ok(s(c, 0, r).map(str::to_lowercase)))
        }),
        Func::new("upper", args(&[Str]), ret_utf8, |c| {
            rows::utf8(c, |r| Ok(s(c, 0, r).map(str::to_uppercase)))
        }),
        Func::new(
            "reverse",
            args(&[Any]),
            |t, _| match &t[0] {
                DataType::Utf8 | DataType::Utf8View | DataType::Null => Ok(DataType::Utf8),
                DataType::List(_) => Ok(t[0].clone()),
                other => Err(datafusion::error::DataFusionError::Plan(format!(
                    "reverse() of {} is not supported",
                    super::trino_name(other)
                ))),
            },
            |c| {
                if let DataType::List(f) = c.arg(0).data_type() {
                    let element = f.data_type().clone();
                    return rows::scalars(c, |r| {
                        Ok(super::array::list_at(c.arg(0), r)?.map(|mut items| {
                            items.reverse();
                            super::array::make_list(&items, &element)
                        }))
                    });
                }
                let text = datafusion::arrow::compute::cast(c.arg(0), &DataType::Utf8)?;
                rows::utf8(c, |r| Ok(str_at(&text, r).map(|v| v.chars().rev().collect())))
            },
        ),
        Func::new("substr", args_opt(&[Str, Int], &[Int]), ret_utf8, substr),
        Func::new("substring", args_opt(&[Str, Int], &[Int]), ret_utf8, substr),
        Func::new("replace", args_opt(&[Str, Str], &[Str]), ret_utf8, |c| {
            rows::utf8(c, |r| {
                if !super::all_valid(&c.args, r) {
                    return Ok(None);
                }
                let with = if c.args.len() > 2 { s(c, 2, r).unwrap_or("") } else { "" };
                Ok(Some(s(c, 0, r).unwrap_or("").replace(s(c, 1, r).unwrap_or(""), with)))
            })
        }),
        Func::new("strpos", args_opt(&[Str, Str], &[Int]), ret_i64, strpos),
        Func::new("split", args_opt(&[Str, Str], &[Int]), ret_str_array, split),
        Func::new("split_part", args(&[Str, Str, Int]), ret_utf8, split_part),
        Func::new("lpad", args(&[Str, Int, Str]), ret_utf8, |c| pad(c, true)),
        Func::new("rpad", args(&[Str, Int, Str]), ret_utf8, |c| pad(c, false)),
        Func::new("trim", args_opt(&[Str], &[Str]), ret_utf8, |c| trim(c, true, true)),
        Func::new("ltrim", args_opt(&[Str], &[Str]), ret_utf8, |c| trim(c, true, false)),
        Func::new("rtrim", args_opt(&[Str], &[Str]), ret_utf8, |c| trim(c, false, true)),
        Func::new("concat", args_var(&[Str, Str], Str), ret_utf8, |c| {
            rows::utf8(c, |r| {
                if !super::all_valid(&c.args, r) {
                    return Ok(None);
                }
                Ok(Some((0..c.args.len()).filter_map(|i| s(c, i, r)).collect()))
            })
        }),
        Func::new("concat_ws", args_var(&[Str, Any], Str), concat_ws_type, |c| {
            if let DataType::List(_) = c.arg(1).data_type() {
                let list = c.arg(1).as_list::<i32>();
                return rows::utf8(c, |r| {
                    let Some(sep) = s(c, 0, r) else {
                        return Ok(None);
                    };
                    if list.is_null(r) {
                        return Ok(None);
                    }
                    let items = list.value(r);
                    let parts: Vec<&str> = (0..items.len()).filter_map(|i| str_at(&items, i)).collect();
                    Ok(Some(parts.join(sep)))
                });
            }
            rows::utf8(c, |r| {
                let Some(sep) = s(c, 0, r) else {
                    return Ok(None);
                };
                let parts: Vec<&str> = (1..c.args.len()).filter_map(|i| s(c, i, r)).collect();
                Ok(Some(parts.join(sep)))
            })
        }),
        Func::new("starts_with", args(&[Str, Str]), ret_bool, |c| {
            rows::bools(c, |r| match (s(c, 0, r), s(c, 1, r)) {
                (Some(v), Some(p)) => Ok(Some(v.starts_with(p))),
                _ => Ok(None),
            })
        }),
        Func::new("ends_with", args(&[Str, Str]), ret_bool, |c| {
            rows::bools(c, |r| match (s(c, 0, r), s(c, 1, r)) {
                (Some(v), Some(p)) => Ok(Some(v.ends_with(p))),
                _ => Ok(None),
            })
        }),
        Func::new("chr", args(&[Int]), ret_utf8, |c| {
            rows::utf8(c, |r| match i64_at(c.arg(0), r) {
                None => Ok(None),
                Some(n) => u32::try_from(n)
                    .ok()
                    .and_then(char::from_u32)
                    .map(|ch| Some(ch.to_string()))
                    .ok_or_else(|| exec_err(format!("Not a valid Unicode code point: {n}"))),
            })
        }),
        Func::new(
            "codepoint",
            args(&[Str]),
            |_, _| Ok(DataType::Int32),
            |c| {
                let out = rows::i64s(c, |r| match s(c, 0, r) {
                    None => Ok(None),
                    Some(v) => {
                        let mut chars = v.chars();
                        match (chars.next(), chars.next()) {
                            (Some(ch), None) => Ok(Some(i64::from(u32::from(ch)))),
                            _ => Err(exec_err(
                                "Input string must be a single character string",
                            )),
                        }
                    }
                })?;
                Ok(datafusion::arrow::compute::cast(&out, &DataType::Int32)?)
            },
        ),
        Func::new("levenshtein_distance", args(&[Str, Str]), ret_i64, |c| {
            rows::i64s(c, |r| match (s(c, 0, r), s(c, 1, r)) {
                (Some(a), Some(b)) => Ok(Some(levenshtein(a, b))),
                _ => Ok(None),
            })
        }),
        Func::new("hamming_distance", args(&[Str, Str]), ret_i64, |c| {
            rows::i64s(c, |r| match (s(c, 0, r), s(c, 1, r)) {
                (Some(a), Some(b)) => {
                    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
                    if a.len() != b.len() {
                        return Err(exec_err("The input strings to hamming_distance function must have the same length"));
                    }
                    Ok(Some(a.iter().zip(&b).filter(|(x, y)| x != y).count() as i64))
                }
                _ => Ok(None),
            })
        }),
        Func::new("translate", args(&[Str, Str, Str]), ret_utf8, |c| {
            rows::utf8(c, |r| {
                let (Some(v), Some(from), Some(to)) = (s(c, 0, r), s(c, 1, r), s(c, 2, r)) else {
                    return Ok(None);
                };
                let from: Vec<char> = from.chars().collect();
                let to: Vec<char> = to.chars().collect();
                Ok(Some(
                    v.chars()
                        .filter_map(|ch| match from.iter().position(|f| *f == ch) {
                            Some(i) => to.get(i).copied(),
                            None => Some(ch),
                        })
                        .collect(),
                ))
            })
        }),
        Func::new("to_utf8", args(&[Str]), ret_binary, |c| {
            rows::binary(c, |r| Ok(s(c, 0, r).map(|v| v.as_bytes().to_vec())))
        }),
        Func::new("from_utf8", args(&[Bytes]), ret_utf8, |c| {
            rows::utf8(c, |r| {
                Ok(bytes_at(c.arg(0), r).map(|b| String::from_utf8_lossy(b).into_owned()))
            })
        }),
        Func::new("to_hex", args(&[Bytes]), ret_utf8, |c| {
            rows::utf8(c, |r| {
                Ok(bytes_at(c.arg(0), r).map(|b| b.iter().map(|x| format!("{x:02X}")).collect()))
            })
        }),
        Func::new("md5", args(&[Bytes]), ret_binary, |c| {
            use md5::Digest;
            rows::binary(c, |r| Ok(bytes_at(c.arg(0), r).map(|b| md5::Md5::digest(b).to_vec())))
        }),
        Func::new("sha1", args(&[Bytes]), ret_binary, |c| {
            use sha1::Digest;
            rows::binary(c, |r| Ok(bytes_at(c.arg(0), r).map(|b| sha1::Sha1::digest(b).to_vec())))
        }),
        Func::new("sha256", args(&[Bytes]), ret_binary, |c| {
            use sha2::Digest;
            rows::binary(c, |r| Ok(bytes_at(c.arg(0), r).map(|b| sha2::Sha256::digest(b).to_vec())))
        }),
        Func::new("sha512", args(&[Bytes]), ret_binary, |c| {
            use sha2::Digest;
            rows::binary(c, |r| Ok(bytes_at(c.arg(0), r).map(|b| sha2::Sha512::digest(b).to_vec())))
        }),
        Func::new("crc32", args(&[Bytes]), ret_i64, |c| {
            rows::i64s(c, |r| Ok(bytes_at(c.arg(0), r).map(|b| i64::from(crc32fast::hash(b)))))
        }),
        Func::new("to_base64", args(&[Bytes]), ret_utf8, |c| {
            use base64::Engine;
            rows::utf8(c, |r| {
                Ok(bytes_at(c.arg(0), r).map(|b| base64::engine::general_purpose::STANDARD.encode(b)))
            })
        }),
        Func::new("from_base64", args(&[Str]), ret_binary, |c| {
            use base64::Engine;
            rows::binary(c, |r| match s(c, 0, r) {
                None => Ok(None),
                Some(v) => base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .map(Some)
                    .map_err(|e| exec_err(format!("Invalid base64: {e}"))),
            })
        }),
        Func::new("from_hex", args(&[Str]), ret_binary, |c| {
            rows::binary(c, |r| match s(c, 0, r) {
                None => Ok(None),
                Some(v) => {
                    if v.len() % 2 != 0 {
                        return Err(exec_err("invalid input length"));
                    }
                    (0..v.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&v[i..i + 2], 16))
                        .collect::<std::result::Result<Vec<u8>, _>>()
                        .map(Some)
                        .map_err(|_| exec_err(format!("invalid hex: {v}")))
                }
            })
        }),
    ]
    .into_iter()
    .map(Func::udf)
    .collect()
}

/// `concat_ws(sep, varchar...)` or `concat_ws(sep, array(varchar))`.
fn concat_ws_type(types: &[DataType], _: &[Option<&ScalarValue>]) -> Result<DataType> {
    let ok = |t: &DataType| matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::Null);
    let valid = match &types[1..] {
        [DataType::List(f)] => ok(f.data_type()),
        rest => rest.iter().all(ok),
    };
    if !valid {
        return Err(datafusion::error::DataFusionError::Plan(
            "concat_ws() takes varchar arguments or one array(varchar)".into(),
        ));
    }
    Ok(DataType::Utf8)
}

pub(super) fn s<'a>(c: &'a Call, i: usize, row: usize) -> Option<&'a str> {
    str_at(c.arg(i), row)
}

fn substr(c: &Call) -> Result<datafusion::arrow::array::ArrayRef> {
    rows::utf8(c, |r| {
        if !super::all_valid(&c.args, r) {
            return Ok(None);
        }
        let chars: Vec<char> = s(c, 0, r).unwrap_or("").chars().collect();
        let n = chars.len() as i64;
        let mut start = i64_at(c.arg(1), r).unwrap_or(0);
        let length = if c.args.len() > 2 {
            i64_at(c.arg(2), r).unwrap_or(0)
        } else {
            n
        };
        if start == 0 || length <= 0 {
            return Ok(Some(String::new()));
        }
        if start > 0 {
            start -= 1;
        } else {
            start += n;
            if start < 0 {
                return Ok(Some(String::new()));
            }
        }
        if start >= n {
            return Ok(Some(String::new()));
        }
        let end = start.saturating_add(length).min(n);
        Ok(Some(chars[start as usize..end as usize].iter().collect()))
    })
}

fn strpos(c: &Call) -> Result<datafusion::arrow::array::ArrayRef> {
    rows::i64s(c, |r| {
        if !super::all_valid(&c.args, r) {
            return Ok(None);
        }
        let v = s(c, 0, r).unwrap_or("");
        let sub = s(c, 1, r).unwrap_or("");
        let instance = if c.args.len() > 2 {
            i64_at(c.arg(2), r).unwrap_or(1)
        } else {
            1
        };
        if instance == 0 {
            return Err(exec_err(
                "'instance' must be a positive or negative number.",
            ));
        }
        if sub.is_empty() {
            return Ok(Some(1));
        }
        // Every occurrence, overlapping ones included (the search moves on by one character);
        // a negative instance counts from the end.
        let mut starts = Vec::new();
        let mut from = 0;
        while let Some(at) = v[from..].find(sub) {
            let byte = from + at;
            starts.push(byte);
            if instance > 0 && starts.len() as i64 == instance {
                break;
            }
            from = byte + v[byte..].chars().next().map_or(1, char::len_utf8);
        }
        let n = instance.unsigned_abs() as usize;
        let chosen = if instance > 0 {
            starts.get(n - 1)
        } else {
            starts.len().checked_sub(n).and_then(|i| starts.get(i))
        };
        Ok(Some(
            chosen.map_or(0, |byte| v[..*byte].chars().count() as i64 + 1),
        ))
    })
}

fn split(c: &Call) -> Result<datafusion::arrow::array::ArrayRef> {
    rows::scalars(c, |r| {
        if !super::all_valid(&c.args, r) {
            return Ok(None);
        }
        let v = s(c, 0, r).unwrap_or("");
        let d = s(c, 1, r).unwrap_or("");
        if d.is_empty() {
            return Err(exec_err("The delimiter may not be the empty string"));
        }
        let parts: Vec<&str> = if c.args.len() > 2 {
            let limit = i64_at(c.arg(2), r).unwrap_or(0);
            if limit <= 0 {
                return Err(exec_err("Limit must be positive"));
            }
            if limit > i64::from(i32::MAX) {
                return Err(exec_err("Limit is too large"));
            }
            v.splitn(limit as usize, d).collect()
        } else {
            v.split(d).collect()
        };
        Ok(Some(str_list(parts.into_iter().map(Some))))
    })
}

/// A `ScalarValue` array(varchar) of the given items.
pub(super) fn str_list<'a>(items: impl Iterator<Item = Option<&'a str>>) -> ScalarValue {
    let values: Vec<ScalarValue> = items
        .map(|i| ScalarValue::Utf8(i.map(str::to_string)))
        .collect();
    ScalarValue::List(ScalarValue::new_list_nullable(&values, &DataType::Utf8))
}

fn split_part(c: &Call) -> Result<datafusion::arrow::array::ArrayRef> {
    rows::utf8(c, |r| {
        if !super::all_valid(&c.args, r) {
            return Ok(None);
        }
        let v = s(c, 0, r).unwrap_or("");
        let d = s(c, 1, r).unwrap_or("");
        let index = i64_at(c.arg(2), r).unwrap_or(0);
        if index <= 0 {
            return Err(exec_err("Index must be greater than zero"));
        }
        if d.is_empty() {
            return Err(exec_err(
                "split_part with an empty delimiter is not supported on the embedded engine",
            ));
        }
        Ok(v.split(d).nth(index as usize - 1).map(str::to_string))
    })
}

fn pad(c: &Call, left: bool) -> Result<datafusion::arrow::array::ArrayRef> {
    rows::utf8(c, |r| {
        if !super::all_valid(&c.args, r) {
            return Ok(None);
        }
        let v: Vec<char> = s(c, 0, r).unwrap_or("").chars().collect();
        let size = i64_at(c.arg(1), r).unwrap_or(0);
        let filler: Vec<char> = s(c, 2, r).unwrap_or("").chars().collect();
        if !(0..=i64::from(i32::MAX)).contains(&size) {
            return Err(exec_err(
                "Target length must be in the range [0..2147483647]",
            ));
        }
        if filler.is_empty() {
            return Err(exec_err("Padding string must not be empty"));
        }
        let size = size as usize;
        if v.len() >= size {
            return Ok(Some(v[..size].iter().collect()));
        }
        let fill: String = filler.iter().cycle().take(size - v.len()).collect();
        let text: String = v.iter().collect();
        Ok(Some(if left { fill + &text } else { text + &fill }))
    })
}

/// Java's `Character.isWhitespace`, which Trino's `trim` uses (no-break spaces are kept).
fn java_whitespace(ch: char) -> bool {
    matches!(
        ch,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{1C}'..='\u{1F}'
    ) || (ch.is_whitespace() && !matches!(ch, '\u{A0}' | '\u{2007}' | '\u{202F}' | '\u{85}'))
}

fn trim(c: &Call, left: bool, right: bool) -> Result<datafusion::arrow::array::ArrayRef> {
    rows::utf8(c, |r| {
        if !super::all_valid(&c.args, r) {
            return Ok(None);
        }
        let v = s(c, 0, r).unwrap_or("");
        let set: Option<Vec<char>> =
            (c.args.len() > 1).then(|| s(c, 1, r).unwrap_or("").chars().collect());
        let strip = |ch: char| match &set {
            Some(set) => set.contains(&ch),
            None => java_whitespace(ch),
        };
        let mut out = v;
        if left {
            out = out.trim_start_matches(strip);
        }
        if right {
            out = out.trim_end_matches(strip);
        }
        Ok(Some(out.to_string()))
    })
}

fn levenshtein(a: &str, b: &str) -> i64 {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()] as i64
}
