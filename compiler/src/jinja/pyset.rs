//! Python's `set`, as dbt's `set()` builds it: distinct items, equal to another set with the
//! same items in any order (`set(a) != set(b)` is how dbt_utils' `equality` test checks two
//! relations have the same columns), and the methods macros call on it.
//!
//! Iteration keeps first-seen order. Python's order for strings changes from run to run
//! (hash randomisation), so no project can depend on it; a stable order keeps mdwc's output
//! stable.

use std::cmp::Ordering;
use std::sync::{Arc, Mutex};

use minijinja::value::{DynObject, Enumerator, Object, ObjectRepr, from_args};
use minijinja::{Error, ErrorKind, State, Value};

use super::objects::lock;

#[derive(Debug, Default)]
pub(crate) struct PySet(Mutex<Vec<Value>>);

impl PySet {
    /// The distinct items of `items`, in first-seen order.
    pub(crate) fn from_items(items: impl IntoIterator<Item = Value>) -> Self {
        let mut out: Vec<Value> = Vec::new();
        for item in items {
            if !out.contains(&item) {
                out.push(item);
            }
        }
        PySet(Mutex::new(out))
    }

    fn items(&self) -> Vec<Value> {
        lock(&self.0).clone()
    }

    fn sorted(&self) -> Vec<Value> {
        let mut items = self.items();
        items.sort();
        items
    }
}

/// The items of a set, list or other iterable argument.
fn items_of(value: &Value) -> Result<Vec<Value>, Error> {
    Ok(value.try_iter()?.collect())
}

impl Object for PySet {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Iterable
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.items())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(lock(&self.0).len())
    }

    fn is_true(self: &Arc<Self>) -> bool {
        !lock(&self.0).is_empty()
    }

    /// Equal when they hold the same items; otherwise ordered by their sorted items, a total
    /// order as minijinja requires.
    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let other = other.downcast_ref::<Self>()?;
        Some(self.sorted().cmp(&other.sorted()))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let new_set = |items: Vec<Value>| Ok(Value::from_object(PySet::from_items(items)));
        match method {
            "add" => {
                let (item,): (Value,) = from_args(args)?;
                let mut items = lock(&self.0);
                if !items.contains(&item) {
                    items.push(item);
                }
                Ok(Value::from(()))
            }
            "update" => {
                let mut more = Vec::new();
                for arg in args {
                    more.extend(items_of(arg)?);
                }
                let mut items = lock(&self.0);
                for item in more {
                    if !items.contains(&item) {
                        items.push(item);
                    }
                }
                Ok(Value::from(()))
            }
            "discard" | "remove" => {
                let (item,): (Value,) = from_args(args)?;
                let mut items = lock(&self.0);
                match items.iter().position(|x| *x == item) {
                    Some(at) => {
                        items.remove(at);
                        Ok(Value::from(()))
                    }
                    None if method == "discard" => Ok(Value::from(())),
                    None => Err(Error::new(
                        ErrorKind::InvalidOperation,
                        format!("set.remove({item}): not in the set (KeyError)"),
                    )),
                }
            }
            "copy" => new_set(self.items()),
            "union" => {
                let mut all = self.items();
                for arg in args {
                    all.extend(items_of(arg)?);
                }
                new_set(all)
            }
            "intersection" | "difference" => {
                let mut kept = self.items();
                for arg in args {
                    let other = items_of(arg)?;
                    kept.retain(|x| other.contains(x) == (method == "intersection"));
                }
                new_set(kept)
            }
            "symmetric_difference" => {
                let (other,): (Value,) = from_args(args)?;
                let other = items_of(&other)?;
                let mine = self.items();
                let mut out: Vec<Value> = mine
                    .iter()
                    .filter(|x| !other.contains(x))
                    .cloned()
                    .collect();
                out.extend(other.iter().filter(|x| !mine.contains(x)).cloned());
                new_set(out)
            }
            "issubset" | "issuperset" | "isdisjoint" => {
                let (other,): (Value,) = from_args(args)?;
                let other = items_of(&other)?;
                let mine = self.items();
                Ok(Value::from(match method {
                    "issubset" => mine.iter().all(|x| other.contains(x)),
                    "issuperset" => other.iter().all(|x| mine.contains(x)),
                    _ => !mine.iter().any(|x| other.contains(x)),
                }))
            }
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("set has no method named {method}"),
            )),
        }
    }

    /// Python's repr: `{'a', 1}`, or `set()` when empty.
    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let items = self.items();
        if items.is_empty() {
            return write!(f, "set()");
        }
        let shown: Vec<String> = items
            .iter()
            .map(|v| match v.as_str() {
                Some(s) => format!("'{s}'"),
                None => v.to_string(),
            })
            .collect();
        write!(f, "{{{}}}", shown.join(", "))
    }
}
