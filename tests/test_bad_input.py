"""Every bad input: a one-line message, a non-zero exit from the command line, the index untouched
(its manifest, the rows of every collection and the stored texts are compared before and after).
Damaged index files are in test_damage.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from indexkit import BRIDGE, snapshot, web_server

from rag.cli import main
from rag.errors import InputError


@pytest.fixture(scope="module")
def index(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the seed index that no test here may change."""
    target = tmp_path_factory.mktemp("bad") / "index"
    shutil.copytree(seed_index, target)
    return target


def _refused(args: list[str], capsys: pytest.CaptureFixture[str], index: Path, message: str) -> None:
    before = snapshot(index)
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err, err
    assert snapshot(index) == before


@pytest.mark.parametrize("question", ["", "   \t  "])
def test_an_empty_question_is_refused(index: Path, question: str, capsys: pytest.CaptureFixture[str]) -> None:
    _refused(["ask", "--index-dir", str(index), question], capsys, index, "The question is empty")


def test_a_missing_path_is_refused(index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "gibt-es-nicht.txt"
    _refused(
        ["index", "--quiet", "--index-dir", str(index), str(missing)],
        capsys,
        index,
        f"{missing}: no such file or folder",
    )


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("leer.txt", b"", "leer.txt is empty"),
        ("bild.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "bild.txt looks like a binary file"),
        ("gross.txt", BRIDGE.encode() * 3, "gross.txt is 1,"),
    ],
    ids=["empty", "binary", "over-size-limit"],
)
def test_unusable_files_are_refused(
    index: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    data: bytes,
    message: str,
) -> None:
    monkeypatch.setenv("RAG_MAX_FILE_BYTES", "1000")
    path = tmp_path / name
    path.write_bytes(data)
    good = tmp_path / "gut.txt"
    good.write_text(BRIDGE[:900], encoding="utf-8")
    # A good file given alongside is not indexed either: the run stops before writing anything.
    _refused(["index", "--quiet", "--index-dir", str(index), str(good), str(path)], capsys, index, message)


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: chmod 000 does not stop root from reading")
def test_an_unreadable_file_is_refused(index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "geheim.txt"
    path.write_text(BRIDGE, encoding="utf-8")
    path.chmod(0)
    _refused(["index", "--quiet", "--index-dir", str(index), str(path)], capsys, index, "permission denied")


def test_an_unreadable_file_is_refused_even_when_permissions_cannot_be_tested(
    index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As root no file is unreadable, so the operating system's refusal is faked for this one file."""
    path = tmp_path / "geheim.txt"
    path.write_text(BRIDGE, encoding="utf-8")
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "geheim.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    _refused(
        ["index", "--quiet", "--index-dir", str(index), str(path)],
        capsys,
        index,
        f"{path} cannot be read (permission denied)",
    )


def test_a_folder_that_is_not_an_index_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "dokumente"
    folder.mkdir()
    (folder / "brief.txt").write_text("Lieber Max", encoding="utf-8")
    article = tmp_path / "a.txt"
    article.write_text(BRIDGE, encoding="utf-8")
    listing = sorted(p.name for p in folder.iterdir())
    assert main(["ask", "--index-dir", str(folder), "Wer ist Max?"]) == 2
    assert f"{folder} is not an index; build it with: python -m rag index" in capsys.readouterr().err
    assert main(["status", "--index-dir", str(folder)]) == 2
    assert "is not an index" in capsys.readouterr().err
    assert main(["index", "--quiet", "--index-dir", str(folder), str(article)]) == 2
    assert f"{folder} is not an index folder (it holds 'brief.txt')" in capsys.readouterr().err
    assert main(["remove", "--index-dir", str(folder), str(article)]) == 2
    assert f"{folder} is not an index" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == listing


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/fehlt", "answered 404 Not Found"),
        ("/bild", "is image/png, not a web page"),
        ("/langsam", "no complete answer within 0.5 s"),
    ],
    ids=["404", "not-text", "timeout"],
)
def test_bad_web_addresses_are_refused(
    index: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, path: str, message: str
) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("RAG_FETCH_TIMEOUT", "0.5")
    routes = {"/bild": ("image/png", b"\x89PNG" + b"\x00" * 64, 0.0), "/langsam": ("text/html", b"<p>x</p>", 3.0)}
    with web_server(routes) as url:
        _refused(["index", "--quiet", "--index-dir", str(index), url + path], capsys, index, message)


def test_an_index_lock_held_elsewhere_makes_index_refuse(index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rag.index.lock import writer_lock

    with writer_lock(index):
        _refused(
            ["index", "--quiet", "--index-dir", str(index), str(ROOT / "seeds")],
            capsys,
            index,
            f"{index} is being updated by process {os.getpid()}; wait for it to finish",
        )


def test_the_command_line_exits_non_zero_as_a_process(index: Path, tmp_path: Path) -> None:
    """The same refusal seen from outside: exit status 2 and one line on stderr, nothing on stdout."""
    empty = tmp_path / "leer.md"
    empty.write_text("\n\n", encoding="utf-8")
    before = snapshot(index)
    run = subprocess.run(
        [sys.executable, "-m", "rag", "index", "--quiet", "--index-dir", str(index), str(empty)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr == f"error: {empty} is empty; give a file with the article's text.\n"
    assert run.stdout == ""
    assert snapshot(index) == before


def test_an_upload_name_that_leaves_seeds_is_refused(tmp_path: Path) -> None:
    from rag.articles.ingest import safe_seed_path

    for name in ("../../etc/passwd.txt", "/tmp/x.txt", "..\\x.txt"):
        with pytest.raises(InputError, match="rename the file and upload it again"):
            safe_seed_path(tmp_path / "seeds", name)


def test_bytes_that_are_not_utf8_in_a_question_or_a_file_name_are_refused(index: Path, tmp_path: Path) -> None:
    """A command line passes bytes: a question or a file name in another encoding gets one line."""
    folder = tmp_path / "latin1"
    folder.mkdir()
    (folder / os.fsdecode(b"br\xfccke.txt")).write_text(BRIDGE, encoding="utf-8")
    (folder / "newline\nname.txt").write_text(BRIDGE.replace("48", "49"), encoding="utf-8")
    before = snapshot(index)
    runs = [
        (["ask", "--index-dir", str(index), b"Wie viele Soldaten \xfcberquerten?"], "The question holds bytes"),
        (["index", "--quiet", "--index-dir", str(index), os.fsencode(folder / os.fsdecode(b"br\xfccke.txt"))], ""),
    ]
    for args, message in runs:
        run = subprocess.run(
            [sys.executable, "-m", "rag", *args], capture_output=True, cwd=ROOT, timeout=120, check=False
        )
        err = run.stderr.decode("utf-8")
        assert run.returncode == 2, err
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert message in err
    assert "br\\udcfccke.txt: the name is not UTF-8 text; rename the file." in err
    assert snapshot(index) == before
    # Found in a folder, such a name is skipped with a line of its own; the other file is indexed.
    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    run = subprocess.run(
        [sys.executable, "-m", "rag", "index", "--quiet", "--index-dir", str(copy), str(folder)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "the name is not UTF-8 text; rename the file." in run.stderr
    assert run.stdout.startswith("Indexed 1 new")
    assert all(line.startswith(("skipped ", "note: ")) for line in run.stderr.splitlines()), run.stderr
