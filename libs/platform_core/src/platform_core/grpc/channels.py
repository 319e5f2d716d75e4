"""Persistent gRPC channels: one per target service per process, created at start-up."""

from __future__ import annotations

import json

import grpc

from platform_core.grpc.interceptors import (
    ClientContextInterceptor,
    StreamingClientContextInterceptor,
    UploadClientContextInterceptor,
)

# Retry only what is safe to retry: a call that never reached a server.
_SERVICE_CONFIG = json.dumps(
    {
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "0.5s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
    }
)


def create_channel(target: str, *, default_deadline: float) -> grpc.aio.Channel:
    """A channel whose every call carries the bound tenant/principal and a deadline.

    In Kubernetes, ``target`` is ``dns:///<service>-headless:<port>`` so round-robin spreads calls
    over every replica.
    """
    return grpc.aio.insecure_channel(
        target,
        options=[
            ("grpc.service_config", _SERVICE_CONFIG),
            ("grpc.enable_retries", 1),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
            ("grpc.http2.max_pings_without_data", 0),
        ],
        interceptors=[
            ClientContextInterceptor(default_deadline),
            StreamingClientContextInterceptor(default_deadline),
            UploadClientContextInterceptor(default_deadline),
        ],
    )
