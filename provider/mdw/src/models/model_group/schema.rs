//! The attributes of `mdw_model_group`.

use std::collections::BTreeMap;

use tfplugin::{Maybe, Value};

use crate::models::validators::validate_lineage;

pub(super) const TYPE_NAME: &str = "mdw_model_group";
pub(super) const DEFAULT_PARALLELISM: i64 = 4;
/// Schema version 1: models as JSON strings (version 0 held them as nested objects).
pub(super) const SCHEMA_VERSION: i64 = 1;

fn validate_parallelism(value: &Value) -> Result<(), String> {
    match value.as_i64() {
        Some(n) if !(1..=64).contains(&n) => {
            Err(format!("parallelism {n} is out of range: use 1 to 64."))
        }
        _ => Ok(()),
    }
}

tfplugin::model! {
    /// The attributes of `mdw_model_group`.
    pub(crate) struct GroupModel {
        /// The group's models by key (mdwc: the model's name), each the JSON of its definition (`jsonencode({ … })`): the arguments of `mdw_iceberg_model` but `lineage`, `test_run_trigger` and `upstream`, which are the group's, with `upstream` listing the keys of the group's `upstream` the model reads and `after` the keys of the group's models it reads.
        #[tf(required)]
        pub(crate) models: BTreeMap<String, String>,
        /// The build ids of the models, seeds and sources outside the group that its models read, by key (`model.stg_orders`, `seed.countries`, `source.raw.orders`): a change rebuilds the models that list the key, and the references order the group after them.
        #[tf()]
        pub(crate) upstream: Option<BTreeMap<String, String>>,
        /// The root's `mdw_lineage` id: each model's owner id is `<lineage>/model/<database>.<name>`, as for `mdw_iceberg_model`, so a create that fails part way and is retried finds its own tables.
        #[tf(required, validate = validate_lineage)]
        pub(crate) lineage: String,
        /// Any value; a change runs every model's data tests again without a rebuild (mdwc passes `var.data_test_run`).
        #[tf()]
        pub(crate) test_run_trigger: Option<String>,
        /// How many of the group's models build at once.
        #[tf(default = DEFAULT_PARALLELISM, validate = validate_parallelism)]
        pub(crate) parallelism: Maybe<i64>,
        /// Each model's state by key, as JSON: what its last build was made from (`upstream`, `after_builds`, `lineage`, `test_run_trigger`) the computed attributes of `mdw_iceberg_model` (`build_id`, `columns`, `data_location`, `snapshot_id`, `owner_id`, `fingerprint`, `data_test_status`), and `catalog_version`, the relation's version in the catalog, with which a refresh skips reading a table or view nobody changed; unknown in a plan for the models that build or run their tests.
        #[tf(computed)]
        pub(crate) builds: Maybe<BTreeMap<String, String>>,
        /// Each model's `build_id` by key: what readers of the group's models reference (`build_ids["stg_orders"]`), unknown in a plan for exactly the models that build.
        #[tf(computed)]
        pub(crate) build_ids: Maybe<BTreeMap<String, String>>,
        /// Each data test of the group's models by test name: `pass`, `warn`, `fail` or `error`.
        #[tf(computed)]
        pub(crate) data_test_status: Maybe<BTreeMap<String, String>>,
    }
}
