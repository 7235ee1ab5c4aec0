"""Issue 36: one review server for a panel of raters, in headless Chromium. Three raters label at once through
one server, each seeing only their assignment; the overlap units get every assigned rater's label; a rater can
neither read nor write another's labels by changing ids or tokens; the coordinator's page shows the figures of
`agreement --json`; a restart mid-session loses and duplicates nothing; binding beyond loopback needs TLS or a
proxy; links can be revoked; label writes are rate-limited."""

import json
import re
import threading
import time
import urllib.error
import urllib.request

import pytest

from test_grade import db_rows
from test_report import browser, watched_page
from test_review import run  # noqa: F401  (the fixture: a two-judge run on the chest-pain checklist)

RATERS = ["dr_a", "dr_b", "dr_c"]


class PanelServer:
    def __init__(self, db, run_id, sample):
        from medjudge.view.review import build_panel_app, make_server

        self.server, sock = make_server(build_panel_app(str(db), run_id, sample))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    def post(self, token, body, origin="same"):
        headers = {"Content-Type": "application/json"}
        if origin:
            headers["Origin"] = self.url if origin == "same" else origin
        req = urllib.request.Request(f"{self.url}/label?token={token}", json.dumps(body).encode(), headers)
        try:
            with urllib.request.urlopen(req) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def get(self, path):
        try:
            with urllib.request.urlopen(f"{self.url}{path}") as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def panel(run, tmp_path):  # noqa: F811
    from medjudge import api

    made = api.review_panel(tmp_path / "r.db", run, RATERS, per_rater=6, overlap=2, overlap_share=0.5, n=20, seed=3)
    return run, made


def test_three_raters_at_once_with_planned_overlap(panel, cli, tmp_path):
    exe, sync_api = browser()
    run_id, made = panel
    assigned = made["assigned"]
    assert sorted(assigned) == RATERS and {len(u) for u in assigned.values()} == {6}
    overlap_units = {k for units in assigned.values() for k, o in units.items() if o}
    assert len(overlap_units) == 4  # 0.5 x 6 x 3 slots / 2 raters each
    for k in overlap_units:
        assert sum(k in units for units in assigned.values()) == 2
    server = PanelServer(tmp_path / "r.db", run_id, made["sample"])
    try:
        with sync_api.sync_playwright() as p:
            b, page, errors, _ = watched_page(p, exe)
            pages = {r: b.new_context().new_page() for r in RATERS}
            for r, pg in pages.items():
                pg.goto(f"{server.url}/?token={made['links'][r]}")
                assert pg.text_content("#rater") == r and pg.text_content("#progress") == "0 of 6 labelled"
            # the three label at once, turn by turn: dr_a and dr_b say "met" (2), dr_c "unmet" (1)
            keys = {"dr_a": "2", "dr_b": "2", "dr_c": "1"}
            for i in range(6):
                for r, pg in pages.items():
                    pg.keyboard.press(keys[r])
                for pg in pages.values():
                    sync_api.expect(pg.locator("#progress")).to_have_text(re.compile(f"^{i + 1} of 6"))
            for pg in pages.values():
                pg.reload()
                assert pg.text_content("#progress") == "6 of 6 labelled"
            assert errors == []
            b.close()
        rows = db_rows(tmp_path / "r.db", "SELECT item_id, unit_id, rater, detail FROM annotations")
        by_unit = {}
        for r in rows:
            by_unit.setdefault((r["item_id"], r["unit_id"]), set()).add(r["rater"])
        for k in overlap_units:  # every assigned rater's label on every overlap unit, and the flag on it
            assert by_unit[k] == {r for r in RATERS if k in assigned[r]}
        assert all(json.loads(r["detail"])["overlap"] == assigned[r["rater"]][(r["item_id"], r["unit_id"])]
                   for r in rows)
        assert len(rows) == 18  # 6 each, once
        code, out, err = cli("review", run_id, "--export", tmp_path / "labels.csv", "--db", tmp_path / "r.db")
        exported = list(__import__("csv").DictReader((tmp_path / "labels.csv").open()))
        assert code == 0 and len(exported) == 18
        assert sum(r["overlap"] == "1" for r in exported) == 2 * len(overlap_units)
        # the coordinator's page and `review --status` give the figures of `agreement --json`
        code, out, err = cli("agreement", "--run", run_id, "--raters", ",".join(RATERS), "--by", "none", "--json",
                             tmp_path / "ag.json", "--db", tmp_path / "r.db")
        (ag,) = json.loads((tmp_path / "ag.json").read_text())
        code, page_html = server.get(f"/coordinator?token={made['links']['(coordinator)']}")
        assert code == 200
        with sync_api.sync_playwright() as p:
            b, page, errors, _ = watched_page(p, exe)
            page.goto(f"{server.url}/coordinator?token={made['links']['(coordinator)']}")
            for r in RATERS:
                assert page.text_content(f'[data-key="{r}.labelled"]') == "6"
                assert page.text_content(f'[data-key="{r}.cannot_judge"]') == "0"
            for name, s in ag["stats"].items():
                shown = page.text_content(f'[data-key="agreement.{name}.estimate"]')
                assert shown == ("—" if s["estimate"] is None else f"{s['estimate']:.3f}"), name
                if s["ci"][0] is not None:
                    assert page.text_content(f'[data-key="agreement.{name}.ci"]') == \
                        f"[{s['ci'][0]:.3f}, {s['ci'][1]:.3f}]"
            b.close()
        code, out, err = cli("review", run_id, "--name", made["sample"], "--status", "--db", tmp_path / "r.db")
        assert code == 0 and re.search(r"dr_a\s+│\s+6\s+│\s+6\s+│\s+0", out), out
        alpha = ag["stats"][ag["primary"]]
        assert f"{alpha['estimate']:.3f}" in out
    finally:
        server.stop()


def test_no_rater_reads_or_writes_another_and_a_restart_loses_nothing(panel, tmp_path, monkeypatch):
    from medjudge import api

    run_id, made = panel
    links, assigned = made["links"], made["assigned"]
    theirs = next(k for k in assigned["dr_b"] if k not in assigned["dr_a"])
    mine = sorted(assigned["dr_a"])
    server = PanelServer(tmp_path / "r.db", run_id, made["sample"])
    try:
        body = {"answer_id": theirs[0], "unit_id": theirs[1], "value": 1.0}
        assert server.post(links["dr_a"], body) == 403  # dr_b's unit with dr_a's token
        assert server.post(links["dr_a"][:-1] + "x", body) == 403  # a changed token
        assert server.post(links["(coordinator)"], body) == 403  # the coordinator does not label
        ok = {"answer_id": mine[0][0], "unit_id": mine[0][1], "value": 1.0}
        assert server.post(links["dr_a"], ok, origin=None) == 403  # no Origin
        assert server.post(links["dr_a"], ok, origin="http://evil.example") == 403
        assert server.get(f"/coordinator?token={links['dr_a']}")[0] == 403
        assert server.get(f"/?token={links['(coordinator)']}")[0] == 403
        code, html = server.get(f"/?token={links['dr_a']}")
        data = json.loads(html.split('<script type="application/json" id="data">')[1].split("</script>")[0])
        assert sorted((u["answer_id"], u["unit_id"]) for u in data["units"]) == mine  # only dr_a's units
        for k in mine[:3]:
            assert server.post(links["dr_a"], {"answer_id": k[0], "unit_id": k[1], "value": 0.0}) == 200
    finally:
        server.stop()
    # a restart mid-session: the same link works, the three labels are there, none is duplicated
    server = PanelServer(tmp_path / "r.db", run_id, made["sample"])
    try:
        code, html = server.get(f"/?token={links['dr_a']}")
        data = json.loads(html.split('<script type="application/json" id="data">')[1].split("</script>")[0])
        assert code == 200 and len(data["labels"]) == 3
        for k in mine:
            assert server.post(links["dr_a"], {"answer_id": k[0], "unit_id": k[1], "value": 1.0}) == 200
        rows = db_rows(tmp_path / "r.db", "SELECT item_id, unit_id, value FROM annotations WHERE rater = 'dr_a'")
        assert len(rows) == 6 and {r["value"] for r in rows} == {1.0}
        again = api.review_panel(tmp_path / "r.db", run_id, RATERS, name=made["sample"])
        assert again["links"] == {} and sorted(again["kept"]) == sorted(RATERS + ["(coordinator)"])
        assert again["assigned"] == assigned
        # revoked: the link stops working at once
        assert api.review_revoke(tmp_path / "r.db", run_id, made["sample"], "dr_a") == 1
        assert server.post(links["dr_a"], {"answer_id": mine[0][0], "unit_id": mine[0][1], "value": 0.0}) == 403
    finally:
        server.stop()
    # label writes are rate-limited
    import medjudge.view.review as review_server

    monkeypatch.setattr(review_server, "RATE_LIMIT", 2)
    server = PanelServer(tmp_path / "r.db", run_id, made["sample"])
    try:
        k = sorted(assigned["dr_c"])[0]
        codes = [server.post(links["dr_c"], {"answer_id": k[0], "unit_id": k[1], "value": 1.0}) for _ in range(3)]
        assert codes == [200, 200, 429]
    finally:
        server.stop()


def test_binding_beyond_loopback_needs_tls_or_a_proxy(cli, run, tmp_path):  # noqa: F811
    code, out, err = cli("review", run, "--raters", "dr_a,dr_b", "--per-rater", "3", "--host", "0.0.0.0",
                         "--db", tmp_path / "r.db")
    assert code == 2 and "--certfile" in err and "--behind-proxy" in err and len(err.strip().splitlines()) == 1
    from medjudge.view.review import check_binding

    check_binding("0.0.0.0", behind_proxy=True)  # allowed: said explicitly
    check_binding("127.0.0.1")


def test_assignment_is_balanced_reproducible_and_refuses_what_cannot_be_done():
    from medjudge.errors import MedjudgeError
    from medjudge.labels.panel import assign

    keys = [(f"a{i}", c) for i in range(20) for c in ("emergency", "aspirin")]
    strata = {k: k[1] for k in keys}
    first = assign(keys, RATERS, per_rater=8, overlap=3, overlap_share=0.25, seed=5, strata=strata)
    assert first == assign(keys, RATERS, per_rater=8, overlap=3, overlap_share=0.25, seed=5, strata=strata)
    assert first != assign(keys, RATERS, per_rater=8, overlap=3, overlap_share=0.25, seed=6, strata=strata)
    assert {len(u) for u in first.values()} == {8}
    overlap = {k for u in first.values() for k, o in u.items() if o}
    assert len(overlap) == 2 and all(sum(k in u for u in first.values()) == 3 for k in overlap)  # 0.25 x 24 / 3
    used = {k for u in first.values() for k in u}
    assert abs(sum(k[1] == "emergency" for k in used) - sum(k[1] == "aspirin" for k in used)) <= 1  # by stratum
    with pytest.raises(MedjudgeError, match="need 20 units; the sample has 19"):
        assign(keys[:19], RATERS, per_rater=8, overlap=3, overlap_share=0.25)
    with pytest.raises(MedjudgeError, match="--overlap must be between 2 and the 3 raters"):
        assign(keys, RATERS, per_rater=4, overlap=4)
