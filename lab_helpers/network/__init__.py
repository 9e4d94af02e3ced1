"""The VPC of the lab: what Module 2's CloudFormation stack creates, and what Module 3 adds to it.

Module 2 (the baseline): VPC `serverless-app` with DNS support and DNS hostnames on, an internet
gateway, a route table that sends 0.0.0.0/0 to it from `cloud9-subnet-a` only, the six private
subnets, `lambda-sg` (no inbound) and `rds-sg` (MySQL from `lambda-sg`).
Module 3: DNS hostnames (Step 1.8-9), `secret-sg` (HTTPS from `lambda-sg`), the Secrets Manager
interface endpoint, and the rule that lets RDS Proxy (which also sits in `rds-sg`) reach the database.

Everything is found again by its Name tag (security groups by group name) inside the lab's VPC.

The subnets keep the module's names (`lambda-subnet-a`, `lambda-subnet-c`, ...), but their two
availability zones are discovered (`availability_zones`): zones of the region where RDS offers the
lab's DB instance class and the Secrets Manager endpoint service is offered, so the lesson runs in
any region (AZ suffixes differ between regions and even between accounts).

One file per part: lookups.py (shared, below the others), zones.py (the AZ policy), vpc.py (VPC, DNS
hostnames, internet gateway, route table), subnets.py, security_groups.py, endpoint.py (Module 3's endpoint).
"""
from .endpoint import (
    ENDPOINT_DOING,
    ENDPOINT_FAILED,
    VpcEndpointView,
    delete_secrets_endpoint,
    ensure_secrets_endpoint,
    find_secrets_endpoint,
)
from .lookups import ENI_RELEASE_S, HTTPS, MYSQL, ZONES_NEEDED, security_group_id, tag_spec, vpc_id
from .security_groups import (
    SecurityGroupRuleView,
    SecurityGroupView,
    allow_rds_sg_self,
    delete_security_group,
    ensure_lambda_sg,
    ensure_rds_sg,
    ensure_secret_sg,
    find_rds_sg_self_rule,
    find_security_group,
    revoke_rds_sg_self,
)
from .subnets import SubnetView, delete_subnets, ensure_subnets, find_subnets, subnet_ids
from .vpc import (
    DnsHostnamesView,
    InternetGatewayView,
    RouteTableView,
    VpcView,
    delete_internet_gateway,
    delete_route_table,
    delete_vpc,
    enable_dns_hostnames,
    ensure_internet_gateway,
    ensure_route_table,
    ensure_vpc,
    find_internet_gateway,
    find_route_table,
    find_vpc,
)
from .zones import availability_zones, usable_availability_zones, zone_for

__all__ = [
    'DnsHostnamesView', 'ENDPOINT_DOING', 'ENDPOINT_FAILED', 'ENI_RELEASE_S', 'HTTPS', 'InternetGatewayView',
    'MYSQL', 'RouteTableView', 'SecurityGroupRuleView', 'SecurityGroupView', 'SubnetView', 'VpcEndpointView',
    'VpcView', 'ZONES_NEEDED', 'allow_rds_sg_self', 'availability_zones', 'delete_internet_gateway',
    'delete_route_table', 'delete_secrets_endpoint', 'delete_security_group', 'delete_subnets', 'delete_vpc',
    'enable_dns_hostnames', 'ensure_internet_gateway', 'ensure_lambda_sg', 'ensure_rds_sg', 'ensure_route_table',
    'ensure_secret_sg', 'ensure_secrets_endpoint', 'ensure_subnets', 'ensure_vpc', 'find_internet_gateway',
    'find_rds_sg_self_rule', 'find_route_table', 'find_secrets_endpoint', 'find_security_group', 'find_subnets',
    'find_vpc', 'revoke_rds_sg_self', 'security_group_id', 'subnet_ids', 'tag_spec', 'usable_availability_zones',
    'vpc_id', 'zone_for',
]
