"""Typed usage of the framework adapters: mypy --strict checks this file, nothing runs it.

What a user writes in the docs must type-check as written: a :class:`~tokensmith.Validator`
is a guard's ``TokenValidator``, and aiohttp takes :func:`token_middleware`'s result in
``middlewares=[...]`` (aiohttp's own ``Middleware`` protocol names its parameters).
"""

from __future__ import annotations

from aiohttp import web

from tokensmith import Validator
from tokensmith.integrations.aiohttp import token_middleware
from tokensmith.web import Guard


def guards(validator: Validator) -> Guard:
    Guard(object())  # type: ignore[arg-type]
    return Guard(validator, realm="orders", scopes=["orders:read"])


def aiohttp_app(guard: Guard) -> web.Application:
    return web.Application(middlewares=[token_middleware(guard, public_paths=["/health"])])
