"""The README's settings table is the user's reference: every setting is in it, with its default."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from rag.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def _settings(model: type[BaseModel], prefix: str = "RAG_") -> dict[str, object]:
    out: dict[str, object] = {}
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out.update(_settings(kind, f"{prefix}{name.upper()}__"))
        else:
            out[f"{prefix}{name.upper()}"] = field.default
    return out


def test_every_setting_is_in_the_readme_table_with_its_default() -> None:
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| `(RAG_[A-Z_]+)` \| ([^|]*) \|", README.read_text(encoding="utf-8"), re.M)
    }
    missing = sorted(set(_settings(Settings)) - set(rows))
    assert not missing, f"settings missing from the README table: {missing}"
    for env, default in _settings(Settings).items():
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            shown = re.fullmatch(r"\s*`([\d.]+)`\s*", rows[env])
            assert shown and float(shown.group(1)) == default, (env, default, rows[env])
