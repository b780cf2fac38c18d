terraform {
  required_providers {
    mdw = { source = "mdw/mdw" }
  }
}

variable "name" {
  type = string
}

variable "result_location" {
  description = "s3://bucket/prefix/ where every query of the workgroup writes its results."
  type        = string
}

resource "mdw_athena_workgroup" "this" {
  name            = var.name
  result_location = var.result_location
  description     = "mdw models and analysts"
}

output "name" {
  value = mdw_athena_workgroup.this.name
}

output "result_location" {
  value = mdw_athena_workgroup.this.result_location
}
