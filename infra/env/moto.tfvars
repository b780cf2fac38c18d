# terraform apply -var-file=env/moto.tfvars — every AWS call goes to a moto server on 127.0.0.1:5000.
aws_endpoints = {
  s3       = "http://127.0.0.1:5000"
  glue     = "http://127.0.0.1:5000"
  athena   = "http://127.0.0.1:5000"
  dynamodb = "http://127.0.0.1:5000"
  iam      = "http://127.0.0.1:5000"
  sts      = "http://127.0.0.1:5000"
  kms      = "http://127.0.0.1:5000"
}
trusted_principal_arns = ["arn:aws:iam::123456789012:root"]
# moto runs no SQL: build the models in the provider, on Glue + S3 in moto.
engine = "embedded"
# moto denies every object request under a TLS-only policy (it ignores the condition).
enforce_tls = false
# A throwaway emulator: destroy may delete the buckets with their data.
force_destroy_buckets = true
