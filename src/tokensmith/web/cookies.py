"""Tokens in cookies: ``Set-Cookie`` values with ``HttpOnly; Secure; SameSite`` and the
``__Host-`` prefix by default. Pair them with :class:`~tokensmith.web.CSRFProtector`.
"""

from __future__ import annotations

from ._cookie import SameSite, set_cookie

__all__ = ["delete_token_cookie", "token_cookie"]


def token_cookie(
    name: str,
    token: str,
    *,
    max_age: int,
    path: str = "/",
    same_site: SameSite = "Strict",
    domain: str | None = None,
    host_prefix: bool = True,
) -> str:
    """A ``Set-Cookie`` value carrying a token: ``HttpOnly; Secure; SameSite``, ``__Host-``.

    The ``__Host-`` prefix (added to ``name`` unless ``host_prefix=False``) makes browsers
    refuse the cookie unless it is ``Secure``, ``Path=/`` and has no ``Domain``, so a sibling
    subdomain cannot plant or overwrite it; those rules are enforced here too. ``Secure`` and
    ``HttpOnly`` are always set. Values a cookie cannot carry raise
    :class:`~tokensmith.errors.ConfigurationError` (the message never contains the value).
    Set ``max_age`` to the token's remaining lifetime. Pair it with
    :class:`~tokensmith.web.CSRFProtector`.
    """
    return set_cookie(
        name,
        token,
        max_age=max_age,
        path=path,
        domain=domain,
        same_site=same_site,
        host_prefix=host_prefix,
        http_only=True,
    )


def delete_token_cookie(
    name: str,
    *,
    path: str = "/",
    same_site: SameSite = "Strict",
    domain: str | None = None,
    host_prefix: bool = True,
) -> str:
    """The ``Set-Cookie`` value that deletes a cookie set by :func:`token_cookie` (logout).

    Same name, path and domain as the original, empty value and ``Max-Age=0``.
    """
    return set_cookie(
        name,
        "",
        max_age=0,
        path=path,
        domain=domain,
        same_site=same_site,
        host_prefix=host_prefix,
        http_only=True,
    )
