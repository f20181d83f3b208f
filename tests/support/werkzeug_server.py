"""Any WSGI app (Flask, Django's WSGI handler...) served by werkzeug's real server on a free
127.0.0.1 port in a thread, quietly: the frameworks' adapters are tested over real HTTP."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server


class _Quiet(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        pass


@contextmanager
def serving(app: Callable[..., Any], *, ssl_context: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL (``http://127.0.0.1:<port>``,
    or ``https://`` over TLS with ``ssl_context``: werkzeug then puts a client certificate in
    ``environ["SSL_CLIENT_CERT"]``, as PEM)."""
    server = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=_Quiet, ssl_context=ssl_context
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield f"{'https' if ssl_context else 'http'}://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
