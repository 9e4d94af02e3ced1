"""The VPC side of the local cloud: what AWS's network and IAM do for a function inside a VPC.

- `dns` (+ `dns_map`, `lambda_site/`): RDS and RDS Proxy endpoint names resolve to the local
  servers inside Lambda execution environments, as the VPC's DNS resolves them on AWS.
- `function_access`: a function's own AWS calls need a network path from its VPC (an interface
  endpoint or a NAT route) and its role's permission, as on AWS.
"""
