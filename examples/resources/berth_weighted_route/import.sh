# By zone, name and record type (the type may be left out):
terraform import berth_weighted_route.api example.com/api/CNAME
