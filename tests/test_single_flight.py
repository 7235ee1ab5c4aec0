"""Every request counted and paid once (issue 31): identical calls in flight share one request, and the summary,
`show`, `runs` and the Python API count exactly the requests the server saw and every answer from the cache."""

import json

import pytest

from conftest import EXAMPLES, write


@pytest.mark.parametrize("concurrency", [1, 8, 64])
def test_duplicated_answers_are_sent_once_and_counted_exactly(cli, fake, tmp_path, concurrency):
    base = [json.loads(line) for line in (EXAMPLES / "answers.jsonl").read_text().splitlines()]
    rows = [dict(base[i % 10 % 3], id=f"x{i}", answer=base[i % 10 % 3]["answer"] + f" (case {i % 10})") for i in range(30)]
    write(tmp_path / "dup.jsonl", "".join(json.dumps(r) + "\n" for r in rows))  # 10 texts, each 3 times
    fake.latency = 0.05  # duplicates overlap in flight at concurrency 8 and 64
    code, out, err = cli("grade", "dup.jsonl", "--rubric", EXAMPLES / "chest-pain-checklist.yaml", "--judge",
                         fake.judge(), "--db", "d.db", "-q", "-c", str(concurrency), "--json-summary", "s.json")
    assert code == 0, err
    distinct = 10 * 4  # distinct (prompt, answer) x 4 criteria
    assert fake.count == distinct  # one request per distinct call, whatever the concurrency
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["calls"]["made"] == fake.count and s["calls"]["cached"] == 30 * 4 - distinct
    code, out, err = cli("show", s["run"], "--db", "d.db")
    assert f"calls: {distinct} made, {30 * 4 - distinct} cached" in out
    import medjudge

    summary = medjudge.summarize(tmp_path / "d.db", s["run"], resamples=0).summary
    assert summary["calls"]["made"] == distinct and summary["calls"]["cached"] == 30 * 4 - distinct
    runs = json.loads(cli("runs", "--json", "--db", "d.db")[1])
    assert len(runs) == 1
