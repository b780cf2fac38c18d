terraform {
  required_version = ">= 1.11"
  required_providers {
    mdw = {
      source  = "mdw/mdw"
      version = ">= 0.1.0"
    }
  }
}
