"""Broker access: the one place the controller talks to brokers, through ``broker.client``."""

from broker.controller.broker_access.connections import (
    Accepted,
    AuthError,
    BrokerAccess,
    BrokerConnection,
    OperationState,
)
from broker.controller.broker_access.go_errors import CallFailed

__all__ = [
    "Accepted",
    "AuthError",
    "BrokerAccess",
    "BrokerConnection",
    "CallFailed",
    "OperationState",
]
