"""RDS in the local cloud: moto keeps the instances and proxies; this package makes them real.

- `provider`: RdsDataPlane, which follows every RDS API call: accounts, max_connections, proxies,
  target health, endpoint names in the VPC DNS map.
- `mariadb`: the database engine, a private MariaDB server.
- `proxy/`: the RDS Proxy emulator (one listener per DB proxy).
"""
