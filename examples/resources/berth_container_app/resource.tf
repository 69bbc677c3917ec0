resource "berth_container_app" "shop" {
  name      = "shop"
  image     = "registry.example.com/shop:2026-11-23T10-00"
  command   = ["bundle", "exec", "puma", "-p", "3000"]
  port      = 3000
  host_port = 3000
  replicas  = 2
  memory    = 768

  env = {
    RAILS_ENV = "production"
    MONGO_URL = "mongodb://db.internal:27017/shop"
  }
  secrets = {
    SECRET_KEY_BASE = "ssm:/shop/secret_key_base"
    REDIS_URL       = "arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-AbCdEf"
  }

  instance_type = "t3.small"
  # One subnet per zone spreads the instances over zones.
  subnet_ids = ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"]
  # The instances tag themselves healthy and read their secrets with it.
  instance_profile = "shop-instance"

  sidecar {
    name  = "nginx"
    image = "nginx:1.27"
    ports = ["80:80"]
    files = {
      "/etc/nginx/conf.d/default.conf" = <<-EOT
        server {
          listen 80;
          location / {
            proxy_pass http://app:3000;
          }
        }
      EOT
    }
    memory = 64
  }

  health_check {
    path     = "/up"
    deadline = 300
  }

  origin {
    zone = "example.com"
    name = "shop-origin"
    ttl  = 30
  }

  rollout {
    batch_size    = 1
    drain         = 15
    keep_previous = true # rollback = set the old image: a DNS flip, no boot
  }

  tags = {
    team = "shop"
  }

  timeouts {
    create = "30m"
    update = "30m"
    delete = "20m"
  }
}
