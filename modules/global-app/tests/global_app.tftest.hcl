# terraform test for modules/global-app (run by acceptance-tests/tests/
# module_tests.rs against the moto emulator; the hosted zone modules.test
# exists there). Plans only: nothing is launched.

provider "berth" {
  region = "us-east-1"
}

variables {
  name              = "shop"
  image             = "registry.example.com/shop:2026-11-23"
  primary_region    = "us-east-1"
  secondary_regions = ["eu-west-1", "ap-southeast-2"]
  zone              = "modules.test"
}

run "an_app_per_region_behind_one_pool" {
  command = plan

  assert {
    condition     = length(module.secondary_0) == 1 && length(module.secondary_1) == 1 && length(module.secondary_2) == 0 && length(module.secondary_3) == 0
    error_message = "One regional app per secondary region."
  }

  assert {
    condition     = module.secondary_0[0].region == "eu-west-1" && module.secondary_1[0].region == "ap-southeast-2" && module.primary.region == "us-east-1"
    error_message = "Secondaries in the order given, then the primary."
  }

  assert {
    condition     = berth_region_pool.this.name == "shop" && berth_region_pool.this.primary == "us-east-1"
    error_message = "The pool is <name> with the primary region as primary."
  }

  assert {
    condition     = [for r in local.regional : r.region] == ["eu-west-1", "ap-southeast-2", "us-east-1"]
    error_message = "The pool gets a region block per region."
  }

  assert {
    condition     = alltrue([for r in berth_region_pool.this.region : !r.drained])
    error_message = "No region is drained by default."
  }

  assert {
    condition     = alltrue([for r in berth_region_pool.this.region : r.health_check.protocol == "HTTP" && r.health_check.port == 8080 && r.health_check.path == "/"])
    error_message = "The pool checks each region's app on its port and health path."
  }

  assert {
    condition     = output.rollout_order == ["eu-west-1", "ap-southeast-2", "us-east-1"]
    error_message = "The primary region rolls out last."
  }

  assert {
    condition     = module.primary.release == 1 && module.secondary_0[0].release == 1
    error_message = "A new app plans release 1 in every region."
  }
}

run "primary_only" {
  command = plan

  variables {
    secondary_regions = []
  }

  assert {
    condition     = length(module.secondary_0) == 0 && length(local.regional) == 1
    error_message = "Without secondaries only the primary region is deployed."
  }
}

run "four_secondaries" {
  command = plan

  variables {
    secondary_regions = ["eu-west-1", "ap-southeast-2", "eu-central-1", "us-west-2"]
  }

  assert {
    condition     = module.secondary_3[0].region == "us-west-2" && length(local.regional) == 5
    error_message = "Four secondaries and the primary."
  }
}

run "draining_a_secondary" {
  command = plan

  variables {
    drained_regions = ["eu-west-1"]
  }

  assert {
    condition     = alltrue([for r in berth_region_pool.this.region : r.drained == (r.name == "eu-west-1")])
    error_message = "Only eu-west-1 is drained."
  }
}

run "settings_reach_every_region" {
  command = plan

  variables {
    port            = 3000
    health_path     = "/up"
    replicas        = 1
    memory          = 512
    command         = ["bin/server"]
    secrets         = { DATABASE_URL = "secretsmanager:shop/database-url" }
    instance_type   = "t4g.small"
    subnet_ids      = { "eu-west-1" = ["subnet-0123456789abcdef0"] }
    health_interval = 2
    ttl             = 10
    drain           = 5
  }

  assert {
    condition     = module.secondary_0[0].rollout_plan[0] == "launch 1 × release 1 (registry.example.com/shop:2026-11-23) [batch 1]"
    error_message = "Replicas reach the regional apps: ${jsonencode(module.secondary_0[0].rollout_plan)}."
  }

  assert {
    condition     = alltrue([for r in berth_region_pool.this.region : r.health_check.port == 3000 && r.health_check.path == "/up"])
    error_message = "The pool checks the app's port and health path."
  }

  assert {
    condition     = berth_region_pool.this.ttl == 10
    error_message = "The ttl reaches the pool."
  }
}

run "rejects_the_primary_as_a_secondary" {
  command = plan

  module {
    source = "./modules/checks"
  }

  variables {
    primary_not_secondary = { primary = "us-east-1", secondary = ["eu-west-1", "us-east-1"] }
    drained_are_secondary = { drained = [], secondary = [] }
    subnets_in_regions    = { subnet_regions = [], regions = [] }
  }

  expect_failures = [var.primary_not_secondary]
}

run "rejects_draining_the_primary" {
  command = plan

  module {
    source = "./modules/checks"
  }

  variables {
    primary_not_secondary = { primary = "us-east-1", secondary = ["eu-west-1"] }
    drained_are_secondary = { drained = ["us-east-1"], secondary = ["eu-west-1"] }
    subnets_in_regions    = { subnet_regions = [], regions = [] }
  }

  expect_failures = [var.drained_are_secondary]
}

run "rejects_subnets_for_another_region" {
  command = plan

  module {
    source = "./modules/checks"
  }

  variables {
    primary_not_secondary = { primary = "us-east-1", secondary = [] }
    drained_are_secondary = { drained = [], secondary = [] }
    subnets_in_regions    = { subnet_regions = ["eu-west-1"], regions = ["us-east-1"] }
  }

  expect_failures = [var.subnets_in_regions]
}

run "rejects_a_bad_name" {
  command = plan

  variables {
    name = "Shop"
  }

  expect_failures = [var.name]
}

run "rejects_an_empty_image" {
  command = plan

  variables {
    image = ""
  }

  expect_failures = [var.image]
}

run "rejects_a_bad_primary_region" {
  command = plan

  variables {
    primary_region = "US-EAST-1"
  }

  expect_failures = [var.primary_region]
}

run "rejects_five_secondaries" {
  command = plan

  variables {
    secondary_regions = ["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "ap-southeast-2"]
  }

  expect_failures = [var.secondary_regions]
}

run "rejects_a_bad_secondary_region" {
  command = plan

  variables {
    secondary_regions = ["eu-west-1", "mars"]
  }

  expect_failures = [var.secondary_regions]
}

run "rejects_a_secondary_listed_twice" {
  command = plan

  variables {
    secondary_regions = ["eu-west-1", "eu-west-1"]
  }

  expect_failures = [var.secondary_regions]
}

run "rejects_a_bad_drained_region" {
  command = plan

  variables {
    drained_regions = ["europe"]
  }

  expect_failures = [var.drained_regions]
}

run "rejects_an_empty_zone" {
  command = plan

  variables {
    zone = " "
  }

  expect_failures = [var.zone]
}

run "rejects_a_port_out_of_range" {
  command = plan

  variables {
    port = 0
  }

  expect_failures = [var.port]
}

run "rejects_a_bad_env_name" {
  command = plan

  variables {
    env = { "MY-VAR" = "x" }
  }

  expect_failures = [var.env]
}

run "rejects_a_secret_value" {
  command = plan

  variables {
    secrets = { DATABASE_URL = "postgres://user:password@db/shop" }
  }

  expect_failures = [var.secrets]
}

run "rejects_memory_below_dockers_minimum" {
  command = plan

  variables {
    memory = 5
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
    instance_type = "large"
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

run "rejects_a_long_health_deadline" {
  command = plan

  variables {
    health_deadline = 100000
  }

  expect_failures = [var.health_deadline]
}

run "rejects_a_negative_ttl" {
  command = plan

  variables {
    ttl = -5
  }

  expect_failures = [var.ttl]
}

run "rejects_a_long_drain" {
  command = plan

  variables {
    drain = 7200
  }

  expect_failures = [var.drain]
}
