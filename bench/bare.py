"""The bare pipeline: the hops of ours (aiohttp -> grpc.aio -> asyncpg, each server its own process, as the
gateway and the client service are) and nothing else: no authentication, validation, tracing, ORM or
domain code. What it reaches is what this architecture allows on this machine; ours over it is what our
own code costs.

`python -m bench.bare grpc PORT DSN TABLE` serves Get (a primary-key select of a client) and Create (a
single-row INSERT transaction into TABLE, or with ``x-bench-one-statement`` the INSERT alone, committed by
itself: one round trip) over gRPC; `python -m bench.bare http PORT GRPC_PORT TENANT` serves GET /clients/{id},
POST /clients and POST /clients?one_statement=1 over HTTP, each one gRPC call. Both run on uvloop, as ours do.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import grpc
import uvloop
from aiohttp import web

from atrium.client.v1 import client_service_pb2 as pb

SERVICE = "bench.Bare"
GET = f"/{SERVICE}/Get"
CREATE = f"/{SERVICE}/Create"
TENANT_KEY = "x-bench-tenant"
ONE_STATEMENT_KEY = "x-bench-one-statement"
# The columns the raw primary-key select reads (bench.measurements.CLIENT_COLUMNS).
SELECT = (
    "SELECT id, first_name, last_name, email, phone, created_at, updated_at FROM clients WHERE tenant_id=$1 AND id=$2"
)
POOL_SIZE = 20  # what a client service process may hold (ATRIUM_DB_POOL_SIZE + ATRIUM_DB_MAX_OVERFLOW defaults)


def _tenant(context: grpc.aio.ServicerContext) -> uuid.UUID:
    return uuid.UUID(dict(context.invocation_metadata() or ())[TENANT_KEY])


def _one_statement(context: grpc.aio.ServicerContext) -> bool:
    return ONE_STATEMENT_KEY in dict(context.invocation_metadata() or ())


async def serve_grpc(port: int, dsn: str, table: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=POOL_SIZE, max_size=POOL_SIZE)
    insert = f"INSERT INTO {table} (id, tenant_id, first_name, created_at) VALUES ($1, $2, $3, now())"

    async def get(request: pb.GetClientRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        row = await pool.fetchrow(SELECT, _tenant(context), uuid.UUID(request.id))
        if row is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "client not found")
        return pb.Client(
            id=str(row["id"]),
            first_name=row["first_name"],
            last_name=row["last_name"],
            email=row["email"] or "",
            phone=row["phone"] or "",
        )

    async def create(request: pb.CreateClientRequest, context: grpc.aio.ServicerContext) -> pb.Client:
        client_id = uuid.uuid4()
        if _one_statement(context):
            await pool.execute(insert, client_id, _tenant(context), request.first_name)
        else:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(insert, client_id, _tenant(context), request.first_name)
        return pb.Client(id=str(client_id), first_name=request.first_name)

    handlers = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Get": grpc.unary_unary_rpc_method_handler(
                get, request_deserializer=pb.GetClientRequest.FromString, response_serializer=_serialize
            ),
            "Create": grpc.unary_unary_rpc_method_handler(
                create, request_deserializer=pb.CreateClientRequest.FromString, response_serializer=_serialize
            ),
        },
    )
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0), ("grpc.max_concurrent_streams", 1000)])
    server.add_generic_rpc_handlers((handlers,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())


def _client_json(reply: pb.Client) -> dict[str, str]:
    return {"id": reply.id, "first_name": reply.first_name, "last_name": reply.last_name, "email": reply.email}


def http_app(grpc_port: int, tenant: str) -> web.Application:
    app = web.Application()
    metadata = ((TENANT_KEY, tenant),)
    one_statement_metadata = (*metadata, (ONE_STATEMENT_KEY, "1"))
    channel_key = web.AppKey("channel", grpc.aio.Channel)

    async def channel(app: web.Application) -> AsyncIterator[None]:
        app[channel_key] = grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}")
        yield
        await app[channel_key].close()

    def call(app: web.Application, method: str, response: Any) -> Any:
        return app[channel_key].unary_unary(method, request_serializer=_serialize, response_deserializer=response)

    async def get(request: web.Request) -> web.Response:
        stub = call(request.app, GET, pb.Client.FromString)
        try:
            reply = await stub(pb.GetClientRequest(id=request.match_info["id"]), metadata=metadata, timeout=10)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                raise web.HTTPNotFound() from exc
            raise
        return web.json_response(_client_json(reply))

    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        stub = call(request.app, CREATE, pb.Client.FromString)
        sent = one_statement_metadata if request.query.get("one_statement") else metadata
        reply = await stub(pb.CreateClientRequest(first_name=body["first_name"]), metadata=sent, timeout=10)
        return web.json_response(_client_json(reply), status=201, dumps=json.dumps)

    app.cleanup_ctx.append(channel)
    app.router.add_get("/clients/{id}", get)
    app.router.add_post("/clients", create)
    return app


def main(argv: list[str]) -> int:
    kind, port = argv[0], int(argv[1])
    if kind == "grpc":
        uvloop.run(serve_grpc(port, argv[2], argv[3]))
    elif kind == "http":
        web.run_app(
            http_app(int(argv[2]), argv[3]),
            host="127.0.0.1",
            port=port,
            print=None,
            access_log=None,
            loop=uvloop.new_event_loop(),
        )
    else:
        print(f"unknown server {kind!r}: grpc or http", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
