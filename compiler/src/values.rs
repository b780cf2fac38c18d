//! Conversions between the three value worlds: YAML (input files), JSON (our config/vars
//! representation and the Terraform output) and minijinja values (the template context).

use minijinja::Value;
use minijinja::value::ValueKind;
use serde_json::Value as Json;

pub(crate) fn yaml_to_json(yaml: &serde_norway::Value) -> Json {
    use serde_norway::Value as Yaml;
    match yaml {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(*b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Json::Null, Json::Number)
            }
        }
        Yaml::String(s) => Json::String(s.clone()),
        Yaml::Sequence(items) => Json::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Mapping(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (yaml_key(k), yaml_to_json(v)))
                .collect(),
        ),
        Yaml::Tagged(tagged) => yaml_to_json(&tagged.value),
    }
}

/// YAML allows non-string keys (`1: x`, `true: y`); dbt (Python) sees them as their string forms
/// when they are rendered, which is all we ever do with them.
fn yaml_key(key: &serde_norway::Value) -> String {
    use serde_norway::Value as Yaml;
    match key {
        Yaml::String(s) => s.clone(),
        Yaml::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Null => "None".to_string(),
        other => serde_norway::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

pub(crate) fn json_to_jinja(json: &Json) -> Value {
    match json {
        Json::Null => Value::from(()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(0.0))
            }
        }
        Json::String(s) => Value::from(s.as_str()),
        // Python's lists and dicts are mutable: macros `append` to lists read from yml.
        Json::Array(items) => {
            crate::jinja::objects::make_list_from(items.iter().map(json_to_jinja).collect())
        }
        Json::Object(map) => crate::jinja::objects::make_dict_from(
            map.iter()
                .map(|(k, v)| (Value::from(k.as_str()), json_to_jinja(v)))
                .collect(),
        ),
    }
}

/// A template dict. (`Value::from_iter` of pairs would make a list of tuples.)
pub(crate) fn map_value<'a>(pairs: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    Value::from_object(
        pairs
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect::<std::collections::BTreeMap<Value, Value>>(),
    )
}

/// Converts a template value back to JSON (config values set from templates, test arguments).
/// Objects that are neither sequences nor maps (relations, macros) become their rendered string.
pub(crate) fn jinja_to_json(value: &Value) -> Json {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => Json::Null,
        ValueKind::Bool => Json::Bool(value.is_true()),
        ValueKind::Number => {
            if let Ok(i) = i64::try_from(value.clone()) {
                Json::from(i)
            } else if let Ok(f) = f64::try_from(value.clone()) {
                serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
            } else {
                Json::String(value.to_string())
            }
        }
        ValueKind::String => Json::String(value.as_str().unwrap_or_default().to_string()),
        ValueKind::Seq | ValueKind::Iterable => match value.try_iter() {
            Ok(items) => Json::Array(items.map(|v| jinja_to_json(&v)).collect()),
            Err(_) => Json::String(value.to_string()),
        },
        ValueKind::Map => {
            let mut map = serde_json::Map::new();
            if let Ok(keys) = value.try_iter() {
                for key in keys {
                    let item = value.get_item(&key).unwrap_or_default();
                    let key = match key.as_str() {
                        Some(s) => s.to_string(),
                        None => key.to_string(),
                    };
                    map.insert(key, jinja_to_json(&item));
                }
            }
            Json::Object(map)
        }
        _ => Json::String(value.to_string()),
    }
}

/// How a scalar renders as text in SQL/Terraform: strings bare, numbers and booleans as dbt
/// (Python) prints them.
pub(crate) fn json_scalar_text(json: &Json) -> Option<String> {
    match json {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        _ => None,
    }
}
