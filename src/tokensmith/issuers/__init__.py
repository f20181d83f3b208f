"""Many issuers, safely: each token verified by its own issuer's keys and policy only.

* :mod:`~tokensmith.issuers.router` — :class:`MultiIssuerValidator`, which routes a token on
  its unverified ``iss`` to a :class:`~tokensmith.Validator` pinned to that issuer (static
  issuers, an allow-list and tenant templates set up on first use, bounded and budgeted), and
  :class:`IssuerOptions`, the per-issuer validator options it takes;
* :mod:`~tokensmith.issuers.template` — :class:`IssuerTemplate`, an issuer URL with one tenant
  placeholder whose value is held to a narrow alphabet and must match the token's tenant claim;
* :mod:`~tokensmith.issuers.discovered` — :class:`DiscoveredJWKS` /
  :class:`AsyncDiscoveredJWKS`: an issuer's remote key set found through OpenID Connect or
  RFC 8414 discovery at its first lookup, so building one (in ``keys_for``) does no I/O;
* :mod:`~tokensmith.issuers.unverified` — :func:`unverified_issuer`, the strict reader of the
  ``iss`` a token claims, for routing only.

Every name is imported on first use.
"""

import typing as _typing

from .._exports import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from .discovered import AsyncDiscoveredJWKS as AsyncDiscoveredJWKS
    from .discovered import DiscoveredJWKS as DiscoveredJWKS
    from .router import DEFAULT_MAX_ISSUERS as DEFAULT_MAX_ISSUERS
    from .router import DEFAULT_NEW_ISSUERS as DEFAULT_NEW_ISSUERS
    from .router import DEFAULT_NEW_ISSUERS_WINDOW as DEFAULT_NEW_ISSUERS_WINDOW
    from .router import DEFAULT_RETRY_FAILED_AFTER as DEFAULT_RETRY_FAILED_AFTER
    from .router import IssuerOptions as IssuerOptions
    from .router import MultiIssuerValidator as MultiIssuerValidator
    from .template import DEFAULT_TENANT_PATTERN as DEFAULT_TENANT_PATTERN
    from .template import MAX_TENANT_LENGTH as MAX_TENANT_LENGTH
    from .template import IssuerTemplate as IssuerTemplate
    from .template import TenantCheck as TenantCheck
    from .unverified import MAX_ISSUER_LENGTH as MAX_ISSUER_LENGTH
    from .unverified import unverified_issuer as unverified_issuer

_LAZY = {
    "AsyncDiscoveredJWKS": ".discovered",
    "DiscoveredJWKS": ".discovered",
    "DEFAULT_MAX_ISSUERS": ".router",
    "DEFAULT_NEW_ISSUERS": ".router",
    "DEFAULT_NEW_ISSUERS_WINDOW": ".router",
    "DEFAULT_RETRY_FAILED_AFTER": ".router",
    "IssuerOptions": ".router",
    "MultiIssuerValidator": ".router",
    "DEFAULT_TENANT_PATTERN": ".template",
    "MAX_TENANT_LENGTH": ".template",
    "IssuerTemplate": ".template",
    "TenantCheck": ".template",
    "MAX_ISSUER_LENGTH": ".unverified",
    "unverified_issuer": ".unverified",
}

__all__ = list(_LAZY)

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _LAZY, __all__)
