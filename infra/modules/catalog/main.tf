terraform {
  required_providers {
    mdw = { source = "mdw/mdw" }
  }
}

variable "warehouse_bucket" {
  type = string
}

# Where ingestion (Airbyte) registers raw tables. The schemas of the dbt project (sources it
# seeds, staging, dwh, marts) are declared by the models module that mdwc writes.
resource "mdw_glue_database" "raw" {
  name         = "raw"
  description  = "Raw tables landed by ingestion"
  location_uri = "s3://${var.warehouse_bucket}/raw/"
}

output "raw_database" {
  value = mdw_glue_database.raw.name
}
