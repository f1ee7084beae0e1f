"""Shared fixtures: real models loaded once, real Chroma stores in temp folders."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_094a88c166a7f8c4.txt"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Unpacked model weights, shared by the session's tests (never the user's own cache)."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> None:
    """All on-disk state of a test goes to its tmp_path."""
    monkeypatch.setenv("RAG_CACHE_DIR", str(model_cache))
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("RAG_SEEDS_DIR", str(tmp_path / "seeds"))
    monkeypatch.delenv("RAG_LLM__URL", raising=False)  # answers are extractive unless a test sets one
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "RAG_HTTPS_PROXY", "RAG_HTTP_PROXY", "RAG_NO_PROXY"):
        for spelling in (name, name.lower()):  # web fetches go direct unless a test sets a proxy
            monkeypatch.delenv(spelling, raising=False)


@pytest.fixture(scope="session")
def encoders(model_cache: Path):  # type: ignore[no-untyped-def]
    from rag.config import Settings
    from rag.pipeline import make_encoders

    return make_encoders(Settings(cache_dir=model_cache))


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, encoders) -> Path:  # type: ignore[no-untyped-def]
    """A real index of the seed article, built once per session; tests copy it before writing."""
    from rag.config import Settings
    from rag.pipeline import Bot

    base = tmp_path_factory.mktemp("seed")
    seeds = base / "seeds"
    seeds.mkdir()
    shutil.copy(SEED, seeds / SEED.name)
    bot = Bot(Settings(index_dir=base / "index"), encoders=encoders)
    bot.index([seeds])
    return base / "index"


@pytest.fixture(scope="session")
def seed_bot(seed_index: Path, encoders):  # type: ignore[no-untyped-def]
    from rag.config import Settings
    from rag.pipeline import Bot

    return Bot(Settings(index_dir=seed_index), encoders=encoders)


def assert_quotes_verbatim(answer, texts: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    """The invariant every answer must keep: each quote is its article's text at its offsets."""
    for c in answer.citations:
        if c.verbatim:  # (a line of the article's metadata is no quote of its text)
            assert texts[c.article_id][c.start : c.end] == c.quote, c
    for p in answer.passages:
        assert texts[p.article_id][p.start : p.end] == p.text, p


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and key for the name localhost (trusted via SSL_CERT_FILE in tests)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key
