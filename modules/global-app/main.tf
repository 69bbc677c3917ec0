# berth global-app: one app deployed in several regions behind one name.
#
# - A berth_container_app per region (modules/regional-app), each with its
#   own origin record "<name>-<region>.<zone>".
# - A berth_region_pool "<name>.<zone>": users reach the nearest healthy
#   region; an unhealthy or drained region's users go to the primary.
# - Rollouts go region by region: each secondary region waits for the one
#   before it (depends_on), and the primary region goes last, so a bad
#   release is stopped by a secondary's health gate before it reaches the
#   primary.
#
# Up to 4 secondary regions (Terraform cannot chain a dynamic number of
# resources; add more module blocks below if you need them). Inputs are in
# variables.tf, outputs in outputs.tf, the Terraform/provider requirements
# in versions.tf.

# Rules relating two inputs (see modules/checks/main.tf); a broken rule
# fails the plan before anything changes.
module "checks" {
  source = "./modules/checks"

  primary_not_secondary = {
    primary   = var.primary_region
    secondary = var.secondary_regions
  }
  drained_are_secondary = {
    drained   = var.drained_regions
    secondary = var.secondary_regions
  }
  subnets_in_regions = {
    subnet_regions = keys(var.subnet_ids)
    regions        = concat([var.primary_region], var.secondary_regions)
  }
}

locals {
  # Everything but the region is the same in every region.
  common = {
    name             = var.name
    image            = var.image
    command          = var.command
    port             = var.port
    env              = var.env
    secrets          = var.secrets
    memory           = var.memory
    replicas         = var.replicas
    instance_type    = var.instance_type
    instance_profile = var.instance_profile
    health_path      = var.health_path
    health_interval  = var.health_interval
    health_deadline  = var.health_deadline
    zone             = var.zone
    ttl              = var.ttl
    drain            = var.drain
    tags             = var.tags
  }
}

module "secondary_0" {
  source = "../regional-app"
  count  = length(var.secondary_regions) > 0 ? 1 : 0

  region           = var.secondary_regions[0]
  subnet_ids       = lookup(var.subnet_ids, var.secondary_regions[0], null)
  name             = local.common.name
  image            = local.common.image
  command          = local.common.command
  port             = local.common.port
  env              = local.common.env
  secrets          = local.common.secrets
  memory           = local.common.memory
  replicas         = local.common.replicas
  instance_type    = local.common.instance_type
  instance_profile = local.common.instance_profile
  health_path      = local.common.health_path
  health_interval  = local.common.health_interval
  health_deadline  = local.common.health_deadline
  zone             = local.common.zone
  ttl              = local.common.ttl
  drain            = local.common.drain
  tags             = local.common.tags
}

module "secondary_1" {
  source     = "../regional-app"
  count      = length(var.secondary_regions) > 1 ? 1 : 0
  depends_on = [module.secondary_0]

  region           = var.secondary_regions[1]
  subnet_ids       = lookup(var.subnet_ids, var.secondary_regions[1], null)
  name             = local.common.name
  image            = local.common.image
  command          = local.common.command
  port             = local.common.port
  env              = local.common.env
  secrets          = local.common.secrets
  memory           = local.common.memory
  replicas         = local.common.replicas
  instance_type    = local.common.instance_type
  instance_profile = local.common.instance_profile
  health_path      = local.common.health_path
  health_interval  = local.common.health_interval
  health_deadline  = local.common.health_deadline
  zone             = local.common.zone
  ttl              = local.common.ttl
  drain            = local.common.drain
  tags             = local.common.tags
}

module "secondary_2" {
  source     = "../regional-app"
  count      = length(var.secondary_regions) > 2 ? 1 : 0
  depends_on = [module.secondary_1]

  region           = var.secondary_regions[2]
  subnet_ids       = lookup(var.subnet_ids, var.secondary_regions[2], null)
  name             = local.common.name
  image            = local.common.image
  command          = local.common.command
  port             = local.common.port
  env              = local.common.env
  secrets          = local.common.secrets
  memory           = local.common.memory
  replicas         = local.common.replicas
  instance_type    = local.common.instance_type
  instance_profile = local.common.instance_profile
  health_path      = local.common.health_path
  health_interval  = local.common.health_interval
  health_deadline  = local.common.health_deadline
  zone             = local.common.zone
  ttl              = local.common.ttl
  drain            = local.common.drain
  tags             = local.common.tags
}

module "secondary_3" {
  source     = "../regional-app"
  count      = length(var.secondary_regions) > 3 ? 1 : 0
  depends_on = [module.secondary_2]

  region           = var.secondary_regions[3]
  subnet_ids       = lookup(var.subnet_ids, var.secondary_regions[3], null)
  name             = local.common.name
  image            = local.common.image
  command          = local.common.command
  port             = local.common.port
  env              = local.common.env
  secrets          = local.common.secrets
  memory           = local.common.memory
  replicas         = local.common.replicas
  instance_type    = local.common.instance_type
  instance_profile = local.common.instance_profile
  health_path      = local.common.health_path
  health_interval  = local.common.health_interval
  health_deadline  = local.common.health_deadline
  zone             = local.common.zone
  ttl              = local.common.ttl
  drain            = local.common.drain
  tags             = local.common.tags
}

# The primary region goes last.
module "primary" {
  source     = "../regional-app"
  depends_on = [module.secondary_0, module.secondary_1, module.secondary_2, module.secondary_3]

  region           = var.primary_region
  subnet_ids       = lookup(var.subnet_ids, var.primary_region, null)
  name             = local.common.name
  image            = local.common.image
  command          = local.common.command
  port             = local.common.port
  env              = local.common.env
  secrets          = local.common.secrets
  memory           = local.common.memory
  replicas         = local.common.replicas
  instance_type    = local.common.instance_type
  instance_profile = local.common.instance_profile
  health_path      = local.common.health_path
  health_interval  = local.common.health_interval
  health_deadline  = local.common.health_deadline
  zone             = local.common.zone
  ttl              = local.common.ttl
  drain            = local.common.drain
  tags             = local.common.tags
}

locals {
  regional = concat(
    module.secondary_0[*], module.secondary_1[*], module.secondary_2[*], module.secondary_3[*],
    [module.primary],
  )
}

resource "berth_region_pool" "this" {
  zone    = var.zone
  name    = var.name
  ttl     = var.ttl
  primary = var.primary_region

  dynamic "region" {
    for_each = local.regional
    content {
      name     = region.value.region
      hostname = region.value.origin_fqdn
      drained  = contains(var.drained_regions, region.value.region)
      health_check {
        protocol = "HTTP"
        port     = var.port
        path     = var.health_path
      }
    }
  }
}
