locals {
  tags = {
    project    = "mdw"
    env        = var.env
    managed_by = "terraform"
  }
}

provider "mdw" {
  region       = var.region
  default_tags = local.tags
  endpoints    = length(var.aws_endpoints) > 0 ? var.aws_endpoints : null
  # The models' tables live under s3://<warehouse bucket>/warehouse/, registered in Glue, with
  # either engine. Each engine's settings are given only when it is the one in use: the
  # provider refuses settings it would ignore.
  engine    = var.engine
  workgroup = var.engine == "athena" ? var.workgroup : null
  athena    = var.engine == "athena" ? { data_location = "s3://${var.warehouse_bucket}/warehouse" } : null
  embedded  = var.engine == "embedded" ? { warehouse = "s3://${var.warehouse_bucket}/warehouse" } : null
}

module "lake" {
  source           = "./modules/lake"
  work_zone_bucket = var.work_zone_bucket
  warehouse_bucket = var.warehouse_bucket
  raw_bucket       = var.raw_bucket
  enforce_tls      = var.enforce_tls
  force_destroy    = var.force_destroy_buckets
}

module "athena" {
  source          = "./modules/athena"
  name            = var.workgroup
  result_location = "s3://${module.lake.work_zone_bucket}/results/"
}

module "catalog" {
  source           = "./modules/catalog"
  warehouse_bucket = module.lake.warehouse_bucket
}

module "iam" {
  source                 = "./modules/iam"
  workgroup              = module.athena.name
  results_location       = module.athena.result_location
  warehouse_location     = "s3://${module.lake.warehouse_bucket}/"
  raw_location           = "s3://${module.lake.raw_bucket}/"
  databases              = module.models.databases
  raw_database           = module.catalog.raw_database
  state_bucket           = var.state_bucket
  lock_table             = var.lock_table
  lake_buckets           = [module.lake.work_zone_bucket, module.lake.warehouse_bucket, module.lake.raw_bucket]
  trusted_principal_arns = var.trusted_principal_arns
}

# Written by `mdwc compile --project-dir examples/retail --out infra/modules/models`: the dbt
# project's models, seeds, sources and tests, wired by ref().
module "models" {
  source         = "./modules/models"
  glue_databases = true
  pdate          = var.pdate
  data_test_run  = var.data_test_run
  # The engine writes into the warehouse bucket and runs in the workgroup.
  depends_on = [module.lake, module.athena]
}
