terraform {
  required_providers {
    mdw = { source = "mdw/mdw" }
  }
}

variable "warehouse_bucket" {
  type = string
}

# Raw sources land in `iceberg` (the dbt project's sources); models are built into `mdw`.
resource "mdw_glue_database" "iceberg" {
  name         = "iceberg"
  description  = "Source tables"
  location_uri = "s3://${var.warehouse_bucket}/iceberg/"
}

output "databases" {
  value = [mdw_glue_database.iceberg.name]
}
