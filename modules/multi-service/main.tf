# berth multi-service: several services on the same hosts behind one nginx
# front that routes by hostname, each service in its own container with its
# own memory limit.
#
# One berth_container_app:
# - its main container is the nginx front, published on `port` (80), with a
#   config generated from `services` (nginx.conf.tftpl): one server per
#   hostname proxying to that service's container. Container names are
#   resolved through Docker's DNS (127.0.0.11) at request time, so the front
#   starts before the services (berth starts sidecars after the app) and
#   follows a restarted container;
# - every service is a sidecar container named after its hostname
#   ("api.example.com" → "api-example-com") on the app's Docker network, with
#   its memory limit and no published port (only the front is reachable);
# - the health check asks the front for /_berth/health, which walks the
#   services in hostname order: each service's server checks its
#   health_path (auth_request, 2xx required) and passes the request on to
#   the next service's server; after the last one a terminal server answers
#   200. So the instance is healthy only when nginx and every service
#   answer, and a release whose new image does not come up fails the gate
#   and is rolled back.
#
# A change to any service (image, env, command, memory) or to the front is
# one rollout of the whole app: new instances boot beside the old ones with
# every container, pass the health gate, take over the origin record, and
# the old ones retire after TTL + drain.
#
# Size: the config and the services travel in the instances' user-data
# (berth's run script and its configuration line), which EC2 limits to
# 16 KiB before base64. Past that berth sends it gzip-compressed
# (cloud-init unpacks it): 15 services with commands, env and health
# paths take about 7 KiB of the 16. berth refuses one too large even compressed at plan ("User-data too
# large") before launching anything; the instance's memory is usually the
# limit first. Inputs are in variables.tf, outputs in outputs.tf.

locals {
  # The services sorted by hostname (Terraform iterates map keys in
  # lexical order), with defaults filled in.
  services = [
    for host, s in var.services : {
      host        = host
      name        = coalesce(try(s.name, null), replace(host, ".", "-"))
      image       = s.image
      port        = s.port
      memory      = s.memory
      env         = { for k, v in merge(try(s.env, {})) : k => tostring(v) }
      command     = try([for c in s.command : tostring(c)], null)
      health_path = coalesce(try(s.health_path, null), "/")
    }
  ]

  nginx_config = templatefile("${path.module}/nginx.conf.tftpl", {
    services      = local.services
    max_body_size = var.max_body_size
  })
}

resource "berth_container_app" "this" {
  name             = var.name
  region           = var.region
  replicas         = var.replicas
  instance_type    = var.instance_type
  subnet_ids       = var.subnet_ids
  instance_profile = var.instance_profile
  tags             = var.tags

  # The nginx front. Only sidecars can mount files, so the front gets its
  # config through the environment and writes it before starting nginx
  # (berth passes values to Docker exactly, so the shell sees the text as is).
  image     = var.front_image
  port      = 80
  host_port = var.port
  memory    = var.front_memory
  env = {
    BERTH_NGINX_CONF = local.nginx_config
  }
  command = [
    "/bin/sh", "-c",
    "printf '%s\\n' \"$BERTH_NGINX_CONF\" > /etc/nginx/conf.d/default.conf && exec nginx -g 'daemon off;'",
  ]

  dynamic "sidecar" {
    for_each = local.services
    content {
      name    = sidecar.value.name
      image   = sidecar.value.image
      memory  = sidecar.value.memory
      command = sidecar.value.command
      env     = length(sidecar.value.env) == 0 ? null : sidecar.value.env
    }
  }

  health_check {
    path     = "/_berth/health"
    interval = var.health_interval
    deadline = var.health_deadline
  }

  origin {
    zone = var.zone
    name = coalesce(var.origin_name, var.name)
    ttl  = var.ttl
  }

  rollout {
    batch_size    = var.batch_size
    drain         = var.drain
    keep_previous = var.keep_previous
  }
}
