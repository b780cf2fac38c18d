//! dbt 1.8+ unit tests (`unit_tests:` in properties yml): the tested model, the fixture rows
//! given for its inputs, the expected rows, and the overrides, read as dbt-core's
//! `UnitTestParser` normalises them (csv rows become mappings, an empty csv value is null).
//! What mdwc cannot run the way dbt would is an error at its line, never a guess.

use serde_json::{Map, Value as Json};

use super::{Reader, step};
use crate::error::{Diagnostic, Location, Result};
use crate::project::type_name;
use crate::yaml::Step;

/// One `unit_tests:` entry.
#[derive(Debug, Clone)]
pub(crate) struct UnitTestSpec {
    pub name: String,
    /// The tested model's name.
    pub model: String,
    pub given: Vec<GivenSpec>,
    pub expect: Fixture,
    /// `overrides: vars:` — bound as `--vars` would for this test.
    pub vars: Map<String, Json>,
    /// `overrides: env_vars:` — what `env_var()` answers for this test.
    pub env_vars: Map<String, Json>,
    /// `overrides: macros:` — `is_incremental` is the one mdwc applies.
    pub macros: Vec<(String, Json, Location)>,
    pub config: Map<String, Json>,
    pub location: Location,
}

/// One `given:` input.
#[derive(Debug, Clone)]
pub(crate) struct GivenSpec {
    /// As written: `ref('x')`, `source('s', 't')`.
    pub input: String,
    pub fixture: Fixture,
    pub location: Location,
}

/// Fixture rows.
#[derive(Debug, Clone)]
pub(crate) enum Fixture {
    /// `format: dict` rows as written, or `format: csv` rows read into mappings.
    Rows(Vec<Map<String, Json>>),
    /// `format: sql`: a query returning the rows.
    Sql(String),
    /// `format: dict` without rows on a seed input: dbt reads the seed's CSV file.
    SeedFile,
    /// `fixture: <name>`: the file `<test path>/fixtures/**/<name>.<extension>`.
    File {
        name: String,
        extension: &'static str,
        location: Location,
    },
}

impl Reader<'_> {
    pub(super) fn unit_tests(&self, value: &Json, out: &mut Vec<UnitTestSpec>) -> Result<()> {
        let path = [Step::key("unit_tests")];
        for (index, entry) in self.list(value, &path)?.iter().enumerate() {
            let name = self.name(entry, &step(&path, Step::Index(index)))?;
            let at = step(&path, Step::named(&name));
            if out.iter().any(|t| t.name == name) {
                return Err(
                    Diagnostic::new(format!("unit test '{name}' is defined twice"))
                        .at(self.locate(&at))
                        .help("give every unit test its own name"),
                );
            }
            out.push(self.unit_test(entry, name, &at)?);
        }
        Ok(())
    }

    fn unit_test(&self, entry: &Json, name: String, at: &[Step]) -> Result<UnitTestSpec> {
        let location = self.locate(at);
        let model = match entry.get("model") {
            Some(Json::String(model)) if !model.is_empty() => model.clone(),
            _ => {
                return Err(
                    Diagnostic::new(format!("unit test '{name}' names no `model:`"))
                        .at(location)
                        .help("add `model: <the tested model's name>`"),
                );
            }
        };
        if entry.get("versions").is_some() {
            return Err(Diagnostic::new(format!(
                "unit test '{name}': `versions:` (testing some versions of a versioned model) is not supported by mdwc"
            ))
            .at(self.locate(&step(at, Step::key("versions"))))
            .help("remove `versions:`; unit tests of versioned models are not supported yet"));
        }
        let given_path = step(at, Step::key("given"));
        let mut given = Vec::new();
        let entries = match entry.get("given") {
            Some(value) => self.list(value, &given_path)?.as_slice(),
            None => &[],
        };
        for (index, input) in entries.iter().enumerate() {
            let input_path = step(&given_path, Step::Index(index));
            let input_location = self.locate(&input_path);
            let text = match input.get("input") {
                Some(Json::String(text)) if !text.trim().is_empty() => text.trim().to_string(),
                _ => {
                    return Err(Diagnostic::new(format!(
                        "a `given:` input of unit test '{name}' has no `input:`"
                    ))
                    .at(input_location)
                    .help(
                        "write `- input: ref('model_name')` or `- input: source('src', 'table')`",
                    ));
                }
            };
            if text == "this" {
                return Err(Diagnostic::new(format!(
                    "unit test '{name}': `input: this` (the incremental model's own table) is not supported by mdwc"
                ))
                .at(input_location)
                .help("test the full build instead (no `is_incremental` override and no `this` input)"));
            }
            let fixture = self.fixture(input, &name, "input", &input_path, true)?;
            given.push(GivenSpec {
                input: text,
                fixture,
                location: input_location,
            });
        }
        let expect_path = step(at, Step::key("expect"));
        let expect = match entry.get("expect") {
            Some(expect @ Json::Object(_)) => {
                self.fixture(expect, &name, "expected", &expect_path, false)?
            }
            _ => {
                return Err(Diagnostic::new(format!(
                    "unit test '{name}' has no `expect:` mapping"
                ))
                .at(location)
                .help("add `expect: {rows: [{column: value}]}`"));
            }
        };
        let overrides_path = step(at, Step::key("overrides"));
        let overrides = match entry.get("overrides") {
            None | Some(Json::Null) => Map::new(),
            Some(Json::Object(map)) => map.clone(),
            Some(other) => {
                return Err(Diagnostic::new(format!(
                    "`overrides:` of unit test '{name}' must be a mapping, not {}",
                    type_name(other)
                ))
                .at(self.locate(&overrides_path))
                .help("write `overrides: {vars: {...}, macros: {...}, env_vars: {...}}`"));
            }
        };
        let section = |key: &str| -> Result<Map<String, Json>> {
            match overrides.get(key) {
                None | Some(Json::Null) => Ok(Map::new()),
                Some(Json::Object(map)) => Ok(map.clone()),
                Some(other) => Err(Diagnostic::new(format!(
                    "`overrides: {key}:` of unit test '{name}' must be a mapping, not {}",
                    type_name(other)
                ))
                .at(self.locate(&step(&overrides_path, Step::key(key))))
                .help(format!("write `{key}: {{name: value}}`"))),
            }
        };
        let macros_path = step(&overrides_path, Step::key("macros"));
        let macros = section("macros")?
            .into_iter()
            .map(|(key, value)| {
                let at = self.locate(&step(&macros_path, Step::key(&key)));
                (key, value, at)
            })
            .collect();
        if let Some(key) = overrides
            .keys()
            .find(|k| !matches!(k.as_str(), "vars" | "macros" | "env_vars"))
        {
            return Err(
                Diagnostic::new(format!("unknown override '{key}' in unit test '{name}'"))
                    .at(self.locate(&step(&overrides_path, Step::key(key))))
                    .help("overrides are `vars`, `macros` and `env_vars`"),
            );
        }
        let config = match entry.get("config") {
            None | Some(Json::Null) => Map::new(),
            Some(Json::Object(map)) => map.clone(),
            Some(other) => {
                return Err(Diagnostic::new(format!(
                    "`config:` of unit test '{name}' must be a mapping, not {}",
                    type_name(other)
                ))
                .at(self.locate(&step(at, Step::key("config"))))
                .help("write `config: {enabled: true, tags: [...]}`"));
            }
        };
        Ok(UnitTestSpec {
            vars: section("vars")?,
            env_vars: section("env_vars")?,
            macros,
            config,
            name,
            model,
            given,
            expect,
            location,
        })
    }

    /// The rows of a `given:` input or of `expect:`, as dbt normalises them.
    fn fixture(
        &self,
        node: &Json,
        test: &str,
        what: &str,
        path: &[Step],
        is_input: bool,
    ) -> Result<Fixture> {
        let location = || self.locate(path);
        let format = match node.get("format") {
            None | Some(Json::Null) => "dict",
            Some(Json::String(format)) => format.as_str(),
            Some(other) => {
                return Err(Diagnostic::new(format!(
                    "`format:` of a unit test {what} must be dict, csv or sql, not {}",
                    type_name(other)
                ))
                .at(location())
                .help("write `format: dict`, `format: csv` or `format: sql`"));
            }
        };
        let rows = node.get("rows").filter(|r| !r.is_null());
        if let Some(fixture) = node.get("fixture").filter(|f| !f.is_null()) {
            let at = self.locate(&step(path, Step::key("fixture")));
            return match (format, fixture) {
                ("csv" | "sql", Json::String(name)) => Ok(Fixture::File {
                    name: name.clone(),
                    extension: if format == "csv" { "csv" } else { "sql" },
                    location: at,
                }),
                _ => Err(Diagnostic::new(format!(
                    "unit test '{test}' has {what} rows or fixtures which do not match format {format}"
                ))
                .at(at)
                .help("a fixture file is named by a string and needs `format: csv` or `format: sql`")),
            };
        }
        let mismatch = |expected: &str| {
            Diagnostic::new(format!(
                "unit test '{test}' has {what} rows which do not match format {format}"
            ))
            .at(location())
            .help(expected.to_string())
        };
        match (format, rows) {
            ("dict", None) if is_input => Ok(Fixture::SeedFile),
            ("dict", Some(Json::Array(rows))) => rows
                .iter()
                .map(|row| match row {
                    Json::Object(map) => Ok(map.clone()),
                    _ => Err(mismatch(
                        "write each row as a mapping: `- {id: 1, name: a}`",
                    )),
                })
                .collect::<Result<Vec<_>>>()
                .map(Fixture::Rows),
            ("dict", _) => Err(mismatch("write `rows:` as a list of mappings: `- {id: 1}`")),
            ("csv", Some(Json::String(text))) => csv_rows(text)
                .map(Fixture::Rows)
                .map_err(|error| mismatch(&format!("the rows are not valid CSV ({error})"))),
            ("csv", _) => Err(mismatch(
                "write `rows: |` followed by a CSV header and rows",
            )),
            ("sql", Some(Json::String(text))) => Ok(Fixture::Sql(text.clone())),
            ("sql", _) => Err(mismatch("write `rows: |` followed by a select statement")),
            (other, _) => Err(Diagnostic::new(format!(
                "unknown unit test fixture format '{other}'"
            ))
            .at(location())
            .help("use format dict, csv or sql")),
        }
    }
}

/// CSV rows as dbt reads them (`csv.DictReader`), an empty value being null. Spaces around
/// values are trimmed: `id, name` names a column `name`, not ` name`.
pub(crate) fn csv_rows(text: &str) -> std::result::Result<Vec<Map<String, Json>>, csv::Error> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader.headers()?.clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        let row: Map<String, Json> = headers
            .iter()
            .zip(record.iter().chain(std::iter::repeat("")))
            .map(|(column, value)| {
                let value = if value.is_empty() {
                    Json::Null
                } else {
                    Json::String(value.to_string())
                };
                (column.to_string(), value)
            })
            .collect();
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_become_mappings_with_nulls() {
        let rows = csv_rows("id, name\n1, a\n2,\n").unwrap();
        assert_eq!(
            Json::Array(rows.into_iter().map(Json::Object).collect()),
            serde_json::json!([{"id": "1", "name": "a"}, {"id": "2", "name": null}])
        );
    }
}
