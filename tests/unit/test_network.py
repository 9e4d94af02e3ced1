from lab_helpers import network
from lab_helpers.core.config import NAMES


def test_vpc_is_created_once_with_dns_support_and_hostnames(lab, calls, rerun, has_lab_tags):
    vpc = network.ensure_vpc(lab)
    assert vpc == network.find_vpc(lab)
    assert (vpc["name"], vpc["cidr"], vpc["dns_support"], vpc["dns_hostnames"]) == ("serverless-app", "10.0.0.0/16",
                                                                                    True, True)
    create = calls.one("CreateVpc")
    assert create["TagSpecifications"][0]["ResourceType"] == "vpc"
    assert has_lab_tags(create["TagSpecifications"][0]["Tags"], 2)
    assert {"Key": "Name", "Value": "serverless-app"} in create["TagSpecifications"][0]["Tags"]
    assert calls.params("ModifyVpcAttribute") == [
        {"VpcId": vpc["id"], "EnableDnsSupport": {"Value": True}},
        {"VpcId": vpc["id"], "EnableDnsHostnames": {"Value": True}}]
    rerun(vpc, network.ensure_vpc)


def test_enable_dns_hostnames_turns_it_on_only_when_off(lab, calls):
    vpc = network.ensure_vpc(lab)
    lab.client("ec2").modify_vpc_attribute(VpcId=vpc["id"], EnableDnsHostnames={"Value": False})
    assert network.enable_dns_hostnames(lab)["changed"] is True
    assert network.find_vpc(lab)["dns_hostnames"] is True
    calls.clear()
    assert network.enable_dns_hostnames(lab) == {"vpc": "serverless-app", "id": vpc["id"], "dns_hostnames": True,
                                                 "changed": False}
    assert calls.mutating() == []


def test_delete_vpc_removes_everything_inside(lab, network_ready):
    network.ensure_secret_sg(lab)
    network.allow_rds_sg_self(lab)
    network.ensure_secrets_endpoint(lab)
    assert network.delete_vpc(lab) is True
    ec2 = lab.client("ec2")
    assert network.find_vpc(lab) is None
    assert network.find_internet_gateway(lab) is None
    assert network.find_route_table(lab) is None
    assert [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]] == ["default"]
    assert ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": ["rds-subnet-a"]}])["Subnets"] == []
    assert network.delete_vpc(lab) is False


def test_internet_gateway_is_attached_to_the_vpc(lab, calls, rerun, has_lab_tags):
    vpc = network.ensure_vpc(lab)
    gateway = network.ensure_internet_gateway(lab)
    assert gateway == {"name": "serverless-app-igw", "id": gateway["id"], "attached_to": vpc["id"]}
    assert has_lab_tags(calls.one("CreateInternetGateway")["TagSpecifications"][0]["Tags"], 2)
    assert calls.one("AttachInternetGateway") == {"InternetGatewayId": gateway["id"], "VpcId": vpc["id"]}
    rerun(gateway, network.ensure_internet_gateway)
    assert network.delete_internet_gateway(lab) is True
    assert network.find_internet_gateway(lab) is None
    assert network.delete_internet_gateway(lab) is False


def test_subnets_in_two_azs_with_the_configured_cidrs(lab, calls, rerun, has_lab_tags):
    network.ensure_vpc(lab)
    subnets = network.ensure_subnets(lab)
    assert [(s["name"], s["az"], s["cidr"], s["public"]) for s in subnets] == [
        (s.name, f"ap-northeast-2{s.az_suffix}", s.cidr, s.public) for s in NAMES.subnets]
    assert len(calls.params("CreateSubnet")) == 7
    assert all(has_lab_tags(p["TagSpecifications"][0]["Tags"], 2) for p in calls.params("CreateSubnet"))
    assert network.subnet_ids(lab, "rds") == [subnets[2]["id"], subnets[3]["id"]]
    assert network.find_subnets(lab) == subnets
    rerun(subnets, network.ensure_subnets)
    assert network.delete_subnets(lab) is True
    assert network.find_subnets(lab) == []
    assert network.delete_subnets(lab) is False


def test_route_table_sends_the_public_subnet_only_to_the_gateway(lab, calls, rerun, has_lab_tags):
    network.ensure_vpc(lab)
    gateway = network.ensure_internet_gateway(lab)["id"]
    network.ensure_subnets(lab)
    calls.clear()
    table = network.ensure_route_table(lab)
    assert table == {"name": "serverless-app-routes", "id": table["id"], "default_route": gateway,
                     "subnets": ["cloud9-subnet-a"]}
    assert has_lab_tags(calls.one("CreateRouteTable")["TagSpecifications"][0]["Tags"], 2)
    assert calls.one("CreateRoute") == {"RouteTableId": table["id"], "DestinationCidrBlock": "0.0.0.0/0",
                                        "GatewayId": gateway}
    assert calls.one("AssociateRouteTable")["SubnetId"] == network.subnet_ids(lab, "cloud9")[0]
    assert network.find_route_table(lab) == table
    rerun(table, network.ensure_route_table)
    assert network.delete_route_table(lab) is True
    assert network.find_route_table(lab) is None
    assert network.delete_route_table(lab) is False


def test_security_groups_of_module_2(lab, vpc_ready, calls, rerun, has_lab_tags):
    lambda_sg = network.ensure_lambda_sg(lab)
    rds_sg = network.ensure_rds_sg(lab)
    assert lambda_sg["inbound"] == []
    assert rds_sg["inbound"] == ["tcp/3306 from lambda-sg"]
    rule = calls.one("AuthorizeSecurityGroupIngress")
    assert rule["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == lambda_sg["id"]
    assert has_lab_tags(rule["TagSpecifications"][0]["Tags"], 2)
    assert all(has_lab_tags(p["TagSpecifications"][0]["Tags"], 2) for p in calls.params("CreateSecurityGroup"))
    rerun(lambda_sg, network.ensure_lambda_sg)
    rerun(rds_sg, network.ensure_rds_sg)
    assert network.find_security_group(lab, "rds-sg") == rds_sg


def test_rds_sg_admits_itself_for_rds_proxy(lab, network_ready, calls, rerun, has_lab_tags):
    rds_sg = network.allow_rds_sg_self(lab)
    assert sorted(rds_sg["inbound"]) == ["tcp/3306 from lambda-sg", "tcp/3306 from rds-sg"]
    rule = calls.one("AuthorizeSecurityGroupIngress")
    assert rule["GroupId"] == rds_sg["id"]
    assert rule["IpPermissions"] == [{"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "UserIdGroupPairs": [
        {"GroupId": rds_sg["id"], "Description": "MySQL from RDS Proxy (also in this group)"}]}]
    assert has_lab_tags(rule["TagSpecifications"][0]["Tags"], 3)
    rerun(rds_sg, network.allow_rds_sg_self)


def test_secret_sg_admits_https_from_lambda_sg(lab, network_ready, calls, rerun, has_lab_tags):
    secret_sg = network.ensure_secret_sg(lab)
    assert secret_sg["inbound"] == ["tcp/443 from lambda-sg"]
    assert has_lab_tags(calls.one("CreateSecurityGroup")["TagSpecifications"][0]["Tags"], 3)
    rerun(secret_sg, network.ensure_secret_sg)


def test_deleting_a_referenced_group_revokes_the_references_first(lab, network_ready):
    network.ensure_secret_sg(lab)
    assert network.delete_security_group(lab, "lambda-sg") is True
    assert network.find_security_group(lab, "lambda-sg") is None
    assert network.find_security_group(lab, "rds-sg")["inbound"] == []
    assert network.find_security_group(lab, "secret-sg")["inbound"] == []
    assert network.delete_security_group(lab, "lambda-sg") is False


def test_secrets_manager_endpoint(lab, network_ready, calls, rerun, has_lab_tags):
    network.ensure_secret_sg(lab)
    calls.clear()
    endpoint = network.ensure_secrets_endpoint(lab)
    assert endpoint == {"service": "com.amazonaws.ap-northeast-2.secretsmanager", "id": endpoint["id"],
                        "type": "Interface", "state": "available", "private_dns": True,
                        "subnets": ["secret-subnet-a", "secret-subnet-c"], "security_groups": ["secret-sg"]}
    create = calls.one("CreateVpcEndpoint")
    assert create["VpcEndpointType"] == "Interface" and create["PrivateDnsEnabled"] is True
    assert create["SubnetIds"] == network.subnet_ids(lab, "secret")
    assert create["SecurityGroupIds"] == [network.security_group_id(lab, "secret-sg")]
    assert has_lab_tags(create["TagSpecifications"][0]["Tags"], 3)
    rerun(endpoint, network.ensure_secrets_endpoint)
    assert network.delete_secrets_endpoint(lab) is True
    assert network.find_secrets_endpoint(lab) is None
    assert network.delete_secrets_endpoint(lab) is False
