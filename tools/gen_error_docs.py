#!/usr/bin/env python3
"""Regenerate docs/errors.md from tokensmith.errors (a test checks it is up to date).

.venv/bin/python tools/gen_error_docs.py
"""

from __future__ import annotations

import inspect
from pathlib import Path

from tokensmith import errors

DOC = Path(__file__).resolve().parent.parent / "docs" / "errors.md"

HEAD = """# Error codes

Every exception tokensmith raises on purpose derives from `TokensmithError` and has a stable
machine `code`. Refusals of a token derive from `TokenError` and also carry the RFC 6750
`error` for the `WWW-Authenticate` header and the HTTP `status_code` to answer with.
`BackendUnavailable` means tokensmith could not decide (answer 503, never 401). The codes are
part of the public API: they do not change between minor versions.

A few refusals that are easy to confuse: a token without the `aud` the policy requires, or
with `"aud": null`, is `missing_claim`; a token whose `aud` is `[]` or names only other
services is `invalid_audience`. Any claim the policy requires that is `null` is
`missing_claim`; a registered claim of the wrong type (`null` included) that the policy does
not require is `invalid_claim`. A key source or revocation list that fails (even with a
`KeyError`) is `backend_unavailable`, never `unknown_key`.

This page is generated from `tokensmith.errors` by `tools/gen_error_docs.py`.
"""


def family(cls: type[errors.TokensmithError]) -> str:
    for base in (
        errors.TokenError,
        errors.BackendUnavailable,
        errors.ConfigurationError,
        errors.KeyMaterialError,
    ):
        if issubclass(cls, base):
            return base.__name__
    return "TokensmithError"


def render() -> str:
    classes = [getattr(errors, name) for name in errors.__all__]
    classes = [c for c in classes if inspect.isclass(c) and issubclass(c, errors.TokensmithError)]
    sections: dict[str, list[type[errors.TokensmithError]]] = {}
    for cls in classes:
        sections.setdefault(family(cls), []).append(cls)
    out = [HEAD]
    titles = {
        "TokenError": "Refusals (`TokenError`)",
        "BackendUnavailable": "Backend outages (`BackendUnavailable`)",
        "ConfigurationError": "Configuration (`ConfigurationError`)",
        "KeyMaterialError": "Keys (`KeyMaterialError`)",
        "TokensmithError": "Other",
    }
    for fam, title in titles.items():
        members = sorted(sections.get(fam, []), key=lambda c: c.code)
        if not members:
            continue
        out.append(f"\n## {title}\n")
        if fam == "TokenError":
            out.append("| code | exception | RFC 6750 error | HTTP | meaning |")
            out.append("|---|---|---|---|---|")
        else:
            out.append("| code | exception | parent | meaning |")
            out.append("|---|---|---|---|")
        for cls in members:
            doc = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
            parent = cls.__mro__[1].__name__
            if fam == "TokenError":
                error = getattr(cls, "error", "")
                status = getattr(cls, "status_code", "")
                out.append(f"| `{cls.code}` | `{cls.__name__}` | `{error}` | {status} | {doc} |")
            else:
                out.append(f"| `{cls.code}` | `{cls.__name__}` | `{parent}` | {doc} |")
    return "\n".join(out) + "\n"


def main() -> None:
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
