"""API Gateway in moto: a REST API's routes, stages and deployments (what the stage URL serves).
"""
from __future__ import annotations

from dataclasses import dataclass

from .contract import ACCOUNT, assumption


@dataclass(frozen=True)
class Route:
    """One method of one resource of a REST API."""
    path: str  # the resource's path template, e.g. "/" or "/items/{id}"
    method: str
    integration_type: str | None
    uri: str | None
    responses: tuple[tuple[str, str | None], ...]  # integration responses: (status code, selection pattern)


@dataclass(frozen=True)
class RestApi:
    region: str
    id: str
    routes: tuple[Route, ...]  # as they are now (what a new deployment freezes)
    stages: dict[str, str]  # stage name -> deployment id
    deployment_ids: tuple[str, ...]


def find_rest_api(api_id: str) -> RestApi | None:
    """The REST API of that id in whichever region has it, or None."""
    from moto.apigateway.models import apigateway_backends

    with assumption("apigateway_backends[account] maps regions to backends whose .apis maps ids to RestAPI"):
        found = [(region, api) for region, backend in list(apigateway_backends[ACCOUNT].items())
                 if (api := backend.apis.get(api_id)) is not None]
    if not found:
        return None
    region, api = found[0]
    with assumption("RestAPI.resources -> Resource.resource_methods -> Method.method_integration; stages, deployments"):
        routes = []
        for resource in api.resources.values():
            for method, found_method in resource.resource_methods.items():
                integration = found_method.method_integration
                responses = tuple((str(r.status_code), r.selection_pattern)
                                  for r in ((integration.integration_responses or {}).values() if integration else []))
                routes.append(Route(resource.get_path(), method, integration.integration_type if integration else None,
                                    integration.uri if integration else None, responses))
        return RestApi(region=region, id=api.id, routes=tuple(routes),
                       stages={name: stage.deployment_id or "" for name, stage in api.stages.items()},
                       deployment_ids=tuple(api.deployments))


def rest_api_stages() -> list[tuple[str, str, str, str]]:
    """(region, api id, api name, stage name) of every stage of every REST API."""
    from moto.apigateway.models import apigateway_backends

    with assumption("apigateway_backends[account] maps regions to backends whose .apis maps ids to RestAPI "
                    "with name and stages"):
        return sorted((region, api.id, api.name, stage)
                      for region, backend in list(apigateway_backends[ACCOUNT].items())
                      for api in list(backend.apis.values()) for stage in list(api.stages))


