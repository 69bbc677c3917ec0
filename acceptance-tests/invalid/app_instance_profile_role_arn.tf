# A role ARN where an instance profile (name or ARN) belongs.
# fails: validate
# expect: berth_container_app.web instance_profile :: instance-profile
resource "berth_container_app" "web" {
  name             = "web"
  image            = "registry.example.com/shop:2026-11-23"
  instance_profile = "arn:aws:iam::123456789012:role/web"
}
