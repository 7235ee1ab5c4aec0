"""The Datasette metadata for `medjudge browse`: descriptions and canned queries (view/datasette.json)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path


def metadata(db: Path) -> dict:
    """Datasette metadata for this database file (Datasette names a database after its file's stem)."""
    shipped = json.loads((resources.files("medjudge") / "view" / "datasette.json").read_text(encoding="utf-8"))
    return {"title": shipped["title"], "description": shipped["description"],
            "databases": {Path(db).stem: {"tables": shipped["tables"], "queries": shipped["queries"]}}}
