terraform {
  required_providers {
    mdw = { source = "mdw/mdw" }
  }
}

variable "work_zone_bucket" {
  type = string
}

variable "warehouse_bucket" {
  type = string
}

variable "raw_bucket" {
  type = string
}

# Each bucket is hardened by default: public access blocked, encrypted, versioned, TLS-only,
# bucket-owner-enforced, with lifecycle rules picked by its purpose.
resource "mdw_lake_bucket" "work_zone" {
  name    = var.work_zone_bucket
  purpose = "query_results"
}

resource "mdw_lake_bucket" "warehouse" {
  name    = var.warehouse_bucket
  purpose = "warehouse"
}

resource "mdw_lake_bucket" "raw" {
  name    = var.raw_bucket
  purpose = "raw"
}

output "work_zone_bucket" {
  value = mdw_lake_bucket.work_zone.name
}

output "warehouse_bucket" {
  value = mdw_lake_bucket.warehouse.name
}

output "raw_bucket" {
  value = mdw_lake_bucket.raw.name
}
