terraform {
  required_providers {
    mdw = { source = "mdw/mdw" }
  }
}

variable "workgroup" {
  type = string
}

variable "results_location" {
  type = string
}

variable "warehouse_location" {
  type = string
}

variable "raw_location" {
  type = string
}

variable "databases" {
  description = "Glue databases the dbt runner builds into."
  type        = list(string)
}

variable "raw_database" {
  description = "Glue database Airbyte registers raw tables in."
  type        = string
}

variable "state_bucket" {
  type = string
}

variable "lock_table" {
  type = string
}

variable "lake_buckets" {
  type = list(string)
}

variable "trusted_principal_arns" {
  description = "Who may assume the dbt runner and operator roles (e.g. a CI OIDC role)."
  type        = list(string)
}

# Policies are computed by the provider from these references: no hand-written JSON.
resource "mdw_dbt_runner_role" "this" {
  name                   = "mdw-dbt-runner"
  trusted_principal_arns = var.trusted_principal_arns
  workgroup              = var.workgroup
  results_location       = var.results_location
  warehouse_location     = var.warehouse_location
  databases              = var.databases
  source_locations       = [var.raw_location]
  source_databases       = [var.raw_database]
}

resource "mdw_airbyte_ec2_role" "this" {
  name         = "mdw-airbyte"
  raw_location = var.raw_location
  raw_database = var.raw_database
}

resource "mdw_terraform_operator_role" "this" {
  name                   = "mdw-terraform-operator"
  trusted_principal_arns = var.trusted_principal_arns
  state_bucket           = var.state_bucket
  state_key              = "mdw/infra.tfstate"
  lock_table             = var.lock_table
  lake_buckets           = var.lake_buckets
  workgroups             = [var.workgroup]
  databases              = concat(var.databases, [var.raw_database])
  results_location       = var.results_location
  warehouse_location     = var.warehouse_location
  iam_role_name_prefix   = "mdw-"
}

output "dbt_runner_role_arn" {
  value = mdw_dbt_runner_role.this.arn
}

output "airbyte_instance_profile_arn" {
  value = mdw_airbyte_ec2_role.this.instance_profile_arn
}

output "terraform_operator_role_arn" {
  value = mdw_terraform_operator_role.this.arn
}
