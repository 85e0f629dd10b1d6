"""Loader robustness: every bad input is a finding with a location, never a traceback."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from cgcloud import loader
from cgcloud.findings import Severity


def load_one(tmp_path: Path, content: bytes, name: str = "f.yaml") -> loader.LoadResult:
    path = tmp_path / name
    path.write_bytes(content)
    return loader.load([tmp_path])


def only(result: loader.LoadResult, rule: str) -> list:
    hits = [f for f in result.findings if f.rule == rule]
    assert hits, f"expected {rule}, got {[(f.rule, f.message) for f in result.findings]}"
    return hits


def test_valid_document_has_data_and_positions(tmp_path: Path) -> None:
    r = load_one(tmp_path, "kind: Zones\nzones:\n  - {id: gov, name: 政务外网区}\n".encode())
    assert r.findings == []
    (doc,) = r.documents
    assert doc.data["zones"][0]["name"] == "政务外网区"
    pos = doc.locate(["zones", 0, "name"])
    assert (pos.line, pos.column) == (3, 21)  # the value, counted in characters
    assert doc.locate(["zones", 0, "name"], key=True).column == 15


def test_missing_key_points_at_parent_mapping(tmp_path: Path) -> None:
    r = load_one(tmp_path, b"a: 1\nspec:\n  b: 2\n")
    pos = r.documents[0].locate(["spec", "missing"])
    assert pos.line == 2


def test_multi_document_file(tmp_path: Path) -> None:
    r = load_one(tmp_path, b"---\nkind: A\n---\nkind: B\n---\n")
    assert [d.data["kind"] for d in r.documents] == ["A", "B"]
    assert r.documents[1].locate(["kind"]).line == 4


def test_duplicate_key(tmp_path: Path) -> None:
    r = load_one(tmp_path, b"a: 1\nb:\n  c: 2\n  c: 3\n")
    (f,) = only(r, "CG004")
    assert (f.line, f.column, f.severity) == (4, 3, Severity.ERROR)
    assert "第 3 行" in f.message
    assert r.documents == []


def test_tabs(tmp_path: Path) -> None:
    r = load_one(tmp_path, b"a:\n\tb: 1\n")
    (f,) = only(r, "CG003")
    assert (f.line, f.column) == (2, 1)


def test_non_utf8(tmp_path: Path) -> None:
    r = load_one(tmp_path, "a: ok\nb: 你好\n".encode("gbk"))
    (f,) = only(r, "CG002")
    assert f.line == 2 and "UTF-8" in f.message


def test_binary_file(tmp_path: Path) -> None:
    r = load_one(tmp_path, bytes(range(256)) * 4)
    (f,) = only(r, "CG002")
    assert "二进制" in f.message


def test_empty_file_is_a_warning(tmp_path: Path) -> None:
    r = load_one(tmp_path, b"# nothing here\n---\n")
    (f,) = only(r, "CG006")
    assert f.severity is Severity.WARNING


def test_directory_without_policies(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no yaml")
    r = loader.load([tmp_path])
    (f,) = only(r, "CG007")
    assert f.severity is Severity.ERROR


def test_nonexistent_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(loader.UsageError):
        loader.load([tmp_path / "nope"])


def test_syntax_error_has_location(tmp_path: Path) -> None:
    r = load_one(tmp_path, b"a: 1\nb: [1, 2\nc: 3\n")
    (f,) = only(r, "CG001")
    assert f.line >= 2


@pytest.mark.parametrize(
    "content",
    [b'a: "unclosed\n', b"a: b: c\n", b"? [a]\n: 1\n", b"a:\n  b: 1\n c: 2\n", b"- a\nb: 1\n"],
)
def test_syntax_errors_never_raise(tmp_path: Path, content: bytes) -> None:
    r = load_one(tmp_path, content)
    assert any(f.rule == "CG001" for f in r.findings) or r.documents


def test_alias_bomb_fails_fast_with_bounded_memory(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    content = ("\n".join(lines) + "\n").encode()
    tracemalloc.start()
    r = load_one(tmp_path, content)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    hits = only(r, "CG005")
    assert hits[0].line == 1
    assert r.documents == []
    assert peak < 20 * 1024 * 1024  # expanded, this would be 9**10 strings


def test_tags_are_rejected(tmp_path: Path) -> None:
    r = load_one(tmp_path, b"a: !!python/object:os.system x\n")
    only(r, "CG005")


def test_oversized_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 1024)
    r = load_one(tmp_path, b"a: " + b"x" * 2000 + b"\n")
    (f,) = only(r, "CG008")
    assert "MiB" in f.message


def test_fifty_megabyte_file_is_a_clear_finding(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:
        row = b"  - {from: a, source: 1.1.1.1, to: b, target: 2.2.2.2, port: TCP1}\n"
        fh.write(b"rules:\n")
        fh.write(row * (50 * 1024 * 1024 // len(row) + 1))
    r = loader.load([path])
    (f,) = only(r, "CG008")
    assert f.file.endswith("huge.yaml")


def test_bom_and_crlf(tmp_path: Path) -> None:
    r = load_one(tmp_path, b"\xef\xbb\xbfkind: Zones\r\nzones: []\r\n")
    assert [d.data for d in r.documents] == [{"kind": "Zones", "zones": []}]


def test_only_yaml_files_are_read_and_hidden_dirs_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("kind: A\n")
    (tmp_path / "b.json").write_text("{}")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "c.yaml").write_text("kind: C\n")
    r = loader.load([tmp_path])
    assert [d.data["kind"] for d in r.documents] == ["A"]
