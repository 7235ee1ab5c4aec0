"""The fake LLM's batch endpoints (fakellm.FakeLLM serves them): OpenAI's files and batches API, Anthropic's
Message Batches API and its online messages endpoint, answered by the same responder as online calls.

A batch completes after `batch_polls` retrievals; `batch_fail` (custom ids) come back as errors; `batch_expire`
makes every batch expire unfinished. `submitted` counts each custom id received, so that tests can prove none
is submitted twice.
"""

from __future__ import annotations

import json
import time
from collections import Counter


class BatchEndpoints:
    def _batch_init(self):
        self.batch_polls = 1
        self.batch_fail: set = set()
        self.batch_expire = False
        self.submitted: Counter = Counter()
        self.files: dict = {}
        self.batches: dict = {}
        self.batch_log: list = []  # (verb, batch id) in order

    def add_batch_routes(self, app):
        app.router.add_post("/v1/files", self._file_upload)
        app.router.add_get("/v1/files/{id}/content", self._file_content)
        app.router.add_post("/v1/batches", self._batch_create)
        app.router.add_get("/v1/batches", self._batch_list)
        app.router.add_get("/v1/batches/{id}", self._batch_get)
        app.router.add_post("/v1/batches/{id}/cancel", self._batch_cancel)
        app.router.add_post("/v1/messages", self._anthropic_message)
        app.router.add_post("/v1/messages/batches", self._anthropic_create)
        app.router.add_get("/v1/messages/batches/{id}", self._anthropic_get)
        app.router.add_get("/v1/messages/batches/{id}/results", self._anthropic_results)
        app.router.add_post("/v1/messages/batches/{id}/cancel", self._batch_cancel)

    def _new_id(self, prefix):
        return f"{prefix}{len(self.files) + len(self.batches) + 1}"

    def _reply_text(self, body: dict) -> str:
        reply = self.responder(body)
        return reply if isinstance(reply, str) else json.dumps(reply)

    # -- OpenAI ------------------------------------------------------------------------------------
    async def _file_upload(self, request):
        from aiohttp import web

        form = await request.post()
        f = form["file"]
        data = f.file.read() if hasattr(f, "file") else bytes(f)
        fid = self._new_id("file-")
        self.files[fid] = data
        return web.json_response({"id": fid, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                                  "filename": getattr(f, "filename", "batch.jsonl"), "purpose": form.get("purpose", "batch"),
                                  "status": "processed"})

    async def _file_content(self, request):
        from aiohttp import web

        data = self.files.get(request.match_info["id"])
        if data is None:
            return web.json_response({"error": {"message": "no such file"}}, status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    def _openai_batch(self, b):
        return {"id": b["id"], "object": "batch", "endpoint": b["endpoint"], "input_file_id": b["input_file_id"],
                "completion_window": "24h", "status": b["status"], "created_at": b["created_at"],
                "output_file_id": b.get("output_file_id"), "error_file_id": b.get("error_file_id"),
                "metadata": b.get("metadata") or {}, "errors": None,
                "request_counts": {"total": b["total"], "completed": b.get("completed", 0), "failed": b.get("failed", 0)}}

    async def _batch_create(self, request):
        from aiohttp import web

        body = await request.json()
        data = self.files.get(body["input_file_id"])
        if data is None:
            return web.json_response({"error": {"message": "no such file"}}, status=404)
        lines = [json.loads(x) for x in data.decode().splitlines() if x.strip()]
        for line in lines:
            self.submitted[line["custom_id"]] += 1
        bid = self._new_id("batch_")
        self.batches[bid] = {"id": bid, "kind": "openai", "endpoint": body["endpoint"], "lines": lines,
                             "input_file_id": body["input_file_id"], "status": "validating", "polls": 0,
                             "created_at": int(time.time()), "metadata": body.get("metadata"), "total": len(lines)}
        self.batch_log.append(("create", bid))
        return web.json_response(self._openai_batch(self.batches[bid]))

    async def _batch_list(self, request):
        from aiohttp import web

        data = list(reversed([self._openai_batch(b) for b in self.batches.values() if b["kind"] == "openai"]))
        after, limit = request.query.get("after"), int(request.query.get("limit", 20))  # newest first, paged
        if after:
            ids = [b["id"] for b in data]
            data = data[ids.index(after) + 1:] if after in ids else []
        page = data[:limit]
        return web.json_response({"object": "list", "data": page, "has_more": len(data) > limit,
                                  "first_id": page[0]["id"] if page else None, "last_id": page[-1]["id"] if page else None})

    def _advance(self, b):
        """One more retrieval: the batch runs, then completes (or expires) with every line answered."""
        if b["status"] in ("completed", "expired", "cancelled", "ended", "canceled"):
            return
        b["polls"] += 1
        if b["polls"] < self.batch_polls:
            b["status"] = "in_progress"
            return
        if self.batch_expire is True or (callable(self.batch_expire) and self.batch_expire(b["id"])):
            b["status"] = "expired" if b["kind"] == "openai" else "ended"
            b["results"] = [(line["custom_id"], None, "expired") for line in b["lines"]]
        else:
            b["results"] = []
            for line in b["lines"]:
                cid = line["custom_id"]
                if (self.batch_fail(cid) if callable(self.batch_fail) else cid in self.batch_fail):
                    b["results"].append((cid, None, "server error"))
                    continue
                body = line["body"] if b["kind"] == "openai" else _anthropic_to_openai(line["params"])
                with self._lock:
                    self.count += 1
                b["results"].append((cid, self._reply_text(body), None))
            b["status"] = "completed" if b["kind"] == "openai" else "ended"
        b["completed"] = sum(r[2] is None for r in b["results"])
        b["failed"] = len(b["results"]) - b["completed"]
        if b["kind"] == "openai":
            out = [r for r in b["results"] if r[2] is None]
            err = [r for r in b["results"] if r[2] is not None]
            if out:
                fid = self._new_id("file-")
                self.files[fid] = "".join(json.dumps({
                    "id": f"resp-{cid}", "custom_id": cid, "error": None,
                    "response": {"status_code": 200, "request_id": f"req-{cid}", "body": _completion(text)}}) + "\n"
                    for cid, text, _ in out).encode()
                b["output_file_id"] = fid
            if err and b["status"] == "completed":
                fid = self._new_id("file-")
                self.files[fid] = "".join(json.dumps({
                    "id": f"resp-{cid}", "custom_id": cid, "error": None,
                    "response": {"status_code": 500, "request_id": f"req-{cid}", "body": {"error": {"message": why}}}})
                    + "\n" for cid, _, why in err).encode()
                b["error_file_id"] = fid

    async def _batch_get(self, request):
        from aiohttp import web

        b = self.batches.get(request.match_info["id"])
        if b is None:
            return web.json_response({"error": {"message": "no such batch"}}, status=404)
        self._advance(b)
        self.batch_log.append(("get", b["id"]))
        return web.json_response(self._openai_batch(b) if b["kind"] == "openai" else self._anthropic_batch(b, request))

    async def _batch_cancel(self, request):
        from aiohttp import web

        b = self.batches.get(request.match_info["id"])
        if b is None:
            return web.json_response({"error": {"message": "no such batch"}}, status=404)
        if b["status"] not in ("completed", "ended"):
            b["status"] = "cancelled" if b["kind"] == "openai" else "ended"
            b["results"] = [(line["custom_id"], None, "canceled") for line in b["lines"]]
            b["completed"], b["failed"] = 0, len(b["lines"])
        self.batch_log.append(("cancel", b["id"]))
        return web.json_response(self._openai_batch(b) if b["kind"] == "openai" else self._anthropic_batch(b, request))

    # -- Anthropic ---------------------------------------------------------------------------------
    def _anthropic_batch(self, b, request):
        ended = b["status"] == "ended"
        return {"id": b["id"], "type": "message_batch", "processing_status": "ended" if ended else "in_progress",
                "request_counts": {"processing": 0 if ended else b["total"], "succeeded": b.get("completed", 0),
                                   "errored": b.get("failed", 0), "canceled": 0, "expired": 0},
                "created_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-02T00:00:00Z",
                "results_url": f"http://{request.host}/v1/messages/batches/{b['id']}/results" if ended else None}

    async def _anthropic_create(self, request):
        from aiohttp import web

        body = await request.json()
        for r in body["requests"]:
            self.submitted[r["custom_id"]] += 1
        bid = self._new_id("msgbatch_")
        self.batches[bid] = {"id": bid, "kind": "anthropic", "lines": body["requests"], "status": "in_progress",
                             "polls": 0, "created_at": int(time.time()), "total": len(body["requests"])}
        self.batch_log.append(("create", bid))
        return web.json_response(self._anthropic_batch(self.batches[bid], request))

    async def _anthropic_get(self, request):
        return await self._batch_get(request)

    async def _anthropic_results(self, request):
        from aiohttp import web

        b = self.batches.get(request.match_info["id"])
        if b is None or b["status"] != "ended":
            return web.json_response({"error": {"message": "not ended"}}, status=404)
        lines = []
        for cid, text, why in b["results"]:
            if why is None:
                result = {"type": "succeeded", "message": _anthropic_message(text)}
            elif why == "expired":
                result = {"type": "expired"}
            elif why == "canceled":
                result = {"type": "canceled"}
            else:
                result = {"type": "errored", "error": {"type": "api_error", "message": why}}
            lines.append(json.dumps({"custom_id": cid, "result": result}) + "\n")
        return web.Response(body="".join(lines).encode(), content_type="application/binary")

    async def _anthropic_message(self, request):
        """Anthropic's online endpoint, for comparing an online run with a batch run."""
        from aiohttp import web

        body = await request.json()
        with self._lock:
            self.count += 1
            if self.keep_requests:
                self.requests.append(_anthropic_to_openai(body))
        return web.json_response(_anthropic_message(self._reply_text(_anthropic_to_openai(body))))


def _completion(text):
    return {"id": "fake", "object": "chat.completion", "created": int(time.time()), "model": "fake",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": len(text) // 4, "total_tokens": 100 + len(text) // 4}}


def _anthropic_message(text):
    return {"id": "msg_fake", "type": "message", "role": "assistant", "model": "fake",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 100, "output_tokens": len(text) // 4}}


def _anthropic_to_openai(params: dict) -> dict:
    """An Anthropic request as the OpenAI-style request the responders read."""
    msgs = []
    system = params.get("system")
    if system:
        msgs.append({"role": "system", "content": system if isinstance(system, str) else
                     "".join(p.get("text", "") for p in system)})
    for m in params.get("messages", []):
        c = m["content"]
        msgs.append({"role": m["role"], "content": c if isinstance(c, str) else "".join(p.get("text", "") for p in c)})
    return {k: v for k, v in params.items() if k not in ("messages", "system")} | {"messages": msgs}
