# terraform test for modules/regional-app (run by acceptance-tests/tests/
# module_tests.rs against the moto emulator; the hosted zone modules.test
# exists there). Plans only: nothing is launched.

provider "berth" {
  region = "us-east-1"
}

variables {
  name   = "shop"
  region = "eu-west-1"
  image  = "registry.example.com/shop:2026-11-23"
  zone   = "modules.test"
}

run "defaults_plan_one_app_in_the_region" {
  command = plan

  assert {
    condition     = berth_container_app.this.region == "eu-west-1"
    error_message = "The app runs in var.region."
  }

  assert {
    condition     = berth_container_app.this.origin.name == "shop-eu-west-1"
    error_message = "The origin record is <name>-<region>."
  }

  assert {
    condition     = berth_container_app.this.replicas == 2 && berth_container_app.this.port == 8080
    error_message = "Defaults: 2 replicas, port 8080."
  }

  assert {
    condition     = berth_container_app.this.release == 1 && output.release == 1
    error_message = "A new app plans release 1."
  }

  assert {
    condition     = output.region == "eu-west-1"
    error_message = "The region output is the app's region."
  }

  assert {
    condition     = output.rollout_plan[0] == "launch 2 × release 1 (registry.example.com/shop:2026-11-23) [batch 1]"
    error_message = "The plan shows the rollout: ${jsonencode(output.rollout_plan)}."
  }
}

run "custom_inputs_reach_the_resource" {
  command = plan

  variables {
    port            = 3000
    host_port       = 80
    command         = ["bundle", "exec", "puma"]
    memory          = 768
    replicas        = 3
    instance_type   = "t4g.small"
    env             = { RAILS_ENV = "production" }
    secrets         = { SECRET_KEY_BASE = "ssm:/shop/secret_key_base", REDIS_URL = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:redis-AbCdEf" }
    health_path     = "/up"
    health_interval = 2
    health_deadline = 120
    ttl             = 5
    drain           = 3
    tags            = { team = "shop" }
  }

  assert {
    condition     = berth_container_app.this.port == 3000 && berth_container_app.this.host_port == 80
    error_message = "Ports reach the resource."
  }

  assert {
    condition     = berth_container_app.this.memory == 768 && berth_container_app.this.replicas == 3
    error_message = "Memory and replicas reach the resource."
  }

  assert {
    condition     = berth_container_app.this.secrets["SECRET_KEY_BASE"] == "ssm:/shop/secret_key_base"
    error_message = "Secret references reach the resource."
  }

  assert {
    condition     = berth_container_app.this.health_check.path == "/up" && berth_container_app.this.health_check.interval == 2 && berth_container_app.this.health_check.deadline == 120
    error_message = "The health check settings reach the resource."
  }

  assert {
    condition     = berth_container_app.this.origin.ttl == 5 && berth_container_app.this.rollout.drain == 3
    error_message = "TTL and drain reach the resource."
  }
}

run "rejects_a_bad_name" {
  command = plan

  variables {
    name = "Shop_1"
  }

  expect_failures = [var.name]
}

run "rejects_a_name_ending_with_a_hyphen" {
  command = plan

  variables {
    name = "shop-"
  }

  expect_failures = [var.name]
}

run "rejects_a_bad_region" {
  command = plan

  variables {
    region = "europe"
  }

  expect_failures = [var.region]
}

run "rejects_an_empty_image" {
  command = plan

  variables {
    image = " "
  }

  expect_failures = [var.image]
}

run "rejects_a_port_out_of_range" {
  command = plan

  variables {
    port = 70000
  }

  expect_failures = [var.port]
}

run "rejects_a_host_port_out_of_range" {
  command = plan

  variables {
    host_port = 0
  }

  expect_failures = [var.host_port]
}

run "rejects_a_bad_env_name" {
  command = plan

  variables {
    env = { "1BAD" = "x" }
  }

  expect_failures = [var.env]
}

run "rejects_a_secret_value" {
  command = plan

  variables {
    secrets = { DB_PASSWORD = "hunter2" }
  }

  expect_failures = [var.secrets]
}

run "rejects_a_bad_secret_name" {
  command = plan

  variables {
    secrets = { "DB-PASSWORD" = "ssm:/db/password" }
  }

  expect_failures = [var.secrets]
}

run "rejects_memory_below_dockers_minimum" {
  command = plan

  variables {
    memory = 4
  }

  expect_failures = [var.memory]
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
    instance_type = "small"
  }

  expect_failures = [var.instance_type]
}

run "rejects_a_relative_health_path" {
  command = plan

  variables {
    health_path = "up"
  }

  expect_failures = [var.health_path]
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
    health_deadline = 5
  }

  expect_failures = [var.health_deadline]
}

run "rejects_an_empty_zone" {
  command = plan

  variables {
    zone = ""
  }

  expect_failures = [var.zone]
}

run "rejects_a_negative_ttl" {
  command = plan

  variables {
    ttl = -1
  }

  expect_failures = [var.ttl]
}

run "rejects_a_fractional_drain" {
  command = plan

  variables {
    drain = 1.5
  }

  expect_failures = [var.drain]
}
