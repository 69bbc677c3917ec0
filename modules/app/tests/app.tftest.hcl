# Plans of the app module against the emulator (see
# acceptance-tests/tests/module_tests.rs): defaults, the nginx front and the
# custom domain, and every validation rule.

provider "berth" {
  region = "us-east-1"
}

variables {
  name  = "shop"
  image = "registry.example.com/shop:2026-11-23T10-00"
  zone  = "modules.test"
}

run "defaults_are_a_two_instance_app_with_a_warm_previous_release" {
  command = plan

  assert {
    condition     = berth_container_app.this.replicas == 2
    error_message = "Two instances by default."
  }
  assert {
    condition     = berth_container_app.this.origin.name == "shop-origin"
    error_message = "The origin record is <name>-origin."
  }
  assert {
    condition     = berth_container_app.this.rollout.keep_previous == true
    error_message = "The previous release stays warm for an instant rollback."
  }
  assert {
    condition     = length(berth_container_app.this.sidecar) == 0
    error_message = "No nginx front unless asked for."
  }
  assert {
    condition     = length(berth_weighted_route.domain) == 0
    error_message = "No custom domain unless asked for."
  }
}

run "nginx_front_proxies_to_the_app_and_is_health_checked" {
  command = plan

  variables {
    nginx_front = true
    port        = 8000
  }

  assert {
    condition     = berth_container_app.this.sidecar[0].name == "nginx" && berth_container_app.this.sidecar[0].ports[0] == "80:80"
    error_message = "The front is an nginx sidecar on port 80."
  }
  assert {
    condition     = length(regexall("proxy_pass http://app:8000;", berth_container_app.this.sidecar[0].files["/etc/nginx/conf.d/default.conf"])) == 1
    error_message = "The front proxies to the app's port."
  }
  assert {
    condition     = berth_container_app.this.health_check.port == 80
    error_message = "The health check goes through the front."
  }
}

run "custom_domain_is_a_route_to_the_app" {
  command = plan

  variables {
    domain = "www"
  }

  assert {
    condition     = length(berth_weighted_route.domain) == 1
    error_message = "A custom domain creates one route."
  }
  assert {
    condition     = berth_weighted_route.domain[0].name == "www" && berth_weighted_route.domain[0].target[0].weight == 100
    error_message = "The app gets all of the domain's traffic."
  }
  assert {
    condition     = berth_weighted_route.domain[0].target[0].app == "shop"
    error_message = "A later shift on the domain is gated on the app's health."
  }
}

run "rejects_a_name_with_capitals" {
  command = plan
  variables {
    name = "Shop_App"
  }
  expect_failures = [var.name]
}

run "rejects_a_secret_value_in_place_of_a_reference" {
  command = plan
  variables {
    secrets = { SECRET_KEY_BASE = "hunter2" }
  }
  expect_failures = [var.secrets]
}

run "rejects_a_port_out_of_range" {
  command = plan
  variables {
    port = 70000
  }
  expect_failures = [var.port]
}

run "rejects_zero_replicas" {
  command = plan
  variables {
    replicas = 0
  }
  expect_failures = [var.replicas]
}

run "rejects_a_health_path_without_a_slash" {
  command = plan
  variables {
    health_path = "up"
  }
  expect_failures = [var.health_path]
}

run "rejects_a_memory_limit_below_dockers_minimum" {
  command = plan
  variables {
    memory = 2
  }
  expect_failures = [var.memory]
}
