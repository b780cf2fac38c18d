//! Template values with dbt semantics that plain minijinja values lack: relations rendered for
//! Athena, lists and dicts that `{% do x.append(y) %}` / `{% do d.update(...) %}` mutate in place,
//! and deferred vars.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr, from_args};
use minijinja::{Error, ErrorKind, State, Value};

/// Locks a mutex even if a panic elsewhere poisoned it: the data (template values) stays valid.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Start and end of the marker an unresolved relation renders as during the parse phase.
pub(crate) const RELATION_START: char = '\u{3}';
pub(crate) const RELATION_END: char = '\u{4}';

/// A ref (or `this`) met while parsing, before relation names are known. Written straight into
/// the output it becomes a marker that is replaced once names are known, so the parse render can
/// serve as the compiled SQL. Any other use (an attribute, string concatenation, a method) sets
/// `observed`, and the node is rendered again with resolved relations.
#[derive(Debug, Clone)]
pub(crate) struct Placeholder {
    /// The ref-ed node's name; empty for `this`.
    pub name: String,
    pub observed: Arc<AtomicBool>,
}

/// A relation as dbt-athena renders it: `"catalog"."schema"."table"`.
#[derive(Debug, Clone)]
pub(crate) struct Relation {
    pub database: String,
    pub schema: String,
    pub identifier: String,
    /// `table` or `view`, for `relation.is_table` / `is_view`.
    pub kind: &'static str,
    /// Which parts are quoted (dbt's quote policy: the project's `quoting:`, then the node's).
    pub quoting: Quoting,
    include_database: bool,
    include_schema: bool,
    placeholder: Option<Placeholder>,
    /// The node's `event_time` column as a microbatch model's batch filter names it (quoted
    /// when dbt quotes it).
    pub event_time: Option<String>,
    /// Written as dbt-athena writes a ref in a microbatch batch: only the rows of the batch's
    /// window, its bounds the markers the provider fills in for each batch.
    batch_filter: bool,
}

/// Where a microbatch batch's bounds and id go in the SQL; the provider writes each batch's
/// (`mdw_engine::microbatch`) as dbt does: `2024-09-17 00:00:00+00:00`, `20240917`.
pub(crate) const BATCH_START: &str = "__mdw_batch_start__";
pub(crate) const BATCH_END: &str = "__mdw_batch_end__";
pub(crate) const BATCH_ID: &str = "__mdw_batch_id__";

/// dbt's quote policy: which parts of a relation name are written in double quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quoting {
    pub database: bool,
    pub schema: bool,
    pub identifier: bool,
}

impl Default for Quoting {
    /// dbt-athena quotes every part.
    fn default() -> Self {
        Quoting {
            database: true,
            schema: true,
            identifier: true,
        }
    }
}

impl Quoting {
    /// This policy with the `quoting:` mapping's booleans applied over it.
    pub(crate) fn with(mut self, overrides: Option<&serde_json::Value>) -> Quoting {
        if let Some(serde_json::Value::Object(map)) = overrides {
            for (key, value) in map {
                let Some(on) = value.as_bool() else { continue };
                match key.as_str() {
                    "database" => self.database = on,
                    "schema" => self.schema = on,
                    "identifier" => self.identifier = on,
                    _ => {}
                }
            }
        }
        self
    }
}

impl Relation {
    pub(crate) fn new(
        database: &str,
        schema: &str,
        identifier: &str,
        kind: &'static str,
    ) -> Relation {
        Relation {
            database: database.to_string(),
            schema: schema.to_string(),
            identifier: identifier.to_string(),
            kind,
            quoting: Quoting::default(),
            include_database: true,
            include_schema: true,
            placeholder: None,
            event_time: None,
            batch_filter: false,
        }
    }

    /// This relation as a `table` or a `view`.
    pub(crate) fn with_kind(mut self, kind: &'static str) -> Relation {
        self.kind = kind;
        self
    }

    /// This relation with its `event_time` column (see [`Relation::event_time`]).
    pub(crate) fn with_event_time(mut self, event_time: Option<String>) -> Relation {
        self.event_time = event_time;
        self
    }

    /// As a ref from a microbatch model's batch reads it: filtered to the batch's window when
    /// the node has an `event_time`.
    pub(crate) fn in_batch(mut self) -> Relation {
        self.batch_filter = self.event_time.is_some();
        self
    }

    /// dbt-athena's `AthenaRelation._render_event_time_filtered` with both bounds, wrapped as
    /// `BaseRelation.render_event_time_filtered` does (Athena needs no subquery alias).
    fn batch_filtered(&self, rendered: String) -> String {
        match (&self.event_time, self.batch_filter) {
            (Some(field), true) => format!(
                "(select * from {rendered} where cast({field} as timestamp) >= timestamp '{BATCH_START}' and cast({field} as timestamp) < timestamp '{BATCH_END}')"
            ),
            _ => rendered,
        }
    }

    /// How dbt renders a ref to an ephemeral model: the name of the CTE that inlines it.
    pub(crate) fn ephemeral(named: &Relation) -> Relation {
        let identifier = format!("__dbt__cte__{}", named.identifier);
        let mut relation = Relation::new(&named.database, &named.schema, &identifier, "cte");
        relation.include_database = false;
        relation.include_schema = false;
        relation.quoting.identifier = false;
        relation
    }

    /// A unit test's stand-in for its `i`-th given input: the quoted name `"__mdw_given_<i>"`
    /// of the CTE the provider fills with the fixture rows.
    pub(crate) fn given(index: usize) -> Relation {
        let mut relation = Relation::new("", "", &format!("__mdw_given_{index}"), "cte");
        relation.include_database = false;
        relation.include_schema = false;
        relation
    }

    pub(crate) fn is_ephemeral(&self) -> bool {
        self.kind == "cte"
    }

    pub(crate) fn quoted(mut self, quoting: Quoting) -> Relation {
        self.quoting = quoting;
        self
    }

    /// A parse-phase stand-in for a node whose relation is not named yet.
    pub(crate) fn placeholder(mut self, name: &str, observed: Arc<AtomicBool>) -> Relation {
        self.placeholder = Some(Placeholder {
            name: name.to_string(),
            observed,
        });
        self
    }

    /// The marker written for a placeholder emitted directly into the output.
    pub(crate) fn marker(&self) -> Option<String> {
        self.placeholder
            .as_ref()
            .map(|p| format!("{RELATION_START}{}{RELATION_END}", p.name))
    }

    fn observe(&self) {
        if let Some(placeholder) = &self.placeholder {
            placeholder.observed.store(true, Ordering::Relaxed);
        }
    }

    pub(crate) fn rendered(&self) -> String {
        let part = |text: &str, quoted: bool| {
            if quoted {
                format!("\"{text}\"")
            } else {
                text.to_string()
            }
        };
        let mut parts = Vec::with_capacity(3);
        if self.include_database {
            parts.push(part(&self.database, self.quoting.database));
        }
        if self.include_schema {
            parts.push(part(&self.schema, self.quoting.schema));
        }
        parts.push(part(&self.identifier, self.quoting.identifier));
        parts.join(".")
    }
}

/// The keys a relation shows as a mapping (dbt's relations are dataclasses that macros test
/// with `is mapping` and `relation.get('metadata')`).
const RELATION_KEYS: &[&str] = &["path", "type", "metadata", "quote_policy", "include_policy"];

impl Object for Relation {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.observe();
        let policy = |database, schema, identifier| {
            crate::values::map_value([
                ("database", Value::from(database)),
                ("schema", Value::from(schema)),
                ("identifier", Value::from(identifier)),
            ])
        };
        Some(match key.as_str()? {
            "database" => Value::from(self.database.as_str()),
            "schema" => Value::from(self.schema.as_str()),
            "identifier" | "name" | "table" => Value::from(self.identifier.as_str()),
            "is_table" => Value::from(self.kind == "table"),
            "is_view" => Value::from(self.kind == "view"),
            "is_cte" => Value::from(self.is_ephemeral()),
            "type" => Value::from(self.kind),
            "path" => crate::values::map_value([
                ("database", Value::from(self.database.as_str())),
                ("schema", Value::from(self.schema.as_str())),
                ("identifier", Value::from(self.identifier.as_str())),
            ]),
            "metadata" => crate::values::map_value([("type", Value::from("AthenaRelation"))]),
            "quote_policy" => policy(
                self.quoting.database,
                self.quoting.schema,
                self.quoting.identifier,
            ),
            "include_policy" => policy(self.include_database, self.include_schema, true),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(RELATION_KEYS)
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        self.observe();
        match method {
            "render" => Ok(Value::from(self.rendered())),
            "quote" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let mut relation = (**self).clone();
                for (key, slot) in [
                    ("database", &mut relation.quoting.database),
                    ("schema", &mut relation.quoting.schema),
                    ("identifier", &mut relation.quoting.identifier),
                ] {
                    if let Some(on) = kwargs.get::<Option<bool>>(key)? {
                        *slot = on;
                    }
                }
                kwargs.assert_all_used()?;
                Ok(Value::from_object(relation))
            }
            "incorporate" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let mut relation = (**self).clone();
                if let Some(path) = kwargs.get::<Option<Value>>("path")? {
                    for (key, slot) in [
                        ("database", &mut relation.database),
                        ("schema", &mut relation.schema),
                        ("identifier", &mut relation.identifier),
                    ] {
                        if let Ok(value) = path.get_attr(key)
                            && !value.is_undefined()
                        {
                            *slot = value.to_string();
                        }
                    }
                }
                if let Some(kind) = kwargs.get::<Option<String>>("type")? {
                    relation.kind = if kind == "view" { "view" } else { "table" };
                }
                kwargs.assert_all_used()?;
                Ok(Value::from_object(relation))
            }
            "include" => {
                let (kwargs,): (Kwargs,) = from_args(args)?;
                let mut relation = (**self).clone();
                if let Some(include) = kwargs.get::<Option<bool>>("database")? {
                    relation.include_database = include;
                }
                if let Some(include) = kwargs.get::<Option<bool>>("schema")? {
                    relation.include_schema = include;
                }
                let _ = kwargs.get::<Option<bool>>("identifier")?;
                kwargs.assert_all_used()?;
                Ok(Value::from_object(relation))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    /// Stringifying (`~`, `| string`) is not writing to the output: the text may be taken apart.
    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.observe();
        match self.marker() {
            Some(marker) => f.write_str(&marker),
            None => f.write_str(&self.batch_filtered(self.rendered())),
        }
    }
}

/// Replaces relation markers in a parse-phase render. `None` when a marker is malformed or
/// names an unknown node (the text was taken apart): the node must be rendered again.
pub(crate) fn replace_relations(
    text: &str,
    mut resolve: impl FnMut(&str) -> Option<String>,
) -> Option<String> {
    if !text.contains(RELATION_START) && !text.contains(RELATION_END) {
        return Some(text.to_string());
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(start) = rest.find(RELATION_START) {
        let before = &rest[..start];
        if before.contains(RELATION_END) {
            return None;
        }
        out.push_str(before);
        let after = &rest[start + RELATION_START.len_utf8()..];
        let end = after.find(RELATION_END)?;
        let name = &after[..end];
        if name.contains(RELATION_START) {
            return None;
        }
        out.push_str(&resolve(name)?);
        rest = &after[end + RELATION_END.len_utf8()..];
    }
    if rest.contains(RELATION_END) {
        return None;
    }
    out.push_str(rest);
    Some(out)
}

/// A list created by a literal (`[]`, `[a, b]`) in a template. Unlike minijinja's own lists it
/// can be changed in place, as dbt macros do with `{% do cols.append(c) %}`.
#[derive(Debug, Default)]
pub(crate) struct MutableList(pub Mutex<Vec<Value>>);

impl Object for MutableList {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let items = lock(&self.0);
        let index = i64::try_from(key.clone()).ok()?;
        let index = if index < 0 {
            items.len().checked_sub(index.unsigned_abs() as usize)?
        } else {
            index as usize
        };
        items.get(index).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(lock(&self.0).clone())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(lock(&self.0).len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let mut items = lock(&self.0);
        match method {
            "append" => {
                let (item,): (Value,) = from_args(args)?;
                items.push(item);
            }
            "extend" => {
                let (more,): (Value,) = from_args(args)?;
                items.extend(more.try_iter()?);
            }
            "insert" => {
                let (index, item): (i64, Value) = from_args(args)?;
                let index = clamp_index(index, items.len());
                items.insert(index, item);
            }
            "pop" => {
                let (index,): (Option<i64>,) = from_args(args)?;
                let len = items.len();
                if len == 0 {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "pop from empty list",
                    ));
                }
                let index = index.map_or(len - 1, |i| clamp_index(i, len).min(len - 1));
                return Ok(items.remove(index));
            }
            "remove" => {
                let (item,): (Value,) = from_args(args)?;
                match items.iter().position(|x| *x == item) {
                    Some(index) => {
                        items.remove(index);
                    }
                    None => {
                        return Err(Error::new(
                            ErrorKind::InvalidOperation,
                            "list.remove(x): x not in list",
                        ));
                    }
                }
            }
            "index" => {
                let (item,): (Value,) = from_args(args)?;
                return items
                    .iter()
                    .position(|x| *x == item)
                    .map(|i| Value::from(i as i64))
                    .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "x not in list"));
            }
            "clear" => items.clear(),
            "reverse" => items.reverse(),
            _ => return Err(Error::from(ErrorKind::UnknownMethod)),
        }
        Ok(Value::from(()))
    }
}

fn clamp_index(index: i64, len: usize) -> usize {
    if index < 0 {
        len.saturating_sub(index.unsigned_abs() as usize)
    } else {
        (index as usize).min(len)
    }
}

/// A dict created by a literal (`{}`, `{'a': 1}`) in a template, mutable in place like a
/// Python dict (`update`, `pop`, `setdefault`), keeping insertion order as Python does.
#[derive(Debug, Default)]
pub(crate) struct MutableDict(pub Mutex<Vec<(Value, Value)>>);

impl MutableDict {
    fn set(entries: &mut Vec<(Value, Value)>, key: Value, value: Value) {
        match entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => entries.push((key, value)),
        }
    }
}

impl Object for MutableDict {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        lock(&self.0)
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(lock(&self.0).iter().map(|(k, _)| k.clone()).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(lock(&self.0).len())
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "update" => {
                let (other, kwargs): (Option<Value>, Kwargs) = from_args(args)?;
                let mut pairs = Vec::new();
                if let Some(other) = other {
                    for key in other.try_iter()? {
                        let value = other.get_item(&key)?;
                        pairs.push((key, value));
                    }
                }
                for key in kwargs.args() {
                    pairs.push((Value::from(key), kwargs.get::<Value>(key)?));
                }
                let mut entries = lock(&self.0);
                for (key, value) in pairs {
                    Self::set(&mut entries, key, value);
                }
                Ok(Value::from(()))
            }
            "pop" => {
                let (key, default): (Value, Option<Value>) = from_args(args)?;
                let mut entries = lock(&self.0);
                match entries.iter().position(|(k, _)| *k == key) {
                    Some(index) => Ok(entries.remove(index).1),
                    None => default.ok_or_else(|| {
                        Error::new(
                            ErrorKind::InvalidOperation,
                            format!("key {key} not in dict"),
                        )
                    }),
                }
            }
            "setdefault" => {
                let (key, default): (Value, Option<Value>) = from_args(args)?;
                let mut entries = lock(&self.0);
                if let Some((_, value)) = entries.iter().find(|(k, _)| *k == key) {
                    return Ok(value.clone());
                }
                let value = default.unwrap_or_else(|| Value::from(()));
                entries.push((key, value.clone()));
                Ok(value)
            }
            "clear" => {
                lock(&self.0).clear();
                Ok(Value::from(()))
            }
            "copy" => Ok(Value::from_object(MutableDict(Mutex::new(
                lock(&self.0).clone(),
            )))),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// `__mdw_list([...])`: the rewritten form of a list literal.
pub(crate) fn make_list(items: Value) -> Result<Value, Error> {
    Ok(Value::from_object(MutableList(Mutex::new(
        items.try_iter()?.collect(),
    ))))
}

/// A mutable list holding `items`.
pub(crate) fn make_list_from(items: Vec<Value>) -> Value {
    Value::from_object(MutableList(Mutex::new(items)))
}

/// A mutable dict holding `entries`, in their order.
pub(crate) fn make_dict_from(entries: Vec<(Value, Value)>) -> Value {
    Value::from_object(MutableDict(Mutex::new(entries)))
}

/// `__mdw_dict({...})`: the rewritten form of a dict literal.
pub(crate) fn make_dict(map: Value) -> Result<Value, Error> {
    let mut entries = Vec::new();
    for key in map.try_iter()? {
        let value = map.get_item(&key)?;
        entries.push((key, value));
    }
    Ok(Value::from_object(MutableDict(Mutex::new(entries))))
}

/// Start and end of the marker a deferred var renders as while a model renders; emit turns it
/// into `${var.<name>}`. Control characters never occur in SQL, so the marker cannot collide.
pub(crate) const DEFERRED_START: char = '\u{1}';
pub(crate) const DEFERRED_END: char = '\u{2}';

pub(crate) fn deferred_marker(name: &str) -> String {
    format!("{DEFERRED_START}{name}{DEFERRED_END}")
}

/// Replaces every deferred-var marker in `text` with `replace(name)`.
pub(crate) fn replace_deferred(text: &str, mut replace: impl FnMut(&str) -> String) -> String {
    if !text.contains(DEFERRED_START) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(DEFERRED_START) {
        out.push_str(&rest[..start]);
        let after = &rest[start + DEFERRED_START.len_utf8()..];
        match after.find(DEFERRED_END) {
            Some(end) => {
                out.push_str(&replace(&after[..end]));
                rest = &after[end + DEFERRED_END.len_utf8()..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_renders_athena_style() {
        let relation = Relation::new("awsdatacatalog", "mdw", "stg_stores", "table");
        assert_eq!(
            relation.rendered(),
            "\"awsdatacatalog\".\"mdw\".\"stg_stores\""
        );
    }

    #[test]
    fn relation_markers_are_replaced_or_rejected() {
        let observed = Arc::new(AtomicBool::new(false));
        let marker = Relation::new("c", "s", "a", "table")
            .placeholder("a", observed)
            .marker()
            .unwrap();
        let resolve = |name: &str| (name == "a").then(|| "\"c\".\"s\".\"a\"".to_string());
        assert_eq!(
            replace_relations(&format!("from {marker} x"), resolve).unwrap(),
            "from \"c\".\"s\".\"a\" x"
        );
        assert!(replace_relations(&format!("from {}", &marker[..2]), resolve).is_none());
        assert!(replace_relations("from \u{3}B\u{4}", resolve).is_none());
    }

    #[test]
    fn deferred_markers_are_replaced() {
        let text = format!("where d = {} and x", deferred_marker("pdate"));
        assert_eq!(
            replace_deferred(&text, |name| format!("${{var.{name}}}")),
            "where d = ${var.pdate} and x"
        );
    }
}
