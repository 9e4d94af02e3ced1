"""The VPC of the lab: what Module 2's CloudFormation stack creates, and what Module 3 adds to it.

Module 2 (the baseline): VPC `serverless-app` with DNS support and DNS hostnames on, an internet
gateway, a route table that sends 0.0.0.0/0 to it from `cloud9-subnet-a` only, the six private
subnets, `lambda-sg` (no inbound) and `rds-sg` (MySQL from `lambda-sg`).
Module 3: DNS hostnames (Step 1.8-9), `secret-sg` (HTTPS from `lambda-sg`), the Secrets Manager
interface endpoint, and the rule that lets RDS Proxy (which also sits in `rds-sg`) reach the database.

Everything is found again by its Name tag (security groups by group name) inside the lab's VPC.
"""
from __future__ import annotations

from typing import Any, TypedDict

from .config import Lab
from .waiting import require, retry_while, wait_until

MYSQL = 3306
HTTPS = 443


class VpcView(TypedDict):
    """The VPC as `find_vpc` shows it."""
    name: str
    id: str
    cidr: str
    state: str  # pending, available
    dns_support: bool  # enableDnsSupport
    dns_hostnames: bool  # enableDnsHostnames: the endpoint's private DNS name needs it


class DnsHostnamesView(TypedDict):
    """What `enable_dns_hostnames` did."""
    vpc: str  # the VPC's name
    id: str
    dns_hostnames: bool
    changed: bool  # False when it was already on


class InternetGatewayView(TypedDict):
    """The internet gateway as `find_internet_gateway` shows it."""
    name: str
    id: str
    attached_to: str | None  # the VPC id, None while detached


class SubnetView(TypedDict):
    """One subnet as `find_subnets` shows it."""
    name: str
    id: str
    az: str
    cidr: str
    public: bool  # MapPublicIpOnLaunch: only cloud9-subnet-a
    state: str


class RouteTableView(TypedDict):
    """The route table as `find_route_table` shows it."""
    name: str
    id: str
    default_route: str | None  # the target (the internet gateway's id) of 0.0.0.0/0, None without that route
    subnets: list[str]  # the associated subnets, by name when they are the lab's


class SecurityGroupView(TypedDict):
    """A security group as `find_security_group` shows it."""
    name: str
    id: str
    inbound: list[str]  # e.g. "tcp/3306 from lambda-sg"


class SecurityGroupRuleView(TypedDict):
    """The rule `allow_rds_sg_self` adds, as `find_rds_sg_self_rule` shows it."""
    group: str  # the group's name
    id: str  # the SecurityGroupRuleId
    rule: str  # e.g. "tcp/3306 from rds-sg"


class VpcEndpointView(TypedDict):
    """The Secrets Manager interface endpoint as `find_secrets_endpoint` shows it."""
    service: str  # com.amazonaws.<region>.secretsmanager
    id: str
    type: str  # Interface
    state: str  # pending, available, ... (lower case)
    private_dns: bool
    subnets: list[str]  # by name when they are the lab's
    security_groups: list[str]  # by name


def _ec2(lab: Lab):
    return lab.client("ec2")


def _tag_spec(lab: Lab, resource_type: str, module: int, name: str | None = None) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": lab.tags(module, name)}]


def _name_of(item: dict[str, Any]) -> str | None:
    return next((t["Value"] for t in item.get("Tags", []) if t["Key"] == "Name"), None)


def _filters(values: dict[str, str | None]) -> list[dict[str, Any]]:
    """EC2 filters from {"vpc-id": ..., "tag:Name": ...}; None values are left out."""
    return [{"Name": key, "Values": [value]} for key, value in values.items() if value is not None]


# ---------------------------------------------------------------- VPC

def _raw_vpc(lab: Lab) -> dict[str, Any] | None:
    vpcs = _ec2(lab).describe_vpcs(Filters=_filters({"tag:Name": lab.names.vpc}))["Vpcs"]
    return vpcs[0] if vpcs else None


def vpc_id(lab: Lab) -> str:
    """The VPC's id; a LookupError when it does not exist yet."""
    return require(_raw_vpc(lab), f"VPC {lab.names.vpc}")["VpcId"]


def _dns_attribute(lab: Lab, vpc: str, attribute: str) -> bool:
    key = attribute[0].upper() + attribute[1:]
    return _ec2(lab).describe_vpc_attribute(VpcId=vpc, Attribute=attribute)[key]["Value"]


def find_vpc(lab: Lab) -> VpcView | None:
    """The lab's VPC (found by its Name tag) with its two DNS attributes, or None.

        >>> network.find_vpc(lab)["dns_hostnames"]  # True: the baseline turns it on
    """
    vpc = _raw_vpc(lab)
    if vpc is None:
        return None
    return VpcView(name=lab.names.vpc, id=vpc["VpcId"], cidr=vpc["CidrBlock"], state=vpc["State"],
                   dns_support=_dns_attribute(lab, vpc["VpcId"], "enableDnsSupport"),
                   dns_hostnames=_dns_attribute(lab, vpc["VpcId"], "enableDnsHostnames"))


def ensure_vpc(lab: Lab) -> VpcView:
    """The VPC, created with DNS support and DNS hostnames on, as the workshop's CloudFormation stack does."""
    if _raw_vpc(lab) is None:
        ec2 = _ec2(lab)
        vpc = ec2.create_vpc(CidrBlock=lab.names.vpc_cidr,
                             TagSpecifications=_tag_spec(lab, "vpc", 2, lab.names.vpc))["Vpc"]["VpcId"]
        ec2.get_waiter("vpc_available").wait(VpcIds=[vpc])
        # ModifyVpcAttribute takes one attribute per call.
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    return require(find_vpc(lab), f"VPC {lab.names.vpc}")


def enable_dns_hostnames(lab: Lab) -> DnsHostnamesView:
    """Module 3 Step 1.8-9: turn on DNS hostnames, which the endpoint's private DNS name needs.

    The baseline VPC already has it on; then this changes nothing.

        >>> network.enable_dns_hostnames(lab)["changed"]  # False on the baseline VPC
    """
    vpc = vpc_id(lab)
    changed = not _dns_attribute(lab, vpc, "enableDnsHostnames")
    if changed:
        _ec2(lab).modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    return DnsHostnamesView(vpc=lab.names.vpc, id=vpc, dns_hostnames=True, changed=changed)


def delete_vpc(lab: Lab) -> bool:
    """Delete the VPC and what is inside it: endpoints, security groups, subnets, route tables, gateway."""
    vpc = _raw_vpc(lab)
    if vpc is None:
        return False
    vpc = vpc["VpcId"]
    _delete_endpoints(lab, vpc)
    for group in _groups(lab, vpc):
        if group["GroupName"] != "default":
            _delete_group(lab, group)
    for subnet in _ec2(lab).describe_subnets(Filters=_filters({"vpc-id": vpc}))["Subnets"]:
        _delete_subnet(lab, subnet["SubnetId"])
    for table in _ec2(lab).describe_route_tables(Filters=_filters({"vpc-id": vpc}))["RouteTables"]:
        if not any(a.get("Main") for a in table["Associations"]):
            _delete_route_table(lab, table)
    gateways = _ec2(lab).describe_internet_gateways(Filters=_filters({"attachment.vpc-id": vpc}))["InternetGateways"]
    for gateway in gateways:
        _delete_gateway(lab, gateway)
    _ec2(lab).delete_vpc(VpcId=vpc)
    return True


# ---------------------------------------------------------------- internet gateway

def _raw_gateway(lab: Lab) -> dict[str, Any] | None:
    gateways = _ec2(lab).describe_internet_gateways(
        Filters=_filters({"tag:Name": lab.names.internet_gateway}))["InternetGateways"]
    return gateways[0] if gateways else None


def find_internet_gateway(lab: Lab) -> InternetGatewayView | None:
    """The internet gateway (by its Name tag) and the VPC it is attached to, or None."""
    gateway = _raw_gateway(lab)
    if gateway is None:
        return None
    attached = [a["VpcId"] for a in gateway["Attachments"] if a["State"] in ("attached", "available")]
    return InternetGatewayView(name=lab.names.internet_gateway, id=gateway["InternetGatewayId"],
                               attached_to=attached[0] if attached else None)


def ensure_internet_gateway(lab: Lab) -> InternetGatewayView:
    """The internet gateway, attached to the VPC (only cloud9-subnet-a routes to it)."""
    vpc = vpc_id(lab)
    ec2 = _ec2(lab)
    gateway = find_internet_gateway(lab)
    if gateway is None:
        created = ec2.create_internet_gateway(
            TagSpecifications=_tag_spec(lab, "internet-gateway", 2, lab.names.internet_gateway))
        gateway = InternetGatewayView(name=lab.names.internet_gateway,
                                      id=created["InternetGateway"]["InternetGatewayId"], attached_to=None)
    if gateway["attached_to"] != vpc:
        ec2.attach_internet_gateway(InternetGatewayId=gateway["id"], VpcId=vpc)
    return require(find_internet_gateway(lab), f"internet gateway {lab.names.internet_gateway}")


def _delete_gateway(lab: Lab, gateway: dict[str, Any]) -> None:
    for attachment in gateway["Attachments"]:
        _ec2(lab).detach_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"], VpcId=attachment["VpcId"])
    _ec2(lab).delete_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"])


def delete_internet_gateway(lab: Lab) -> bool:
    """Detach the internet gateway from its VPC and delete it; False when it was already gone."""
    gateway = _raw_gateway(lab)
    if gateway is None:
        return False
    _delete_gateway(lab, gateway)
    return True


# ---------------------------------------------------------------- subnets

def _raw_subnets(lab: Lab, vpc: str) -> dict[str, dict[str, Any]]:
    """The lab's subnets in the VPC, by Name tag."""
    subnets = _ec2(lab).describe_subnets(Filters=_filters({"vpc-id": vpc}))["Subnets"]
    wanted = {s.name for s in lab.names.subnets}
    return {_name_of(s): s for s in subnets if _name_of(s) in wanted}


def find_subnets(lab: Lab) -> list[SubnetView]:
    """The lab's subnets that exist, in the order of config.Names.subnets.

        >>> [s["name"] for s in network.find_subnets(lab)]  # ['lambda-subnet-a', 'lambda-subnet-c', ...]
    """
    vpc = _raw_vpc(lab)
    found = _raw_subnets(lab, vpc["VpcId"]) if vpc else {}
    return [SubnetView(name=s.name, id=found[s.name]["SubnetId"], az=found[s.name]["AvailabilityZone"],
                       cidr=found[s.name]["CidrBlock"], public=found[s.name]["MapPublicIpOnLaunch"],
                       state=found[s.name]["State"])
            for s in lab.names.subnets if s.name in found]


def ensure_subnets(lab: Lab) -> list[SubnetView]:
    """The seven subnets in region+a / region+c; cloud9-subnet-a gives its instances public IPs."""
    vpc = vpc_id(lab)
    ec2 = _ec2(lab)
    existing = _raw_subnets(lab, vpc)
    for subnet in lab.names.subnets:
        if subnet.name in existing:
            continue
        created = ec2.create_subnet(VpcId=vpc, CidrBlock=subnet.cidr, AvailabilityZone=lab.az(subnet.az_suffix),
                                    TagSpecifications=_tag_spec(lab, "subnet", 2, subnet.name))["Subnet"]["SubnetId"]
        if subnet.public:
            ec2.modify_subnet_attribute(SubnetId=created, MapPublicIpOnLaunch={"Value": True})
    return find_subnets(lab)


def subnet_ids(lab: Lab, tier: str) -> list[str]:
    """The ids of one tier's subnets ("lambda", "rds", "secret", "cloud9"), in config order.

        >>> network.subnet_ids(lab, "rds")  # ['subnet-...', 'subnet-...']: rds-subnet-a, rds-subnet-c
    """
    found = {s["name"]: s["id"] for s in find_subnets(lab)}
    return [require(found.get(name), f"subnet {name}") for name in lab.names.subnet_names(tier)]


def _delete_subnet(lab: Lab, subnet: str) -> None:
    # On AWS, the network interfaces of a deleted Lambda function or database are released
    # minutes later; until then the subnet reports DependencyViolation.
    retry_while(lab, lambda: _ec2(lab).delete_subnet(SubnetId=subnet), "DependencyViolation")


def delete_subnets(lab: Lab) -> bool:
    """Delete the lab's subnets; False when none was left."""
    subnets = find_subnets(lab)
    for subnet in subnets:
        _delete_subnet(lab, subnet["id"])
    return bool(subnets)


# ---------------------------------------------------------------- route table

def _raw_route_table(lab: Lab) -> dict[str, Any] | None:
    tables = _ec2(lab).describe_route_tables(Filters=_filters({"tag:Name": lab.names.route_table}))["RouteTables"]
    return tables[0] if tables else None


def _public_subnet_ids(lab: Lab) -> list[str]:
    public = {s.name for s in lab.names.subnets if s.public}
    return [s["id"] for s in find_subnets(lab) if s["name"] in public]


def find_route_table(lab: Lab) -> RouteTableView | None:
    """The route table (by its Name tag): its default route and the subnets associated with it, or None."""
    table = _raw_route_table(lab)
    if table is None:
        return None
    names = {s["id"]: s["name"] for s in find_subnets(lab)}
    default = [r.get("GatewayId") for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    return RouteTableView(name=lab.names.route_table, id=table["RouteTableId"],
                          default_route=default[0] if default else None,
                          subnets=[names.get(a["SubnetId"], a["SubnetId"])
                                   for a in table["Associations"] if a.get("SubnetId")])


def ensure_route_table(lab: Lab) -> RouteTableView:
    """The route table with 0.0.0.0/0 to the internet gateway, associated with the public subnet only."""
    vpc = vpc_id(lab)
    gateway = require(find_internet_gateway(lab), f"internet gateway {lab.names.internet_gateway}")["id"]
    ec2 = _ec2(lab)
    table = _raw_route_table(lab) or ec2.create_route_table(
        VpcId=vpc, TagSpecifications=_tag_spec(lab, "route-table", 2, lab.names.route_table))["RouteTable"]
    if not any(r.get("DestinationCidrBlock") == "0.0.0.0/0" for r in table["Routes"]):
        ec2.create_route(RouteTableId=table["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    associated = {a.get("SubnetId") for a in table["Associations"]}
    for subnet in _public_subnet_ids(lab):
        if subnet not in associated:
            ec2.associate_route_table(RouteTableId=table["RouteTableId"], SubnetId=subnet)
    return require(find_route_table(lab), f"route table {lab.names.route_table}")


def _delete_route_table(lab: Lab, table: dict[str, Any]) -> None:
    for association in table["Associations"]:
        _ec2(lab).disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
    _ec2(lab).delete_route_table(RouteTableId=table["RouteTableId"])


def delete_route_table(lab: Lab) -> bool:
    """Disassociate the route table from its subnets and delete it; False when it was already gone."""
    table = _raw_route_table(lab)
    if table is None:
        return False
    _delete_route_table(lab, table)
    return True


# ---------------------------------------------------------------- security groups

def _groups(lab: Lab, vpc: str, name: str | None = None) -> list[dict[str, Any]]:
    filters = _filters({"vpc-id": vpc, "group-name": name})
    return _ec2(lab).describe_security_groups(Filters=filters)["SecurityGroups"]


def _raw_group(lab: Lab, name: str) -> dict[str, Any] | None:
    vpc = _raw_vpc(lab)
    groups = _groups(lab, vpc["VpcId"], name) if vpc else []
    return groups[0] if groups else None


def security_group_id(lab: Lab, name: str) -> str:
    """The id of the security group `name` in the lab's VPC; a LookupError when it does not exist yet."""
    return require(_raw_group(lab, name), f"security group {name}")["GroupId"]


def _describe_rules(lab: Lab, group: dict[str, Any]) -> list[str]:
    """Inbound rules as text, e.g. "tcp/3306 from lambda-sg"."""
    names = {g["GroupId"]: g["GroupName"] for g in _groups(lab, group["VpcId"])}
    rules = []
    for perm in group["IpPermissions"]:
        port = f"{perm['IpProtocol']}/{perm.get('FromPort', 'all')}"
        rules += [f"{port} from {names.get(p['GroupId'], p['GroupId'])}" for p in perm.get("UserIdGroupPairs", [])]
        rules += [f"{port} from {r['CidrIp']}" for r in perm.get("IpRanges", [])]
    return rules


def find_security_group(lab: Lab, name: str) -> SecurityGroupView | None:
    """The security group `name` in the lab's VPC, with its inbound rules as text, or None.

        >>> network.find_security_group(lab, "rds-sg")["inbound"]  # ['tcp/3306 from lambda-sg']
    """
    group = _raw_group(lab, name)
    if group is None:
        return None
    return SecurityGroupView(name=name, id=group["GroupId"], inbound=_describe_rules(lab, group))


def _ensure_group(lab: Lab, name: str, description: str, module: int) -> None:
    vpc = vpc_id(lab)
    if _raw_group(lab, name) is None:
        _ec2(lab).create_security_group(GroupName=name, Description=description, VpcId=vpc,
                                        TagSpecifications=_tag_spec(lab, "security-group", module, name))


def _allows(group: dict[str, Any], port: int, source: str) -> bool:
    return any(perm["IpProtocol"] == "tcp" and perm.get("FromPort") == port and perm.get("ToPort") == port
               and any(p["GroupId"] == source for p in perm.get("UserIdGroupPairs", []))
               for perm in group["IpPermissions"])


def _allow(lab: Lab, group_name: str, port: int, source_name: str, description: str,
           module: int) -> SecurityGroupView:
    """Ensure `group_name` admits TCP `port` from members of `source_name`."""
    group = require(_raw_group(lab, group_name), f"security group {group_name}")
    source = security_group_id(lab, source_name)
    if not _allows(group, port, source):
        _ec2(lab).authorize_security_group_ingress(
            GroupId=group["GroupId"],
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                            "UserIdGroupPairs": [{"GroupId": source, "Description": description}]}],
            TagSpecifications=_tag_spec(lab, "security-group-rule", module))
    return require(find_security_group(lab, group_name), f"security group {group_name}")


def ensure_lambda_sg(lab: Lab) -> SecurityGroupView:
    """`lambda-sg`: the function's group; no inbound rules (the default outbound allows all)."""
    _ensure_group(lab, lab.names.lambda_sg, "Lambda function of the serverless app", 2)
    return require(find_security_group(lab, lab.names.lambda_sg), f"security group {lab.names.lambda_sg}")


def ensure_rds_sg(lab: Lab) -> SecurityGroupView:
    """`rds-sg`: the database's group, admitting MySQL from `lambda-sg`."""
    _ensure_group(lab, lab.names.rds_sg, "RDS database of the serverless app", 2)
    return _allow(lab, lab.names.rds_sg, MYSQL, lab.names.lambda_sg, f"MySQL from {lab.names.lambda_sg}", 2)


def allow_rds_sg_self(lab: Lab) -> SecurityGroupView:
    """Module 3: let `rds-sg` admit MySQL from itself.

    Step 2.7 puts RDS Proxy into `rds-sg`, the database's own group. The proxy then connects to
    the database as a member of `rds-sg`, but `rds-sg` only admits `lambda-sg`, so on real AWS
    the proxy's target never becomes AVAILABLE. The module's text does not add this rule; a
    self-referencing rule is the smallest fix (no new group, nothing opened to anyone else).
    """
    return _allow(lab, lab.names.rds_sg, MYSQL, lab.names.rds_sg, "MySQL from RDS Proxy (also in this group)", 3)


def _rds_sg_self_rule(lab: Lab) -> dict[str, Any] | None:
    """The inbound rule of `rds-sg` that admits MySQL from `rds-sg` itself (a SecurityGroupRule)."""
    group = _raw_group(lab, lab.names.rds_sg)
    if group is None:
        return None
    rules = _ec2(lab).describe_security_group_rules(
        Filters=_filters({"group-id": group["GroupId"]}))["SecurityGroupRules"]
    return next((r for r in rules if not r["IsEgress"] and r["IpProtocol"] == "tcp" and r.get("FromPort") == MYSQL
                 and r.get("ReferencedGroupInfo", {}).get("GroupId") == group["GroupId"]), None)


def find_rds_sg_self_rule(lab: Lab) -> SecurityGroupRuleView | None:
    """The rule `allow_rds_sg_self` adds, with its id (cleanup checks the rule's own lab tags)."""
    rule = _rds_sg_self_rule(lab)
    if rule is None:
        return None
    return SecurityGroupRuleView(group=lab.names.rds_sg, id=rule["SecurityGroupRuleId"],
                                 rule=f"tcp/{MYSQL} from {lab.names.rds_sg}")


def revoke_rds_sg_self(lab: Lab) -> bool:
    """Undo `allow_rds_sg_self` (Module 3 cleanup): `rds-sg` admits `lambda-sg` only again."""
    rule = _rds_sg_self_rule(lab)
    if rule is None:
        return False
    _ec2(lab).revoke_security_group_ingress(GroupId=rule["GroupId"], SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    return True


def ensure_secret_sg(lab: Lab) -> SecurityGroupView:
    """Module 3 Step 1.10-12: `secret-sg` for the Secrets Manager endpoint, admitting HTTPS from `lambda-sg`."""
    _ensure_group(lab, lab.names.secret_sg, "Secrets Manager VPC endpoint", 3)
    return _allow(lab, lab.names.secret_sg, HTTPS, lab.names.lambda_sg, f"HTTPS from {lab.names.lambda_sg}", 3)


def _delete_group(lab: Lab, group: dict[str, Any]) -> None:
    """Revoke every rule that names the group (AWS refuses to delete a referenced group), then delete it."""
    target = group["GroupId"]
    ec2 = _ec2(lab)
    groups = [g["GroupId"] for g in _groups(lab, group["VpcId"])]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": groups}])["SecurityGroupRules"]
    for rule in rules:
        if not rule["IsEgress"] and rule.get("ReferencedGroupInfo", {}).get("GroupId") == target:
            ec2.revoke_security_group_ingress(GroupId=rule["GroupId"],
                                              SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    # Network interfaces of deleted functions, databases and endpoints are released late on AWS.
    retry_while(lab, lambda: ec2.delete_security_group(GroupId=target), "DependencyViolation")


def delete_security_group(lab: Lab, name: str) -> bool:
    """Delete the security group `name` (and the rules that name it); False when it was already gone."""
    group = _raw_group(lab, name)
    if group is None:
        return False
    _delete_group(lab, group)
    return True


# ---------------------------------------------------------------- Secrets Manager interface endpoint

def _secrets_service(lab: Lab) -> str:
    return f"com.amazonaws.{lab.region}.secretsmanager"


def _raw_endpoints(lab: Lab, vpc: str, service: str | None = None,
                   gone: tuple[str, ...] = ("deleting", "deleted")) -> list[dict[str, Any]]:
    """The VPC's endpoints (of `service`) whose state is not in `gone`."""
    filters = _filters({"vpc-id": vpc, "service-name": service})
    endpoints = _ec2(lab).describe_vpc_endpoints(Filters=filters)["VpcEndpoints"]
    return [e for e in endpoints if e["State"].lower() not in gone]


def find_secrets_endpoint(lab: Lab) -> VpcEndpointView | None:
    """The VPC's Secrets Manager endpoint (unless it is being deleted), or None.

        >>> network.find_secrets_endpoint(lab)["state"]  # 'available' once Step 1.17 is done
    """
    vpc = _raw_vpc(lab)
    endpoints = _raw_endpoints(lab, vpc["VpcId"], _secrets_service(lab)) if vpc else []
    if not endpoints:
        return None
    endpoint = endpoints[0]
    subnets = {s["id"]: s["name"] for s in find_subnets(lab)}
    return VpcEndpointView(service=endpoint["ServiceName"], id=endpoint["VpcEndpointId"],
                        type=endpoint["VpcEndpointType"], state=endpoint["State"].lower(),
                        private_dns=endpoint.get("PrivateDnsEnabled", False),
                        subnets=[subnets.get(s, s) for s in endpoint["SubnetIds"]],
                        security_groups=[g["GroupName"] for g in endpoint["Groups"]])


def ensure_secrets_endpoint(lab: Lab) -> VpcEndpointView:
    """Module 3 Step 1.13-17: the Secrets Manager interface endpoint in the secret subnets, with
    `secret-sg` and private DNS, so `secretsmanager.<region>.amazonaws.com` resolves to it inside
    the VPC (the Lambda subnets have no route to the internet). Waits until it is `available`."""
    if find_secrets_endpoint(lab) is None:
        _ec2(lab).create_vpc_endpoint(
            VpcEndpointType="Interface", VpcId=vpc_id(lab), ServiceName=_secrets_service(lab),
            SubnetIds=subnet_ids(lab, "secret"), SecurityGroupIds=[security_group_id(lab, lab.names.secret_sg)],
            PrivateDnsEnabled=True, TagSpecifications=_tag_spec(lab, "vpc-endpoint", 3))
    endpoint = wait_until(lab, "Secrets Manager VPC endpoint", lambda: find_secrets_endpoint(lab),
                          lambda e: e is not None and e["state"] == "available")
    return require(endpoint, "Secrets Manager VPC endpoint")  # never None once waited for; typed as found


def _delete_endpoints(lab: Lab, vpc: str, service: str | None = None) -> bool:
    ids = [e["VpcEndpointId"] for e in _raw_endpoints(lab, vpc, service)]
    if ids:
        _ec2(lab).delete_vpc_endpoints(VpcEndpointIds=ids)
    # Their network interfaces block the subnets and the security group until they are gone.
    wait_until(lab, "VPC endpoints deleted", lambda: _raw_endpoints(lab, vpc, service, gone=("deleted",)),
               lambda left: not left)
    return bool(ids)


def delete_secrets_endpoint(lab: Lab) -> bool:
    """Delete the Secrets Manager endpoint and wait until it is gone; False when there was none."""
    vpc = _raw_vpc(lab)
    return _delete_endpoints(lab, vpc["VpcId"], _secrets_service(lab)) if vpc else False
