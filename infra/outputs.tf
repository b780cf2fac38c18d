output "work_zone_bucket" {
  value = module.lake.work_zone_bucket
}

output "warehouse_bucket" {
  value = module.lake.warehouse_bucket
}

output "workgroup" {
  value = module.athena.name
}

output "databases" {
  value = concat([module.catalog.raw_database], module.models.databases)
}

output "dbt_runner_role_arn" {
  value = module.iam.dbt_runner_role_arn
}

output "data_tests" {
  description = "Every data test's status (pass or warn) after the last apply; a failing error-severity test fails the apply instead."
  value       = module.models.data_tests
}
