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
