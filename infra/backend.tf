# Remote state in S3 with DynamoDB locking, as created by ./bootstrap.
# For a local emulator, override without editing: terraform init -backend-config=env/moto.s3.tfbackend
terraform {
  backend "s3" {
    bucket         = "mdw-terraform-remote-state"
    key            = "mdw/infra.tfstate"
    region         = "us-west-2"
    dynamodb_table = "mdw-terraform-locks"
    encrypt        = true
  }
}
