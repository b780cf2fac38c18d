//! `adapter.get_columns_in_relation` without a warehouse, for the relations the project builds:
//! a seed's columns are its header, a model's the output columns of its compiled SQL
//! ([`crate::sql_columns`]). Nodes are compiled in waves: a node asking for the columns of a
//! model not compiled yet waits for the next wave ([`StaticCatalog::take_waiting`]).
//!
//! Types are known where the build fixes them: a seed's (from its file) and a table model's
//! columns that its SQL casts or reads unchanged from a typed column; reading any other type
//! fails the node ([`super::column`]). A source's columns come from Glue only with
//! `--catalog glue` ([`crate::warehouse`]), and so do `load_relation`'s answers for sources
//! ([`relation_in_warehouse`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use minijinja::value::from_args;
use minijinja::{Error, State, Value};

use super::column::Column;
use super::context::{Phase, RenderNode, current_node};
use super::functions::error_with_help;
use super::objects::{Relation, lock, make_list_from};
use crate::compile::KnownColumn;
use crate::sql_columns::{Lookup, relation_key};
use crate::warehouse::{GlueCatalog, Reads, TableType};

/// What is known of one relation's columns.
#[derive(Debug, Clone)]
pub(crate) enum Columns {
    /// A model not compiled yet.
    Waiting,
    Known(Vec<KnownColumn>),
    /// Not knowable without the warehouse, and why.
    Unknown(String),
    /// The model did not compile: whoever reads it is left out with it, without an error
    /// of its own.
    Failed,
}

#[derive(Debug)]
struct Entry {
    relation: Relation,
    /// The name `ref()` finds it by.
    ref_key: String,
    /// `model 'x'` / `seed 'x'`, for messages.
    label: String,
    columns: Columns,
}

/// The columns of the project's relations, by [`relation_key`].
#[derive(Debug, Default)]
pub(crate) struct StaticCatalog {
    entries: RwLock<HashMap<Vec<String>, Entry>>,
    /// Node unique id → the relation it waits for.
    waiting: Mutex<HashMap<String, String>>,
    /// Nodes that read the columns of a model that did not compile.
    upstream_failed: Mutex<std::collections::HashSet<String>>,
    /// The warehouse's catalog, when mdwc reads it (`--catalog glue`).
    warehouse: Option<GlueCatalog>,
    /// The project's sources by relation key: the only relations read from it, since only a
    /// source's `mdw_source` checks at plan that the table is still what was read.
    sources: HashMap<Vec<String>, Relation>,
    /// What was read from the warehouse.
    pub(crate) reads: Reads,
}

impl StaticCatalog {
    /// A catalog that reads the project's sources from `warehouse`, when there is one.
    pub(crate) fn new(
        warehouse: Option<GlueCatalog>,
        sources: HashMap<Vec<String>, Relation>,
    ) -> Self {
        StaticCatalog {
            warehouse,
            sources,
            ..StaticCatalog::default()
        }
    }

    /// Records the columns of node `ref_key` (a model's or seed's name), whose relation is
    /// `relation`; `kind` is `model` or `seed`.
    pub(crate) fn set(&self, relation: &Relation, kind: &str, ref_key: &str, columns: Columns) {
        let key = relation_key(&relation.rendered());
        let entry = Entry {
            relation: relation.clone(),
            ref_key: ref_key.to_string(),
            label: format!("{kind} '{ref_key}'"),
            columns,
        };
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, entry);
    }

    /// The entry for `key`: exactly, or the one relation whose name ends with it (a relation
    /// made with `api.Relation.create` may leave the database out).
    fn find<T>(&self, key: &[String], read: impl Fn(&Entry) -> T) -> Option<T> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get(key) {
            return Some(read(entry));
        }
        let mut matching = entries
            .iter()
            .filter(|(k, _)| k.len() > key.len() && k.ends_with(key));
        match (matching.next(), matching.next()) {
            (Some((_, entry)), None) => Some(read(entry)),
            _ => None,
        }
    }

    /// What a model's SQL analysis learns of a relation it reads.
    pub(crate) fn lookup(&self, key: &[String]) -> Lookup {
        self.find(key, |entry| match &entry.columns {
            Columns::Known(columns) => Lookup::Known(columns.clone()),
            Columns::Waiting => Lookup::Waiting,
            Columns::Unknown(reason) => Lookup::Unknown(format!(
                "{} whose columns are not known: {reason}",
                entry.label
            )),
            Columns::Failed => Lookup::Unknown(format!("{}, which did not compile", entry.label)),
        })
        .unwrap_or_else(|| Lookup::Unknown("whose columns only the warehouse knows".to_string()))
    }

    /// The relation node `unique_id` waited for in its last render, if it did.
    pub(crate) fn take_waiting(&self, unique_id: &str) -> Option<String> {
        lock(&self.waiting).remove(unique_id)
    }

    /// Whether node `unique_id` failed only because a model it reads did not compile.
    pub(crate) fn take_upstream_failed(&self, unique_id: &str) -> bool {
        lock(&self.upstream_failed).remove(unique_id)
    }

    /// After the last wave: what is still waiting never compiled.
    pub(crate) fn settle(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        for entry in entries.values_mut() {
            if matches!(entry.columns, Columns::Waiting) {
                entry.columns = Columns::Failed;
            }
        }
    }

    /// The columns of `relation`, when they are known.
    pub(crate) fn known(&self, relation: &Relation) -> Option<Vec<KnownColumn>> {
        self.find(&relation_key(&relation.rendered()), |entry| {
            match &entry.columns {
                Columns::Known(columns) => Some(columns.clone()),
                _ => None,
            }
        })
        .flatten()
    }
}

/// `adapter.get_columns_in_relation(relation)`.
pub(crate) fn get_columns_in_relation(state: &State, args: &[Value]) -> Result<Value, Error> {
    let Some(node) = current_node(state) else {
        return Ok(Value::from(Vec::<Value>::new()));
    };
    // Compiling reads columns; parsing answers none, as dbt's parse context does.
    node.observe();
    if node.phase == Phase::Parse {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    let (relation,): (Value,) = from_args(args)?;
    let Some(relation) = relation.downcast_object_ref::<Relation>() else {
        return Err(error_with_help(
            format!("adapter.get_columns_in_relation expects a relation, got {relation}"),
            "pass ref('…'), source('…', '…') or a relation from api.Relation.create",
        ));
    };
    let rendered = relation.rendered();
    let catalog = &node.shared.columns;
    let found = catalog.find(&relation_key(&rendered), |entry| {
        (
            entry.label.clone(),
            entry.columns.clone(),
            entry.ref_key.clone(),
        )
    });
    match found {
        // A list the macros can change (`cols.append(…)`, `cols.index(…)`), as dbt's.
        Some((_, Columns::Known(columns), _)) => Ok(make_list_from(
            columns
                .into_iter()
                .map(|column| {
                    Value::from_object(Column {
                        dtype: column.glue_type(),
                        name: column.name,
                        // mdw builds every table as an Iceberg table.
                        table_type: TableType::Iceberg,
                        relation: rendered.clone(),
                        node: node.clone(),
                    })
                })
                .collect(),
        )),
        Some((label, Columns::Failed, ref_key)) => {
            // Left out with that model only if it refs it (and so is downstream of it).
            if node
                .parsed_refs
                .as_ref()
                .is_none_or(|refs| refs.contains(&ref_key))
            {
                lock(&catalog.upstream_failed).insert(node.unique_id.clone());
            }
            Err(error_with_help(
                format!("adapter.get_columns_in_relation({rendered}): {label} did not compile"),
                "fix the errors of that model first",
            ))
        }
        Some((label, Columns::Waiting, _)) => {
            lock(&catalog.waiting).insert(node.unique_id.clone(), label.clone());
            Err(error_with_help(
                format!("adapter.get_columns_in_relation({rendered}) waits for {label} to compile"),
                "this is an internal step of mdwc; if you see it, report it",
            ))
        }
        Some((label, Columns::Unknown(reason), _)) => Err(error_with_help(
            format!(
                "adapter.get_columns_in_relation({rendered}): the columns of {label} are not known without a warehouse, because {reason}"
            ),
            "name the columns in that model's final select (a `*` must read only the project's models and seeds), or keep this node in dbt",
        )),
        None => match &catalog.warehouse {
            Some(glue) => from_warehouse(glue, catalog, relation, &node),
            None => Err(error_with_help(
                format!(
                    "adapter.get_columns_in_relation({rendered}) reads the warehouse's catalog, which mdwc reads only when asked"
                ),
                "mdwc knows the columns of the project's own models and seeds; for a source's, compile with `--catalog glue` (AWS credentials as the provider's), or write the columns out",
            )),
        },
    }
}

/// The columns of a relation outside the project, read from Glue as dbt-athena reads them.
fn from_warehouse(
    glue: &GlueCatalog,
    catalog: &StaticCatalog,
    relation: &Relation,
    node: &Arc<RenderNode>,
) -> Result<Value, Error> {
    let rendered = relation.rendered();
    let call = format!("adapter.get_columns_in_relation({rendered})");
    if !catalog.sources.contains_key(&relation_key(&rendered)) {
        return Err(error_with_help(
            format!(
                "{call}: it is not one of the project's sources, so mdwc does not read it from the warehouse"
            ),
            "declare the table as a source (its data \"mdw_source\" checks at plan that its columns are still the ones compiled against) and use source()",
        ));
    }
    if !relation.database.is_empty() && !relation.database.eq_ignore_ascii_case("awsdatacatalog") {
        return Err(error_with_help(
            format!(
                "{call}: its data catalog '{}' is not Glue's own, which is the one mdwc reads",
                relation.database
            ),
            "keep this node in dbt, or write the columns out",
        ));
    }
    match glue.table(&relation.schema, &relation.identifier) {
        Ok(Some(table)) => {
            catalog
                .reads
                .record(&relation.schema, &relation.identifier, &table.columns);
            Ok(make_list_from(
                table
                    .columns
                    .into_iter()
                    .map(|(name, dtype)| {
                        Value::from_object(Column {
                            name,
                            dtype: Some(dtype),
                            table_type: table.table_type,
                            relation: rendered.clone(),
                            node: node.clone(),
                        })
                    })
                    .collect(),
            ))
        }
        Ok(None) => Err(error_with_help(
            format!(
                "{call}: Glue has no table {}.{}",
                relation.schema, relation.identifier
            ),
            "check the source's schema and identifier, and that the table has been loaded (dbt would compile an empty column list)",
        )),
        Err(reason) => Err(error_with_help(
            format!("{call}: {reason}"),
            "check the AWS credentials and region mdwc runs with (the standard AWS chain)",
        )),
    }
}

/// `load_relation(r)`, `adapter.get_relation(…)`, `adapter.load_relation(r)`: the relation as
/// the warehouse has it when the node runs, or none. Answered without guessing:
/// - a relation the project builds upstream of the node (it `ref`s it) exists by then, as in
///   `dbt run`;
/// - a source exists as Glue says (`--catalog glue`; its `mdw_source` fails the plan if it
///   is gone);
/// - anything else (the node itself: use `is_incremental()`; a relation outside the project)
///   is an error that says so.
pub(crate) fn relation_in_warehouse(
    state: &State,
    key: Vec<String>,
    what: &str,
) -> Result<Value, Error> {
    let Some(node) = current_node(state) else {
        return Ok(Value::from(()));
    };
    node.observe();
    if node.phase == Phase::Parse {
        return Ok(Value::from(()));
    }
    let catalog = &node.shared.columns;
    let shown = key.join(".");
    let project = catalog.find(&key, |entry| {
        (entry.relation.clone(), entry.ref_key.clone())
    });
    if let Some((relation, ref_key)) = project {
        if relation.rendered() == node.this.rendered() {
            return Err(error_with_help(
                format!(
                    "{what}({shown}) asks whether this node's own table exists, which depends on what was built before"
                ),
                "test is_incremental() instead, as dbt's incremental models do",
            ));
        }
        let upstream = node
            .parsed_refs
            .as_ref()
            .is_some_and(|refs| refs.contains(&ref_key));
        if upstream {
            return Ok(Value::from_object(relation));
        }
        return Err(error_with_help(
            format!(
                "{what}({shown}): the project builds it, but this node does not ref it, so whether it exists when the node runs depends on the order of the build"
            ),
            format!("ref('{ref_key}') in this node, so it runs after it"),
        ));
    }
    if let Some(source) = catalog.sources.get(&key)
        && let Some(glue) = &catalog.warehouse
    {
        return match glue.table(&source.schema, &source.identifier) {
            Ok(Some(table)) => {
                let kind = if table.table_type == TableType::View {
                    "view"
                } else {
                    "table"
                };
                Ok(Value::from_object(source.clone().with_kind(kind)))
            }
            Ok(None) => Ok(Value::from(())),
            Err(reason) => Err(error_with_help(
                format!("{what}({shown}): {reason}"),
                "check the AWS credentials and region mdwc runs with (the standard AWS chain)",
            )),
        };
    }
    Err(error_with_help(
        format!(
            "{what}({shown}) reads the warehouse's catalog, which mdwc reads only for the project's sources, with --catalog glue"
        ),
        "ref() the project's own models and seeds, compile with --catalog glue for a source, or keep this node in dbt",
    ))
}
