"""Framework adapters: a few lines protect an endpoint, and every adapter answers alike.

Each adapter is a thin layer over :class:`tokensmith.web.Guard`: it turns its framework's
request into :class:`~tokensmith.web.RequestFacts`, asks the guard for the verified token, and
sends :meth:`Guard.answer <tokensmith.web.Guard.answer>` on a refusal. So under every framework
a request without credentials gets 401 with a bare ``Bearer`` challenge, a refused token 401
``invalid_token``, a missing scope 403 ``insufficient_scope`` with ``scope=``, a malformed
request (two ``Authorization`` headers, a token in the URL, credentials over plain HTTP) 400
``invalid_request``, a backend outage 503 with ``Retry-After``, and no answer carries a token.

* :mod:`tokensmith.integrations.asgi` — ASGI middleware for any ASGI app and server; the token
  in ``scope["tokensmith.token"]``;
* :mod:`tokensmith.integrations.wsgi` — WSGI middleware for any WSGI app and server; the token
  in ``environ["tokensmith.token"]``;
* :mod:`tokensmith.integrations.starlette` — the exception handler answering refusals, and
  :func:`~tokensmith.integrations.starlette.authenticate` for Starlette endpoints
  (``pip install 'tokensmith[starlette]'``);
* :mod:`tokensmith.integrations.fastapi` — a dependency that returns the verified token and
  shows up as an HTTP bearer security scheme in the OpenAPI document
  (``pip install 'tokensmith[fastapi]'``);
* :mod:`tokensmith.integrations.aiohttp` — aiohttp middleware; the token in
  ``request["tokensmith.token"]`` (``pip install 'tokensmith[aiohttp]'``);
* :mod:`tokensmith.integrations.flask` — a Flask extension and its ``require_token``
  decorator; the token on ``flask.g.token`` (``pip install 'tokensmith[flask]'``);
* :mod:`tokensmith.integrations.django` — Django middleware and a view decorator; the token on
  ``request.token`` (``pip install 'tokensmith[django]'``);
* :mod:`tokensmith.integrations.drf` — Django REST framework authentication and permission
  classes, and an exception handler that puts the challenge on 401 and 403
  (``pip install 'tokensmith[drf]'``).

Importing this package imports no framework; each module imports its framework when it is
itself imported, and frameworks are never dependencies of tokensmith: the extras only name
the versions tokensmith is tested with.
"""

__all__: list[str] = []
