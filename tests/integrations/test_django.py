"""The Django adapter: Django's WSGI handler served by werkzeug on 127.0.0.1, once without and
once with ``TokenMiddleware``, driven through the shared scenario table; then the async face
(Django's ASGI handler), the settings, and what the middleware and decorator share."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integrations.django_settings import configure, urlconf

configure()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402 - after configure()
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils.decorators import method_decorator  # noqa: E402
from django.views import View  # noqa: E402

from tests.integrations.scenarios import (  # noqa: E402
    METADATA_URL,
    PATH,
    REALM,
    SCOPE,
    World,
    make_guard,
    run_table,
)
from tests.support.werkzeug_server import serving  # noqa: E402
from tokensmith import ConfigurationError, VerifiedToken  # noqa: E402
from tokensmith.integrations import django as adapter  # noqa: E402
from tokensmith.integrations.django import (  # noqa: E402
    TokenMiddleware,
    configured_guard,
    request_facts,
    require_token,
)
from tokensmith.web import Guard  # noqa: E402

MIDDLEWARE = "tokensmith.integrations.django.TokenMiddleware"


def scopeless(world: World) -> Guard:
    return Guard(world.validator, realm=REALM, transport=world.transport(),
                 resource_metadata=METADATA_URL)  # fmt: skip


def subject_of(request: HttpRequest) -> JsonResponse:
    token = request.token  # type: ignore[attr-defined]
    return JsonResponse({"sub": token.subject})


def views(world: World) -> Any:
    """The URLconf: the settings' guard asks for no scope, so routes and guards do."""

    @require_token(scopes=[SCOPE])
    def orders(request: HttpRequest) -> HttpResponse:
        return subject_of(request)

    @require_token(guard=make_guard(world))  # a view's own guard, with the scope on it
    def guard_scopes(request: HttpRequest) -> HttpResponse:
        return subject_of(request)

    @require_token(scopes=SCOPE)
    async def async_orders(request: HttpRequest) -> HttpResponse:
        return subject_of(request)

    @method_decorator(require_token(scopes=[SCOPE]), name="dispatch")
    class Orders(View):
        def get(self, request: HttpRequest) -> HttpResponse:
            return subject_of(request)

    def public(request: HttpRequest) -> HttpResponse:
        token = getattr(request, "token", "unset")
        return JsonResponse({"token": token.subject if isinstance(token, VerifiedToken) else token})

    return urlconf(
        path(PATH.lstrip("/"), orders),
        path("guard-scopes", guard_scopes),
        path("async", async_orders),
        path("class-based", Orders.as_view()),
        path("public", public),
    )


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture(scope="module")
def servers(world: World) -> Iterator[dict[str, str]]:
    with override_settings(ROOT_URLCONF=views(world), TOKENSMITH_GUARD=scopeless(world)):
        plain = WSGIHandler()
        with override_settings(MIDDLEWARE=[MIDDLEWARE]):
            layered = WSGIHandler()
        with serving(plain) as plain_url, serving(layered) as layered_url:
            yield {"decorator": plain_url, "middleware": layered_url}


@pytest.mark.parametrize("setup", ["decorator", "middleware"])
@pytest.mark.parametrize("route", [PATH, "/guard-scopes", "/async", "/class-based"])
def test_the_table(servers: dict[str, str], world: World, setup: str, route: str) -> None:
    assert len(run_table(servers[setup], world, path=route)) >= 14


def _get(url: str, *headers: tuple[str, str]) -> tuple[int, Any]:
    from tests.integrations.scenarios import request

    status, _, body = request(url, "/public", [*headers, ("X-Forwarded-Proto", "https")])
    return status, json.loads(body)


def test_the_middleware_lets_anonymous_requests_through_and_refuses_bad_tokens(
    servers: dict[str, str], world: World
) -> None:
    url = servers["middleware"]
    assert _get(url) == (200, {"token": None})
    assert _get(url, ("Authorization", f"Bearer {world.tokens['valid']}")) == (
        200,
        {"token": "user-1"},
    )
    status, body = _get(url, ("Authorization", f"Bearer {world.tokens['expired']}"))
    assert status == 401 and body["error"] == "invalid_token"
    assert _get(servers["decorator"]) == (200, {"token": "unset"})


class Counting:
    """A validator that counts its validations."""

    def __init__(self, world: World) -> None:
        self.inner = world.validator
        self.calls = 0

    def validate(self, token: str, *, scopes: Any = (), confirmation: Any = None) -> VerifiedToken:
        self.calls += 1
        return self.inner.validate(token, scopes=scopes, confirmation=confirmation)

    async def avalidate(
        self, token: str, *, scopes: Any = (), confirmation: Any = None
    ) -> VerifiedToken:
        self.calls += 1
        return await self.inner.avalidate(token, scopes=scopes, confirmation=confirmation)


def _bearer(world: World, name: str = "valid") -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[name]}"}


def test_the_decorator_reuses_the_middlewares_verdict(world: World) -> None:
    counting = Counting(world)
    guard = Guard(counting, realm=REALM)  # the test client's peer is 127.0.0.1
    with override_settings(
        ROOT_URLCONF=views(world), TOKENSMITH_GUARD=guard, MIDDLEWARE=[MIDDLEWARE]
    ):
        response = Client().get(PATH, headers=_bearer(world))
        assert response.status_code == 200 and counting.calls == 1
        response = Client().get(PATH, headers=_bearer(world, "other_scope"))
        assert response.status_code == 403 and counting.calls == 2
        assert 'scope="orders:read"' in response.headers["WWW-Authenticate"]
        response = Client().get(PATH)  # no credentials: the middleware said so
        assert response.status_code == 401 and counting.calls == 2
        assert response.headers["WWW-Authenticate"] == f'Bearer realm="{REALM}", scope="{SCOPE}"'


def test_the_async_face_in_an_async_middleware_chain(world: World) -> None:
    """Django's ASGI handler (the real one) with the middleware and an async view."""
    counting = Counting(world)
    guard = Guard(counting, realm=REALM)

    async def scenario() -> list[tuple[int, str | None]]:
        client = AsyncClient()
        seen = []
        for headers in ({}, _bearer(world), _bearer(world, "other_scope"), _bearer(world, "revoked"),
                        _bearer(world, "outage")):  # fmt: skip
            response = await client.get("/async", headers=headers)
            seen.append((response.status_code, response.headers.get("WWW-Authenticate")))
        public = await client.get("/public", headers=_bearer(world))
        seen.append((public.status_code, json.loads(public.content)["token"]))
        return seen

    with override_settings(
        ROOT_URLCONF=views(world), TOKENSMITH_GUARD=guard, MIDDLEWARE=[MIDDLEWARE]
    ):
        seen = asyncio.run(scenario())
    assert [status for status, _ in seen] == [401, 200, 403, 401, 503, 200]
    assert seen[0][1] == f'Bearer realm="{REALM}", scope="{SCOPE}"'
    assert seen[3][1] is not None and 'error="invalid_token"' in seen[3][1]
    assert seen[5][1] == "user-1"
    assert counting.calls == 5  # the view reused the middleware's verdicts


def test_an_async_view_without_the_middleware(world: World) -> None:
    counting = Counting(world)
    with override_settings(
        ROOT_URLCONF=views(world), TOKENSMITH_GUARD=Guard(counting, realm=REALM)
    ):
        response = asyncio.run(AsyncClient().get("/async", headers=_bearer(world)))
    assert response.status_code == 200 and counting.calls == 1


def test_protected_views_need_no_csrf_token(world: World) -> None:
    """A bearer token is never sent by the browser on its own: Django's CSRF check is moot."""
    client = Client(enforce_csrf_checks=True)
    with override_settings(
        ROOT_URLCONF=views(world),
        TOKENSMITH_GUARD=Guard(world.validator, realm=REALM, scopes=[SCOPE]),
        MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
    ):
        assert client.post(PATH, headers=_bearer(world)).status_code == 200
        assert client.post("/public").status_code == 403  # Django's CSRF still guards the rest


def test_a_token_in_the_url_stays_out_of_djangos_request_log(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Django logs each 4xx with the request, whose repr is the URL: the token with it."""
    token = world.tokens["valid"]
    with override_settings(ROOT_URLCONF=views(world), TOKENSMITH_GUARD=scopeless(world)):
        with caplog.at_level("INFO", logger="django.request"):
            for middleware in ([], [MIDDLEWARE]):
                with override_settings(MIDDLEWARE=middleware):
                    response = Client().get(f"{PATH}?access_token={token}")
                    assert response.status_code == 400
            assert Client().get(PATH).status_code == 401  # other refusals are logged as usual
    logged = [f"{r.getMessage()} {vars(r)}" for r in caplog.records]
    assert logged and not any(token in line for line in logged)
    assert all("Unauthorized" in line for line in logged)


# --- settings ------------------------------------------------------------------------------

GUARD = Guard(object(), realm="from-settings")  # type: ignore[arg-type]
MADE: list[Guard] = []


def make() -> Guard:
    MADE.append(Guard(object(), realm="made"))  # type: ignore[arg-type]
    return MADE[-1]


def not_a_guard() -> object:
    return object()


def test_the_setting_names_a_guard_or_a_factory_imported_on_first_use() -> None:
    with override_settings(TOKENSMITH_GUARD="tests.integrations.test_django.GUARD"):
        assert configured_guard() is GUARD
    with override_settings(TOKENSMITH_GUARD="tests.integrations.test_django.make"):
        first = configured_guard()
        assert configured_guard() is first and [first] == MADE  # made once, then kept
    with override_settings(TOKENSMITH_GUARD=GUARD):
        assert configured_guard() is GUARD


@pytest.mark.parametrize(
    "value",
    [
        None,
        "tests.integrations.test_django.nowhere",
        "no_such_module_anywhere.guard",
        "tests.integrations.test_django.not_a_guard",
        "tests.integrations.test_django.MIDDLEWARE",
        42,
    ],
)
def test_a_wrong_setting_is_a_configuration_error_naming_it(value: object) -> None:
    with override_settings(TOKENSMITH_GUARD=value), pytest.raises(ConfigurationError) as info:
        configured_guard()
    assert type(info.value) is ConfigurationError
    assert "TOKENSMITH_GUARD" in str(info.value)


def test_a_missing_setting_fails_the_request_loudly(world: World) -> None:
    with override_settings(ROOT_URLCONF=views(world)):
        from django.conf import settings

        del settings.TOKENSMITH_GUARD
        with pytest.raises(ConfigurationError, match="TOKENSMITH_GUARD is not set"):
            Client().get(PATH, headers=_bearer(world))


def test_scopes_are_checked_when_the_view_is_declared() -> None:
    with pytest.raises(ConfigurationError):
        require_token(scopes=["orders read"])


class _Broken:
    def validate(self, token: str, *, scopes: Any = (), confirmation: Any = None) -> Any:
        raise ConfigurationError("misconfigured")

    async def avalidate(
        self, token: str, *, scopes: Any = (), confirmation: Any = None
    ) -> Any:  # pragma: no cover
        raise ConfigurationError("misconfigured")


def test_a_fault_is_not_dressed_as_a_refusal(world: World) -> None:
    """Django must see a ConfigurationError (logged, its own 500), not a quiet JSON answer."""
    with override_settings(ROOT_URLCONF=views(world), TOKENSMITH_GUARD=Guard(_Broken())):
        with pytest.raises(ConfigurationError, match="misconfigured"):
            Client().get(PATH, headers=_bearer(world))


def test_request_facts_come_from_what_the_server_gave() -> None:
    """The WSGI environ (Django's own ``request.scheme`` would believe
    ``SECURE_PROXY_SSL_HEADER`` from anyone); a bare HttpRequest has no peer: refused."""
    bare = request_facts(HttpRequest())
    assert bare.peer is None and bare.scheme == "http"
    with override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        from django.test import RequestFactory

        request = RequestFactory().get("/", headers={"X-Forwarded-Proto": "https"})
        assert request.scheme == "https"  # Django believes the client
        assert request_facts(request).scheme == "http"  # tokensmith asks TransportSecurity
    assert TokenMiddleware.async_capable and TokenMiddleware.sync_capable
    assert adapter.SETTING == "TOKENSMITH_GUARD" and adapter.TOKEN_ATTRIBUTE == "token"
