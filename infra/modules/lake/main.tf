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

variable "force_destroy" {
  description = "Let destroy delete buckets that still hold data (throwaway environments only)."
  type        = bool
  default     = false
}

variable "enforce_tls" {
  description = "TLS-only bucket policies; false only for emulators that ignore policy conditions."
  type        = bool
  default     = true
}

# Each bucket is hardened by default: public access blocked, encrypted, versioned, TLS-only,
# bucket-owner-enforced, with lifecycle rules picked by its purpose.
resource "mdw_lake_bucket" "work_zone" {
  name          = var.work_zone_bucket
  purpose       = "query_results"
  enforce_tls   = var.enforce_tls
  force_destroy = var.force_destroy
}

resource "mdw_lake_bucket" "warehouse" {
  name          = var.warehouse_bucket
  purpose       = "warehouse"
  enforce_tls   = var.enforce_tls
  force_destroy = var.force_destroy
}

resource "mdw_lake_bucket" "raw" {
  name          = var.raw_bucket
  purpose       = "raw"
  enforce_tls   = var.enforce_tls
  force_destroy = var.force_destroy
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
