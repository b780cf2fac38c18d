//! The two spellings of a column type: Trino's (what Athena reports and SQL casts to:
//! `varchar`, `integer`, `timestamp(6)`, `array(varchar)`, `row(a integer)`) and Hive's (what
//! Athena DDL takes and Glue stores: `string`, `int`, `timestamp`, `array<string>`,
//! `struct<a:int>`). Neither direction keeps everything: `smallint` and `int` are both
//! Trino's `integer`, `varchar(10)` and `string` both `varchar`.

/// The Hive type Athena DDL wants for a Trino type (`varchar` → `string`, `integer` → `int`,
/// `timestamp(6)` → `timestamp`, `row(a integer)` → `struct<a:int>`).
pub fn hive_name(trino: &str) -> String {
    let t = trino.trim().to_ascii_lowercase();
    if let Some(inner) = strip_call(&t, "array") {
        return format!("array<{}>", hive_name(inner));
    }
    if let Some(inner) = strip_call(&t, "map") {
        let (k, v) = split_top_level(inner);
        return format!(
            "map<{},{}>",
            hive_name(k),
            hive_name(v.unwrap_or("varchar"))
        );
    }
    if let Some(inner) = strip_call(&t, "row") {
        let fields: Vec<String> = split_all_top_level(inner)
            .into_iter()
            .map(|field| {
                let field = field.trim();
                match field.split_once(' ') {
                    Some((n, ty)) => format!("{}:{}", n.trim_matches('"'), hive_name(ty)),
                    None => format!("{field}:string"),
                }
            })
            .collect();
        return format!("struct<{}>", fields.join(","));
    }
    match t.as_str() {
        "varchar" | "char" | "string" => "string".into(),
        "integer" | "int" => "int".into(),
        "real" => "float".into(),
        _ if t.starts_with("varchar(") || t.starts_with("char(") => "string".into(),
        _ if t.starts_with("timestamp") && t.contains("with time zone") => "timestamp".into(),
        _ if t.starts_with("timestamp") => "timestamp".into(),
        _ => t,
    }
}

/// The Trino type for a Hive type as Glue stores it (the inverse of [`hive_name`]).
pub fn trino_name(hive: &str) -> String {
    let t = hive.trim().to_ascii_lowercase();
    if let Some(inner) = strip_angle(&t, "array") {
        return format!("array({})", trino_name(inner));
    }
    if let Some(inner) = strip_angle(&t, "map") {
        let (k, v) = split_top_level(inner);
        return format!(
            "map({}, {})",
            trino_name(k),
            trino_name(v.unwrap_or("string"))
        );
    }
    if let Some(inner) = strip_angle(&t, "struct") {
        let fields: Vec<String> = split_all_top_level(inner)
            .into_iter()
            .map(|field| match field.split_once(':') {
                Some((n, ty)) => format!("{} {}", n.trim(), trino_name(ty)),
                None => field.trim().to_string(),
            })
            .collect();
        return format!("row({})", fields.join(", "));
    }
    match t.as_str() {
        "string" => "varchar".into(),
        "int" | "smallint" | "tinyint" => "integer".into(),
        "float" => "real".into(),
        "timestamp" => "timestamp(6)".into(),
        "timestamptz" => "timestamp(6) with time zone".into(),
        _ if t.starts_with("varchar(") || t.starts_with("char(") => "varchar".into(),
        _ => t.replace(", ", ","),
    }
}

fn strip_call<'a>(t: &'a str, name: &str) -> Option<&'a str> {
    t.strip_prefix(name)?
        .trim_start()
        .strip_prefix('(')?
        .strip_suffix(')')
}

fn strip_angle<'a>(t: &'a str, name: &str) -> Option<&'a str> {
    t.strip_prefix(name)?.strip_prefix('<')?.strip_suffix('>')
}

fn split_all_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' | '<' => depth += 1,
            ')' | '>' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn split_top_level(s: &str) -> (&str, Option<&str>) {
    let parts = split_all_top_level(s);
    match parts.as_slice() {
        [k, v] => (k.trim(), Some(v.trim())),
        _ => (s.trim(), None),
    }
}
