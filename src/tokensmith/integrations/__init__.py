"""Framework adapters: thin layers over :class:`tokensmith.web.Guard`, one module per framework.

* :mod:`tokensmith.integrations.flask` — a Flask extension and its ``require_token`` decorator;
* :mod:`tokensmith.integrations.django` — Django middleware and a view decorator;
* :mod:`tokensmith.integrations.drf` — Django REST framework authentication and permission
  classes, and an exception handler that puts the challenge on 401 and 403.

Each module imports its framework only when it is imported itself: ``import tokensmith`` and
``import tokensmith.integrations`` import no framework, and none is a dependency of tokensmith
(install the extra: ``pip install 'tokensmith[flask]'``...).
"""
