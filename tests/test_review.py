"""medjudge review: the labelling page in headless Chromium (keyboard, reload, hostile markup, no request leaving
the machine), labels written at once, two raters at once, and the labels feeding calibrate, estimate and optimize."""

import json
import re
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import EXAMPLES, write
from medjudge.models.fakellm import default_responder, fields_of
from test_grade import db_rows
from test_report import browser, watched_page

HOSTILE = '<script>window.__pwned = 1</script><img src="http://example.com/x.png" onerror="window.__pwned = 2">'


@pytest.fixture
def run(cli, fake, tmp_path):
    """The chest-pain checklist (4 criteria) on 6 answers, one with hostile markup, two fake judges."""
    answers = [json.loads(line) for line in (EXAMPLES / "answers.jsonl").read_text().splitlines()]
    extra = [dict(answers[i % len(answers)], id=f"b{i}", answer=answers[i % len(answers)]["answer"] + f" (variant {i})")
             for i in range(2)]
    extra.append(dict(answers[0], id="evil", answer="Call 911 now. " + HOSTILE))
    write(tmp_path / "a.jsonl", "".join(json.dumps(a) + "\n" for a in answers + extra))

    def two_minds(request):  # j2 reads the aspirin criterion the other way: the judges disagree there
        reply = default_responder(request)
        if request.get("model") == "j2" and "aspirin" in fields_of(request).get("criterion", "").lower():
            reply["criteria_met"] = not reply["criteria_met"]
        return reply

    fake.responder = two_minds
    code, out, err = cli("grade", "a.jsonl", "--rubric", EXAMPLES / "chest-pain-checklist.yaml", "--judge",
                         fake.judge("j1"), "--judge", fake.judge("j2"), "--db", "r.db", "-q")
    assert code == 5 and "unscored (most often: tie" in err  # the aspirin ties: unscored, and reviewable as disagreements
    return json.loads(cli("runs", "--json", "--db", "r.db")[1])[0]["id"]


class Server:
    def __init__(self, db, run_id, rater, sample="review-random", reveal=False):
        from medjudge.view.review import build_app, make_server

        self.token = "t0ken-" + rater
        self.server, sock = make_server(build_app(str(db), run_id, rater, sample, self.token, reveal))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/"

    def post(self, body, token=None):
        req = urllib.request.Request(f"{self.url}label?token={token or self.token}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json", "Origin": self.url.rstrip("/")})
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def page(self, token=None):
        try:
            with urllib.request.urlopen(f"{self.url}?token={token or self.token}") as r:
                return r.status, r.read().decode(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), dict(e.headers)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)


def choose(tmp_path, run_id, method="random", n=None):
    from medjudge.labels.review import choose as pick
    from medjudge.store import Store
    from medjudge.stored import StoredRun

    store = Store(tmp_path / "r.db")
    return pick(store, StoredRun(store, run_id), method, n)


def test_label_with_the_keyboard_reload_and_nothing_leaves(run, tmp_path):
    exe, sync_api = browser()
    name, chosen = choose(tmp_path, run, "random", 10)
    server = Server(tmp_path / "r.db", run, "dr_a", name)
    try:
        with sync_api.sync_playwright() as p:
            b, page, errors, requests = watched_page(p, exe)
            page.goto(f"{server.url}?token={server.token}")
            assert page.text_content("#progress") == "0 of 10 labelled"
            first = page.text_content("#unit-kind")
            page.keyboard.press("1")  # the first option: unmet
            sync_api.expect(page.locator("#progress")).to_have_text(re.compile("^1 of"))
            assert page.text_content("#unit-kind") != first  # moved on to the next unit
            page.keyboard.press("r")
            page.keyboard.type("no mention of calling emergency services")
            page.keyboard.press("Escape")
            page.keyboard.press("2")  # met, with the rationale
            sync_api.expect(page.locator("#progress")).to_have_text(re.compile("^2 of"))
            page.keyboard.press("0")  # cannot judge
            sync_api.expect(page.locator("#progress")).to_have_text(re.compile("^3 of"))
            page.reload()
            assert page.text_content("#progress") == "3 of 10 labelled"
            page.keyboard.press("p")
            assert page.locator("#cannot.chosen").count() == 1
            page.keyboard.press("ArrowLeft")
            assert page.input_value("#rationale") == "no mention of calling emergency services"
            assert page.locator("#options button.chosen").text_content() == "2met"
            assert errors == []
            assert all(u.startswith(server.url) for u in requests), requests  # no request leaves the machine
            assert page.evaluate("window.__pwned") is None
            # the hostile answer, wherever it is in the sample, is shown as text
            for _ in range(10):
                if "evil" in page.text_content("#unit-kind") or "__pwned" in page.text_content("#answer"):
                    break
                page.keyboard.press("n")
            b.close()
    finally:
        server.stop()
    rows = db_rows(tmp_path / "r.db", "SELECT * FROM annotations ORDER BY imported")
    assert len(rows) == 3 and {r["rater"] for r in rows} == {"dr_a"}
    assert sorted((r["raw"], r["valid"]) for r in rows) == [("cannot judge", 0), ("met", 1), ("unmet", 1)]
    labelled = {(r["item_id"], r["unit_id"]) for r in rows}
    assert labelled <= set(chosen) and all(r["chosen"].startswith("random p=") for r in rows)
    assert [r["rationale"] for r in rows if r["raw"] == "met"] == ["no mention of calling emergency services"]


def test_hostile_markup_is_inert_and_verdicts_are_hidden(run, tmp_path):
    exe, sync_api = browser()
    name, chosen = choose(tmp_path, run, "random")  # every unit, the hostile answer's among them
    server = Server(tmp_path / "r.db", run, "dr_a", name)
    try:
        code, html, headers = server.page()
        assert code == 200 and "default-src 'none'" in headers["content-security-policy"]
        assert "<script>window.__pwned" not in html and "lexical overlap" not in html  # no judge explanation
        assert server.page(token="wrong")[0] == 403 and server.post({}, token="wrong")[0] == 403
        with sync_api.sync_playwright() as p:
            b, page, errors, requests = watched_page(p, exe)
            page.goto(f"{server.url}?token={server.token}")
            for _ in range(len(chosen)):
                if "__pwned" in page.text_content("#answer"):
                    break
                page.keyboard.press("n")
            assert HOSTILE in page.text_content("#answer")  # shown as text
            assert page.locator("#answer img, #answer script").count() == 0
            assert page.evaluate("window.__pwned") is None
            assert all(u.startswith(server.url) for u in requests), requests
            b.close()
    finally:
        server.stop()


def test_reveal_shows_the_judge_only_after_labelling(run, tmp_path):
    exe, sync_api = browser()
    name, _ = choose(tmp_path, run, "random", 3)
    server = Server(tmp_path / "r.db", run, "dr_a", name, reveal=True)
    try:
        with sync_api.sync_playwright() as p:
            b, page, _, _ = watched_page(p, exe)
            page.goto(f"{server.url}?token={server.token}")
            assert page.text_content("#judge") == ""
            page.keyboard.press("1")
            sync_api.expect(page.locator("#judge")).to_have_text(re.compile("the judge said"))
            assert page.text_content("#judge") in ("the judge said: met", "the judge said: unmet",
                                                   "the judge said: unscored")
            b.close()
    finally:
        server.stop()


def test_two_raters_at_once_never_see_each_other(run, tmp_path):
    name, chosen = choose(tmp_path, run, "random", 12)
    a, b = Server(tmp_path / "r.db", run, "dr_a", name), Server(tmp_path / "r.db", run, "dr_b", name)
    keys = sorted(chosen)
    try:
        def label(server, value):
            for answer_id, unit_id in keys:
                assert server.post({"answer_id": answer_id, "unit_id": unit_id, "value": value})[0] == 200

        threads = [threading.Thread(target=label, args=(a, 1.0)), threading.Thread(target=label, args=(b, 0.0))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        page_a = a.page()[1]
        data = json.loads(page_a.split('<script type="application/json" id="data">')[1].split("</script>")[0])
        assert len(data["labels"]) == 12 and {v["value"] for v in data["labels"].values()} == {1.0}  # only dr_a's
        assert b.post({"answer_id": "nope", "unit_id": "emergency", "value": 1.0})[0] == 403  # not among its units
        assert b.post({"answer_id": keys[0][0], "unit_id": keys[0][1], "value": 7.0})[0] == 400
    finally:
        a.stop()
        b.stop()
    rows = db_rows(tmp_path / "r.db", "SELECT rater, COUNT(*) AS n FROM annotations GROUP BY rater")
    assert rows == [{"rater": "dr_a", "n": 12}, {"rater": "dr_b", "n": 12}]


def test_review_labels_feed_calibrate_estimate_and_export(cli, run, tmp_path):
    from medjudge.labels.review import save_label, unit_objects
    from medjudge.store import Store
    from medjudge.stored import StoredRun

    store = Store(tmp_path / "r.db")
    stored = StoredRun(store, run)
    name, chosen = choose(tmp_path, run, "random", 16)
    units = unit_objects(stored, chosen)
    panel = stored.verdicts.panel
    for i, (a, u) in enumerate(sorted(chosen)):  # dr_a agrees with the panel; dr_b on all but every fourth
        v = panel[(a, u)].value
        save_label(store, stored, name, chosen, units, "dr_a", a, u, v)
        save_label(store, stored, name, chosen, units, "dr_b", a, u, v if i % 4 else 1 - v)
    tname, targeted = choose(tmp_path, run, "disagreement")
    assert all(p is None for p in targeted.values())
    extra = [k for k in targeted if k not in chosen][:2]
    t_units = unit_objects(stored, targeted)
    for a, u in extra:
        save_label(store, stored, tname, targeted, t_units, "dr_a", a, u, 1.0)
    # calibrate: both raters are experts; the ceiling is theirs, on the 16 units they both labelled
    code, out, err = cli("calibrate", "--run", run, "--db", "r.db", "--json", "c.json", "--resamples", "50")
    assert code in (0, 5), err
    rows = json.loads((tmp_path / "c.json").read_text())["results"]
    assert {tuple(r["ceiling"]["experts"]) for r in rows if r["ceiling"]} == {("dr_a", "dr_b")}
    # estimate: the random review sample corrects the figure; the targeted labels are kept out, and said so
    code, out, err = cli("estimate", run, "--labels", name, "--db", "r.db")
    assert code == 0, err
    assert f"kept out: {len(extra)} labels on units chosen by a targeted review" in out
    code, out, err = cli("estimate", run, "--labels", tname, "--db", "r.db")
    assert code == 2 and "was targeted" in err
    # export, then import into a fresh database: the same labels
    code, out, err = cli("review", run, "--export", "labels.csv", "--db", "r.db")
    assert code == 0 and f"wrote {32 + len(extra)} labels" in out, err
    code, out, err = cli("annotations", "import", "labels.csv", "--rubric", EXAMPLES / "chest-pain-checklist.yaml",
                         "--db", "fresh.db")
    assert code == 0 and f"{32 + len(extra)} valid" in out, out + err
    old = {(r["item_id"], r["unit_id"], r["rater"], r["value"]) for r in db_rows(tmp_path / "r.db", "SELECT * FROM annotations")}
    new = {(r["item_id"], r["unit_id"], r["rater"], r["value"]) for r in db_rows(tmp_path / "fresh.db", "SELECT * FROM annotations")}
    assert old == new


def test_review_needs_a_rater_and_a_known_sample(cli, run, tmp_path):
    code, out, err = cli("review", run, "--db", "r.db")
    assert code == 2 and "--rater" in err
    code, out, err = cli("review", run, "--rater", "dr_a", "--sample", "unsafe", "--db", "r.db")
    assert code == 2 and "needs a rubric whose verdicts flag harm" in err
