# The offline demo: the retail dbt project (../retail) compiled by mdwc into ./models and built
# on the embedded engine (DataFusion + Iceberg in ./.mdw/warehouse). No AWS account needed.
# `make demo` from the repository root does everything; see the README.
terraform {
  required_version = ">= 1.11"
  required_providers {
    mdw = { source = "mdw/mdw" }
  }
}

provider "mdw" {
  engine   = "embedded"
  embedded = { warehouse = ".mdw/warehouse" }
}

variable "pdate" {
  description = "Business date of the run (dbt var pdate), e.g. terraform apply -var pdate=20261128."
  type        = string
  default     = "20261127"
}

variable "data_test_run" {
  description = "Change it (terraform apply -var data_test_run=$(date +%s)) to run every test again without rebuilding a model."
  type        = string
  default     = ""
}

module "models" {
  source        = "./models"
  pdate         = var.pdate
  data_test_run = var.data_test_run
}

output "data_tests" {
  description = "Each data test's status after the last apply: pass or warn (an error fails the apply)."
  value       = module.models.data_tests
}

data "mdw_query" "daily_store_sales" {
  sql        = <<-SQL
    select store_name, order_date, orders, revenue
    from "awsdatacatalog"."mdw"."mart_daily_store_sales"
    order by revenue desc, store_name
  SQL
  max_rows   = 5
  depends_on = [module.models]
}

output "top_store_days" {
  description = "The five best store-days by revenue, from the mart."
  value       = [for r in data.mdw_query.daily_store_sales.rows : "${r.order_date}  ${r.store_name}: ${r.orders} orders, ${r.revenue}"]
}
