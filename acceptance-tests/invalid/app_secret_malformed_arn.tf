# A Secrets Manager ARN with a garbage account and region.
# fails: validate
# expect: berth_container_app.web secrets["API_KEY"] :: has no valid region
resource "berth_container_app" "web" {
  name  = "web"
  image = "registry.example.com/shop:2026-11-23"
  secrets = {
    API_KEY = "arn:aws:secretsmanager:everywhere:me:secret:api-key"
  }
}
