"""The review server: a small Starlette app where one physician, or a panel of raters each with a link of their
own, labels a run's chosen units (labels/review.py, labels/panel.py).

Every request needs a token (in the URL the command prints); the page loads nothing from elsewhere (a
Content-Security-Policy forbids it), renders every text as text, and never carries the judge's verdicts: with
`reveal`, a verdict comes back only in the answer to a label already saved. Loopback by default; another address
needs TLS (certfile and keyfile) or an explicit `behind_proxy`.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from ..labels import review
from ..errors import MedjudgeError


RATE_LIMIT = 240  # label writes a rater may make in RATE_WINDOW seconds (a key held down, a script gone wrong)
RATE_WINDOW = 60.0


def build_app(db_path: str, run_id: str, rater: str, sample: str, token: str, reveal: bool = False):
    """One rater, every unit of the sample, the token given (not stored): `medjudge review --rater`."""
    return build_panel_app(db_path, run_id, sample, reveal, single=(rater, token))


def build_panel_app(db_path: str, run_id: str, sample: str, reveal: bool = False, base_path: str = "",
                    single: tuple[str, str] | None = None):
    """The review server: each rater's page shows that rater's assigned units and labels only, the rater taken
    from the link's token (labels/panel.py); the coordinator's link shows everyone's progress and the agreement so
    far. Every POST needs a valid token, a matching Origin, and stays under the rate limit."""
    import time
    from collections import deque

    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    from ..labels import panel
    from ..store import Store
    from ..stored import StoredRun

    store = Store(db_path)
    run = StoredRun(store, run_id)
    chosen = store.sample(run.id, sample)
    if not chosen:
        raise MedjudgeError(f"run {run.id} has no sample {sample!r}")
    units = review.unit_objects(run, chosen)
    # with reveal, the verdicts stay on the server: each is sent only in the reply to a saved label
    verdicts = {k: run.verdicts.panel.get(k) for k in chosen} if reveal else {}
    page_units = review.units_for_page(run, chosen)
    env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["j2", "html"]))
    template = env.get_template("review.html.j2")
    state = {"store": None}
    writes: dict = {}

    def db():  # the connection of the event loop's thread, opened on the first request
        if state["store"] is None:
            state["store"] = Store(db_path)
        return state["store"]

    def here():  # the run read through that connection (its answers are read back when labels are joined)
        if state.get("run") is None:
            state["run"] = StoredRun(db(), run_id)
        return state["run"]

    def who(request) -> tuple[str, str] | None:
        given = request.query_params.get("token", "")
        if single is not None:
            return (single[0], "rater") if secrets.compare_digest(given, single[1]) else None
        return panel.holder(db(), run.id, sample, given)

    # who labels what is fixed once the panel is made: read once, not at every request (tokens are read at every
    # request, so that a revoked link stops at once)
    assignments = {single[0]: dict.fromkeys(chosen, False)} if single is not None else store.assignments(run.id, sample)

    def assigned(rater) -> dict:
        return assignments.get(rater, {})

    def same_origin(request) -> bool:
        origin = request.headers.get("origin")
        host = request.headers.get("x-forwarded-host") or request.headers.get("host")
        return bool(origin and host) and origin.split("://", 1)[-1] == host

    def headers(nonce=None):
        script = f"'nonce-{nonce}'" if nonce else "'none'"
        return {"Content-Security-Policy": f"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; "
                                           "connect-src 'self'; img-src 'none'; form-action 'none'; base-uri 'none'; "
                                           "frame-ancestors 'none'",
                "Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}

    def forbidden(json=False):
        if json:
            return JSONResponse({"error": "forbidden"}, 403, headers=headers())
        return Response("forbidden: open the address `medjudge review` printed", 403, headers=headers())

    async def page(request):
        found = who(request)
        if found is None or found[1] != "rater":
            return forbidden()
        rater = found[0]
        mine = assigned(rater)
        nonce = secrets.token_urlsafe(16)
        labels = {f"{a}\t{u}": v for (a, u), v in review.rater_labels(db(), here(), rater).items() if (a, u) in mine}
        html = template.render(rater=rater, run=run.id, rubric=f"{run.rubric.id}@{run.rubric.version}",
                               title=run.rubric.title, sample=sample,
                               units=[u for u in page_units if (u["answer_id"], u["unit_id"]) in mine],
                               labels=labels, reveal=reveal, nonce=nonce)
        return HTMLResponse(html, headers=headers(nonce))

    async def label(request):
        found = who(request)
        if found is None or found[1] != "rater" or not same_origin(request):
            return forbidden(json=True)
        rater = found[0]
        recent = writes.setdefault(rater, deque())
        now = time.monotonic()
        while recent and now - recent[0] > RATE_WINDOW:
            recent.popleft()
        if len(recent) >= RATE_LIMIT:
            return JSONResponse({"error": f"too many labels: at most {RATE_LIMIT} a minute"}, 429, headers=headers())
        recent.append(now)
        try:
            body = await request.json()
            key = (str(body["answer_id"]), str(body["unit_id"]))
            mine = assigned(rater)
            if key not in mine:
                return JSONResponse({"error": f"{key[0]} / {key[1]} is not assigned to {rater}"}, 403, headers=headers())
            value = None if body.get("cannot") else body["value"]
            row = review.save_label(db(), here(), sample, chosen, units, rater, *key, value,
                                    str(body.get("rationale") or ""), [str(c) for c in body.get("categories") or []],
                                    overlap=mine[key] if single is None else None)
        except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
            return JSONResponse({"error": f"bad request: {exc}"}, 400, headers=headers())
        except MedjudgeError as exc:
            return JSONResponse({"error": str(exc)}, 400, headers=headers())
        out = {"saved": True, "value": row["value"], "labelled_at": row["imported"]}
        if reveal:
            agg = verdicts.get((row["item_id"], row["unit_id"]))
            unit = units[(row["item_id"], row["unit_id"])]
            out["judge"] = ("unscored" if agg is None or agg.value is None
                            else run.rubric.value_label(unit, agg.value))
        return JSONResponse(out, headers=headers())

    async def coordinator(request):
        found = who(request)
        if found is None or found[1] != "coordinator":
            return forbidden()
        report = panel.status(db(), here(), sample)
        page = env.get_template("coordinator.html.j2").render(report=report, title=run.rubric.title)
        return HTMLResponse(page, headers=headers())

    base = "/" + base_path.strip("/") if base_path.strip("/") else ""
    return Starlette(routes=[Route(f"{base}/", page), Route(f"{base}/label", label, methods=["POST"]),
                             Route(f"{base}/coordinator", coordinator)])


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_binding(host: str, certfile=None, keyfile=None, behind_proxy: bool = False):
    """Anything but loopback needs TLS or an explicit reverse proxy: said in one line."""
    if bool(certfile) != bool(keyfile):
        raise MedjudgeError("--certfile and --keyfile go together")
    if host not in LOOPBACK and not certfile and not behind_proxy:
        raise MedjudgeError(f"--host {host} would send the raters' tokens and labels in the clear: give --certfile and "
                            "--keyfile (TLS), or --behind-proxy when a reverse proxy terminates TLS in front of it")


def make_server(app, port: int = 0, host: str = "127.0.0.1", certfile=None, keyfile=None, behind_proxy=False):
    """A uvicorn server for the app and its socket (port 0: a free one); loopback unless check_binding allows."""
    import socket

    import uvicorn

    check_binding(host, certfile, keyfile, behind_proxy)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(app, log_level="warning", access_log=False, ssl_certfile=certfile, ssl_keyfile=keyfile,
                            proxy_headers=behind_proxy, forwarded_allow_ips="*" if behind_proxy else None)
    return uvicorn.Server(config), sock


def serve(app, port: int = 0, ready=None, **binding):
    """Serve until Ctrl-C; `ready(port)` is called once listening."""
    server, sock = make_server(app, port, **binding)
    if ready is not None:
        original = server.startup

        async def startup(sockets=None):
            await original(sockets=sockets)
            ready(sock.getsockname()[1])

        server.startup = startup
    server.run(sockets=[sock])
