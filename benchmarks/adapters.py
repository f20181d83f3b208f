"""What authentication costs per request inside a real web framework, side by side in one run.

    .venv/bin/python benchmarks/adapters.py [--rounds 21] [--repeat 5] [--markdown table.md]

For each framework and each algorithm (HS256, RS256, ES256) three apps serve the same route:
**no auth**, **tokensmith**'s adapter, and **PyJWT**: the hand-written dependency a typical
service has (parse ``Authorization: Bearer``, ``jwt.decode`` with the same checks: signature,
``alg``, ``exp``, ``iss``, ``aud``, then one required scope; 401/403 with a challenge). Each app
is driven in process, its ASGI/WSGI callable called directly (no network, no server), with a
realistic access token. Rounds are interleaved (benchmarks/peers.py's ``interleaved``): the
no-auth app is timed again after every contender, so the *added* cost of each is a paired
difference. The target: tokensmith's added cost <= the PyJWT dependency's.

The whole measurement is repeated ``--repeat`` times (every framework and algorithm once per
repetition, so a busy minute of a shared machine is spread over all of them): the tables show
the median of the repetitions, and the last column the range of the ratio across them, which
says how far one run of this machine can be trusted.

A framework is one function decorated with ``@framework("name")`` that returns its three
request runners; ``main`` measures every registered framework. Nothing here is asserted by the
test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

import jwt as pyjwt
from peers import interleaved

from tokensmith import Key, KeySet, MemoryKeyStore, Signer, Validator
from tokensmith.web import Guard

ISSUER = "https://auth.example.com"
AUDIENCE = "orders-api"
SCOPE = "orders:read"
SCOPES = [SCOPE, "orders:write", "profile", "email", "offline"]
ALGORITHMS = ["HS256", "RS256", "ES256"]
CONTENDERS = ("no auth", "tokensmith", "PyJWT")


@dataclass
class Setup:
    """One algorithm's key, token and verifiers, shared by every framework."""

    alg: str
    token: str
    guard: Guard  # tokensmith: what every adapter is given
    pyjwt_key: Any  # PyJWT: the verification key a hand-written dependency loads

    @classmethod
    def make(cls, alg: str) -> Setup:
        key = Key.generate(alg)
        store = MemoryKeyStore(KeySet([key]))
        token = Signer(store, issuer=ISSUER, ttl=3600).issue(
            "user-123", audience=AUDIENCE, scopes=SCOPES, claims={"tenant": "acme"}
        )
        validator = Validator(store, issuer=ISSUER, audience=AUDIENCE)
        jwk = key.to_jwk(private=key.is_symmetric)
        return cls(alg, token, Guard(validator, realm="orders"), pyjwt.PyJWK(jwk, alg).key)

    def pyjwt_claims(self, authorization: str | None) -> dict[str, Any] | int:
        """The hand-written check: the claims, or the HTTP status of the refusal."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return 401
        try:
            claims: dict[str, Any] = pyjwt.decode(
                token, self.pyjwt_key, algorithms=[self.alg], audience=AUDIENCE, issuer=ISSUER,
                options={"require": ["exp", "iss", "aud"]},
            )  # fmt: skip
        except pyjwt.InvalidTokenError:
            return 401
        if SCOPE not in str(claims.get("scope", "")).split():
            return 403
        return claims


Runner = Callable[[], int]  # serve one request, return its status
FRAMEWORKS: dict[str, Callable[[Setup], dict[str, Runner]]] = {}


def framework(
    name: str,
) -> Callable[[Callable[[Setup], dict[str, Runner]]], Callable[[Setup], dict[str, Runner]]]:
    """Register a framework: a function from a :class:`Setup` to ``{contender: runner}``."""

    def register(
        build: Callable[[Setup], dict[str, Runner]],
    ) -> Callable[[Setup], dict[str, Runner]]:
        FRAMEWORKS[name] = build
        return build

    return register


# --- FastAPI (ASGI) ----------------------------------------------------------------------------


def asgi_runner(app: Any, token: str) -> Runner:
    """One GET /orders through the ASGI callable, on one event loop kept for the whole run."""
    loop = asyncio.new_event_loop()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/orders", "raw_path": b"/orders", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
        "headers": [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {token}".encode())],
    }  # fmt: skip
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    def run() -> int:
        loop.run_until_complete(app(dict(scope), receive, send))
        return status.pop()

    return run


@framework("FastAPI")
def fastapi_apps(setup: Setup) -> dict[str, Runner]:
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

    from tokensmith.integrations.fastapi import TokenAuth

    plain = FastAPI()

    @plain.get("/orders")
    async def open_orders() -> dict[str, str]:
        return {"sub": "anonymous"}

    auth = TokenAuth(setup.guard)
    protected = FastAPI()
    auth.install(protected)
    reader = Depends(auth.require_token(scopes=[SCOPE]))

    @protected.get("/orders")
    async def orders(token: Any = reader) -> dict[str, str]:
        return {"sub": token.subject}

    bearer = HTTPBearer(auto_error=False)

    async def current_claims(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
    ) -> dict[str, Any]:
        header = None if credentials is None else f"{credentials.scheme} {credentials.credentials}"
        claims = setup.pyjwt_claims(header)
        if isinstance(claims, int):
            error = "insufficient_scope" if claims == 403 else "invalid_token"
            raise HTTPException(claims, headers={"WWW-Authenticate": f'Bearer error="{error}"'})
        return claims

    by_hand = FastAPI()

    @by_hand.get("/orders")
    async def hand_orders(claims: dict[str, Any] = Depends(current_claims)) -> dict[str, str]:  # noqa: B008
        return {"sub": claims["sub"]}

    return {
        name: asgi_runner(app, setup.token)
        for name, app in zip(CONTENDERS, (plain, protected, by_hand), strict=True)
    }


# --- Flask (WSGI) ------------------------------------------------------------------------------


def wsgi_runner(app: Any, token: str) -> Runner:
    """One GET /orders through the WSGI callable (the body read and closed, as a server does)."""
    environ = {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/orders", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_AUTHORIZATION": f"Bearer {token}", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
        "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
    }  # fmt: skip
    status: list[int] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        status.append(int(line.split(" ", 1)[0]))

    def run() -> int:
        body = app(dict(environ), start_response)
        try:
            b"".join(body)
        finally:
            getattr(body, "close", lambda: None)()
        return status.pop()

    return run


@framework("Flask")
def flask_apps(setup: Setup) -> dict[str, Runner]:
    from flask import Flask, g, jsonify, request

    from tokensmith.integrations.flask import TokenAuth

    plain = Flask("plain")

    @plain.get("/orders")
    def open_orders() -> dict[str, str]:
        return {"sub": "anonymous"}

    protected = Flask("tokensmith")
    auth = TokenAuth(setup.guard, protected)

    @protected.get("/orders")
    @auth.require_token(scopes=[SCOPE])
    def orders() -> dict[str, str]:
        return {"sub": g.token.subject}

    def pyjwt_required(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            claims = setup.pyjwt_claims(request.headers.get("Authorization"))
            if isinstance(claims, int):
                error = "insufficient_scope" if claims == 403 else "invalid_token"
                challenge = {"WWW-Authenticate": f'Bearer error="{error}"'}
                return jsonify(error=error), claims, challenge
            g.claims = claims
            return view(*args, **kwargs)

        return checked

    by_hand = Flask("pyjwt")

    @by_hand.get("/orders")
    @pyjwt_required
    def hand_orders() -> dict[str, str]:
        return {"sub": g.claims["sub"]}

    return {
        name: wsgi_runner(app, setup.token)
        for name, app in zip(CONTENDERS, (plain, protected, by_hand), strict=True)
    }


# --- measuring ---------------------------------------------------------------------------------


Result = dict[str, tuple[float, float, float]]  # peers.interleaved's answer


def measure(build: Callable[[Setup], dict[str, Runner]], alg: str, rounds: int) -> Result:
    """One interleaved measurement of one framework's three apps on one algorithm."""
    runners = build(Setup.make(alg))
    for contender, run in runners.items():
        assert run() == 200, f"{alg} {contender}: not 200"
    calls = 200 if alg == "HS256" else 60
    return interleaved(dict(runners), rounds, calls)


def table(name: str, runs: dict[str, list[Result]]) -> str:
    """The median of the repetitions; the ratio's range across them in the last column."""
    lines = [
        f"### {name}",
        "",
        "| alg | no auth | tokensmith (added) | PyJWT by hand (added) "
        "| tokensmith added / PyJWT added | range over runs |",
        "|---|---|---|---|---|---|",
    ]
    for alg, results in runs.items():

        def med(contender: str, field: int, results: list[Result] = results) -> float:
            return statistics.median(r[contender][field] for r in results)

        ratios = [r["tokensmith"][2] / r["PyJWT"][2] for r in results]
        lines.append(
            f"| {alg} | {med('no auth', 0):.1f} "
            f"| {med('tokensmith', 0):.1f} (+{med('tokensmith', 2):.1f}) "
            f"| {med('PyJWT', 0):.1f} (+{med('PyJWT', 2):.1f}) "
            f"| {statistics.median(ratios):.2f}× | {min(ratios):.2f}–{max(ratios):.2f}× |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs of every measurement")
    parser.add_argument("--only", choices=sorted(FRAMEWORKS), help="one framework")
    parser.add_argument("--markdown", help="write the tables to this file too")
    args = parser.parse_args()
    chosen = {n: b for n, b in FRAMEWORKS.items() if args.only in (None, n)}
    runs: dict[str, dict[str, list[Result]]] = {n: {a: [] for a in ALGORITHMS} for n in chosen}
    for repetition in range(args.repeat):
        print(f"run {repetition + 1} of {args.repeat}...", file=sys.stderr)
        for name, build in chosen.items():
            for alg in ALGORITHMS:
                runs[name][alg].append(measure(build, alg, args.rounds))
    tables = [table(name, runs[name]) for name in chosen]
    header = (
        f"Measured {time.strftime('%Y-%m-%d')} on {sys.platform}, CPython "
        f"{sys.version.split()[0]}; {args.repeat} runs of {args.rounds} interleaved rounds each, "
        "µs per request, the median of the runs (added: the median paired difference to the "
        "no-auth app; range: the ratio's lowest and highest run)."
    )
    text = "\n\n".join([header, *tables]) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as out:
            out.write(text)


if __name__ == "__main__":
    main()
