"""The SQLite schema and every read and write (sqlite-utils). One file, WAL mode, safe to browse.

Tables
  rubrics      rubric text by content hash
  runs         one row per grading run: full configuration, versions, status, summary
  answers      the answers a run grades (prompt, answer, source, tags, per-example criteria)
  calls        every paid judge call by cache key: raw response, tokens, cost, latency (the cache)
  run_calls    which calls each run used, and whether the run found them cached
  judgments    one row per answer x criterion/dimension x judge x sample: parsed value or unscored reason
  scores       per-answer results written when a run completes
  annotations  ratings by experts (and published LLM judges) per item x criterion/dimension x rater x what the
               rater read (label_key: labels/identity.py; '' where only the item id is known)
  calibrations agreement results with the run / annotation versions they were computed from
  programs     optimised judge programs (instructions, demonstrations, how they were made) and their
               held-out report
  drafts       LLM-drafted texts (probe paraphrases, compressions, must-flip edits): kept for review and reuse
  probes       bias and robustness probes of a run, with their results
  batches      provider batches of a run (provider id, files, state), recorded before and after each step
  batch_requests  every request sent in a batch: its custom id (cache key + attempt), batch and state
  routes       how an OpenAI-compatible judge's calls go on the wire, as LiteLLM worked it out (models/route.py)
  prompts      what DSPy writes around a judge program's inputs (system message, demonstrations, closing), keyed
               by all that decides it (judges/program.py Prompt)
View
  judgments_full  judgments joined with their call (raw response, tokens, cost, latency)
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path


def _sqlite_utils():
    """sqlite-utils, imported without pandas: at import it loads pandas (when installed) only to map DataFrame
    column types, which medjudge never inserts; that cost 0.6-1.0 s of every command's start-up (measured:
    2.0-2.4 s -> 1.4 s to import grading). pandas stays importable afterwards (to_pandas())."""
    import sys

    if "pandas" in sys.modules:
        import sqlite_utils
        return sqlite_utils
    sys.modules["pandas"] = None  # an import of pandas now fails, and sqlite-utils goes on without it
    try:
        import sqlite_utils
    finally:
        del sys.modules["pandas"]
    return sqlite_utils


sqlite_utils = _sqlite_utils()

DEFAULT_DB = "medjudge.db"
SCHEMA_VERSION = 8  # 2: judgments.rounds (how many runs asked the unit); 3: samples (units drawn for experts);
# 4: programs (optimised judge programs), drafts and probes, annotations.rationale/detail/chosen; 5: routes;
# 6: annotations.label_key (what the rater read, in the primary key) and annotations.value_type; run_calls.hits
# 7: samples.strategy and samples.strata (how the units were drawn: uniform, stratified by what, active, targeted);
#    review_assignments and review_tokens (a panel of raters on one review server; tokens kept as SHA-256 only)
# 8: prompts (a judge program's prompt as DSPy formats it, so that a grade need not import DSPy)
MAX_ROUNDS = 3  # a unit left unscored is asked again by at most this many runs in all


def _retry_locked(fn, tries: int = 100):
    """Run fn, waiting out 'database is locked' from statements that bypass SQLite's busy handler."""
    import sqlite3

    for attempt in range(tries):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.05)


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def content_id(prefix: str, value) -> str:
    """An id made of what it names: the prefix and 11 hex digits of the SHA-256 of the text (or of its JSON)."""
    import hashlib

    text = value if isinstance(value, str) else dumps(value)
    return prefix + hashlib.sha256(text.encode("utf-8")).hexdigest()[:11]


def cache_dir() -> Path | None:
    """This machine's medjudge folder: MEDJUDGE_CACHE_DIR, else $XDG_CACHE_HOME/medjudge, else ~/.cache/medjudge;
    None when MEDJUDGE_CACHE_DIR is `off` or empty."""
    import os

    given = os.environ.get("MEDJUDGE_CACHE_DIR")
    if given is not None:
        return None if given.strip().lower() in ("", "off") else Path(given)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "medjudge"


_MACHINE: dict = {}


def machine_store() -> "Store | None":
    """The machine's own medjudge database, `machine.db` in cache_dir(), opened once a process: the routes LiteLLM
    worked out and the prompts DSPy formatted for programs without demonstrations (no key, no answer; a rubric's
    instructions), kept for every database on this machine so that a new one need import neither; None when
    turned off or where it cannot be opened (a read-only home)."""
    folder = cache_dir()
    if folder is None:
        return None
    if _MACHINE.get("folder") != folder:  # one at a time (the folder changes only in tests)
        if _MACHINE.get("store") is not None:
            _MACHINE["store"].close()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            store = Store(folder / "machine.db")
        except (OSError, sqlite3.Error):
            store = None
        _MACHINE.update(folder=folder, store=store)
    return _MACHINE["store"]


def recall(store, read, fits, machine: bool = True):
    """The first row that fits, from the database and then (with `machine`) the machine's own, opened only when
    the database has none: (what `fits` made of the row `read(store)` gave, or None; the stores before it that
    lacked one, for the caller to fill)."""
    lacking = []
    for source in (store, "machine" if machine else None):
        source = machine_store() if source == "machine" else source
        if source is None:
            continue
        text = read(source)
        found = fits(text) if text else None
        if found is not None:
            return found, lacking
        lacking.append(source)
    return None, lacking


def close_all():
    """Close every SQLite connection of this process (the console script, before it leaves: SQLite then folds the
    write-ahead log into the database file, so that the file alone holds every judgment). A store's connection
    outlives the store (CPython's statement cache holds it in a reference cycle, freed by a garbage collection),
    so the connections are found among the collector's objects, not tracked."""
    import gc

    for obj in gc.get_objects():
        if isinstance(obj, sqlite3.Connection):
            try:
                obj.close()
            except sqlite3.Error:  # one opened in another thread: closed by the operating system instead
                pass


class Store:
    def __init__(self, path: str | Path = DEFAULT_DB):
        self.path = str(path)
        self.db = sqlite_utils.Database(self.path)
        self.db.execute("PRAGMA busy_timeout = 30000")
        if self.path != ":memory:":
            _retry_locked(self.db.enable_wal)
        self.db.execute("PRAGMA synchronous = NORMAL")
        if self.db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            _retry_locked(self._create_schema)

    def close(self):
        self.db.close()

    # -- schema -------------------------------------------------------------------------------
    def _create_schema(self):
        """Create the tables in one write-locked transaction, so that processes opening a new database at
        the same moment wait for each other instead of failing with 'database is locked'."""
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                self._schema()
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    def _schema(self):
        db = self.db
        db["rubrics"].create({"hash": str, "id": str, "version": str, "kind": str, "title": str,
                              "text": str, "created": str}, pk="hash", if_not_exists=True)
        db["runs"].create({"id": str, "rubric_hash": str, "rubric_id": str, "kind": str, "mode": str,
                           "samples": int, "panel": str, "config": str, "versions": str, "input_path": str,
                           "local_only": int, "started": str, "finished": str, "status": str,
                           "summary": str}, pk="id", if_not_exists=True)
        db["answers"].create({"run_id": str, "answer_id": str, "seq": int, "prompt": str, "answer": str,
                              "source": str, "tags": str, "fields": str, "criteria": str},
                             pk=("run_id", "answer_id"), if_not_exists=True)
        db["calls"].create({"key": str, "model": str, "prompt_hash": str, "response": str,
                            "input_tokens": int, "output_tokens": int, "cost": float, "latency": float,
                            "created": str}, pk="key", if_not_exists=True)
        db["run_calls"].create({"run_id": str, "call_key": str, "cached": int, "hits": int},
                               pk=("run_id", "call_key"), if_not_exists=True)
        if "hits" not in db["run_calls"].columns_dict:  # before version 6: each later use of a call by the run
            db.execute("ALTER TABLE run_calls ADD COLUMN hits INTEGER")
        db["judgments"].create({"run_id": str, "answer_id": str, "unit_id": str, "judge": str, "sample": int,
                                "value": float, "label": str, "explanation": str, "detail": str, "status": str,
                                "reason": str, "call_key": str, "attempts": int, "created": str, "rounds": int},
                               pk=("run_id", "answer_id", "unit_id", "judge", "sample"), if_not_exists=True)
        if "rounds" not in db["judgments"].columns_dict:  # a version 1 database
            db.execute("ALTER TABLE judgments ADD COLUMN rounds INTEGER")
        db.execute("CREATE INDEX IF NOT EXISTS answers_by_id ON answers (answer_id)")  # labels find answers by id
        db["scores"].create({"run_id": str, "answer_id": str, "score": float, "detail": str},
                            pk=("run_id", "answer_id"), if_not_exists=True)
        db["annotations"].create({"item_id": str, "unit_id": str, "rater": str, "label_key": str, "rater_kind": str,
                                  "value": float, "raw": str, "valid": int, "problem": str, "source": str,
                                  "tags": str, "unit_text": str, "file": str, "line": int, "imported": str,
                                  "rationale": str, "detail": str, "chosen": str, "value_type": str},
                                 pk=("item_id", "unit_id", "rater", "label_key"), not_null={"label_key"},
                                 defaults={"label_key": ""}, if_not_exists=True)
        for column in ("rationale", "detail", "chosen", "value_type"):  # before version 4 and 6
            if column not in db["annotations"].columns_dict:
                db.execute(f"ALTER TABLE annotations ADD COLUMN {column} TEXT")
        if "label_key" not in db["annotations"].columns_dict:  # before version 6: every label kept, keyed by id only
            db.execute("ALTER TABLE annotations ADD COLUMN label_key TEXT NOT NULL DEFAULT ''")
            db["annotations"].transform(pk=("item_id", "unit_id", "rater", "label_key"))
        db["samples"].create({"name": str, "run_id": str, "answer_id": str, "unit_id": str, "prob": float,
                              "seed": int, "created": str, "strategy": str, "strata": str},
                             pk=("run_id", "name", "answer_id", "unit_id"), if_not_exists=True)
        for column in ("strategy", "strata"):  # before version 7: uniform, or targeted where prob is null
            if column not in db["samples"].columns_dict:
                db.execute(f"ALTER TABLE samples ADD COLUMN {column} TEXT")
        db["calibrations"].create({"id": str, "created": str, "config": str, "inputs": str, "results": str},
                                  pk="id", if_not_exists=True)
        db["drafts"].create({"key": str, "kind": str, "model": str, "input": str, "output": str, "created": str},
                             pk="key", if_not_exists=True)
        db["probes"].create({"id": str, "run_id": str, "created": str, "config": str, "results": str}, pk="id",
                            if_not_exists=True)
        db["batches"].create({"id": str, "run_id": str, "provider": str, "judge": str, "state": str,
                              "provider_id": str, "input_file": str, "output_file": str, "error_file": str,
                              "requests": int, "created": str, "updated": str, "detail": str}, pk="id",
                             if_not_exists=True)
        db["batch_requests"].create({"run_id": str, "custom_id": str, "key": str, "batch_id": str, "model": str,
                                     "phash": str, "attempt": int, "state": str, "error": str},
                                    pk=("run_id", "custom_id"), if_not_exists=True)
        db["routes"].create({"key": str, "model": str, "route": str, "created": str}, pk="key", if_not_exists=True)
        db["prompts"].create({"key": str, "prompt": str, "created": str}, pk="key", if_not_exists=True)
        db["review_assignments"].create({"run_id": str, "sample": str, "rater": str, "answer_id": str, "unit_id": str,
                                         "overlap": int}, pk=("run_id", "sample", "rater", "answer_id", "unit_id"),
                                        if_not_exists=True)
        db["review_tokens"].create({"run_id": str, "sample": str, "rater": str, "role": str, "token_sha256": str,
                                    "revoked": int, "created": str}, pk="token_sha256", if_not_exists=True)
        db["programs"].create({"id": str, "created": str, "rubric_hash": str, "rubric_id": str, "optimizer": str,
                               "adopted": int, "artifact": str, "report": str}, pk="id", if_not_exists=True)
        db.execute("""CREATE VIEW IF NOT EXISTS judgments_full AS
            SELECT j.*, c.model, c.prompt_hash, c.response AS raw_response, c.input_tokens, c.output_tokens,
                   c.cost, c.latency
            FROM judgments j LEFT JOIN calls c ON c.key = j.call_key""")

    # -- rubrics and runs -----------------------------------------------------------------------
    def save_rubric(self, loaded):
        r = loaded.rubric
        self.db["rubrics"].insert({"hash": loaded.hash, "id": r.id, "version": r.version, "kind": r.kind,
                                   "title": r.title, "text": loaded.text, "created": now()}, ignore=True)

    def rubric_text(self, rubric_hash: str) -> str:
        return self.db["rubrics"].get(rubric_hash)["text"]

    def get_run(self, run_id: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM runs WHERE id = ? OR id LIKE ? ORDER BY id LIMIT 2",
                                  [run_id, run_id + "%"]))
        if len(rows) != 1:
            return None
        run = rows[0]
        for k in ("panel", "config", "versions", "summary"):
            run[k] = json.loads(run[k]) if run.get(k) else None
        return run

    def start_run(self, run: dict):
        """Create the run, or mark an existing one as running again (resume)."""
        with self.db.conn:
            if self.db["runs"].count_where("id = ?", [run["id"]]):
                self.db["runs"].update(run["id"], {"status": "running", "finished": None})
            else:
                row = dict(run)
                for k in ("panel", "config", "versions"):
                    row[k] = dumps(row[k])
                row.update(started=now(), status="running")
                self.db["runs"].insert(row)

    def finish_run(self, run_id: str, status: str, summary: dict | None = None):
        values = {"status": status, "finished": now()}
        if summary is not None:
            values["summary"] = dumps(summary)
        with self.db.conn:
            self.db["runs"].update(run_id, values)

    def list_runs(self) -> list[dict]:
        return list(self.db.query(
            "SELECT r.id, r.rubric_id, r.kind, r.mode, r.samples, r.panel, r.status, r.started, r.finished, r.config, "
            "(SELECT COUNT(*) FROM answers a WHERE a.run_id = r.id) AS answers, "
            "(SELECT COUNT(*) FROM judgments j WHERE j.run_id = r.id) AS judgments "
            "FROM runs r ORDER BY r.started DESC"))

    # -- answers --------------------------------------------------------------------------------
    def save_answers(self, run_id: str, items):
        rows = ({"run_id": run_id, "answer_id": it.id, "seq": i, "prompt": dumps(it.prompt), "answer": it.answer,
                 "source": it.source, "tags": dumps(it.tags), "fields": dumps(it.fields),
                 "criteria": dumps([c.model_dump() for c in it.criteria]) if it.criteria else None}
                for i, it in enumerate(items))
        with self.db.conn:
            self.db["answers"].insert_all(rows, ignore=True, batch_size=500)

    def answer_count(self, run_id: str) -> int:
        return self.db.conn.execute("SELECT COUNT(*) FROM answers WHERE run_id = ?", (run_id,)).fetchone()[0]

    def answers(self, run_id: str, page: int = 500):
        """A run's answers in input order, read a page at a time (no cursor stays open across writes)."""
        last = -1
        while True:
            rows = list(self.db.query("SELECT * FROM answers WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                                      [run_id, last, page]))
            for row in rows:
                for k in ("prompt", "tags", "fields", "criteria"):
                    row[k] = json.loads(row[k]) if row[k] else None
                yield row
            if len(rows) < page:
                return
            last = rows[-1]["seq"]

    # -- calls (the cache) and judgments --------------------------------------------------------
    # the per-call hot path uses plain prepared statements (sqlite-utils re-reads the schema on each insert)
    JUDGMENT_COLUMNS = ("run_id", "answer_id", "unit_id", "judge", "sample", "value", "label", "explanation",
                        "detail", "status", "reason", "call_key", "attempts", "created", "rounds")

    def cached_call(self, key: str) -> dict | None:
        row = self.db.conn.execute("SELECT response FROM calls WHERE key = ?", (key,)).fetchone()
        return {"response": row[0]} if row else None

    def save_call(self, run_id: str, key: str, model: str, phash: str, reply):
        """Record a paid call at once, so that a crash after it never pays for it again."""
        self.save_calls([(run_id, key, model, phash, reply)])

    def save_calls(self, calls: list[tuple]):
        """Paid calls (run_id, key, model, prompt hash, reply) in one transaction (a batch's collected replies)."""
        if not calls:
            return
        stamp = now()
        with self.db.conn as conn:
            for call in calls:
                self._insert_call(conn, *call, stamp)

    @staticmethod
    def _insert_call(conn, run_id: str, key: str, model: str, phash: str, reply, stamp: str):
        conn.execute("INSERT OR IGNORE INTO calls (key, model, prompt_hash, response, input_tokens, "
                     "output_tokens, cost, latency, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (key, model, phash, reply.text, reply.input_tokens, reply.output_tokens, reply.cost,
                      reply.latency, stamp))
        conn.execute("INSERT OR IGNORE INTO run_calls (run_id, call_key, cached) VALUES (?, ?, 0)", (run_id, key))

    HIT = ("INSERT INTO run_calls (run_id, call_key, cached, hits) VALUES (?, ?, 1, 0) "
           "ON CONFLICT (run_id, call_key) DO UPDATE SET hits = COALESCE(hits, 0) + 1")

    def use_cached_call(self, run_id: str, key: str):
        """A call answered from the cache: its first use by the run, or one more (each counted)."""
        with self.db.conn as conn:
            conn.execute(self.HIT, (run_id, key))

    def save_judgments(self, rows: list[dict], run_id: str | None = None, cached_keys=(), paid=()):
        """Write judgments, the cached calls they used and the paid calls (run_id, key, model, prompt hash, reply)
        they came from, in one transaction."""
        stamp = now()
        cols = self.JUDGMENT_COLUMNS
        values = [tuple(stamp if c == "created" else r.get(c) for c in cols) for r in rows]
        with self.db.conn as conn:
            for call in paid:
                self._insert_call(conn, *call, stamp)
            conn.executemany(self.HIT, [(run_id, k) for k in cached_keys])
            conn.executemany(f"INSERT OR REPLACE INTO judgments ({', '.join(cols)}) "
                             f"VALUES ({', '.join('?' * len(cols))})", values)

    def done_units(self, run_id: str, max_rounds: int = MAX_ROUNDS) -> set[tuple]:
        """(answer, unit, judge, sample) that need no more asking: scored, or left unscored by `max_rounds`
        runs. Transport errors are redone; a unit left unscored is asked again by the next run."""
        return {tuple(r) for r in self.db.conn.execute(
            "SELECT answer_id, unit_id, judge, sample FROM judgments WHERE run_id = ? AND (status = 'scored' "
            "OR (status = 'unscored' AND COALESCE(rounds, 1) >= ?))", (run_id, max_rounds))}

    def unit_rounds(self, run_id: str) -> dict[tuple, int]:
        """(answer, unit, judge, sample) -> how many runs have asked it, for units left unscored."""
        return {(a, u, j, s): r for a, u, j, s, r in self.db.conn.execute(
            "SELECT answer_id, unit_id, judge, sample, COALESCE(rounds, 1) FROM judgments "
            "WHERE run_id = ? AND status = 'unscored'", (run_id,))}

    def votes(self, run_id: str, judge: str | None = None, answer: str | None = None):
        """(answer, unit, judge, sample, value, reason, status) of every judgment row of a run (or one judge's, or
        one answer's)."""
        sql, args = "SELECT answer_id, unit_id, judge, sample, value, reason, status FROM judgments WHERE run_id = ?", [run_id]
        for column, value in (("judge", judge), ("answer_id", answer)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        return self.db.conn.execute(sql, args)

    def unit_votes(self, run_id: str, judge: str | None = None) -> dict:
        """{(answer, unit): [each judge x sample's value, None where that vote is unscored]} (one judge's with
        `judge`)."""
        out: dict = {}
        for answer_id, unit_id, _, _, value, _, status in self.votes(run_id, judge):
            out.setdefault((answer_id, unit_id), []).append(value if status == "scored" else None)
        return out

    def error_reasons(self, run_id: str) -> list[str]:
        """The reason of each failed call's judgment (transport errors, redone on rerun)."""
        return [r for (r,) in self.db.conn.execute(
            "SELECT reason FROM judgments WHERE run_id = ? AND status = 'error'", (run_id,))]

    def details(self, run_id: str):
        """(answer, unit, judge, detail dict) of the judgments that carry kind-specific extras."""
        for answer_id, unit_id, judge, detail in self.db.conn.execute(
                "SELECT answer_id, unit_id, judge, detail FROM judgments WHERE run_id = ? AND detail IS NOT NULL",
                (run_id,)):
            yield answer_id, unit_id, judge, json.loads(detail)

    def judgments(self, run_id: str, full: bool = False):
        table = "judgments_full" if full else "judgments"
        return self.db.query(f"SELECT * FROM {table} WHERE run_id = ? ORDER BY answer_id, unit_id, judge, sample",
                             [run_id])

    def call_totals(self, run_id: str) -> dict:
        row = next(self.db.query(
            "SELECT SUM(rc.cached = 0) AS made, SUM(rc.cached = 1) + SUM(COALESCE(rc.hits, 0)) AS cached, "
            "SUM(CASE WHEN rc.cached = 0 THEN c.input_tokens END) AS input_tokens, "
            "SUM(CASE WHEN rc.cached = 0 THEN c.output_tokens END) AS output_tokens, "
            "SUM(CASE WHEN rc.cached = 0 THEN c.cost END) AS cost, "
            "SUM(rc.cached = 0 AND c.cost IS NULL) AS unpriced "
            "FROM run_calls rc JOIN calls c ON c.key = rc.call_key WHERE rc.run_id = ?", [run_id]))
        return {k: (v or 0) for k, v in row.items()}

    def calls_by_model(self, run_id: str) -> dict:
        out = {}
        for model, calls, cost in self.db.conn.execute(
                "SELECT c.model, COUNT(*), SUM(c.cost) FROM run_calls rc JOIN calls c ON c.key = rc.call_key "
                "WHERE rc.run_id = ? GROUP BY c.model ORDER BY c.model", (run_id,)):
            out[model] = {"calls": calls, "cost": cost}
        return out

    def save_scores(self, run_id: str, scores: dict[str, tuple[float | None, dict]]):
        rows = [{"run_id": run_id, "answer_id": a, "score": s, "detail": dumps(d)} for a, (s, d) in scores.items()]
        with self.db.conn:
            self.db["scores"].upsert_all(rows, pk=("run_id", "answer_id"))

    # -- annotations and calibrations ------------------------------------------------------------
    ANNOTATION_KEY = ("item_id", "unit_id", "rater", "label_key")

    def save_annotations(self, rows):
        """Upsert on (item, unit, rater, what was read): re-importing a file never duplicates ratings, and a label
        on one answer never replaces a label on another answer that has the same item id."""
        rows = ({"label_key": "", **r} for r in rows)
        with self.db.conn:
            self.db["annotations"].upsert_all(rows, pk=self.ANNOTATION_KEY, batch_size=2000)

    def annotations(self, raters=None):
        """Valid ratings as stored, every rater or those named. Labels for a run's answers are read through
        labels.identity, which joins them by what the rater read."""
        sql = ("SELECT item_id, unit_id, rater, rater_kind, value, source, tags, rationale, label_key, value_type "
               "FROM annotations WHERE valid = 1")
        args = []
        if raters:
            sql += f" AND rater IN ({','.join('?' * len(raters))})"
            args = list(raters)
        return self.db.query(sql, args)

    def label_rows(self, raters=None, valid: bool | None = True):
        """Labels (valid ones, those that could not be read, or both with valid=None) with what joins each to an
        answer."""
        sql = ("SELECT item_id, unit_id, rater, rater_kind, value, source, tags, rationale, label_key, value_type, "
               "problem, file, chosen, detail, raw, imported, valid FROM annotations WHERE (? IS NULL OR valid = ?)")
        args = [None if valid is None else int(valid)] * 2
        if raters:
            sql += f" AND rater IN ({','.join('?' * len(raters))})"
            args += list(raters)
        return self.db.query(sql, args)

    def answer_versions(self, answer_ids) -> dict[str, int]:
        """answer id -> how many different answers (prompt, answer text, per-example units) the database holds
        under it, over every run."""
        out = {}
        ids = sorted(set(answer_ids))
        for lo in range(0, len(ids), 500):
            chunk = ids[lo:lo + 500]
            out.update(self.db.conn.execute(
                f"SELECT answer_id, COUNT(DISTINCT json_array(prompt, answer, criteria)) FROM answers "
                f"WHERE answer_id IN ({','.join('?' * len(chunk))}) GROUP BY answer_id", chunk).fetchall())
        return out

    def answer_rows(self, answer_id: str, answer: str | None = None) -> list[dict]:
        """The stored answers with this id (and this text), in every run: run_id and the answer row."""
        sql = "SELECT * FROM answers WHERE answer_id = ?" + (" AND answer = ?" if answer is not None else "")
        rows = list(self.db.query(sql + " ORDER BY run_id", [answer_id] + ([answer] if answer is not None else [])))
        for row in rows:
            for k in ("prompt", "tags", "fields", "criteria"):
                row[k] = json.loads(row[k]) if row[k] else None
        return rows

    def save_sample(self, run_id: str, name: str, units: dict, seed: int, strategy: str | None = None,
                    strata: str | None = None):
        """Units drawn for expert labels, {(answer, unit): inclusion probability}, with how they were drawn
        (strategy; strata: what a stratified draw split the units by); a name is drawn once."""
        if self.sample(run_id, name):
            from .errors import MedjudgeError

            raise MedjudgeError(f"run {run_id} already has a sample {name!r}: give another --name")
        stamp = now()
        with self.db.conn:
            self.db["samples"].insert_all(({"name": name, "run_id": run_id, "answer_id": a, "unit_id": u, "prob": p,
                                            "seed": seed, "created": stamp, "strategy": strategy, "strata": strata}
                                           for (a, u), p in units.items()))

    def sample(self, run_id: str, name: str) -> dict:
        return {(a, u): p for a, u, p in self.db.conn.execute(
            "SELECT answer_id, unit_id, prob FROM samples WHERE run_id = ? AND name = ?", (run_id, name))}

    def sample_design(self, run_id: str, name: str) -> dict:
        """How a sample was drawn: {strategy, strata, seed} (strategy None: drawn before version 7)."""
        row = self.db.conn.execute("SELECT strategy, strata, seed FROM samples WHERE run_id = ? AND name = ? LIMIT 1",
                                   (run_id, name)).fetchone()
        return dict(zip(("strategy", "strata", "seed"), row)) if row else {}

    # -- review panels: who labels which units, and the hashes of their links' tokens ---------------------------
    def save_assignments(self, run_id: str, sample: str, assigned: dict):
        """{rater: {(answer, unit): overlap}}; a sample's assignment is made once."""
        with self.db.conn:
            self.db["review_assignments"].insert_all(
                ({"run_id": run_id, "sample": sample, "rater": r, "answer_id": a, "unit_id": u, "overlap": int(o)}
                 for r, units in assigned.items() for (a, u), o in units.items()), pk=("run_id", "sample", "rater",
                                                                                       "answer_id", "unit_id"))

    def assignments(self, run_id: str, sample: str) -> dict:
        out: dict = {}
        for r, a, u, o in self.db.conn.execute("SELECT rater, answer_id, unit_id, overlap FROM review_assignments "
                                               "WHERE run_id = ? AND sample = ?", (run_id, sample)):
            out.setdefault(r, {})[(a, u)] = bool(o)
        return out

    def save_token(self, run_id: str, sample: str, rater: str, role: str, token_sha256: str):
        with self.db.conn:
            self.db.conn.execute("UPDATE review_tokens SET revoked = 1 WHERE run_id = ? AND sample = ? AND rater = ? "
                                 "AND role = ?", (run_id, sample, rater, role))
            self.db["review_tokens"].insert({"run_id": run_id, "sample": sample, "rater": rater, "role": role,
                                             "token_sha256": token_sha256, "revoked": 0, "created": now()})

    def tokens(self, run_id: str, sample: str) -> list[dict]:
        """The links' token hashes (never the tokens), revoked or not."""
        return list(self.db.query("SELECT * FROM review_tokens WHERE run_id = ? AND sample = ? ORDER BY created",
                                  [run_id, sample]))

    def revoke_tokens(self, run_id: str, sample: str, rater: str) -> int:
        with self.db.conn:
            return self.db.conn.execute("UPDATE review_tokens SET revoked = 1 WHERE run_id = ? AND sample = ? AND "
                                        "rater = ? AND revoked = 0", (run_id, sample, rater)).rowcount

    def sample_names(self, run_id: str) -> list[str]:
        return [n for (n,) in self.db.conn.execute(
            "SELECT DISTINCT name FROM samples WHERE run_id = ? ORDER BY name", (run_id,))]

    def annotation_summary(self) -> list[dict]:
        return list(self.db.query(
            "SELECT rater, rater_kind, COUNT(*) AS ratings, SUM(valid = 0) AS invalid, "
            "COUNT(DISTINCT item_id) AS items, COUNT(DISTINCT unit_id) AS units, MAX(imported) AS imported "
            "FROM annotations GROUP BY rater, rater_kind ORDER BY rater_kind, rater"))

    def annotations_version(self, raters) -> str:
        import hashlib

        h = hashlib.sha256()
        for r in self.annotations(raters):
            h.update(dumps([r["item_id"], r["unit_id"], r["rater"], r["value"]] + ([r["label_key"]] if r["label_key"] else []))
                     .encode())
        return h.hexdigest()[:16]

    def calibrations(self, ids=None, run_id=None) -> list[dict]:
        """Stored calibrations by id, or those computed from a run's judgments."""
        out = []
        for r in self.db.query("SELECT * FROM calibrations ORDER BY created"):
            row = {k: json.loads(r[k]) if k in ("config", "inputs", "results") else r[k] for k in r}
            if (ids and row["id"] in ids) or (not ids and run_id and row["inputs"].get("run") == run_id):
                out.append(row)
        return out

    def save_calibration(self, cal_id: str, config: dict, inputs: dict, results):
        with self.db.conn:
            self.db["calibrations"].upsert({"id": cal_id, "created": now(), "config": dumps(config),
                                            "inputs": dumps(inputs), "results": dumps(results)}, pk="id")

    # -- optimised judge programs ------------------------------------------------------------------
    def save_program(self, artifact: dict, report: dict | None = None):
        row = {"id": artifact["id"], "created": artifact.get("created") or now(), "rubric_hash": artifact["rubric_hash"],
               "rubric_id": artifact.get("rubric_id"), "optimizer": (artifact.get("optimizer") or {}).get("name"),
               "adopted": None if report is None else int(bool(report.get("adopted"))),
               "artifact": dumps(artifact)}
        if report is not None:
            row["report"] = dumps(report)
        with self.db.conn:
            self.db["programs"].upsert(row, pk="id")

    def program(self, program_id: str) -> dict | None:
        row = self.db.execute("SELECT artifact, report FROM programs WHERE id = ?", [program_id]).fetchone()
        if row is None:
            return None
        return {"artifact": json.loads(row[0]), "report": json.loads(row[1]) if row[1] else None}

    def programs(self) -> list[dict]:
        return list(self.db.query("SELECT id, created, rubric_id, optimizer, adopted FROM programs ORDER BY created"))

    # -- drafts and probes -------------------------------------------------------------------------
    def draft(self, key: str):
        row = self.db.execute("SELECT output FROM drafts WHERE key = ?", [key]).fetchone()
        return None if row is None else json.loads(row[0])

    def save_draft(self, key: str, kind: str, model: str, given, output):
        with self.db.conn:
            self.db["drafts"].upsert({"key": key, "kind": kind, "model": model, "input": dumps(given),
                                      "output": dumps(output), "created": now()}, pk="key")

    def route(self, key: str) -> str | None:
        row = self.db.conn.execute("SELECT route FROM routes WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def save_route(self, key: str, model: str, route: str):
        with self.db.conn as conn:
            conn.execute("INSERT OR REPLACE INTO routes (key, model, route, created) VALUES (?, ?, ?, ?)",
                         (key, model, route, now()))

    def prompt(self, key: str) -> str | None:
        row = self.db.conn.execute("SELECT prompt FROM prompts WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def save_prompt(self, key: str, prompt: str):
        with self.db.conn as conn:
            conn.execute("INSERT OR REPLACE INTO prompts (key, prompt, created) VALUES (?, ?, ?)", (key, prompt, now()))

    def save_probe(self, probe_id: str, run_id: str, config: dict, results: dict):
        with self.db.conn:
            self.db["probes"].upsert({"id": probe_id, "run_id": run_id, "created": now(), "config": dumps(config),
                                      "results": dumps(results)}, pk="id")

    def probes(self, run_id: str) -> list[dict]:
        return [{"id": r["id"], "created": r["created"], "config": json.loads(r["config"]),
                 "results": json.loads(r["results"])}
                for r in self.db.query("SELECT * FROM probes WHERE run_id = ? ORDER BY created", [run_id])]

    # -- provider batches (models/batch.py) ----------------------------------------------------------
    def save_batch(self, row: dict, requests: list[dict] | None = None):
        """A batch and (when new) its requests in one transaction; a custom id is never recorded twice."""
        with self.db.conn as conn:
            self.db["batches"].upsert(row | {"updated": now()}, pk="id")
            if requests:
                cols = ("run_id", "custom_id", "key", "batch_id", "model", "phash", "attempt", "state")
                conn.executemany(f"INSERT INTO batch_requests ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                 [tuple(r[c] for c in cols) for r in requests])

    def forget_batch(self, batch_id: str):
        """A batch that was never sent (a crash before its upload), with its requests: they are deferred again."""
        with self.db.conn as conn:
            conn.execute("DELETE FROM batch_requests WHERE batch_id = ?", (batch_id,))
            conn.execute("DELETE FROM batches WHERE id = ?", (batch_id,))

    def batches(self, run_id: str) -> list[dict]:
        return [dict(r, judge=json.loads(r["judge"]), detail=json.loads(r["detail"] or "{}"))
                for r in self.db.query("SELECT * FROM batches WHERE run_id = ? ORDER BY rowid", [run_id])]

    def batch_requests(self, batch_id: str):
        """(custom id, cache key, model, prompt hash) of each request in a batch, as a stream."""
        return self.db.conn.execute("SELECT custom_id, key, model, phash FROM batch_requests WHERE batch_id = ?",
                                    (batch_id,))

    def batch_attempts(self, run_id: str) -> dict:
        """cache key -> how many times it was put in a batch of this run."""
        return {k: n for k, n in self.db.conn.execute(
            "SELECT key, MAX(attempt) FROM batch_requests WHERE run_id = ? GROUP BY key", (run_id,))}

    def finish_batch_requests(self, run_id: str, done: list[str], failed: dict):
        """Mark requests answered (their call is in the calls table) or failed (with why: asked again later)."""
        with self.db.conn as conn:
            conn.executemany("UPDATE batch_requests SET state = 'done' WHERE run_id = ? AND custom_id = ?",
                             [(run_id, c) for c in done])
            conn.executemany("UPDATE batch_requests SET state = 'failed', error = ? WHERE run_id = ? AND custom_id = ?",
                             [(why, run_id, c) for c, why in failed.items()])
