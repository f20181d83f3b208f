"""The client's nonce round trip (RFC 9449 §8, §9), over any HTTP library.

A server that requires nonces answers a proof without a current one with ``use_dpop_nonce``
(401 from a resource server with ``WWW-Authenticate: DPoP error="use_dpop_nonce"``, 400 from a
token endpoint with that ``error`` in its JSON body) and a ``DPoP-Nonce`` header. The client
remembers the nonce and sends the request again, once, with a new proof carrying it. Servers
may also send a fresh ``DPoP-Nonce`` on any answer; it is remembered for the next request.

:func:`send_with_dpop` does this over a callable that performs the request: it takes the
proof and returns a :class:`DPoPResponse` (status and headers), so no HTTP library is imposed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Final, Generic, TypeVar

from .proof import DPoPProofMaker

__all__ = ["DPoPResponse", "asend_with_dpop", "send_with_dpop"]

_NONCE_HEADER: Final = "dpop-nonce"
_USE_NONCE: Final = "use_dpop_nonce"

T = TypeVar("T")


class DPoPResponse(Generic[T]):
    """What the request callable returns: the status, the headers, and your own response
    object (``response``), handed back untouched.

    :param status: the HTTP status.
    :param headers: the response headers, a mapping or ``(name, value)`` pairs.
    :param response: anything (your library's response object), returned to you.
    """

    __slots__ = ("headers", "response", "status")

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str] | Iterable[tuple[str, str]],
        response: T,
    ) -> None:
        self.status = status
        self.headers: tuple[tuple[str, str], ...] = tuple(
            (str(n).lower(), str(v))
            for n, v in (headers.items() if isinstance(headers, Mapping) else headers)
        )
        self.response = response

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((v for n, v in self.headers if n == wanted), None)

    def asks_for_nonce(self) -> bool:
        """True when the server refused the proof for want of a (current) nonce and sent one:
        a 401 whose ``WWW-Authenticate`` says ``use_dpop_nonce``, or a 400 (a token endpoint,
        whose JSON body says it) with a ``DPoP-Nonce`` header."""
        if self.header(_NONCE_HEADER) is None:
            return False
        if self.status == 400:
            return True
        challenge = self.header("www-authenticate") or ""
        return self.status == 401 and _USE_NONCE in challenge

    def __repr__(self) -> str:
        return f"DPoPResponse({self.status})"


def send_with_dpop(
    send: Callable[[str], DPoPResponse[T]],
    maker: DPoPProofMaker,
    method: str,
    uri: str,
    *,
    access_token: str | None = None,
) -> DPoPResponse[T]:
    """Send a request with a fresh proof, and once more with a new proof when the server asks
    for a nonce; every ``DPoP-Nonce`` the server sends is remembered in ``maker``.

    :param send: performs the request with the given ``DPoP`` header value (and, when
        presenting a token, ``Authorization: DPoP <token>``) and returns a
        :class:`DPoPResponse`.
    """
    answer = send(maker.proof(method, uri, access_token=access_token))
    if not _remember(answer, maker, uri):
        return answer
    return _second(send(maker.proof(method, uri, access_token=access_token)), maker, uri)


async def asend_with_dpop(
    send: Callable[[str], Awaitable[DPoPResponse[T]]],
    maker: DPoPProofMaker,
    method: str,
    uri: str,
    *,
    access_token: str | None = None,
) -> DPoPResponse[T]:
    """The async face of :func:`send_with_dpop` (``send`` is a coroutine function)."""
    answer = await send(maker.proof(method, uri, access_token=access_token))
    if not _remember(answer, maker, uri):
        return answer
    return _second(await send(maker.proof(method, uri, access_token=access_token)), maker, uri)


def _keep(answer: DPoPResponse[T], maker: DPoPProofMaker, uri: str) -> None:
    """Remember the answer's nonce (one that is not printable ASCII is ignored)."""
    nonce = answer.header(_NONCE_HEADER)
    if nonce and nonce.isascii() and nonce.isprintable():
        maker.remember_nonce(uri, nonce)


def _remember(answer: DPoPResponse[T], maker: DPoPProofMaker, uri: str) -> bool:
    """Keep the answer's nonce; True when the request must be sent again with it."""
    _keep(answer, maker, uri)
    return answer.asks_for_nonce()


def _second(answer: DPoPResponse[T], maker: DPoPProofMaker, uri: str) -> DPoPResponse[T]:
    """The retry's answer, whatever it is (never a third attempt); its nonce remembered."""
    _keep(answer, maker, uri)
    return answer
