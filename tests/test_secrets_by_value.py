"""A key is redacted by its value, whatever its variable is called (issue 31): a server echoing the bearer token
in a 401, a 429, a 500 and a 200 body never puts it in the database, an export, a report, stdout or stderr."""

import json

from conftest import EXAMPLES
from medjudge.models.fakellm import Fault, default_responder, fields_of

SECRET = "pk-live-7f3a9c21e8b04d6f"  # the README's own example names its variable #PROXY_KEY (not *_API_KEY)


def test_a_key_named_with_any_variable_never_reaches_a_row_or_a_stream(cli, fake, tmp_path, monkeypatch):
    monkeypatch.setenv("PROXY_KEY", SECRET)
    seen = []

    def echo(request):
        token = fake.auth[-1].removeprefix("Bearer ")
        seen.append(token)
        criterion = fields_of(request).get("criterion", "").lower()
        if "aspirin" in criterion:
            return Fault("500", message=f"upstream refused bearer {token}")
        if "warning symptoms" in criterion:
            return Fault("429", message=f"slow down, {token}")
        reply = default_responder(request)
        reply["explanation"] = f"checked with token {token}"  # echoed in a 200 body
        return reply

    fake.responder = echo
    judge = fake.judge() + "#PROXY_KEY"
    code, out, err = cli("grade", EXAMPLES / "answers.jsonl", "--rubric", EXAMPLES / "chest-pain-checklist.yaml",
                         "--judge", judge, "--db", "s.db", "--max-retries", "1", "--json-summary", "s.json")
    assert code == 3, err  # the 500 and 429 units failed after their retries: incomplete, redone on a rerun
    assert seen and set(seen) == {SECRET}  # the key was sent
    streams = out + err
    run_id = json.loads((tmp_path / "s.json").read_text())["run"]
    for args in (("export", run_id, "--judgments"), ("show", run_id), ("runs",)):
        code2, o, e = cli(*args, "--db", "s.db")
        streams += o + e
    assert cli("report", run_id, "-o", "r.html", "--db", "s.db")[0] in (0, 3)
    fake.responder = lambda request: Fault("401", message=f"invalid key {SECRET[:4]}...{SECRET[-8:]} / {SECRET}")
    code, out, err = cli("grade", EXAMPLES / "answers.jsonl", "--rubric", EXAMPLES / "chest-pain-checklist.yaml",
                         "--judge", fake.judge("other") + "#PROXY_KEY", "--db", "s.db")
    assert code == 4 and "AuthenticationError" in err
    streams += out + err
    stored = (tmp_path / "s.db").read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("s.db-wal"))
    assert SECRET not in streams and SECRET[-8:] not in streams
    assert SECRET.encode() not in stored and SECRET[-8:].encode() not in stored
    assert SECRET not in (tmp_path / "r.html").read_text()
    assert "[redacted]" in streams or b"[redacted]" in stored  # it was there to hide


def test_redaction_follows_the_environment_as_it_changes(monkeypatch):
    """secret_values is worked out once and kept while nothing changes: a key variable set, changed or removed
    later, and a name registered later, are redacted (or no longer) at once."""
    from medjudge import secrets

    monkeypatch.setattr(secrets, "_NAMES", set())
    monkeypatch.delenv("MJ_TEST_API_KEY", raising=False)
    assert secrets.redact_values("echo Zq7-first-value-1234") == "echo Zq7-first-value-1234"
    monkeypatch.setenv("MJ_TEST_API_KEY", "Zq7-first-value-1234")
    assert secrets.redact_values("echo Zq7-first-value-1234") == "echo [redacted]"
    monkeypatch.setenv("MJ_TEST_API_KEY", "Zq7-second-value-5678")  # same names, another value
    assert secrets.redact_values("echo Zq7-second-value-5678") == "echo [redacted]"
    monkeypatch.delenv("MJ_TEST_API_KEY")
    assert secrets.redact_values("echo Zq7-second-value-5678") == "echo Zq7-second-value-5678"
    monkeypatch.setenv("PLAIN_NAME", "Zq7-third-value-9012")  # not named like a key: only once registered
    assert secrets.redact_values("echo Zq7-third-value-9012") == "echo Zq7-third-value-9012"
    secrets.register_variable("PLAIN_NAME")
    assert secrets.redact_values("echo Zq7-third-value-9012") == "echo [redacted]"
