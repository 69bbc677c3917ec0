# terraform test for modules/multi-service (run by acceptance-tests/tests/
# module_tests.rs against the moto emulator; the hosted zone modules.test
# exists there). Plans only: nothing is launched.

provider "berth" {
  region = "us-east-1"
}

variables {
  name = "shop"
  zone = "modules.test"
  services = {
    "api.shop.example.com" = {
      image       = "registry.example.com/shop-api:2026-11-23"
      port        = 3000
      memory      = 512
      env         = { RAILS_ENV = "production", WEB_CONCURRENCY = 2 }
      command     = ["bundle", "exec", "puma", "-p", "3000"]
      health_path = "/up"
    }
    "admin.shop.example.com" = {
      image  = "registry.example.com/shop-admin:2026-11-20"
      port   = 8000
      memory = 256
    }
    "docs.shop.example.com" = {
      image  = "nginx:1.27-alpine"
      port   = 80
      memory = 32
      name   = "docs"
    }
  }
}

run "one_app_with_the_front_and_a_container_per_service" {
  command = plan

  assert {
    condition     = berth_container_app.this.name == "shop" && berth_container_app.this.image == "nginx:1.27-alpine"
    error_message = "The app's main container is the nginx front."
  }

  assert {
    condition     = berth_container_app.this.port == 80 && berth_container_app.this.host_port == 80 && berth_container_app.this.memory == 64
    error_message = "The front listens on 80, is published on 80 and has its own memory limit."
  }

  assert {
    condition     = [for s in berth_container_app.this.sidecar : s.name] == ["admin-shop-example-com", "api-shop-example-com", "docs"]
    error_message = "A sidecar per service, sorted by hostname, named after the hostname unless named."
  }

  assert {
    condition     = [for s in berth_container_app.this.sidecar : s.memory] == [256, 512, 32]
    error_message = "Every service container has its own memory limit."
  }

  assert {
    condition     = alltrue([for s in berth_container_app.this.sidecar : s.ports == null])
    error_message = "Services publish no port: only the front is reachable."
  }

  assert {
    condition     = jsonencode(berth_container_app.this.sidecar[1].env) == jsonencode({ RAILS_ENV = "production", WEB_CONCURRENCY = "2" }) && jsonencode(berth_container_app.this.sidecar[1].command) == jsonencode(["bundle", "exec", "puma", "-p", "3000"])
    error_message = "A service's env is its container's own environment and its command is kept as given: ${jsonencode(berth_container_app.this.sidecar[1])}."
  }

  assert {
    condition     = berth_container_app.this.sidecar[0].env == null
    error_message = "A service without env sets no environment."
  }

  assert {
    condition     = berth_container_app.this.sidecar[0].command == null
    error_message = "A service without command keeps its image's command."
  }

  assert {
    condition     = berth_container_app.this.health_check.path == "/_berth/health"
    error_message = "The health check asks the front, which checks every service."
  }

  assert {
    condition     = berth_container_app.this.origin.name == "shop" && berth_container_app.this.origin.zone == "modules.test"
    error_message = "The origin record is <name>.<zone>."
  }

  assert {
    condition     = berth_container_app.this.env["BERTH_NGINX_CONF"] == output.nginx_config
    error_message = "The front gets the generated config."
  }

  assert {
    condition     = length(regexall("server_name [a-z.]+;", output.nginx_config)) == 3
    error_message = "The front has a server per hostname."
  }

  assert {
    condition     = strcontains(output.nginx_config, "server_name api.shop.example.com; location / { set $u http://api-shop-example-com:3000; proxy_pass $u; }")
    error_message = "api.shop.example.com goes to its container's port."
  }

  assert {
    condition     = strcontains(output.nginx_config, "server_name docs.shop.example.com; location / { set $u http://docs:80; proxy_pass $u; }")
    error_message = "docs.shop.example.com goes to the container named docs."
  }

  assert {
    condition     = strcontains(output.nginx_config, "listen 80 default_server; access_log off; location / { return 404; } location = /_berth/health { proxy_pass http://127.0.0.1; proxy_set_header Host admin.shop.example.com; }")
    error_message = "Other hosts get 404; the health check starts at the first service."
  }

  assert {
    condition     = strcontains(output.nginx_config, "auth_request /up; proxy_pass http://127.0.0.1; proxy_set_header Host docs.shop.example.com;")
    error_message = "The api's server checks its health path, then passes the health check on to the next service."
  }

  assert {
    condition     = strcontains(output.nginx_config, "server_name docs.shop.example.com;") && strcontains(output.nginx_config, "auth_request /; proxy_pass http://127.0.0.1; proxy_set_header Host _berth.ok;")
    error_message = "The last service ends the health chain."
  }

  assert {
    condition     = output.routing["api.shop.example.com"].upstream == "http://api-shop-example-com:3000" && output.routing["docs.shop.example.com"].container == "docs"
    error_message = "The routing table names each hostname's container."
  }

  assert {
    condition     = output.routing["admin.shop.example.com"].memory == 256 && output.routing["admin.shop.example.com"].health_path == "/"
    error_message = "The routing table shows memory and the default health path."
  }

  assert {
    condition     = output.release == 1
    error_message = "A new app plans release 1."
  }
}

run "custom_front_and_rollout_settings" {
  command = plan

  variables {
    region          = "eu-west-1"
    port            = 8080
    front_image     = "nginx:1.27"
    front_memory    = 128
    max_body_size   = "50m"
    origin_name     = "shop-origin"
    replicas        = 3
    ttl             = 10
    health_interval = 2
    health_deadline = 120
    drain           = 5
    batch_size      = 1
    keep_previous   = true
  }

  assert {
    condition     = berth_container_app.this.region == "eu-west-1" && berth_container_app.this.replicas == 3
    error_message = "Region and replicas reach the app."
  }

  assert {
    condition     = berth_container_app.this.port == 80 && berth_container_app.this.host_port == 8080 && berth_container_app.this.memory == 128
    error_message = "The front is published on var.port with front_memory."
  }

  assert {
    condition     = berth_container_app.this.origin.name == "shop-origin" && berth_container_app.this.origin.ttl == 10
    error_message = "The origin record uses origin_name and ttl."
  }

  assert {
    condition     = berth_container_app.this.rollout.batch_size == 1 && berth_container_app.this.rollout.keep_previous && berth_container_app.this.rollout.drain == 5
    error_message = "The rollout settings reach the app."
  }

  assert {
    condition     = length(regexall("client_max_body_size 50m;", output.nginx_config)) == 1
    error_message = "max_body_size reaches the front."
  }
}

run "a_single_service" {
  command = plan

  variables {
    services = {
      "www.example.org" = { image = "ghcr.io/example/site:1", port = 8080, memory = 128 }
    }
  }

  assert {
    condition     = length(berth_container_app.this.sidecar) == 1 && berth_container_app.this.sidecar[0].name == "www-example-org"
    error_message = "One service, one sidecar."
  }

  assert {
    condition     = strcontains(output.nginx_config, "proxy_set_header Host www.example.org; } }") && strcontains(output.nginx_config, "proxy_set_header Host _berth.ok; } }")
    error_message = "The health check goes from the front to the one service and ends."
  }
}

run "rejects_no_services" {
  command = plan

  variables {
    services = {}
  }

  expect_failures = [var.services]
}

run "rejects_a_bad_hostname" {
  command = plan

  variables {
    services = {
      "API.example.com" = { image = "api:1", port = 3000, memory = 256 }
    }
  }

  expect_failures = [var.services]
}

run "rejects_a_hostname_without_a_dot" {
  command = plan

  variables {
    services = {
      "api" = { image = "api:1", port = 3000, memory = 256 }
    }
  }

  expect_failures = [var.services]
}

run "rejects_an_unknown_attribute" {
  command = plan

  variables {
    services = {
      "api.example.com" = { image = "api:1", port = 3000, memory = 256, memmory = 512 }
    }
  }

  expect_failures = [var.services]
}

run "rejects_a_service_without_image" {
  command = plan

  variables {
    services = {
      "api.example.com" = { port = 3000, memory = 256 }
    }
  }

  expect_failures = [var.services]
}

run "rejects_a_port_out_of_range" {
  command = plan

  variables {
    services = {
      "api.example.com" = { image = "api:1", port = 70000, memory = 256 }
    }
  }

  expect_failures = [var.services]
}

run "rejects_a_service_without_memory" {
  command = plan

  variables {
    services = {
      "api.example.com" = { image = "api:1", port = 3000 }
    }
  }

  expect_failures = [var.services]
}

run "rejects_memory_below_dockers_minimum" {
  command = plan

  variables {
    services = {
      "api.example.com" = { image = "api:1", port = 3000, memory = 4 }
    }
  }

  expect_failures = [var.services]
}

run "rejects_a_bad_env_name" {
  command = plan

  variables {
    services = {
      "api.example.com" = { image = "api:1", port = 3000, memory = 256, env = { "RAILS-ENV" = "production" }, command = ["puma"] }
    }
  }

  expect_failures = [var.services]
}

run "env_without_command_keeps_the_image_command" {
  command = plan

  variables {
    services = {
      "api.example.com" = { image = "api:1", port = 3000, memory = 256, env = { RAILS_ENV = "production" } }
    }
  }

  assert {
    condition     = berth_container_app.this.sidecar[0].command == null && berth_container_app.this.sidecar[0].env["RAILS_ENV"] == "production"
    error_message = "env alone sets the container's environment and keeps the image's command."
  }
}

run "rejects_a_command_that_is_not_a_list" {
  command = plan

  variables {
    services = {
      "api.example.com" = { image = "api:1", port = 3000, memory = 256, command = "bundle exec puma" }
    }
  }

  expect_failures = [var.services]
}

run "rejects_a_bad_health_path" {
  command = plan

  variables {
    services = {
      "api.example.com" = { image = "api:1", port = 3000, memory = 256, health_path = "up; return 200" }
    }
  }

  expect_failures = [var.services]
}

run "rejects_a_container_named_app" {
  command = plan

  variables {
    services = {
      "api.example.com" = { image = "api:1", port = 3000, memory = 256, name = "app" }
    }
  }

  expect_failures = [var.services]
}

run "rejects_two_services_with_one_container_name" {
  command = plan

  variables {
    services = {
      "api.example.com" = { image = "api:1", port = 3000, memory = 256, name = "api" }
      "api.example.org" = { image = "api:2", port = 3000, memory = 256, name = "api" }
    }
  }

  expect_failures = [var.services]
}

run "rejects_a_hostname_too_long_for_a_container_name" {
  command = plan

  variables {
    services = {
      "customer-support-dashboard.internal.example.com" = { image = "support:1", port = 3000, memory = 256 }
    }
  }

  expect_failures = [var.services]
}

run "rejects_a_bad_name" {
  command = plan

  variables {
    name = "my_shop"
  }

  expect_failures = [var.name]
}

run "rejects_an_empty_zone" {
  command = plan

  variables {
    zone = ""
  }

  expect_failures = [var.zone]
}

run "rejects_a_bad_region" {
  command = plan

  variables {
    region = "eu_west_1"
  }

  expect_failures = [var.region]
}

run "rejects_a_port_of_zero" {
  command = plan

  variables {
    port = 0
  }

  expect_failures = [var.port]
}

run "rejects_an_empty_front_image" {
  command = plan

  variables {
    front_image = ""
  }

  expect_failures = [var.front_image]
}

run "rejects_too_little_front_memory" {
  command = plan

  variables {
    front_memory = 2
  }

  expect_failures = [var.front_memory]
}

run "rejects_a_bad_max_body_size" {
  command = plan

  variables {
    max_body_size = "10 MB"
  }

  expect_failures = [var.max_body_size]
}

run "rejects_zero_replicas" {
  command = plan

  variables {
    replicas = 0
  }

  expect_failures = [var.replicas]
}

run "rejects_a_bad_instance_type" {
  command = plan

  variables {
    instance_type = "t3"
  }

  expect_failures = [var.instance_type]
}

run "rejects_a_negative_ttl" {
  command = plan

  variables {
    ttl = -1
  }

  expect_failures = [var.ttl]
}

run "rejects_a_zero_health_interval" {
  command = plan

  variables {
    health_interval = 0
  }

  expect_failures = [var.health_interval]
}

run "rejects_a_short_health_deadline" {
  command = plan

  variables {
    health_deadline = 1
  }

  expect_failures = [var.health_deadline]
}

run "rejects_a_long_drain" {
  command = plan

  variables {
    drain = 3601
  }

  expect_failures = [var.drain]
}

run "rejects_a_negative_batch_size" {
  command = plan

  variables {
    batch_size = -1
  }

  expect_failures = [var.batch_size]
}

run "rejects_a_health_path_with_a_query_string" {
  command = plan

  variables {
    services = {
      "api.example.com" = { image = "api:1", port = 3000, memory = 256, health_path = "/up?full=1" }
    }
  }

  expect_failures = [var.services]
}
