"""The review page: a small Starlette app on 127.0.0.1 where one physician labels a run's chosen units.

Every request needs the session's token (in the URL the command prints); the page loads nothing from
elsewhere (a Content-Security-Policy forbids it), renders every text as text, and never carries the judge's
verdicts: with `reveal`, a verdict comes back only in the answer to a label already saved.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from ..labels import review
from ..errors import MedjudgeError


def build_app(db_path: str, run_id: str, rater: str, sample: str, token: str, reveal: bool = False):
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

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

    def db():  # the connection of the event loop's thread, opened on the first request
        if state["store"] is None:
            state["store"] = Store(db_path)
        return state["store"]

    def here():  # the run read through that connection (its answers are read back when labels are joined)
        if state.get("run") is None:
            state["run"] = StoredRun(db(), run_id)
        return state["run"]

    def allowed(request) -> bool:
        return secrets.compare_digest(request.query_params.get("token", ""), token)

    def headers(nonce=None):
        script = f"'nonce-{nonce}'" if nonce else "'none'"
        return {"Content-Security-Policy": f"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; "
                                           "connect-src 'self'; img-src 'none'; form-action 'none'; base-uri 'none'; "
                                           "frame-ancestors 'none'",
                "Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}

    async def page(request):
        if not allowed(request):
            return Response("forbidden: open the address `medjudge review` printed", 403, headers=headers())
        nonce = secrets.token_urlsafe(16)
        labels = {f"{a}\t{u}": v for (a, u), v in review.rater_labels(db(), here(), rater).items()}
        html = template.render(rater=rater, run=run.id, rubric=f"{run.rubric.id}@{run.rubric.version}",
                               title=run.rubric.title, sample=sample, units=page_units, labels=labels,
                               reveal=reveal, nonce=nonce, token=token)
        return HTMLResponse(html, headers=headers(nonce))

    async def label(request):
        if not allowed(request):
            return JSONResponse({"error": "forbidden"}, 403, headers=headers())
        try:
            body = await request.json()
            value = None if body.get("cannot") else body["value"]
            row = review.save_label(db(), here(), sample, chosen, units, rater, str(body["answer_id"]),
                                    str(body["unit_id"]), value, str(body.get("rationale") or ""),
                                    [str(c) for c in body.get("categories") or []])
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

    return Starlette(routes=[Route("/", page), Route("/label", label, methods=["POST"])])


def make_server(app, port: int = 0):
    """A uvicorn server for the app and its socket, bound to 127.0.0.1 only (port 0: a free one)."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)), sock


def serve(app, port: int = 0, ready=None):
    """Serve until Ctrl-C; `ready(port)` is called once listening."""
    server, sock = make_server(app, port)
    if ready is not None:
        original = server.startup

        async def startup(sockets=None):
            await original(sockets=sockets)
            ready(sock.getsockname()[1])

        server.startup = startup
    server.run(sockets=[sock])
