# By zone and name:
terraform import berth_region_pool.api example.com/api
