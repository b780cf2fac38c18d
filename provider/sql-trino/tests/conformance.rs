//! The conformance suite: every line of `tests/cases/*.tsv` is a Trino expression (or query),
//! the value Athena/Trino gives for it, and where that value is documented (a Trino
//! documentation example or a Trino function test, file:line). Each case runs through a
//! DataFusion session with the Trino layer and must give exactly that value, or be refused
//! with an error; a different value fails the suite. `docs/sql-functions.md` is generated
//! from the results (`MDW_UPDATE_DOCS=1 cargo test -p mdw-sql-trino --test conformance`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

struct Case {
    file: String,
    line: usize,
    sql: String,
    expected: String,
    source: String,
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Pass,
    Refused(String),
    Wrong(String),
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

fn load_cases() -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/cases exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "tsv"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable case file");
        let file = path.file_stem().unwrap().to_string_lossy().to_string();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let parts: Vec<&str> = line.split('\t').collect();
            assert_eq!(
                parts.len(),
                3,
                "{}:{}: a case is `sql<TAB>expected<TAB>source`",
                path.display(),
                i + 1
            );
            assert!(
                !parts[2].trim().is_empty(),
                "{}:{}: every case cites its source",
                path.display(),
                i + 1
            );
            cases.push(Case {
                file: file.clone(),
                line: i + 1,
                sql: parts[0].to_string(),
                expected: parts[1].to_string(),
                source: parts[2].to_string(),
            });
        }
    }
    cases
}

fn session() -> SessionContext {
    let config = mdw_sql_trino::session_config(SessionConfig::new());
    let builder = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features();
    SessionContext::new_with_state(mdw_sql_trino::configure(builder).build())
}

async fn run(ctx: &SessionContext, sql: &str) -> Result<String, String> {
    let trimmed = sql.trim_start().to_ascii_lowercase();
    let query = if trimmed.starts_with("select ")
        || trimmed.starts_with("with ")
        || trimmed.starts_with("values ")
    {
        sql.to_string()
    } else {
        format!("SELECT {sql}")
    };
    let plan = mdw_sql_trino::plan(&ctx.state(), &query)
        .await
        .map_err(|e| e.to_string())?;
    let batches = ctx
        .execute_logical_plan(plan)
        .await
        .map_err(|e| e.to_string())?
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for batch in &batches {
        for row in 0..batch.num_rows() {
            let mut values = Vec::new();
            for column in batch.columns() {
                let value = mdw_sql_trino::render(column, row).map_err(|e| e.to_string())?;
                values.push(value.unwrap_or_else(|| "NULL".to_string()));
            }
            rows.push(values.join("; "));
        }
    }
    Ok(rows.join(" | "))
}

async fn outcome(ctx: &SessionContext, case: &Case) -> Outcome {
    let result = run(ctx, &case.sql).await;
    match (result, case.expected.strip_prefix("ERROR")) {
        (Ok(got), None) if got == case.expected => Outcome::Pass,
        (Ok(got), _) => Outcome::Wrong(got),
        // Trino fails too: any error is the right outcome.
        (Err(_), Some(_)) => Outcome::Pass,
        (Err(e), None) => Outcome::Refused(e),
    }
}

async fn run_all() -> Vec<(Case, Outcome)> {
    let ctx = session();
    let mut results = Vec::new();
    for case in load_cases() {
        let o = outcome(&ctx, &case).await;
        results.push((case, o));
    }
    results
}

/// The suite runs once per test binary; both tests below read its results.
fn results() -> &'static [(Case, Outcome)] {
    static RESULTS: OnceLock<Vec<(Case, Outcome)>> = OnceLock::new();
    RESULTS.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(run_all())
    })
}

#[test]
fn suite_gives_athena_values_or_refuses() {
    let results = results();
    let total = results.len();
    let pass = results.iter().filter(|(_, o)| *o == Outcome::Pass).count();
    let refused: Vec<_> = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Refused(_)))
        .collect();
    let wrong: Vec<_> = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Wrong(_)))
        .collect();
    println!(
        "conformance: {pass}/{total} pass, {} refused, {} wrong",
        refused.len(),
        wrong.len()
    );
    if std::env::var_os("MDW_SHOW_REFUSED").is_some() {
        for (c, o) in &refused {
            println!("refused {}:{}: {}  -- {o:?}", c.file, c.line, c.sql);
        }
    }
    let report: Vec<String> = wrong
        .iter()
        .map(|(c, o)| {
            format!(
                "{}.tsv:{}: {}\n  expected {}\n  got      {:?}",
                c.file, c.line, c.sql, c.expected, o
            )
        })
        .collect();
    assert!(report.is_empty(), "wrong answers:\n{}", report.join("\n"));
    assert!(total >= 300, "the suite has {total} cases, fewer than 300");
}

/// The page generated from the suite: supported functions and syntax per chapter, then what is
/// refused.
fn docs_page(results: &[(Case, Outcome)]) -> String {
    let mut out = String::new();
    out.push_str("# SQL on the embedded engine\n\n");
    out.push_str(
        "<!-- Generated by provider/sql-trino/tests/conformance.rs from tests/cases/*.tsv; \
         regenerate with `MDW_UPDATE_DOCS=1 cargo test -p mdw-sql-trino --test conformance`. -->\n\n",
    );
    let pass = results.iter().filter(|(_, o)| *o == Outcome::Pass).count();
    let _ = writeln!(
        out,
        "Models run on the embedded engine are written in Athena (Trino) SQL. The engine gives \
         Athena's result for what is listed here, and refuses everything else when the model is \
         planned (`terraform plan`), with the construct, its line and \"not supported on the \
         embedded engine\" — it never returns a different answer. Two approximate aggregates \
         answer only where Athena's estimate is exact and otherwise fail when the model is built, \
         saying why: `approx_percentile` (total weight up to 39 per group) and `approx_distinct` \
         (up to 100 distinct values per group).\n\n\
         Conformance suite: {pass} of {} cases give Athena's value; the others are refused. Each \
         case cites the Trino documentation example or function test it comes from.\n",
        results.len()
    );
    out.push_str("## Functions\n\n");
    out.push_str("| Function | Status |\n| --- | --- |\n");
    for name in mdw_sql_trino::supported_functions() {
        let used: Vec<&(Case, Outcome)> = results
            .iter()
            .filter(|(c, _)| mentions(&c.sql, name))
            .collect();
        let passed = used.iter().filter(|(_, o)| *o == Outcome::Pass).count();
        let status = if used.is_empty() {
            "supported (no case)".to_string()
        } else {
            format!("supported ({passed}/{} cases)", used.len())
        };
        let _ = writeln!(out, "| `{name}` | {status} |");
    }
    out.push_str(
        "\nAny other function is refused. Window functions: `row_number`, `rank`, `dense_rank`, \
         `percent_rank`, `cume_dist`, `ntile`, `lag`, `lead`, `first_value`, `last_value`, \
         `nth_value`, and the aggregates above with `OVER (…)`.\n\n",
    );
    let mut by_file: BTreeMap<&str, Vec<&(Case, Outcome)>> = BTreeMap::new();
    for r in results {
        by_file.entry(&r.0.file).or_default().push(r);
    }
    out.push_str("## Cases by chapter\n\n");
    for (file, rs) in &by_file {
        let passed = rs.iter().filter(|(_, o)| *o == Outcome::Pass).count();
        let _ = writeln!(out, "- `{file}`: {passed} of {} pass", rs.len());
    }
    out.push_str(
        "\n## Refused\n\nWhy the suite's other cases are refused (reasons grouped; positions and \
         numbers left out), with one case for each:\n\n",
    );
    out.push_str("| Cases | Reason | Example |\n| --- | --- | --- |\n");
    let mut reasons: BTreeMap<String, (usize, &Case)> = BTreeMap::new();
    for (c, o) in results {
        if let Outcome::Refused(e) = o {
            let entry = reasons.entry(reason(e)).or_insert((0, c));
            entry.0 += 1;
        }
    }
    let mut reasons: Vec<(String, (usize, &Case))> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    for (why, (count, example)) in reasons {
        let sql: String = example.sql.chars().take(80).collect();
        let _ = writeln!(
            out,
            "| {count} | {} | `{}` ({}) |",
            why.replace('|', "\\|"),
            sql.replace('|', "\\|").replace('`', "'"),
            example.source.trim_start_matches("trino ")
        );
    }
    out
}

/// An error's first line without positions, numbers and quoted values, to group refusals.
fn reason(error: &str) -> String {
    let first = error.lines().next().unwrap_or("");
    let first = first
        .trim_start_matches("Error during planning: ")
        .trim_start_matches("Execution error: ")
        .trim_start_matches("SQL syntax error: sql parser error: ");
    let mut out = String::new();
    let mut in_quote = false;
    let mut last_digit = false;
    for ch in first.chars() {
        if ch == '\'' {
            in_quote = !in_quote;
            if in_quote {
                out.push_str("'…");
            } else {
                out.push('\'');
            }
            continue;
        }
        if in_quote {
            continue;
        }
        if ch.is_ascii_digit() {
            if !last_digit {
                out.push('N');
            }
            last_digit = true;
            continue;
        }
        last_digit = false;
        out.push(ch);
    }
    let out = out.replace("line N:N: ", "");
    out.chars().take(150).collect()
}

fn mentions(sql: &str, name: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut from = 0;
    while let Some(at) = lower[from..].find(name) {
        let start = from + at;
        let end = start + name.len();
        let before_ok =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let after = lower[end..].trim_start();
        if before_ok && after.starts_with('(') {
            return true;
        }
        from = end;
    }
    false
}

#[test]
fn docs_page_is_current() {
    let page = docs_page(results());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sql-functions.md");
    if std::env::var_os("MDW_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &page).expect("docs page written");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == page,
        "docs/sql-functions.md is stale: run `MDW_UPDATE_DOCS=1 cargo test -p mdw-sql-trino --test conformance`"
    );
}

#[test]
fn check_points_at_refused_constructs() {
    let errors = mdw_sql_trino::check("select 1,\n  soundex(name) from t").unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].line, errors[0].column), (2, 3));
    assert!(
        errors[0]
            .to_string()
            .contains("function soundex is not supported on the embedded engine"),
        "{}",
        errors[0]
    );
    assert!(mdw_sql_trino::check("select upper(name) from t where id > 1").is_ok());
    // Trino's long field names parse; one Trino does not have is refused where it is written.
    assert!(mdw_sql_trino::check("select extract(day_of_week from d) from t").is_ok());
    let errors = mdw_sql_trino::check(
        "select
  extract(fortnight from d) from t",
    )
    .unwrap_err();
    assert_eq!(errors[0].line, 2, "{}", errors[0]);
    assert!(
        errors[0].to_string().contains("EXTRACT(fortnight)"),
        "{}",
        errors[0]
    );
    // DataFusion cannot scale an interval: refused where it is written, not at apply.
    for sql in [
        "select ts + x * interval '1' second from t",
        "select (interval '2' day) / 2 from t",
    ] {
        let errors = mdw_sql_trino::check(sql).unwrap_err();
        assert!(
            errors[0]
                .to_string()
                .contains("an interval under the operator"),
            "{sql}: {}",
            errors[0]
        );
    }
    assert!(
        mdw_sql_trino::check("select ts + interval '2' day - interval '1' hour from t").is_ok()
    );
}

/// Output columns are named as Trino names them: a row's field by the field's name, a column
/// by its own, anything else `_col<position>` (a table built from the query gets these names).
#[test]
fn names_outputs_as_trino() {
    let ctx = session();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let names = |sql: &str| -> Vec<String> {
        let plan = runtime
            .block_on(mdw_sql_trino::plan(&ctx.state(), sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        plan.schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    };
    let orders = "(SELECT 1 AS id, CAST(ROW('x', 1) AS ROW(city VARCHAR, zip INTEGER)) AS address)";
    assert_eq!(
        names(&format!(
            "SELECT o.id, o.address.city, address.zip, (o.address).city AS c, upper(o.address.city) FROM {orders} AS o"
        )),
        ["id", "city", "zip", "c", "_col4"]
    );
    assert_eq!(
        names("SELECT CAST(ROW(1, 2.0) AS ROW(x BIGINT, y DOUBLE)).x"),
        ["x"]
    );
    assert_eq!(
        names(
            "SELECT t.sku, qty FROM (VALUES (ARRAY[CAST(ROW('a', 2) AS ROW(sku VARCHAR, qty INTEGER))])) AS o (items) CROSS JOIN UNNEST(o.items) AS t(sku, qty)"
        ),
        ["sku", "qty"]
    );
}

/// Row uses whose Trino result the engine would not give are refused when planned; two
/// fields of one name keep distinct names rather than fail the query.
#[test]
fn refuses_row_uses_it_would_answer_differently() {
    let ctx = session();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let plan = |sql: &str| runtime.block_on(mdw_sql_trino::plan(&ctx.state(), sql));
    let map = "(SELECT MAP(ARRAY['a'], ARRAY[1]) AS m)";
    for (sql, expected) in [
        (format!("SELECT (m).a FROM {map}"), "has no field a"),
        (
            "SELECT TRY_CAST(ROW(1) AS ROW(x BIGINT))".to_string(),
            "TRY_CAST to a row type",
        ),
        (format!("SELECT t.m.a FROM {map} AS t"), "has no field a"),
        (
            "SELECT ROW(1, NULL) IN (ROW(1, NULL))".to_string(),
            "IN with rows",
        ),
        (
            "SELECT x FROM (VALUES 1) AS t(x) ORDER BY ROW(x, 2)".to_string(),
            "sorting by a row",
        ),
        (
            "SELECT nullif(ROW(1), ROW(1))".to_string(),
            "nullif of rows",
        ),
        (
            "SELECT ARRAY[ROW(1, NULL)] = ARRAY[ROW(1, NULL)]".to_string(),
            "comparing rows",
        ),
    ] {
        let error = plan(&sql).expect_err(&sql).to_string();
        assert!(error.contains(expected), "{sql}: {error}");
    }
    let orders = "(SELECT 1 AS id, CAST(ROW('x') AS ROW(city VARCHAR)) AS address)";
    for sql in [
        format!("SELECT x.id, y.id FROM ({orders} x JOIN {orders} y ON x.id = y.id)"),
        format!("SELECT o.address.city, p.address.city FROM {orders} o, {orders} p"),
    ] {
        plan(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// Trino reads the clock once per query: every `now()`/`current_timestamp`/`localtimestamp`
/// of one query is the same instant (a snapshot's closed and new versions meet exactly).
#[test]
fn the_clock_is_read_once_per_query() {
    use datafusion::logical_expr::{Expr, LogicalPlan};
    let ctx = session();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let sql = "SELECT now() AS a, current_timestamp AS b, now() AS c, localtimestamp AS d";
    let plan = runtime
        .block_on(mdw_sql_trino::plan(&ctx.state(), sql))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let optimized = ctx.state().optimize(&plan).expect("optimizes");
    let LogicalPlan::Projection(projection) = optimized else {
        panic!("a projection: {optimized}");
    };
    let values: Vec<&Expr> = projection
        .expr
        .iter()
        .map(|e| match e {
            Expr::Alias(alias) => alias.expr.as_ref(),
            other => other,
        })
        .collect();
    assert!(
        values.iter().all(|e| matches!(e, Expr::Literal(..))),
        "{values:?}"
    );
    assert_eq!(values[0], values[1]);
    assert_eq!(values[0], values[2]);
}

/// A function of constants in a CASE branch no row takes, or over a batch a filter emptied,
/// runs on an empty batch: it gives no values, never a panic.
#[test]
fn functions_over_empty_batches() {
    let ctx = session();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let ids = "(SELECT a.x * 1000 + b.y AS id FROM UNNEST(sequence(0, 9)) AS a(x) \
               CROSS JOIN UNNEST(sequence(1, 1000)) AS b(y)) AS t";
    for (sql, expected) in [
        (
            "SELECT CASE WHEN x < 0 THEN TIMESTAMP '2026-01-01' + INTERVAL '1' DAY ELSE TIMESTAMP '2026-01-01' END FROM (VALUES 1, 2) AS t(x)"
                .to_string(),
            "2026-01-01 00:00:00 | 2026-01-01 00:00:00",
        ),
        (
            "SELECT CASE WHEN x < 0 THEN CAST(CAST(x AS VARCHAR) AS VARCHAR(3)) ELSE 'a' END FROM (VALUES 1, 2) AS t(x)"
                .to_string(),
            "a | a",
        ),
        (
            format!(
                "SELECT count(*), max('n ' || CAST(id AS VARCHAR(12)) || CASE WHEN id % 100 < 0 THEN ' v' ELSE '' END) \
                 FROM {ids} WHERE id <= 10000 AND NOT (id % 1000 = 999)"
            ),
            "9990; n 9998",
        ),
    ] {
        assert_eq!(
            runtime.block_on(run(&ctx, &sql)).as_deref(),
            Ok(expected),
            "{sql}"
        );
    }
}

/// dbt-athena's event-time filter of a microbatch batch: the column cast to `timestamp`
/// compared with `timestamp '2024-09-17 00:00:00+00:00'` (Python's `str` of a UTC datetime, a
/// timestamp with time zone) — Trino compares the two as instants, the session zone UTC.
#[test]
fn microbatch_bounds_compare_as_trino() {
    let ctx = session();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let filter = "cast(ts as timestamp) >= timestamp '2024-09-17 00:00:00+00:00' \
                  and cast(ts as timestamp) < timestamp '2024-09-18 00:00:00+00:00'";
    for (rows, expected) in [
        (
            "VALUES TIMESTAMP '2024-09-16 23:59:59.999', TIMESTAMP '2024-09-17 00:00:00', \
             TIMESTAMP '2024-09-17 23:59:59.999999', TIMESTAMP '2024-09-18 00:00:00'",
            // `cast(… as timestamp)` is a timestamp(3): .999999 rounds up to the next day.
            "2024-09-17 00:00:00.000000",
        ),
        (
            "VALUES DATE '2024-09-16', DATE '2024-09-17', DATE '2024-09-18'",
            "2024-09-17",
        ),
        (
            "VALUES '2024-09-17 12:00:00', '2024-09-18 00:00:00'",
            "2024-09-17 12:00:00",
        ),
    ] {
        let sql = format!("SELECT ts FROM ({rows}) AS t(ts) WHERE {filter} ORDER BY ts");
        assert_eq!(
            runtime.block_on(run(&ctx, &sql)).as_deref(),
            Ok(expected),
            "{sql}"
        );
    }
}

/// Where timestamps of two precisions meet, Trino computes in the finer one; DataFusion's
/// coercion truncated to the coarser (each of these gave the truncated value before).
#[test]
fn timestamps_of_two_precisions_meet_in_the_finer() {
    let ctx = session();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let ms = "TIMESTAMP '2024-09-16 23:59:59.999'";
    let s = "TIMESTAMP '2024-09-17 00:00:00'";
    for (sql, expected) in [
        (
            format!("SELECT {ms} > TIMESTAMP '2024-09-16 23:59:59'"),
            "true",
        ),
        (
            format!("SELECT {ms} = TIMESTAMP '2024-09-16 23:59:59'"),
            "false",
        ),
        (
            format!("SELECT {ms} BETWEEN TIMESTAMP '2024-09-16 23:59:59' AND {s}"),
            "true",
        ),
        (
            format!("SELECT {ms} IN (TIMESTAMP '2024-09-16 23:59:59')"),
            "false",
        ),
        (
            format!("SELECT coalesce({ms}, {s})"),
            "2024-09-16 23:59:59.999",
        ),
        (
            format!("SELECT coalesce(NULL, {s}, {ms})"),
            "2024-09-17 00:00:00.000",
        ),
        (
            format!("SELECT CASE WHEN true THEN {ms} ELSE {s} END"),
            "2024-09-16 23:59:59.999",
        ),
        (
            format!("SELECT ARRAY[{ms}, {s}]"),
            "[2024-09-16 23:59:59.999, 2024-09-17 00:00:00.000]",
        ),
        (
            format!("SELECT {ms} UNION ALL SELECT {s}"),
            "2024-09-16 23:59:59.999 | 2024-09-17 00:00:00.000",
        ),
        // Join keys and IN subqueries, typed by their own inputs.
        (
            "SELECT count(*) FROM (VALUES TIMESTAMP '2024-01-01 00:00:00.500') AS a(t) JOIN (VALUES TIMESTAMP '2024-01-01 00:00:00') AS b(t) USING (t)".into(),
            "0",
        ),
        (
            "SELECT count(*) FROM (SELECT TIMESTAMP '2024-01-01 00:00:00.500' AS t) a NATURAL JOIN (SELECT TIMESTAMP '2024-01-01 00:00:00' AS t) b".into(),
            "0",
        ),
        // Keys raised, and a filter of two precisions in the same join.
        (
            "SELECT count(*) FROM (SELECT TIMESTAMP '2024-01-01 00:00:00.000' AS t, TIMESTAMP '2024-01-01 00:00:00.500' AS t2) a \
             JOIN (SELECT TIMESTAMP '2024-01-01 00:00:00' AS u, TIMESTAMP '2024-01-01 00:00:00' AS u2) b ON a.t = b.u AND a.t2 > b.u2".into(),
            "1",
        ),
        (
            "SELECT count(*) FROM (VALUES TIMESTAMP '2024-01-01 00:00:00.500') AS a(t) WHERE t IN (SELECT TIMESTAMP '2024-01-01 00:00:00')".into(),
            "0",
        ),
        (
            "SELECT count(*) FROM (VALUES TIMESTAMP '2024-01-01 00:00:00') AS a(t) WHERE t NOT IN (SELECT TIMESTAMP '2024-01-01 00:00:00.500')".into(),
            "1",
        ),
        // Raised below a CTE, the outer comparison sees the finer type.
        (
            format!(
                "WITH x AS (SELECT coalesce(ts6, {s}) AS u FROM (VALUES TIMESTAMP '2024-01-01 00:00:00.500000') AS t(ts6)) \
                 SELECT count(*) FROM x WHERE u > TIMESTAMP '2024-01-01 00:00:00'"
            ),
            "1",
        ),
        (
            format!(
                "SELECT count(*) FROM (SELECT coalesce(ts6, {s}) AS u FROM (VALUES TIMESTAMP '2024-01-01 00:00:00.500000') AS t(ts6) \
                 UNION ALL SELECT TIMESTAMP '2023-01-01 00:00:00') AS x WHERE u > TIMESTAMP '2024-01-01 00:00:00'"
            ),
            "1",
        ),
        // The union's inputs agree only once the coalesce below is raised: its schema follows.
        (
            format!(
                "SELECT count(*) FROM (SELECT coalesce(ts6, {s}) AS u FROM (VALUES TIMESTAMP '2024-01-01 00:00:00.500000') AS t(ts6) \
                 UNION ALL SELECT TIMESTAMP '2023-01-01 00:00:00.000001') AS x WHERE u > TIMESTAMP '2024-01-01 00:00:00'"
            ),
            "1",
        ),
        (
            format!("SELECT ts FROM (VALUES {s}, {ms}) AS t(ts)"),
            "2024-09-17 00:00:00.000 | 2024-09-16 23:59:59.999",
        ),
        (
            format!(
                "SELECT ts FROM (VALUES ({ms}), (TIMESTAMP '2024-09-17 00:00:00.123456')) AS t(ts)"
            ),
            "2024-09-16 23:59:59.999000 | 2024-09-17 00:00:00.123456",
        ),
    ] {
        assert_eq!(
            runtime.block_on(run(&ctx, &sql)).as_deref(),
            Ok(expected),
            "{sql}"
        );
    }
}
