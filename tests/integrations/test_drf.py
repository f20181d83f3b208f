"""The Django REST framework adapter: DRF views in Django's WSGI handler served by werkzeug on
127.0.0.1, driven through the shared scenario table (scopes from the view, from a permission
class, from the guard; another authentication class listed first), then what DRF alone gets
wrong and this adapter fixes, and the import cycle the review hit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integrations.django_settings import configure, urlconf

configure()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402 - after configure()
from django.test import override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.authentication import SessionAuthentication  # noqa: E402
from rest_framework.permissions import IsAdminUser, IsAuthenticated  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework.views import APIView  # noqa: E402
from rest_framework.views import exception_handler as drf_default_handler  # noqa: E402

from tests.integrations.scenarios import (  # noqa: E402
    METADATA_URL,
    PATH,
    REALM,
    SCENARIOS,
    SCOPE,
    World,
    check,
    make_guard,
    request,
    run_table,
)
from tests.support.werkzeug_server import serving  # noqa: E402
from tokensmith import ConfigurationError, VerifiedToken  # noqa: E402
from tokensmith.integrations.drf import (  # noqa: E402
    BearerAuthentication,
    HasScopes,
    TokenUser,
    require_scopes,
)
from tokensmith.web import Guard  # noqa: E402

MIDDLEWARE = "tokensmith.integrations.django.TokenMiddleware"


def scopeless(world: World) -> Guard:
    return Guard(world.validator, realm=REALM, transport=world.transport(),
                 resource_metadata=METADATA_URL)  # fmt: skip


class Subject(APIView):
    def get(self, request: Request) -> Response:
        assert isinstance(request.user, TokenUser) and request.user.is_authenticated
        return Response({"sub": request.auth.subject})


def views(world: World) -> Any:
    class Orders(Subject):  # the settings' defaults: BearerAuthentication + HasScopes
        required_scopes = [SCOPE]

    class Strict(BearerAuthentication):
        guard = make_guard(world)  # this class's own guard, with the scope on it

    class GuardScopes(Subject):
        authentication_classes = [Strict]
        permission_classes = [IsAuthenticated]

    class Required(Subject):
        permission_classes = [require_scopes(SCOPE)]

    class SessionFirst(Orders):  # DRF alone would answer 403 without a challenge
        authentication_classes = [SessionAuthentication, BearerAuthentication]

    class Either(Subject):  # composes: one of the two is enough
        permission_classes = [require_scopes("orders:admin") | require_scopes(SCOPE)]

    class DefaultHandler(Orders):
        def get_exception_handler(self) -> Any:
            return drf_default_handler

    class AdminOnly(Subject):
        permission_classes = [IsAdminUser]

    class Unscoped(Subject):
        pass  # HasScopes by default, and no required_scopes: a programming error

    class SessionOnly(Subject):  # no token involved: DRF answers as it always has
        authentication_classes = [SessionAuthentication]
        permission_classes = [IsAuthenticated]

    return urlconf(
        path(PATH.lstrip("/"), Orders.as_view()),
        path("guard-scopes", GuardScopes.as_view()),
        path("required", Required.as_view()),
        path("session-first", SessionFirst.as_view()),
        path("either", Either.as_view()),
        path("default-handler", DefaultHandler.as_view()),
        path("admin-only", AdminOnly.as_view()),
        path("unscoped", Unscoped.as_view()),
        path("session-only", SessionOnly.as_view()),
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
            yield {"drf": plain_url, "drf+middleware": layered_url}


@pytest.mark.parametrize("setup", ["drf", "drf+middleware"])
@pytest.mark.parametrize("route", [PATH, "/guard-scopes", "/required", "/session-first", "/either"])
def test_the_table(servers: dict[str, str], world: World, setup: str, route: str) -> None:
    assert len(run_table(servers[setup], world, path=route)) >= 14


def test_without_the_exception_handler_only_the_403_lacks_its_challenge(
    servers: dict[str, str], world: World
) -> None:
    """TokenRefused sets what DRF's own handler reads: 401, 400 and 503 are right already.
    (Not sent here: a token in the URL, which DRF's handler lets Django log with the URL.)"""
    for scenario in SCENARIOS:
        if scenario.name == "token in the query":
            continue
        status, headers, body = request(
            servers["drf"], "/default-handler", scenario.headers(world), scenario.query(world)
        )
        if scenario.name == "missing scope":
            assert status == 403 and "www-authenticate" not in headers  # DRF's gap
            continue
        check(scenario, world, status, headers, body)


def test_a_403_from_another_permission_carries_the_challenge(
    servers: dict[str, str], world: World
) -> None:
    headers = [("Authorization", f"Bearer {world.tokens['valid']}"), ("X-Forwarded-Proto", "https")]
    status, received, body = request(servers["drf"], "/admin-only", headers)
    assert status == 403
    assert received["www-authenticate"] == [
        f'Bearer realm="{REALM}", error="insufficient_scope", '
        'error_description="The token is valid but lacks a scope the request requires (HTTP 403).", '
        f'resource_metadata="{METADATA_URL}"'
    ]
    assert json.loads(body)["error"] == "insufficient_scope"


def test_authenticate_header_is_the_bare_challenge(world: World) -> None:
    with override_settings(TOKENSMITH_GUARD=scopeless(world)):
        assert BearerAuthentication().authenticate_header(None) == (  # type: ignore[arg-type]
            f'Bearer realm="{REALM}", resource_metadata="{METADATA_URL}"'
        )


def test_the_user_is_the_tokens_subject(world: World) -> None:
    token = world.validator.validate(world.tokens["valid"])
    user = TokenUser(token)
    assert (user.pk, user.username, user.get_username(), str(user)) == ("user-1",) * 4
    assert user.is_authenticated and not user.is_anonymous and not user.is_staff
    assert repr(user) == "TokenUser('user-1')" and world.tokens["valid"] not in repr(user)
    assert not user.has_perm("shop.add_order") and not user.has_perms(["shop.add_order"])
    assert not user.has_module_perms("shop")
    assert user == TokenUser(token) and len({user, TokenUser(token)}) == 1 and user != "user-1"


def test_the_middlewares_verdict_is_reused(world: World) -> None:
    calls: list[str] = []

    class Counting:
        def validate(
            self, token: str, *, scopes: Any = (), confirmation: Any = None
        ) -> VerifiedToken:
            calls.append("validate")
            return world.validator.validate(token, scopes=scopes, confirmation=confirmation)

        async def avalidate(
            self, token: str, *, scopes: Any = (), confirmation: Any = None
        ) -> VerifiedToken:
            raise AssertionError("sync only")  # pragma: no cover

    guard = Guard(Counting(), realm=REALM)
    bearer = {"Authorization": f"Bearer {world.tokens['valid']}"}
    with override_settings(
        ROOT_URLCONF=views(world), TOKENSMITH_GUARD=guard, MIDDLEWARE=[MIDDLEWARE]
    ):
        assert APIClient().get(PATH, headers=bearer).status_code == 200
    assert calls == ["validate"]


def test_scope_mistakes_are_configuration_errors(world: World) -> None:
    with pytest.raises(ConfigurationError):
        require_scopes()
    with pytest.raises(ConfigurationError):
        require_scopes("orders read")
    assert require_scopes(SCOPE).scopes == (SCOPE,) and issubclass(require_scopes(SCOPE), HasScopes)
    bearer = {"Authorization": f"Bearer {world.tokens['valid']}"}
    local = Guard(world.validator, realm=REALM)  # the test client's peer is 127.0.0.1
    with override_settings(ROOT_URLCONF=views(world), TOKENSMITH_GUARD=local):
        with pytest.raises(ConfigurationError, match="required_scopes"):
            APIClient().get("/unscoped", headers=bearer)


def test_a_token_in_the_url_stays_out_of_djangos_request_log(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    token = world.tokens["valid"]
    with override_settings(ROOT_URLCONF=views(world), TOKENSMITH_GUARD=scopeless(world)):
        with caplog.at_level("INFO", logger="django.request"):
            assert APIClient().get(f"{PATH}?access_token={token}").status_code == 400
            assert APIClient().get(PATH).status_code == 401
    logged = [f"{r.getMessage()} {vars(r)}" for r in caplog.records]
    assert logged and not any(token in line for line in logged)


def test_what_is_not_about_tokens_is_left_to_drf(world: World) -> None:
    from rest_framework.exceptions import NotFound

    from tokensmith.integrations.drf import exception_handler

    response = exception_handler(NotFound(), {})
    assert response is not None and response.status_code == 404
    with override_settings(ROOT_URLCONF=views(world), TOKENSMITH_GUARD=scopeless(world)):
        response = APIClient().get("/session-only")
    assert response.status_code == 403 and "WWW-Authenticate" not in response.headers


def test_the_handler_called_without_a_view_still_sends_the_challenge(world: World) -> None:
    from django.http import HttpRequest
    from rest_framework.exceptions import NotAuthenticated

    from tokensmith.integrations.drf import exception_handler

    drf_request = Request(HttpRequest(), authenticators=[BearerAuthentication()])
    with override_settings(TOKENSMITH_GUARD=scopeless(world)):
        response = exception_handler(NotAuthenticated(), {"request": drf_request})
    assert response is not None and response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer realm="{REALM}", resource_metadata="{METADATA_URL}"'
    )


# --- the import cycle --------------------------------------------------------------------------

_PROJECT = {
    "cycle_settings.py": """
        SECRET_KEY = "x" * 50
        ALLOWED_HOSTS = ["testserver"]
        INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"]
        ROOT_URLCONF = "cycle_urls"
        TOKENSMITH_GUARD = "cycle_security.guard"
        REST_FRAMEWORK = {
            "DEFAULT_AUTHENTICATION_CLASSES": ["cycle_auth.ProjectAuthentication"],
            "DEFAULT_PERMISSION_CLASSES": ["tokensmith.integrations.drf.HasScopes"],
            "EXCEPTION_HANDLER": "tokensmith.integrations.drf.exception_handler",
        }
    """,
    # the project's own class, as users write them: a subclass in its own module
    "cycle_auth.py": """
        from tokensmith.integrations.drf import BearerAuthentication

        class ProjectAuthentication(BearerAuthentication):
            pass
    """,
    # the guard's module imports the views (a shared base view, a helper...)
    "cycle_security.py": """
        import cycle_views
        from tokensmith import KeySet, MemoryKeyStore, Validator
        from tokensmith.web import Guard

        guard = Guard(Validator(MemoryKeyStore(KeySet.generate("ES256")), issuer="https://i",
                                audience="a"), realm="cycle")
    """,
    "cycle_views.py": """
        from rest_framework.response import Response
        from rest_framework.views import APIView

        class Orders(APIView):
            required_scopes = ["orders:read"]

            def get(self, request):
                return Response({"sub": request.auth.subject})
    """,
    "cycle_urls.py": """
        from django.urls import path
        import cycle_views

        urlpatterns = [path("orders", cycle_views.Orders.as_view())]
    """,
    "cycle_main.py": """
        import sys
        import django
        django.setup()
        import rest_framework.views  # DRF's views first: they read the settings as they load
        from django.test import Client
        response = Client().get("/orders")
        print(response.status_code, response.headers["WWW-Authenticate"])
        import tokensmith.integrations.drf
    """,
}


def test_no_import_cycle_between_the_settings_the_classes_and_the_views(tmp_path: Path) -> None:
    for name, text in _PROJECT.items():
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "cycle_main.py"],
        cwd=tmp_path,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "cycle_settings"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[0] == '401 Bearer realm="cycle", scope="orders:read"'


def test_importing_the_adapter_does_not_import_drfs_views() -> None:
    code = (
        "import sys, django; from django.conf import settings; settings.configure(); "
        "django.setup(); import tokensmith.integrations.drf; "
        "print(sorted(m for m in sys.modules if m.startswith('rest_framework.views')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
