# Plans of the paas-migration module against the emulator (see
# acceptance-tests/tests/module_tests.rs).

provider "berth" {
  region = "us-east-1"
}

variables {
  name            = "api"
  legacy_hostname = "shop-prod.herokuapp.com"
  image           = "registry.example.com/api:2026-11-23T10-00"
  zone            = "modules.test"
}

run "starts_with_everything_on_the_old_platform" {
  command = plan

  assert {
    condition     = berth_weighted_route.this.target[0].hostname == "shop-prod.herokuapp.com" && berth_weighted_route.this.target[0].weight == 100
    error_message = "The old platform serves everything at 0 %."
  }
  assert {
    condition     = berth_weighted_route.this.target[1].weight == 0 && berth_weighted_route.this.shift == null
    error_message = "No traffic and no shift at 0 %."
  }
}

run "fifty_percent_goes_through_ten_and_twenty_five" {
  command = plan

  variables {
    percent = 50
  }

  assert {
    condition     = join(",", berth_weighted_route.this.shift.steps) == "10,25,50"
    error_message = "The shift stops at every step below the target."
  }
  assert {
    condition     = berth_weighted_route.this.target[0].weight == 50 && berth_weighted_route.this.target[1].weight == 50
    error_message = "50/50 at the end."
  }
  assert {
    condition     = berth_weighted_route.this.target[1].app == "api"
    error_message = "Each step is gated on the app's health."
  }
}

run "an_off_step_target_is_its_own_last_stop" {
  command = plan

  variables {
    percent = 30
  }

  assert {
    condition     = join(",", berth_weighted_route.this.shift.steps) == "10,25,30"
    error_message = "A percent between steps is the last stop."
  }
}

run "rejects_more_than_100_percent" {
  command = plan
  variables {
    percent = 120
  }
  expect_failures = [var.percent]
}

run "rejects_a_legacy_host_that_is_a_url" {
  command = plan
  variables {
    legacy_hostname = "https://shop-prod.herokuapp.com/"
  }
  expect_failures = [var.legacy_hostname]
}

run "rejects_steps_that_go_backwards" {
  command = plan
  variables {
    steps = [25, 10, 100]
  }
  expect_failures = [var.steps]
}
