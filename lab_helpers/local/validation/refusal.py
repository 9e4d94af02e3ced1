"""A call AWS would refuse: the service's error code and message, as the service words them."""
from __future__ import annotations


class Refusal(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
