"""ASGI middleware that bounds request bodies (413), whatever their transfer encoding."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from store_server.problem_responses import problem_response


class BodyLimit:
    """ASGI middleware: refuses request bodies over a size limit with 413, before parsing.

    The body is read (and counted) up front, so a chunked upload without Content-Length is
    bounded too; the application then gets it from memory.
    """

    def __init__(self, app: ASGIApp, limit: int, prefix_limits: dict[str, int]) -> None:
        self.app = app
        self._limit = limit
        self._prefix_limits = prefix_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = next(
            (lim for prefix, lim in self._prefix_limits.items() if path.startswith(prefix)),
            self._limit,
        )
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await self._too_large(scope, receive, send, limit)
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await self._too_large(scope, receive, send, limit)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem_response(
            413, "body-too-large", f"request bodies are limited to {limit} bytes"
        )
        await response(scope, receive, send)
