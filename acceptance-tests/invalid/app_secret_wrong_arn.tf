# An ARN of something that holds no secret (an S3 bucket).
# fails: validate
# expect: berth_container_app.web secrets["API_KEY"] :: neither an SSM parameter ARN
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  secrets = {
    API_KEY = "arn:aws:s3:::shop-secrets"
  }
}
