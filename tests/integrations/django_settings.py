"""One minimal Django project for the Django and DRF adapter tests, configured in code.

No database, no templates: the tests give each app its URLconf (``ROOT_URLCONF`` may be any
object with ``urlpatterns``) and its guard (``TOKENSMITH_GUARD``) with ``override_settings``.
"""

from __future__ import annotations

import types
from typing import Any

import django
from django.conf import settings

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tokensmith.integrations.drf.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tokensmith.integrations.drf.HasScopes"],
    "EXCEPTION_HANDLER": "tokensmith.integrations.drf.exception_handler",
}


def configure() -> None:
    """Configure Django once per process (every later call is a no-op)."""
    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="tests-only-" + "x" * 40,
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        ROOT_URLCONF=urlconf(),
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
        MIDDLEWARE=[],
        DATABASES={},
        USE_TZ=True,
        REST_FRAMEWORK=REST_FRAMEWORK,
        LOGGING_CONFIG=None,  # no console handler: refusals are not test output
    )
    django.setup()


def urlconf(*patterns: Any) -> types.ModuleType:
    """A URLconf for ``ROOT_URLCONF``: a module object (hashable, as Django's resolver cache
    needs) holding ``urlpatterns``."""
    module = types.ModuleType("tokensmith_test_urls")
    module.urlpatterns = list(patterns)  # type: ignore[attr-defined]
    return module
