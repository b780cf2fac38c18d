# Creates the remote-state bucket and lock table that ../backend.tf uses. Run once, with local
# state (keep bootstrap/terraform.tfstate safe, or import the backend later):
#   terraform -chdir=infra/bootstrap init && terraform -chdir=infra/bootstrap apply
terraform {
  required_version = ">= 1.11"
  required_providers {
    mdw = { source = "mdw/mdw" }
  }
}

variable "region" {
  type    = string
  default = "us-west-2"
}

variable "aws_endpoints" {
  description = "Endpoint overrides for a local AWS emulator; empty for AWS."
  type        = map(string)
  default     = {}
}

provider "mdw" {
  region       = var.region
  default_tags = { project = "mdw", managed_by = "terraform" }
  endpoints    = length(var.aws_endpoints) > 0 ? var.aws_endpoints : null
}

resource "mdw_state_backend" "this" {
  name       = "mdw-terraform-remote-state"
  lock_table = "mdw-terraform-locks"
  # A local emulator ignores the policy's aws:SecureTransport condition and would deny every
  # state write; on AWS the TLS-only policy stays on.
  enforce_tls = length(var.aws_endpoints) == 0
}

output "backend_config" {
  description = "What ../backend.tf needs."
  value       = mdw_state_backend.this.backend_config
}
