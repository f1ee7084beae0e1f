"""The manifest: what an index holds (its articles, model and collections).

Readers trust only what it lists, so it is written atomically with a checksum of its content and
checked field by field when read: a truncated or altered file is reported as damaged, with the
command that repairs it, and never half-trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import IndexUnavailable
from rag.types import META_FIELDS

MANIFEST = "manifest.json"
PENDING = "manifest.next.json"
FORMAT_VERSION = 1
REBUILD = "python -m rag index --rebuild"


class DamagedManifest(IndexUnavailable):
    """A manifest that cannot be read or fails its checks."""


@dataclass
class Manifest:
    """What an index holds; readers trust only what it lists."""

    embedding: dict[str, Any]
    collections: dict[str, str]
    fingerprint: str
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)
    built_at: float = 0.0
    version: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def read_manifest(index_dir: Path, name: str = MANIFEST) -> Manifest | None:
    """The manifest ``name`` of ``index_dir``; None when there is none; ``IndexUnavailable`` when
    it cannot be read or fails its checks."""
    path = index_dir / name
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
        return parse(data)
    except IndexUnavailable:  # written by a newer version
        raise
    except OSError as exc:
        raise DamagedManifest(f"{path} cannot be read ({exc.strerror}); check the folder and its disk.") from exc
    except (ValueError, TypeError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise DamagedManifest(f"{index_dir} holds a damaged {name} ({reason}); rebuild it with: {REBUILD}") from exc


def parse(data: Any) -> Manifest:
    """A manifest from its JSON; ``ValueError`` naming the first thing wrong."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    version = data.get("version", FORMAT_VERSION)
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise IndexUnavailable("The index was written by a newer version of this program; update it.")
    data = dict(data)
    stored = data.pop("checksum", None)
    if stored is not None and stored != checksum(data):
        raise ValueError("its checksum does not match its content")
    unknown = set(data) - {"embedding", "collections", "fingerprint", "articles", "built_at", "version"}
    if unknown:
        raise ValueError(f"unknown field {sorted(unknown)[0]!r}")
    embedding = _typed(data, "embedding", dict)
    _typed(embedding, "name", str, "embedding")
    _typed(embedding, "dim", int, "embedding")
    collections = _typed(data, "collections", dict)
    if not collections or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in collections.items()):
        raise ValueError("collections must name at least one collection")
    _typed(data, "fingerprint", str)
    for aid, meta in _typed(data, "articles", dict, default={}).items():
        where = f"article {aid}"
        if not isinstance(meta, dict):
            raise ValueError(f"{where} is not an object")
        _typed(meta, "source", str, where)
        _typed(meta, "title", str, where)
        if _typed(meta, "chunks", int, where) < 0:
            raise ValueError(f"{where} has a negative chunk count")
        known = (("lang", str), ("sha", str), ("chars", int), ("added_at", (int, float)))
        for key, kind in known + tuple((k, str) for k in META_FIELDS):
            if key in meta:
                _typed(meta, key, kind, where)
    _typed(data, "built_at", (int, float), default=0.0)
    _typed(data, "version", int, default=FORMAT_VERSION)
    return Manifest(**data)


def _typed(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str = "", default: Any = None) -> Any:
    if key not in data and default is not None:
        return default
    value = data.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{where + ' ' if where else ''}{key} is missing or of the wrong type")
    return value


def checksum(data: dict[str, Any]) -> str:
    """A hash of a manifest's content, independent of key order and layout."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:24]


def write_manifest(index_dir: Path, manifest: Manifest, name: str = MANIFEST) -> None:
    """Replace the manifest atomically: readers see the old one or the new one."""
    manifest.built_at = time.time()
    data = manifest.to_json()
    data["checksum"] = checksum(data)
    atomic_write(index_dir / name, json.dumps(data, ensure_ascii=False, indent=1))


def remove_manifest(index_dir: Path, name: str) -> None:
    (index_dir / name).unlink(missing_ok=True)


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file, flush it to disk, then rename it over ``path``. A failed
    write (e.g. a full disk) leaves ``path`` as it was and removes the partial file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
