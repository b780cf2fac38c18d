//! Athena (Trino) SQL through the whole embedded engine: models built as Iceberg tables and
//! views, read back with `query`, and what the engine refuses at plan time (`check_sql`).
//! The function-by-function conformance suite is in `provider/sql-trino/tests`.

use mdw_engine::{Engine, EngineError, TableBuild, ViewDefinition};
use mdw_engine_embedded::EmbeddedEngine;
use tempfile::TempDir;

async fn engine(dir: &TempDir) -> EmbeddedEngine {
    EmbeddedEngine::open(&dir.path().join("warehouse"), "awsdatacatalog")
        .await
        .expect("open the warehouse")
}

fn build(name: &str, sql: &str) -> TableBuild {
    TableBuild {
        database: "mdw".into(),
        name: name.into(),
        sql: sql.into(),
        ..Default::default()
    }
}

async fn column(engine: &EmbeddedEngine, sql: &str, column: &str) -> Vec<Option<String>> {
    let result = engine.query(sql, 100).await.expect("query runs");
    result
        .rows
        .into_iter()
        .map(|mut row| row.remove(column).flatten())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_in_trino_sql_builds_with_athena_values_and_types() {
    let dir = TempDir::new().unwrap();
    let engine = engine(&dir).await;
    engine.ensure_database("mdw").await.unwrap();
    let events = "SELECT * FROM (VALUES \
        (1, '{\"user\": {\"id\": 7}, \"tags\": [\"a\", \"b\"]}', DECIMAL '10.25'), \
        (2, '{\"user\": {\"id\": 9}, \"tags\": []}', DECIMAL '2.50')) AS t(id, payload, amount)";
    engine
        .build_table(&build("events", events))
        .await
        .expect("seed model builds");
    let model = "\
        SELECT e.id,\n\
               CAST(json_extract_scalar(e.payload, '$.user.id') AS bigint) AS user_id,\n\
               tag,\n\
               if(e.amount > 5, 'big', 'small') AS size,\n\
               date_add('day', e.id, DATE '2024-02-28') AS due,\n\
               transform(split('x,y', ','), s -> upper(s)) AS letters,\n\
               concat('id-', CAST(e.id AS varchar)) AS label\n\
        FROM events e\n\
        CROSS JOIN UNNEST(CAST(json_extract(e.payload, '$.tags') AS array(varchar))) AS t(tag)";
    let outcome = engine
        .build_table(&build("tagged", model))
        .await
        .expect("model builds");
    let types: Vec<(String, String)> = outcome
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.data_type.clone()))
        .collect();
    assert_eq!(
        types,
        [
            ("id", "integer"),
            ("user_id", "bigint"),
            ("tag", "varchar"),
            ("size", "varchar"),
            ("due", "date"),
            ("letters", "array(varchar)"),
            ("label", "varchar"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(outcome.row_count, 2, "the empty tags array drops its row");
    let sql = "SELECT * FROM mdw.tagged ORDER BY tag";
    assert_eq!(
        column(&engine, sql, "tag").await,
        [Some("a".to_string()), Some("b".to_string())]
    );
    assert_eq!(
        column(&engine, sql, "due").await,
        vec![Some("2024-02-29".to_string()); 2]
    );
    assert_eq!(
        column(&engine, sql, "size").await,
        vec![Some("big".to_string()); 2]
    );
    assert_eq!(
        column(&engine, sql, "label").await,
        vec![Some("id-1".to_string()); 2]
    );

    // Trino's aggregate result types reach the table: avg of decimal(4,2) is decimal(4,2).
    let summary = "SELECT avg(amount) AS avg_amount, count_if(amount > 5) AS big FROM events";
    let outcome = engine
        .build_table(&build("summary", summary))
        .await
        .expect("builds");
    assert_eq!(outcome.columns[0].data_type, "decimal(4,2)");
    assert_eq!(
        column(&engine, "SELECT avg_amount FROM mdw.summary", "avg_amount").await,
        [Some("6.38".to_string())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_are_planned_as_trino_sql() {
    let dir = TempDir::new().unwrap();
    let engine = engine(&dir).await;
    engine.ensure_database("mdw").await.unwrap();
    let view = ViewDefinition {
        database: "mdw".into(),
        name: "v".into(),
        sql: "SELECT regexp_replace('a1b22', '\\d+', '#') AS masked, split_part('a.b', '.', 5) AS part"
            .into(),
        ..Default::default()
    };
    engine.create_view(&view).await.expect("view is created");
    assert_eq!(
        column(&engine, "SELECT masked FROM mdw.v", "masked").await,
        [Some("a#b#".to_string())]
    );
    assert_eq!(
        column(&engine, "SELECT part FROM mdw.v", "part").await,
        [None]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_engine_cannot_answer_as_athena_is_refused_before_and_at_build() {
    let dir = TempDir::new().unwrap();
    let engine = engine(&dir).await;
    engine.ensure_database("mdw").await.unwrap();
    let sql = "SELECT id,\n  soundex(name) AS s\nFROM people";
    match engine.check_sql(sql) {
        Err(EngineError::Unsupported(message)) => {
            assert!(message.contains("line 2:3"), "{message}");
            assert!(
                message.contains("function soundex is not supported on the embedded engine"),
                "{message}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(engine.check_sql("SELECT upper(name) FROM people").is_ok());
    let error = engine
        .build_table(&build("t", "SELECT soundex('x') AS s"))
        .await
        .expect_err("an unsupported function fails the build");
    assert!(
        error
            .to_string()
            .contains("not supported on the embedded engine"),
        "{error}"
    );
    assert!(engine.describe("mdw", "t").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approx_distinct_answers_only_where_athenas_estimate_is_exact() {
    let dir = TempDir::new().unwrap();
    let engine = engine(&dir).await;
    // Small sets: Athena's HyperLogLog gives the exact count.
    assert_eq!(
        column(
            &engine,
            "SELECT approx_distinct(x) AS n FROM UNNEST(sequence(1, 100)) AS t(x)",
            "n"
        )
        .await,
        [Some("100".to_string())]
    );
    // Larger ones: Athena's answer is an estimate this engine does not reproduce.
    let refused = engine
        .query(
            "SELECT approx_distinct(x) AS n FROM UNNEST(sequence(1, 5000)) AS t(x)",
            100,
        )
        .await
        .expect_err("an estimate the engine cannot reproduce is refused");
    assert!(
        refused
            .to_string()
            .contains("approx_distinct() over 5000 distinct values is not supported"),
        "{refused}"
    );
}
