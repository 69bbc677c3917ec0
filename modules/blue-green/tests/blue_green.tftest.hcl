# Plans of the blue-green module against the emulator (see
# acceptance-tests/tests/module_tests.rs).

provider "berth" {
  region = "us-east-1"
}

variables {
  name        = "shop"
  blue_image  = "registry.example.com/shop:2026-11-22T09-00"
  green_image = "registry.example.com/shop:2026-11-23T10-00"
  zone        = "modules.test"
}

run "blue_serves_everything_and_both_sides_run" {
  command = plan

  assert {
    condition     = berth_weighted_route.live.target[0].id == "blue" && berth_weighted_route.live.target[0].weight == 100
    error_message = "Blue gets all traffic by default."
  }
  assert {
    condition     = berth_weighted_route.live.target[1].id == "green" && berth_weighted_route.live.target[1].weight == 0
    error_message = "Green gets none, but stays in the route."
  }
  assert {
    condition     = module.side["blue"].name == "shop-blue" && module.side["green"].name == "shop-green"
    error_message = "One app per side."
  }
  assert {
    condition     = berth_weighted_route.live.name == "shop"
    error_message = "Users reach <name> by default."
  }
}

run "flipping_to_green_shifts_progressively" {
  command = plan

  variables {
    live        = "green"
    shift_steps = [10, 25, 100]
  }

  assert {
    condition     = berth_weighted_route.live.target[1].weight == 100 && berth_weighted_route.live.target[0].weight == 0
    error_message = "Green ends with all traffic."
  }
  assert {
    condition     = berth_weighted_route.live.shift.to == "green" && length(berth_weighted_route.live.shift.steps) == 3
    error_message = "The shift goes to green through the given steps."
  }
}

run "rejects_a_side_that_is_not_blue_or_green" {
  command = plan
  variables {
    live = "red"
  }
  expect_failures = [var.live]
}

run "rejects_steps_that_go_backwards" {
  command = plan
  variables {
    shift_steps = [50, 10, 100]
  }
  expect_failures = [var.shift_steps]
}

run "rejects_steps_that_stop_short_of_100" {
  command = plan
  variables {
    shift_steps = [10, 50]
  }
  expect_failures = [var.shift_steps]
}

run "rejects_a_long_name" {
  command = plan
  variables {
    name = "a-very-long-service-name-that-does-not-fit"
  }
  expect_failures = [var.name]
}
