"""One protected resource, framework-free: a request in, a verified token or an RFC 6750 answer out.

Every framework adapter is a thin layer over :class:`Guard`: it builds
:class:`~tokensmith.web.RequestFacts` from its request, calls :meth:`Guard.authenticate` (or
:meth:`Guard.aauthenticate`), and on a refusal sends what :meth:`Guard.answer` says. So every
adapter answers the same way:

* no credentials: 401 with a bare ``Bearer realm="..."`` challenge (RFC 6750 §3.1: no error
  code when the request had no credentials);
* a refused token: 401 ``invalid_token``; a missing scope: 403 ``insufficient_scope`` with
  ``scope=``; a malformed request (two ``Authorization`` headers, a token in the URL query,
  credentials over plain HTTP): 400 ``invalid_request``;
* a backend outage (JWKS, Redis...): 503 with ``Retry-After``, the token not judged;
* every challenge carries ``resource_metadata=`` when configured (RFC 9728 §5.1), descriptions
  are fixed texts per error class, and no answer ever contains the token;
* with ``dpop=`` (RFC 9449), ``Authorization: DPoP <token>`` plus a ``DPoP`` proof is accepted
  too, the token validated with the proof's key (``cnf.jkt``); challenges then name both
  schemes (``Bearer ..., DPoP ..., algs="..."``), or only ``DPoP`` where bearer is refused,
  and a ``use_dpop_nonce`` answer carries the ``DPoP-Nonce`` header.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar, Final, Protocol

from .._text import SCOPE_TOKEN, class_description
from ..errors import (
    BackendUnavailable,
    ConfigurationError,
    InsufficientScope,
    InvalidConfirmation,
    InvalidDPoPProof,
    MissingToken,
    Throttled,
    TokenError,
    TokensmithError,
    UseDPoPNonce,
)
from ..observability.audit import audit_context
from .bearer import DEFAULT_MAX_TOKEN_LENGTH, bearer_token, refuse_query_token, www_authenticate
from .dpop import DPOP_NONCE_HEADER, dpop_challenge, dpop_proof, dpop_token
from .transport import TransportSecurity

if TYPE_CHECKING:
    from ..claims import VerifiedToken
    from ..confirmation import Confirmation
    from ..dpop.verifier import DPoPVerifier
    from .csrf import CSRFProtector
    from .request import RequestFacts

__all__ = ["Answer", "Guard", "ResourceMetadataDocument", "TokenValidator"]

_UNSAFE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_BEARER: Final = "bearer"
_DPOP: Final = "dpop"
_COOKIE: Final = "cookie"


class TokenValidator(Protocol):
    """What a guard needs: :class:`~tokensmith.Validator`, or anything with its two faces
    (a multi-issuer validator, a validator wrapped with your own checks)."""

    def validate(
        self,
        token: str,
        *,
        scopes: Iterable[str] = ...,
        confirmation: Confirmation | None = ...,
    ) -> VerifiedToken:
        """Validate ``token`` or raise a :class:`~tokensmith.TokenError`. The guard passes
        ``confirmation`` only when the request proved something (a DPoP proof's key, a client
        certificate)."""
        ...

    async def avalidate(
        self,
        token: str,
        *,
        scopes: Iterable[str] = ...,
        confirmation: Confirmation | None = ...,
    ) -> VerifiedToken:
        """The async face of :meth:`validate`."""
        ...


class ResourceMetadataDocument(Protocol):
    """What a guard needs of an RFC 9728 metadata document:
    :class:`~tokensmith.oauth.ProtectedResourceMetadata` is one."""

    @property
    def url(self) -> str:
        """The document's absolute URL, named in every challenge."""
        ...

    @property
    def path(self) -> str:
        """The path of :attr:`url`, where a server answers with :meth:`answer`."""
        ...

    def answer(self, method: str = ..., *, if_none_match: str | None = ...) -> Answer:
        """The HTTP answer to a request for the document."""
        ...


class Answer:
    """An HTTP answer to a refusal: status, headers, and a small JSON body.

    The body names the RFC 6750 error and its fixed description (never the exception message,
    never the token); adapters send it with ``Content-Type: application/json``. The RFC 9728
    metadata document is sent as one too (:meth:`ResourceMetadataDocument.answer`).
    """

    __slots__ = ("body", "headers", "status")

    content_type: Final = "application/json"
    """The media type of :attr:`body`: frameworks take it apart from the headers."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        """The HTTP status: the refusal's (401, 403, 400...), 503 for an outage, 500 otherwise."""
        self.headers = headers
        """The response headers: ``Cache-Control: no-store``, then ``WWW-Authenticate`` on a
        refusal or ``Retry-After`` on a 503."""
        self.body = body
        """The JSON body: an ``error`` code and its fixed ``error_description`` (never the
        exception message, never the token)."""

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def __repr__(self) -> str:
        return f"Answer({self.status}, {self.header('WWW-Authenticate')!r})"


class Guard:
    """Protects resources with one validator and one way of answering refusals.

    :param validator: a :class:`~tokensmith.Validator` (or anything with ``validate`` and
        ``avalidate``, see :class:`TokenValidator`).
    :param realm: the ``realm`` of the ``WWW-Authenticate`` challenge.
    :param scopes: scopes every request must be granted (a route may ask for more).
    :param transport: who may send credentials in clear text and which proxies are believed
        (default: TLS required, loopback excepted, no trusted proxy). See
        :class:`~tokensmith.web.TransportSecurity`.
    :param resource_metadata: this resource's RFC 9728 metadata: a
        :class:`~tokensmith.oauth.ProtectedResourceMetadata` (kept as ``guard.metadata``; the
        ASGI and WSGI middleware serve it at its well-known path), or the absolute URL of a
        document served elsewhere. Its URL is added to every challenge as
        ``resource_metadata="..."`` so clients can discover which authorization server to ask
        (MCP clients require it).
    :param cookie: the name of a cookie that may carry the token when there is no
        ``Authorization`` header (e.g. ``"__Host-token"``, see
        :func:`~tokensmith.web.token_cookie`).
        Cookies are sent by browsers on their own, so requests with unsafe methods that
        authenticate by cookie must also pass ``csrf`` (required with ``cookie``).
    :param csrf: the :class:`~tokensmith.web.CSRFProtector` checking cookie-authenticated
        unsafe requests: the CSRF cookie ``csrf_cookie`` must equal the ``X-CSRF-Token`` header
        and be bound to the token's session (``sid``, else its ``jti``).
    :param dpop: a :class:`~tokensmith.dpop.DPoPVerifier`: accept ``Authorization: DPoP``
        with a ``DPoP`` proof (RFC 9449), checking the proof for this request (method, URI
        as this server sees it, ``ath``) and the token's ``cnf.jkt`` against the proof's key.
    :param dpop_required: ``True``: DPoP only, a bearer token is refused; an iterable of
        audiences: tokens for any of them must come with DPoP, others may be bearer tokens;
        ``False`` (default): both. A DPoP-bound token presented as a bearer token is always
        refused (RFC 9449 §7.2).
    """

    __slots__ = (
        "_csrf",
        "_csrf_cookie",
        "_dpop_audiences",
        "_dpop_only",
        "_max_length",
        "cookie",
        "dpop",
        "metadata",
        "realm",
        "resource_metadata",
        "scopes",
        "transport",
        "validator",
    )

    refusals: ClassVar[tuple[type[TokensmithError], ...]] = (
        TokenError,
        BackendUnavailable,
        Throttled,
    )
    """The errors an adapter answers with :meth:`answer`: token refusals, outages, throttling.
    Anything else (a :class:`~tokensmith.ConfigurationError`...) is a fault the framework must
    see, log and turn into a 500 of its own."""

    def __init__(
        self,
        validator: TokenValidator,
        *,
        realm: str = "api",
        scopes: Iterable[str] = (),
        transport: TransportSecurity | None = None,
        resource_metadata: str | ResourceMetadataDocument | None = None,
        cookie: str | None = None,
        csrf: CSRFProtector | None = None,
        csrf_cookie: str = "__Host-csrf",
        max_token_length: int = DEFAULT_MAX_TOKEN_LENGTH,
        dpop: DPoPVerifier | None = None,
        dpop_required: bool | Iterable[str] = False,
    ) -> None:
        self.dpop = dpop
        self._dpop_only, self._dpop_audiences = _dpop_rule(dpop, dpop_required)
        if cookie is not None and csrf is None:
            raise ConfigurationError(
                "a token cookie needs csrf=CSRFProtector(...): browsers send cookies on their own"
            )
        self.validator = validator
        self.realm = realm
        self.scopes = self.checked_scopes(scopes)
        self.transport = transport or TransportSecurity()
        self.metadata, self.resource_metadata = _metadata(resource_metadata)
        self.cookie = cookie
        self._csrf = csrf
        self._csrf_cookie = csrf_cookie
        self._max_length = max_token_length
        www_authenticate(None, realm=realm, resource_metadata=self.resource_metadata)  # checked

    def __repr__(self) -> str:
        return f"Guard(realm={self.realm!r}, scopes={list(self.scopes)!r})"

    # --- authenticating ----------------------------------------------------------------------

    def credentials(self, request: RequestFacts) -> tuple[str, bool]:
        """The request's one token and whether it came from the cookie.

        Refuses a token in the URL query (:class:`~tokensmith.TokenInQuery`), several
        credentials, a malformed header, and credentials over plain HTTP
        (:class:`~tokensmith.InsecureTransport`); no credentials at all is
        :class:`~tokensmith.MissingToken`. With ``dpop_required=True``, a token not sent with
        the ``DPoP`` scheme is :class:`~tokensmith.InvalidConfirmation`.
        """
        token, how = self._credentials(request)
        return token, how == _COOKIE

    def _credentials(self, request: RequestFacts) -> tuple[str, str]:
        """The token and how it came: ``dpop``, ``bearer`` or ``cookie``."""
        refuse_query_token(request.query)
        token: str | None = None
        how = _BEARER
        if self.dpop is not None:
            try:
                token, how = dpop_token(request.headers, max_length=self._max_length), _DPOP
            except MissingToken:
                token = None
        if token is None:
            try:
                token, how = bearer_token(request.headers, max_length=self._max_length), _BEARER
            except MissingToken:
                from_jar = self._cookie_token(request)
                if from_jar is None:
                    raise
                token, how = from_jar, _COOKIE
        self.transport.check(request)
        if self._dpop_only and how != _DPOP:
            raise InvalidConfirmation(
                "this resource accepts DPoP-bound tokens with a DPoP proof only", claim="cnf"
            )
        return token, how

    def _request_uri(self, request: RequestFacts) -> str:
        """The URI the client asked for, as a DPoP proof's ``htu`` names it: the scheme the
        client used (as a trusted proxy says), the ``Host`` and the path."""
        return f"{self.transport.scheme(request)}://{request.host}{request.path}"

    def authenticate(self, request: RequestFacts, *, scopes: Iterable[str] = ()) -> VerifiedToken:
        """The verified token of ``request``, or a :class:`~tokensmith.TokensmithError`."""
        token, how = self._credentials(request)
        proven = self.certificate_confirmation(request)
        with audit_context(ip=self._client(request)):
            if how == _DPOP:
                assert self.dpop is not None  # only then is the DPoP scheme read
                proof = self.dpop.verify(
                    dpop_proof(request.headers),
                    method=request.method,
                    uri=self._request_uri(request),
                    access_token=token,
                )
                proven = _with(proof.confirmation, proven)
            verified = self.validator.validate(
                token, scopes=self._scopes(scopes), **_confirmation(proven)
            )
        self._after(request, verified, how)
        return verified

    async def aauthenticate(
        self, request: RequestFacts, *, scopes: Iterable[str] = ()
    ) -> VerifiedToken:
        """The async face of :meth:`authenticate`."""
        token, how = self._credentials(request)
        proven = self.certificate_confirmation(request)
        with audit_context(ip=self._client(request)):
            if how == _DPOP:
                assert self.dpop is not None  # only then is the DPoP scheme read
                proof = await self.dpop.averify(
                    dpop_proof(request.headers),
                    method=request.method,
                    uri=self._request_uri(request),
                    access_token=token,
                )
                proven = _with(proof.confirmation, proven)
            verified = await self.validator.avalidate(
                token, scopes=self._scopes(scopes), **_confirmation(proven)
            )
        self._after(request, verified, how)
        return verified

    def _after(self, request: RequestFacts, verified: VerifiedToken, how: str) -> None:
        """The checks that need the verified token: an audience that requires DPoP, CSRF."""
        if how != _DPOP and self._dpop_audiences.intersection(verified.audience):
            raise InvalidConfirmation(
                "tokens for this audience must be DPoP-bound and sent with a DPoP proof",
                claim="cnf",
            )
        if how == _COOKIE:
            self._check_csrf(request, verified)

    def authorize(self, verified: VerifiedToken, *, scopes: Iterable[str] = ()) -> VerifiedToken:
        """``verified`` again if it grants this guard's scopes and ``scopes``, else
        :class:`~tokensmith.InsufficientScope`.

        For a token verified earlier in the same request (by a middleware, by an authentication
        class) that a route asking for more scopes now looks at: no second validation.
        """
        required = frozenset(self._scopes(scopes))
        if not required.issubset(verified.scopes):
            missing = " ".join(sorted(required - verified.scopes))
            raise InsufficientScope(
                f"the token lacks required scope(s): {missing}", required=required
            )
        return verified

    @staticmethod
    def checked_scopes(scopes: Iterable[str] | str) -> tuple[str, ...]:
        """``scopes`` as a tuple, each checked to be one RFC 6749 ``scope-token``.

        Adapters call it when a route is declared (a string is one scope), so a scope no token
        can carry, or that no challenge could name, is a :class:`~tokensmith.ConfigurationError`
        at start-up rather than a 500 on every request.
        """
        names = (scopes,) if isinstance(scopes, str) else tuple(scopes)
        for name in names:
            if not isinstance(name, str) or SCOPE_TOKEN.fullmatch(name) is None:
                raise ConfigurationError(
                    "scopes must be scope names: printable ASCII without spaces, quotes or "
                    "backslashes (a string is one scope)"
                )
        return names

    def _scopes(self, extra: Iterable[str]) -> tuple[str, ...]:
        if isinstance(extra, str):
            extra = (extra,)
        return (*self.scopes, *extra) if extra else self.scopes

    def certificate_confirmation(self, request: RequestFacts) -> Confirmation | None:
        """The RFC 8705 confirmation of the request's TLS client certificate (from the
        connection, or from a trusted proxy's header: see
        :meth:`TransportSecurity.client_certificate
        <tokensmith.web.TransportSecurity.client_certificate>`), or ``None`` without one.

        A certificate-bound token (``cnf["x5t#S256"]``) is accepted only with its certificate;
        an unbound token is accepted with any certificate or none.
        """
        der = self.transport.client_certificate(request)
        if der is None:
            return None
        from ..confirmation import Confirmation  # noqa: PLC0415 - only mutual-TLS requests

        return Confirmation.of_certificate(der)

    def _client(self, request: RequestFacts) -> str | None:
        try:
            return self.transport.client(request)
        except TokensmithError:  # an unreadable forwarding header: no address in the events
            return None

    def _cookie_token(self, request: RequestFacts) -> str | None:
        if self.cookie is None:
            return None
        return _cookie_value(request, self.cookie)

    def _check_csrf(self, request: RequestFacts, verified: VerifiedToken) -> None:
        if request.method not in _UNSAFE_METHODS:
            return
        assert self._csrf is not None  # required with a cookie (checked at construction)
        session = verified.session_id or verified.jti or ""
        self._csrf.verify(
            session, _cookie_value(request, self._csrf_cookie), request.get("x-csrf-token")
        )

    # --- answering ---------------------------------------------------------------------------

    def answer(self, error: BaseException | None, *, scopes: Iterable[str] = ()) -> Answer:
        """The HTTP answer to ``error`` (``None``: the request had no credentials).

        Anything that is not a :class:`~tokensmith.TokensmithError` is a 500 with no detail.
        """
        known = error if isinstance(error, TokensmithError) else None
        if error is not None and known is None:
            return Answer(500, [("Cache-Control", "no-store")], _body("server_error", None))
        required = self._challenge_scopes(known, scopes)
        status, headers = www_authenticate(
            known, realm=self.realm, scope=required, resource_metadata=self.resource_metadata
        )
        if self.dpop is not None and (known is None or isinstance(known, TokenError)):
            headers = self._dpop_headers(known, headers, required)
        code = getattr(known, "error", "") or _STATUS_ERRORS.get(status, "server_error")
        return Answer(status, headers, _body(code, known))

    def _dpop_headers(
        self,
        error: TokenError | None,
        headers: list[tuple[str, str]],
        scopes: tuple[str, ...] | None,
    ) -> list[tuple[str, str]]:
        """One ``WWW-Authenticate`` naming both schemes (``DPoP`` only where bearer tokens are
        refused): a DPoP refusal is told in the ``DPoP`` challenge alone."""
        assert self.dpop is not None
        challenge = dpop_challenge(error, realm=self.realm, algorithms=self.dpop.algorithms)
        if not self._dpop_only:
            bearer_error = None if isinstance(error, InvalidDPoPProof) else error
            _, plain = www_authenticate(
                bearer_error,
                realm=self.realm,
                scope=scopes,
                resource_metadata=self.resource_metadata,
            )
            bearer = next(value for name, value in plain if name == "WWW-Authenticate")
            challenge = f"{bearer}, {challenge}"
        kept = [(name, value) for name, value in headers if name != "WWW-Authenticate"]
        kept.append(("WWW-Authenticate", challenge))
        if isinstance(error, UseDPoPNonce) and error.nonce:
            kept.append((DPOP_NONCE_HEADER, error.nonce))
        return kept

    def _challenge_scopes(
        self, error: TokensmithError | None, scopes: Iterable[str]
    ) -> tuple[str, ...] | None:
        """The scopes to name: the guard's and the route's, and every scope a refusal says it
        required (an exception handler may not know the route's scopes)."""
        named = self._scopes(scopes)
        if isinstance(error, InsufficientScope) and not error.required <= set(named):
            named = (*named, *sorted(error.required - set(named)))
        return named or None


_STATUS_ERRORS: Final = {
    401: "unauthorized",
    429: "too_many_requests",
    503: "temporarily_unavailable",
}


def _body(error: str, exc: TokensmithError | None) -> bytes:
    document = {"error": error}
    if exc is not None and not isinstance(exc, MissingToken):
        document["error_description"] = class_description(exc)
    return json.dumps(document, separators=(",", ":")).encode()


def _metadata(
    value: str | ResourceMetadataDocument | None,
) -> tuple[ResourceMetadataDocument | None, str | None]:
    """``resource_metadata=``: the document to serve (if given one) and the URL to name."""
    if value is None or isinstance(value, str):
        return None, value
    if not isinstance(getattr(value, "url", None), str) or not callable(
        getattr(value, "answer", None)
    ):
        raise ConfigurationError(
            "resource_metadata must be a ProtectedResourceMetadata or its absolute URL"
        )
    return value, value.url


def _cookie_value(request: RequestFacts, name: str) -> str | None:
    """The value of cookie ``name`` in the request's ``Cookie`` headers (first one wins)."""
    for header in request.get_all("cookie"):
        for part in header.split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key == name:
                return value.strip().strip('"') or None
    return None


def _dpop_rule(
    dpop: DPoPVerifier | None, required: bool | Iterable[str]
) -> tuple[bool, frozenset[str]]:
    """``(DPoP only, audiences that require DPoP)`` from the ``dpop_required`` option."""
    if dpop is not None:
        from ..dpop.verifier import DPoPVerifier  # noqa: PLC0415 - loaded only when used

        if not isinstance(dpop, DPoPVerifier):
            raise ConfigurationError("dpop must be a tokensmith.dpop.DPoPVerifier")
    if isinstance(required, bool):
        if required and dpop is None:
            raise ConfigurationError("dpop_required needs dpop=DPoPVerifier(...)")
        return required, frozenset()
    if isinstance(required, str):
        required = (required,)
    audiences = frozenset(required)
    if not all(isinstance(a, str) and a for a in audiences):
        raise ConfigurationError("dpop_required must be True, False or audience names")
    if audiences and dpop is None:
        raise ConfigurationError("dpop_required needs dpop=DPoPVerifier(...)")
    return False, audiences


def _with(proof: Confirmation, certificate: Confirmation | None) -> Confirmation:
    """The DPoP proof's confirmation, and the certificate's when the request had one too."""
    return proof if certificate is None else proof.plus(certificate)


def _confirmation(proven: Confirmation | None) -> dict[str, Confirmation]:
    """``confirmation=`` for the validator, only when there is one (a validator written
    before sender-constrained tokens keeps working for requests that prove nothing)."""
    return {} if proven is None else {"confirmation": proven}
