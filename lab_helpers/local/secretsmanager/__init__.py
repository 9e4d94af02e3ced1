"""Secrets Manager in the local cloud: moto keeps the secrets; this package runs their rotation."""
from .provider import SecretsManagerProvider

__all__ = ["SecretsManagerProvider"]
