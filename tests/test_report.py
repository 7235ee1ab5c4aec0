"""`medjudge report`: one offline HTML file, opened in headless Chromium (Debian's package)."""

import json
import shutil

import pytest

from conftest import EXAMPLES, write

HOSTILE = ('Call emergency services now. <script>window.__pwned = 1</script>'
           '<img src="http://127.0.0.1:9/pixel.png" onerror="window.__pwned = 2"> \\" onmouseover="window.__pwned=3"')


def judge(request):
    from medjudge.models.fakellm import fields_of

    f = fields_of(request)
    said = f["answer"].lower()
    criterion = f["criterion"].lower()
    met = ("emergency" in criterion and "emergency" in said) or ("aspirin" in criterion and "aspirin" in said) or \
          ("warning" in criterion and "arm" in said) or ("reassures" in criterion and "never serious" in said)
    return {"explanation": f"checked <b>{criterion[:20]}</b>", "criteria_met": met}


@pytest.fixture
def reported(cli, fake, tmp_path):
    answers = (EXAMPLES / "answers.jsonl").read_text() + json.dumps(
        {"id": "a4", "prompt": "Chest pain?", "answer": HOSTILE, "source": "model-x"}) + "\n"
    f = write(tmp_path / "answers.jsonl", answers)
    fake.responder = judge
    code, _, err = cli("grade", f, "--rubric", EXAMPLES / "chest-pain-checklist.yaml", "--judge", fake.judge(), "-q",
                       "--db", "r.db")
    assert code == 0, err
    run_id = json.loads(cli("runs", "--json", "--db", "r.db")[1])[0]["id"]
    assert cli("annotations", "import", EXAMPLES / "expert_labels.csv", "--rubric",
               EXAMPLES / "chest-pain-checklist.yaml", "--db", "r.db")[0] == 0
    cli("calibrate", "--run", run_id, "--resamples", "50", "--db", "r.db")
    code, out, err = cli("report", run_id, "-o", "r.html", "--db", "r.db")
    assert code == 0 and "wrote r.html" in out, err
    shown = json.loads(cli("show", run_id, "--json", "--db", "r.db")[1])
    return tmp_path / "r.html", shown


def test_report_is_one_escaped_file(reported):
    path, shown = reported
    html = path.read_text()
    assert path.stat().st_size < 2_000_000
    assert "<script>window.__pwned" not in html and "&lt;script&gt;window.__pwned" in html
    assert "<b>" not in html  # the judge's explanation is text, not markup
    assert 'src="http' not in html and "href=\"http" not in html
    assert html.count("<svg") >= 3  # the score plot, the calibration's forest plot, its rates, its confusions


def browser():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        pytest.skip("no Chromium: install Debian's package (apt-get install chromium); .ci/run does")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    return exe, sync_api


def watched_page(p, exe):
    """Headless Chromium and a new page recording its console errors, page errors and every request it makes:
    (browser, page, errors, requests)."""
    b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
    page = b.new_page()
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    return b, page, errors, requests


def test_report_in_a_real_browser(reported):
    exe, sync_api = browser()
    path, shown = reported
    with sync_api.sync_playwright() as p:
        b, page, errors, requests = watched_page(p, exe)
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        try:
            assert errors == [] and requests == [path.as_uri()]  # no request beyond the file itself
            assert page.evaluate("window.__pwned") is None  # the hostile answer did nothing
            assert page.locator("svg").count() >= 3
            # the numbers on the page are those of `medjudge show --json`
            assert page.text_content('[data-key="overall.score"]') == f"{shown['overall']['score']:.3f}"
            for tag, v in shown["tags"].items():
                assert page.text_content(f'[data-key="tags.{tag}.score"]') == f"{v['score']:.3f}"
            assert page.text_content('[data-key="coverage.scored"]') == str(shown["coverage"]["scored"])
            assert page.locator("text=Calibration").count() >= 1
            # the drill-down filters: disagreements only, then one criterion
            visible = page.locator(".answer:visible").count()
            page.check("#disagree-filter")
            assert 0 < page.locator(".answer:visible").count() < visible
            page.select_option("#unit-filter", "aspirin")
            assert page.locator("tr[data-unit]:visible").count() == page.locator(".answer:visible").count()
        finally:
            b.close()


def test_scale_report_has_bland_altman_and_the_shown_means(cli, fake, tmp_path):
    rubric = write(tmp_path / "s.yaml", "id: s\nversion: 1\nkind: scale\ntitle: t\n"
                   "dimensions: [{id: accuracy, question: Is it correct, min: 1, max: 5, anchors: {1: wrong, 5: right}}]\n")
    answers = write(tmp_path / "a.jsonl", "".join(
        json.dumps({"id": f"q{i}", "prompt": "Q?", "answer": f"answer number {i} level {1 + i % 5}"}) + "\n"
        for i in range(20)))
    labels = write(tmp_path / "l.csv", "item_id,unit_id,rater,value\n" + "".join(
        f"q{i},accuracy,dr,{1 + (i + i % 3) % 5}\n" for i in range(20)))

    def judge(request):
        from medjudge.models.fakellm import fields_of

        return {"explanation": "", "score": int(fields_of(request)["answer"].split("level ")[1][0])}

    fake.responder = judge
    assert cli("grade", answers, "--rubric", rubric, "--judge", fake.judge(), "-q", "--db", "s.db")[0] == 0
    run_id = json.loads(cli("runs", "--json", "--db", "s.db")[1])[0]["id"]
    assert cli("annotations", "import", labels, "--rubric", rubric, "--db", "s.db")[0] == 0
    cli("calibrate", "--run", run_id, "--resamples", "50", "--db", "s.db")
    assert cli("report", run_id, "-o", "s.html", "--db", "s.db")[0] == 0
    html = (tmp_path / "s.html").read_text()
    shown = json.loads(cli("show", run_id, "--json", "--db", "s.db")[1])
    assert f'data-key="dimensions.accuracy.mean">{shown["dimensions"]["accuracy"]["mean"]:.3f}<' in html
    assert "limits" in html and "judge - expert" in html  # the Bland-Altman plot of the dimension


def test_compare_two_runs_and_browse_metadata(cli, fake, tmp_path, reported):
    import sqlite3

    from test_grade import scripted

    fake.responder = scripted  # a second run of the same rubric: the examples' answers, another judge
    assert cli("grade", EXAMPLES / "answers.jsonl", "--rubric", EXAMPLES / "chest-pain-checklist.yaml", "--judge",
               fake.judge("other"), "-q", "--db", "r.db")[0] == 0
    ids = [r["id"] for r in json.loads(cli("runs", "--json", "--db", "r.db")[1])]
    code, out, err = cli("report", ids[1], "--compare", ids[0], "-o", "c.html", "--db", "r.db")
    assert code == 0, err
    html = (tmp_path / "c.html").read_text()
    assert html.count("Compared:") == 1 and ids[0] in html and ids[1] in html
    shown = [json.loads(cli("show", i, "--json", "--db", "r.db")[1]) for i in ids]
    assert all(f"{s['overall']['score']:.3f} [" in html for s in shown)
    # browse: the canned queries run on a real database, every table described exists
    code, out, err = cli("browse", "--metadata", "m.json", "--db", "r.db")
    assert code == 0, err
    meta = json.loads((tmp_path / "m.json").read_text())["databases"]["r"]
    con = sqlite3.connect(tmp_path / "r.db")
    tables = {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    assert set(meta["tables"]) <= tables
    for name, q in meta["queries"].items():
        con.execute(q["sql"], {"run": ids[0]}).fetchall()  # no SQL error
    assert con.execute(meta["queries"]["worst_answers"]["sql"], {"run": ids[0]}).fetchall()


def test_report_fit_for_an_appendix_in_a_real_browser(reported, cli, tmp_path):
    """Points and which way is better beside each criterion, the calibration's n as the terminal prints it, each
    system's figures, a caption that names only what is drawn, and a banner for a judge not to trust."""
    import re

    exe, sync_api = browser()
    path, shown = reported
    run_id = shown["run"]
    cal = tmp_path / "cal.json"
    cli("calibrate", "--run", run_id, "--resamples", "50", "--json", cal, "--db", "r.db")
    rows = json.loads(cal.read_text())["results"]
    rubric = {c["id"]: c["points"] for c in __import__("yaml").safe_load(
        (EXAMPLES / "chest-pain-checklist.yaml").read_text())["criteria"]}
    with sync_api.sync_playwright() as p:
        b, page, errors, _ = watched_page(p, exe)
        page.goto(path.as_uri())
        try:
            assert errors == []
            # criterion points beside each verdict, signed; a negative criterion says meeting it costs
            for unit_id, points in rubric.items():
                cell = page.text_content(f'[data-key="points.a1.{unit_id}"]')
                assert cell.startswith(f"{points:+g}") and (("met costs" in cell) == (points < 0))
                better = page.locator(f'tr:has([data-key="unit.{unit_id}.mean"]) td').nth(4).text_content()
                assert better.startswith("lower is better" if points < 0 else "higher is better")
            # the calibration's n is the terminal's n (items the figure stands on)
            for r in rows:
                n = page.text_content(f'[data-key="calibration.{r["group"]}.{r["judge"]}.n"]')
                assert n == str(r["items"])
            # each system of the file has its section, with the figures show --json gives
            for system, fig in shown["systems"].items():
                heading = page.locator(f"h2:has-text('System {system}')")
                assert heading.count() == 1
                assert page.locator(f"h2:has-text('System {system}') + div + table td.num").first.text_content() == \
                    f"{fig['overall']['score']:.3f}"
            # the forest plot's caption names a band only where one is drawn (two experts: drawn)
            svg = page.locator("svg").all_text_contents()
            assert any("grey band" in t for t in svg) or any("no physician ceiling" in t for t in svg)
            assert page.locator(".banner").count() == sum(1 for r in rows if r["verdict"] == "do not trust") and \
                page.locator(".banner").count() <= 1
        finally:
            b.close()
    # the embedded judge gets its banner (no call needed: the banner reads the run's panel)
    from medjudge.view.report import _banners

    class Run:
        models = ["local/gemma-3-270m"]
    assert re.search("embedded 270M base model", _banners(Run(), [])[0])
    assert _banners(Run(), [{"id": "c1", "rows": [{"judge": "j", "group": "g", "verdict": "do not trust"}]}])[1] == \
        "calibration c1: do not trust j (g) against these experts"


def test_report_keeps_experts_apart_and_names_a_separate_analysis(reported, cli, tmp_path):
    """One confusion matrix per expert (never two raters pooled under one count), each titled with its n; a
    calibration of other judges shown beside the run is headed as a separate analysis."""
    import csv
    import re

    path, shown = reported
    html = path.read_text()
    titles = re.findall(r"<!-- (\w+ vs dr_[ab]: \d+ items) -->|>(\w+ vs dr_[ab]: \d+ items)<", html)
    found = {t for pair in titles for t in pair if t}
    labels = list(csv.DictReader((EXAMPLES / "expert_labels.csv").open()))
    for rater in ("dr_a", "dr_b"):
        for crit in {r["criterion"] for r in labels if r["rater"] == rater}:
            n = sum(1 for r in labels if r["rater"] == rater and r["criterion"] == crit)
            assert f"{crit} vs {rater}: {n} items" in found, (crit, rater, n, sorted(found))
    assert "A separate analysis" not in html  # this run's own calibration
    rows = [{"item_id": f"x{i}", "criterion": "c1", "rater": r, "value": (i + (r == "other_judge")) % 2}
            for i in range(12) for r in ("dr_x", "other_judge")]
    with (tmp_path / "other.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["item_id", "criterion", "rater", "value"])
        w.writeheader()
        w.writerows(r for r in rows if r["rater"] == "dr_x")
    with (tmp_path / "judged.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["item_id", "criterion", "rater", "value"])
        w.writeheader()
        w.writerows(r for r in rows if r["rater"] == "other_judge")
    cli("annotations", "import", tmp_path / "other.csv", "--db", "r.db")
    cli("annotations", "import", tmp_path / "judged.csv", "--kind", "llm_judge", "--db", "r.db")
    cli("calibrate", "--raters", "other_judge", "--against", "dr_x", "--resamples", "50", "--json",
        tmp_path / "o.json", "--db", "r.db")
    cal_id = json.loads((tmp_path / "o.json").read_text())["id"]
    code, _, err = cli("report", shown["run"], "-o", "s.html", "--calibration", cal_id, "--db", "r.db")
    page = (tmp_path / "s.html").read_text()
    assert code == 0, err
    assert f"A separate analysis: calibration <code>{cal_id}</code> of other_judge" in page


def test_every_number_on_both_pages_is_the_terminals(cli, fake, tmp_path):
    """In Chromium: the run page's scores, each system's figures and the paired differences equal `show --json` and
    `compare --json`; the calibration page (`calibrate --report`, one analysis) equals `calibrate --json`. Every
    element the pages mark with a number key is read and compared, none skipped."""
    import csv

    exe, sync_api = browser()
    prompts = ["I have chest pain, what do I do?", "Chest pain and sweating?", "My father has chest pain.",
               "Pain in my arm and chest?", "Tight chest after running?"]
    good = ["Call emergency services; chew an aspirin.", "Call emergency services; pain in the arm is a warning.",
            "Call emergency services now.", "Chew an aspirin and call emergency services.", "Call emergency services."]
    rows = []
    for i, p in enumerate(prompts):
        rows.append({"id": f"p{i}-a", "prompt": p, "answer": good[i], "source": "sys-a"})
        rows.append({"id": f"p{i}-b", "prompt": p, "answer": "Rest, it is never serious." if i < 3 else good[i],
                     "source": "sys-b"})
    f = write(tmp_path / "two.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    fake.responder = judge
    rubric = EXAMPLES / "chest-pain-checklist.yaml"
    assert cli("grade", f, "--rubric", rubric, "--judge", fake.judge(), "-q", "--db", "t.db")[0] == 0
    run_id = json.loads(cli("runs", "--json", "--db", "t.db")[1])[0]["id"]
    shown = json.loads(cli("show", run_id, "--json", "--db", "t.db")[1])
    assert cli("compare", run_id, "--json", tmp_path / "c.json", "--db", "t.db")[0] == 0
    compared = json.loads((tmp_path / "c.json").read_text())
    with (tmp_path / "labels.csv").open("w", newline="") as fh:  # two experts, each disagreeing with the judge once
        w = csv.DictWriter(fh, ["item_id", "criterion", "rater", "value"])
        w.writeheader()
        for n, r in enumerate(rows):
            for crit in ("emergency", "aspirin", "symptoms", "reassure"):
                said = r["answer"].lower()
                met = {"emergency": "emergency" in said, "aspirin": "aspirin" in said, "symptoms": "arm" in said,
                       "reassure": "never serious" in said}[crit]
                for k, rater in enumerate(("dr_a", "dr_b")):
                    flip = (n + k) % 7 == 0 and crit == "aspirin"
                    w.writerow({"item_id": r["id"], "criterion": crit, "rater": rater,
                                "value": "met" if met != flip else "unmet"})
    assert cli("annotations", "import", tmp_path / "labels.csv", "--rubric", rubric, "--db", "t.db")[0] == 0
    code, out, err = cli("calibrate", "--run", run_id, "--resamples", "200", "--json", tmp_path / "cal.json",
                         "--report", tmp_path / "cal.html", "--db", "t.db")
    assert "wrote" in out, err
    cal = json.loads((tmp_path / "cal.json").read_text())
    assert cli("report", run_id, "-o", tmp_path / "run.html", "--db", "t.db")[0] == 0

    def f3(x, spec=".3f"):
        return "—" if x is None else format(x, spec)

    expected_run = {"overall.score": f3(shown["overall"]["score"])}
    for g in compared["groups"]:
        expected_run[f"paired.{g['group']}.examples"] = str(g["examples"])
        for s in g["systems"]:
            expected_run[f"paired.{g['group']}.{s['system']}.mean"] = f3(s["mean"])
        for d in g["differences"]:
            key = f"paired.{g['group']}.{d['a']}.{d['b']}"
            expected_run.update({f"{key}.difference": f3(d["difference"], "+.3f"), f"{key}.p": f3(d["p"]),
                                 f"{key}.ci_low": f3(d["ci"][0], "+.3f"), f"{key}.ci_high": f3(d["ci"][1], "+.3f")})
    expected_cal = {}
    for r in cal["results"]:
        key = f"calibration.{r['group']}.{r['judge']}"
        s = r["stats"].get(r["primary"]) or {}
        ceiling = ((r.get("ceiling") or {}).get("stats") or {}).get(r["primary"]) or {}
        expected_cal.update({f"{key}.n": str(r["items"]), f"{key}.estimate": f3(s.get("estimate")),
                             f"{key}.ci_low": f3((s.get("ci") or [None, None])[0]),
                             f"{key}.ci_high": f3((s.get("ci") or [None, None])[1]),
                             f"{key}.ceiling": f3(ceiling.get("estimate"))})
    assert len(compared["groups"]) >= 2 and len(cal["results"]) >= 4
    with sync_api.sync_playwright() as p:
        b, page, errors, _ = watched_page(p, exe)
        try:
            read = {}
            for html, prefixes in ((tmp_path / "run.html", ("paired.",)), (tmp_path / "cal.html", ("calibration.",))):
                page.goto(html.as_uri())
                page.wait_for_load_state("load")
                read[html.name] = {k: v.strip() for k, v in page.evaluate(
                    "() => Array.from(document.querySelectorAll('[data-key]')).map(e => [e.dataset.key, e.textContent])")
                    if k.startswith(prefixes)}
                if html.name == "run.html":
                    read[html.name]["overall.score"] = page.text_content('[data-key="overall.score"]')
                    assert "Paired differences" in page.text_content("body") and "permutation" in page.text_content("body")
                else:
                    assert page.locator("h1").text_content() == "Calibration of openai/fake-judge against dr_a, dr_b"
                    assert page.locator("h2").count() == 1 and "A separate analysis" not in page.text_content("body")
            assert errors == []
            assert read["run.html"] == expected_run
            assert read["cal.html"] == expected_cal
        finally:
            b.close()
