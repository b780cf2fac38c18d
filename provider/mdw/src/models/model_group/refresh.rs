//! Refreshing a group: each model as the catalog has it, up to `parallelism` at once. A table
//! whose version in the catalog is the one its state recorded (its build's, or the last
//! refresh's) is as it was and not read again: one listing per database instead of a read per
//! model, which was most of a no-op plan's time in a large group. A view's version is a digest
//! of its definition, so an unchanged view is not planned again: its `columns` then follow a
//! table it reads when the view is rebuilt — as it is whenever this configuration rebuilds
//! that table — not when the table is changed outside Terraform.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::stream::StreamExt;
use tfplugin::{Diagnostics, Value};

use super::definition::{CATALOG_VERSION, Members, Shapes, within};
use super::members::{relation, stored_members, summarize, with_group_state};
use super::schema::{DEFAULT_PARALLELISM, GroupModel};
use crate::client::Client;
use crate::engines::engine_error;
use crate::models::model::{self, ModelModel};

/// The group's state refreshed from the catalog; a model whose relation is gone or is not its
/// own any more gets a null `build_id`, which plans its build (that refuses another owner's
/// relation).
pub(super) async fn refresh(client: &Client, state: &Value) -> Result<Value, Diagnostics> {
    let shapes = Shapes::new();
    let models = stored_members(&shapes, state)?;
    let engine = client.engines.get().await?;
    let databases: BTreeSet<String> = models
        .values()
        .map(|m| relation(m).0)
        .filter(|d| !d.is_empty())
        .collect();
    let mut versions: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for database in databases {
        let listed = engine
            .relation_versions(&database)
            .await
            .map_err(|e| engine_error(&format!("listing the tables of {database}"), &e))?;
        if let Some(tables) = listed {
            versions.insert(database, tables);
        }
    }
    let versions = &versions;
    let parallelism = state
        .get(GroupModel::parallelism)
        .as_i64()
        .unwrap_or(DEFAULT_PARALLELISM)
        .clamp(1, 64) as usize;
    let reads = futures_util::stream::iter(models.into_iter().map(|(key, member)| async move {
        let (database, name) = relation(&member);
        // `Some(None)`: listed, and not among the tables (gone, or a view).
        let listed = versions.get(&database).map(|tables| tables.get(&name));
        let read = if member.get(ModelModel::build_id).is_null() {
            // Never built: nothing to read.
            Ok(None)
        } else if let Some(Some(version)) = listed
            && member.get(CATALOG_VERSION).as_str() == Some(version.as_str())
        {
            Ok(Some(member.clone()))
        } else {
            model::read(client, &member).await.map(|current| {
                current.map(|current| {
                    let mut current = with_group_state(current, &member, None);
                    current.set(
                        CATALOG_VERSION,
                        Value::opt_string(listed.flatten().cloned()),
                    );
                    current
                })
            })
        };
        (key, member, read)
    }))
    .buffer_unordered(parallelism)
    .collect::<Vec<_>>()
    .await;
    let mut refreshed = Members::new();
    let mut diags = Diagnostics::new();
    for (key, member, read) in reads {
        let value = match read {
            Ok(Some(current)) => current,
            Ok(None) => {
                let mut gone = member;
                gone.set(ModelModel::build_id, Value::Null);
                gone
            }
            Err(d) => {
                diags.extend(within(&key, d));
                member
            }
        };
        refreshed.insert(key, value);
    }
    if diags.has_errors() {
        return Err(diags);
    }
    let mut state = state.clone();
    summarize(&shapes, &mut state, &refreshed);
    Ok(state)
}
