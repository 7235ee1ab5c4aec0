"""`grade --batch` and `medjudge batch status|collect|cancel`: a run's calls through the providers' batch APIs.

A step: (1) bring every recorded batch up to date (recover one a crash left half-sent, collect the finished ones
into the calls table); (2) while any is in flight, wait; (3) otherwise run the panel with a DeferLLM: the cache
answers every collected call (parsed, unscored and re-asked exactly as online) and the calls still needed are
deferred; (4) submit those in new batches, recorded before and after each provider call. Re-asks of unreadable
replies, errored or expired requests (with a new attempt number) and a cascade's second stage are simply
what the next step defers. The run is complete when a step defers nothing.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict

from .errors import EXIT_INCOMPLETE, MedjudgeError
from .models.batch import TERMINAL, batch_client, chunks, custom_id, provider, request_line
from .models.cost import batch_prices, cost
from .models.llm import DeferLLM, Judge, Reply, prompt_hash
from .store import content_id, dumps, now

MAX_ATTEMPTS = 3  # a request whose batches failed it this many times is not sent again: the run stays incomplete
IN_FLIGHT = ("preparing", "uploaded", "sending", "submitted")


def grade(store, cfg=None, resume: str | None = None, listeners=(), on_poll=None, **execution):
    """The grading use case through the providers' batch APIs (grade --batch): one step (submit what the run still
    needs), or with cfg.wait every step until done; `on_poll(status)` after each step. Returns grading.GradeResult."""
    from .grading import GradeResult, judged, open_run

    run, cfg, rubric, items, judges, skipped = open_run(store, cfg, resume, execution)
    start = time.perf_counter()
    if cfg.wait:
        st, summary = wait(store, cfg, run, rubric, items, judges, listeners, on_poll=on_poll)
    else:
        st, summary = step(store, cfg, run, rubric, items, judges, listeners)
    code, reason, gates = judged(summary, cfg) if st["state"] in ("complete", "incomplete") else (
        EXIT_INCOMPLETE, "", [])
    if st["state"] in ("submitted", "waiting"):
        inflight = sum(n for k, n in st["requests"].items() if k not in ("collected", "unknown"))
        reason = (f"batch: {inflight} requests in flight for run {run['id']}; `medjudge batch status {run['id']}`, "
                  f"`medjudge batch collect {run['id']} --wait` (or rerun this command)")
    if st.get("gave_up"):
        reason += f"; {st['gave_up']} requests failed in {MAX_ATTEMPTS} batches and were not sent again"
    return GradeResult(run["id"], st["state"], code, reason, st["summary"], time.perf_counter() - start,
                       skipped=list(skipped), db=str(store.path), batch=st, gates=gates)


def step(store, cfg, run, rubric, items, judges, listeners=()) -> tuple[dict, object | None]:
    """One step; returns the run's batch status (state: waiting | submitted | complete | incomplete) and the run's
    summary (summaries.Summary) when the step's panel pass finished it."""
    from .grading import execute

    run_io(sync(store, run["id"]))
    if any(b["state"] in IN_FLIGHT for b in store.batches(run["id"])):
        return status(store, run["id"], "waiting"), None
    if any(j.in_process for j in judges):
        raise MedjudgeError("an in-process judge has no batch API: grade it without --batch")
    for j in judges:
        provider(j)  # refuses a provider without a batch API before anything is sent
    store.start_run(run)  # running again while this step works (a wait loop steps many times)
    with Spool(store, run["id"]) as spool:
        summary = execute(store, cfg, run, rubric, items, judges, listeners, llm=DeferLLM(), deferred=spool).summary
        if not spool.count:
            return status(store, run["id"], summary.status if summary else "incomplete", summary), summary
        sent, gave_up = spool.submit()
    state = "submitted" if sent else "incomplete"
    out = status(store, run["id"], state, summary)
    out["gave_up"] = gave_up
    return out, summary


class Spool:
    """The deferred calls of a panel pass, written to a temporary file per judge as they come (memory stays flat
    however many calls a run needs), then sent in batches within the provider's limits."""

    def __init__(self, store, run_id: str):
        self.store, self.run_id = store, run_id
        self.attempts = store.batch_attempts(run_id)
        self.seen, self.files, self.judges = set(), {}, {}
        self.count = self.gave_up = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for f in self.files.values():
            f.close()

    def append(self, d: dict):
        key = d["key"]
        if key in self.seen:  # the same call asked by two tasks: sent once
            return
        self.seen.add(key)
        attempt = self.attempts.get(key, 0) + 1
        if attempt > MAX_ATTEMPTS:
            self.gave_up += 1
            return
        judge = d["judge"]
        if judge.name not in self.files:
            import tempfile

            self.files[judge.name] = tempfile.TemporaryFile("w+", encoding="utf-8")
            self.judges[judge.name] = judge
        cid = custom_id(key, attempt)
        rec = {"line": request_line(judge, cid, d["messages"], d["params"]),
               "request": {"run_id": self.run_id, "custom_id": cid, "key": key, "model": judge.model,
                           "phash": prompt_hash(d["messages"]), "attempt": attempt, "state": "queued"}}
        self.files[judge.name].write(json.dumps(rec, ensure_ascii=False) + "\n")
        self.count += 1

    def submit(self) -> tuple[int, int]:
        """Every spooled call in batches; (requests sent, requests given up after MAX_ATTEMPTS)."""
        sent = 0
        for name, f in self.files.items():
            judge = self.judges[name]
            f.seek(0)
            recs = (json.loads(line) for line in f)
            kind = provider(judge)
            for group in chunks(recs, kind, line_of=lambda r: r["line"]):
                lines = [r["line"] for r in group]
                local = content_id("k", f"{self.run_id}|{lines[0]['custom_id']}|{len(lines)}")
                row = {"id": local, "run_id": self.run_id, "provider": kind, "judge": dumps(judge.spec()),
                       "state": "preparing", "requests": len(lines), "created": now(), "detail": "{}"}
                self.store.save_batch(row, [dict(r["request"], batch_id=local) for r in group])
                run_io(send(self.store, row, judge, lines))
                sent += len(lines)
        return sent, self.gave_up


def run_io(coro):
    """Run the provider I/O of a step. LiteLLM keeps its HTTP clients between calls; one that outlives its event
    loop is closed later and reports 'Event loop is closed': harmless, so not printed."""
    def quiet(loop, context):
        exc = context.get("exception")
        if isinstance(exc, RuntimeError) and "Event loop is closed" in str(exc):
            return
        loop.default_exception_handler(context)

    with asyncio.Runner() as runner:
        runner.get_loop().set_exception_handler(quiet)
        return runner.run(coro)


async def send(store, row, judge: Judge, lines):
    client = batch_client(judge)

    def uploaded(file_id):
        store.save_batch(row | {"state": "uploaded", "input_file": file_id})
        row["input_file"] = file_id

    if client.kind == "anthropic":
        store.save_batch(row | {"state": "sending"})  # a crash now leaves it unknown: never sent again blindly
    got = await client.submit(lines, row["id"], on_file=uploaded)
    store.save_batch(row | {"state": "submitted", "provider_id": got["provider_id"]})


async def sync(store, run_id: str):
    """Recover half-sent batches, refresh the ones in flight, collect the finished ones."""
    for b in store.batches(run_id):
        judge = Judge.from_spec(b["judge"])
        if b["state"] == "preparing":  # nothing was sent: forget it; the next step defers its calls again
            store.forget_batch(b["id"])
            continue
        client = batch_client(judge)
        row = {k: v for k, v in b.items() if k not in ("judge", "detail")} | {"judge": dumps(b["judge"])}
        if b["state"] == "uploaded":  # the file is there; the batch may have been created before the crash
            pid = await client.find(b["id"]) or (await client.create(b["input_file"], b["id"]))["provider_id"]
            b["state"], b["provider_id"] = "submitted", pid
            row.update(state="submitted", provider_id=pid)  # every later write of this row keeps the found id
            store.save_batch(row)
        if b["state"] == "sending":
            store.save_batch(row | {"state": "unknown", "detail": dumps(
                {"error": "interrupted while sending to Anthropic: it may or may not exist there; its requests are "
                          "not sent again (check the provider's console)"})})
            continue
        if b["state"] != "submitted":
            continue
        st = await client.status(b["provider_id"])
        if st["state"] not in TERMINAL:
            store.save_batch(row | {"detail": dumps({"counts": st.get("counts")})})
            continue
        await collect(store, run_id, b, judge, client, st)
        store.save_batch(row | {"state": "collected", "output_file": st.get("output_file"),
                                "error_file": st.get("error_file"),
                                "detail": dumps({"counts": st.get("counts"), "provider_state": st["state"]})})


async def collect(store, run_id, b, judge, client, st):
    """Every answered request into the calls table (idempotent: a collect cut short is simply done again)."""
    requests = {cid: (key, model, phash) for cid, key, model, phash in store.batch_requests(b["id"])}
    prices = batch_prices(judge)
    done, failed, pending = [], {}, []
    async for cid, text, why, tokens_in, tokens_out in _aiter(client.results(b["provider_id"], st)):
        r = requests.get(cid)
        if r is None:
            continue
        if text is None:
            failed[cid] = why
            continue
        pending.append((run_id, *r, Reply(text, tokens_in, tokens_out, cost(prices, tokens_in, tokens_out), 0.0)))
        done.append(cid)
        if len(pending) >= 1000:  # written a thousand at a time: few commits, little held in memory
            store.save_calls(pending)
            pending = []
    store.save_calls(pending)
    for cid in requests:
        if cid not in done and cid not in failed:
            failed[cid] = f"no result ({st['state']})"
    store.finish_batch_requests(run_id, done, failed)


async def _aiter(gen):
    if hasattr(gen, "__aiter__"):
        async for x in gen:
            yield x
    else:
        for x in gen:
            yield x


def status(store, run_id: str, state: str, summary=None) -> dict:
    """The run's batches, requests per state and (when a step finished the run) its summary's JSON form."""
    batches = store.batches(run_id)
    counts = defaultdict(int)
    for b in batches:
        counts[b["state"]] += b["requests"]
    return {"run": run_id, "state": state, "batches": batches, "requests": dict(counts),
            "summary": summary.to_dict() if summary is not None else None}


def cancel(store, run_id: str) -> int:
    """Cancel the run's batches in flight at the provider; what they answered is still collected."""
    n = 0

    async def go():
        nonlocal n
        for b in store.batches(run_id):
            if b["state"] == "submitted":
                await batch_client(Judge.from_spec(b["judge"])).cancel(b["provider_id"])
                n += 1
        await sync(store, run_id)

    run_io(go())
    return n


def wait(store, cfg, run, rubric, items, judges, listeners=(), poll: float | None = None,
         on_poll=None) -> tuple[dict, object | None]:
    """Steps with backoff until a step submits nothing and nothing is in flight; (last status, summary)."""
    import os

    delay = poll if poll is not None else float(os.environ.get("MEDJUDGE_BATCH_POLL", "2"))
    while True:
        st, summary = step(store, cfg, run, rubric, items, judges, listeners)
        if on_poll:
            on_poll(st)
        if st["state"] in ("complete", "incomplete"):
            return st, summary
        time.sleep(delay)
        delay = min(60.0, delay * 1.5)
