"""API Gateway in the local cloud: moto keeps the REST APIs; `provider` serves their stage URLs."""
from .provider import STAGE_PATH, ApiGatewayProvider

__all__ = ["STAGE_PATH", "ApiGatewayProvider"]
