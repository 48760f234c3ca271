"""HTTP plumbing of the fake Cloud API: serving on localhost, pointing httpx at it, and
reading multipart uploads byte-exact (python-multipart is not a dependency)."""

from __future__ import annotations

import socket
from email.message import Message as EmailMessage
from email.parser import HeaderParser

import httpx
import uvicorn
from starlette.applications import Starlette

from tests.fakes.graph_api_limits import invalid

REDIRECTED_HOSTS = frozenset({"graph.facebook.com", "lookaside.fbsbx.com"})


class GraphRedirect(httpx.AsyncBaseTransport):
    """Sends requests for Meta's hosts to the fake; any other host is a stray call."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.host in REDIRECTED_HOSTS:
            request.url = url.copy_with(scheme="http", host="127.0.0.1", port=self._port)
        elif (url.host, url.port) != ("127.0.0.1", self._port):
            msg = f"stray call to {url}: only the fake Graph API is reachable"
            raise httpx.ConnectError(msg, request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def serve_locally(app: Starlette) -> tuple[uvicorn.Server, int]:
    """Serve ``app`` on 127.0.0.1 on an ephemeral port, in this event loop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    config = uvicorn.Config(
        app, log_config=None, log_level="warning", access_log=False, lifespan="off", ws="none"
    )
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[sock])
    return server, sock.getsockname()[1]


def version_ok(version: str, expected: str | None) -> bool:
    if expected is not None:
        return version == expected
    major, dot, minor = version.removeprefix("v").partition(".")
    return version.startswith("v") and major.isdigit() and dot == "." and minor.isdigit()


def multipart_fields(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a multipart/form-data body: name -> (filename, bytes), byte-exact."""
    header = EmailMessage()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        raise invalid("media upload must be multipart/form-data", 100)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for chunk in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = HeaderParser().parsestr(head.decode("utf-8"))
        name = headers.get_param("name", header="content-disposition")
        if isinstance(name, str):
            fields[name] = (headers.get_filename(), data.removesuffix(b"\r\n"))
    return fields
