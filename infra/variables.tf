variable "region" {
  description = "AWS region of the warehouse."
  type        = string
  default     = "us-west-2"
}

variable "env" {
  description = "Environment name, used in tags."
  type        = string
  default     = "dev"
}

variable "work_zone_bucket" {
  description = "Bucket for Athena query results."
  type        = string
  default     = "mdw-work-zone"
}

variable "warehouse_bucket" {
  description = "Bucket for Iceberg table data."
  type        = string
  default     = "mdw-warehouse"
}

variable "raw_bucket" {
  description = "Bucket where ingestion (Airbyte) lands raw data."
  type        = string
  default     = "mdw-raw"
}

variable "workgroup" {
  description = "Athena workgroup the models and analysts use."
  type        = string
  default     = "mdw"
}

variable "engine" {
  description = "What builds the models: athena (production), or embedded — DataFusion in the provider, writing the same Iceberg tables to the warehouse bucket and Glue (used with a local emulator, where Athena runs no SQL)."
  type        = string
  default     = "athena"
}

variable "enforce_tls" {
  description = "Attach the TLS-only policy to the lake buckets. Only an emulator that ignores policy conditions (moto) needs false."
  type        = bool
  default     = true
}

variable "force_destroy_buckets" {
  description = "Let destroy delete the lake buckets with their data and every old version. Keep false outside throwaway environments."
  type        = bool
  default     = false
}

variable "aws_endpoints" {
  description = "Endpoint overrides for a local AWS emulator (see env/moto.tfvars); empty for AWS."
  type        = map(string)
  default     = {}
}

variable "state_bucket" {
  description = "The remote-state bucket (made by ./bootstrap), which the operator role may use."
  type        = string
  default     = "mdw-terraform-remote-state"
}

variable "lock_table" {
  description = "The state lock table (made by ./bootstrap)."
  type        = string
  default     = "mdw-terraform-locks"
}

variable "trusted_principal_arns" {
  description = "IAM principals (e.g. your CI's OIDC role) allowed to assume the dbt runner and operator roles."
  type        = list(string)
}

variable "pdate" {
  description = "Business date of the run (the dbt var pdate): terraform apply -var pdate=20261127."
  type        = string
  default     = "20261127"
}

variable "data_test_run" {
  description = "Change it (e.g. -var data_test_run=$(date +%s)) to run every data and unit test again without rebuilding a model."
  type        = string
  default     = ""
}
