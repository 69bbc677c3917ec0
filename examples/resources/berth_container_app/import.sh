# By name, in the provider's region:
terraform import berth_container_app.shop shop

# By region and name:
terraform import berth_container_app.shop us-east-1/shop
