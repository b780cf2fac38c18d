//! An optimizer barrier between the query and iceberg-datafusion's writer.
//!
//! iceberg-datafusion 0.10.1 computes partition values in a `ProjectionExec` whose partition
//! expression reads columns by position but declares no column children. DataFusion's physical
//! optimizer merges that projection into the query's own final projection, after which the
//! expression reads the wrong columns (a `day()` transform fed a string column) or none at all
//! (a panic on queries without FROM). Handing the writer the query's already-planned streams
//! as a table keeps the two plans apart. The data still streams; nothing is buffered.

use std::sync::{Arc, Mutex};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::{DataFrame, SessionContext};

/// One already-started partition of the query, handed out once.
struct OneShot {
    schema: SchemaRef,
    stream: Mutex<Option<SendableRecordBatchStream>>,
}

impl std::fmt::Debug for OneShot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneShot").finish_non_exhaustive()
    }
}

impl PartitionStream for OneShot {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let taken = self.stream.lock().ok().and_then(|mut s| s.take());
        match taken {
            Some(stream) => stream,
            None => Box::pin(RecordBatchStreamAdapter::new(
                self.schema.clone(),
                futures::stream::once(async {
                    Err(DataFusionError::Internal(
                        "the query's result stream was read twice".into(),
                    ))
                }),
            )),
        }
    }
}

/// Plans and starts `df`, and returns a DataFrame that reads its result streams.
pub(crate) async fn behind_barrier(ctx: &SessionContext, df: DataFrame) -> Result<DataFrame> {
    let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
    let streams = df.execute_stream_partitioned().await?;
    let partitions: Vec<Arc<dyn PartitionStream>> = streams
        .into_iter()
        .map(|stream| {
            Arc::new(OneShot {
                schema: schema.clone(),
                stream: Mutex::new(Some(stream)),
            }) as Arc<dyn PartitionStream>
        })
        .collect();
    let table = StreamingTable::try_new(schema, partitions)?;
    ctx.read_table(Arc::new(table))
}
