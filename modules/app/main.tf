# berth app: the Heroku-like default. One berth_container_app with sane
# defaults — a health check, a zero-downtime rollout that keeps the previous
# release warm for an instant rollback, its own origin record — an optional
# nginx front, and an optional custom domain.

locals {
  origin_name   = coalesce(var.origin_name, "${var.name}-origin")
  nginx_default = <<-CONF
    server {
      listen 80;
      location / {
        proxy_pass http://app:${var.port};
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
      }
    }
  CONF
  nginx_conf    = var.nginx_config != null ? var.nginx_config : local.nginx_default
}

resource "berth_container_app" "this" {
  name                    = var.name
  region                  = var.region
  image                   = var.image
  command                 = var.command
  release_command         = var.release_command
  release_command_timeout = var.release_command_timeout
  port                    = var.port
  env                     = var.env
  secrets                 = var.secrets
  memory                  = var.memory
  replicas                = var.replicas
  instance_type           = var.instance_type
  subnet_ids              = var.subnet_ids
  instance_profile        = var.instance_profile
  tags                    = var.tags

  dynamic "registry_credentials" {
    for_each = var.registry_credentials
    content {
      server   = registry_credentials.value.server
      username = registry_credentials.value.username
      password = registry_credentials.value.password
    }
  }

  dynamic "logs" {
    for_each = var.logs_retention_days == null ? [] : [var.logs_retention_days]
    content {
      retention_days    = logs.value
      delete_on_destroy = var.logs_delete_on_destroy
    }
  }

  dynamic "alarm" {
    for_each = { for k, v in {
      cpu       = var.cpu_alarm_threshold
      memory    = var.memory_alarm_threshold
      unhealthy = var.alarm_on_unhealthy ? 1 : null
    } : k => v if v != null }
    content {
      name          = alarm.key
      metric        = alarm.key == "unhealthy" ? "unhealthy_instances" : alarm.key
      threshold     = alarm.value
      alarm_actions = var.alarm_actions
      ok_actions    = var.alarm_actions
    }
  }

  dynamic "sidecar" {
    for_each = var.nginx_front ? ["nginx"] : []
    content {
      name   = "nginx"
      image  = var.nginx_image
      ports  = ["80:80"]
      memory = 64
      files = {
        "/etc/nginx/conf.d/default.conf" = local.nginx_conf
      }
    }
  }

  health_check {
    path     = var.health_path
    port     = var.nginx_front ? 80 : null
    interval = var.health_interval
    deadline = var.health_deadline
  }

  origin {
    zone = var.zone
    name = local.origin_name
    ttl  = var.ttl
  }

  rollout {
    batch_size    = var.batch_size
    drain         = var.drain
    keep_previous = var.keep_previous
  }
}

resource "berth_weighted_route" "domain" {
  count = var.domain == null ? 0 : 1

  zone = var.zone
  name = var.domain
  ttl  = var.ttl

  target {
    id       = var.name
    hostname = berth_container_app.this.origin_fqdn
    app      = berth_container_app.this.name
    weight   = 100
  }
}
