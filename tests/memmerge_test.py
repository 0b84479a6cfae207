"""`restore --merge`: memories lost since WHEN come back, nothing learned since is lost."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLES, load_sample
from vaultsync import schemas
from vaultsync.errors import UsageError
from vaultsync.memmerge import dumps, merge_docs

MCP = SAMPLES / "mcp" / "memory.jsonl"
MEM0 = SAMPLES / "mem0" / "memories.json"
EXPORT = SAMPLES / "export" / "export.json"
RECORD = SAMPLES / "records" / "yt-transcript" / "65aa9c82-79f2-48b0-8cb4-a0d7d6225675.json"


def mem0_item(i: int, text: str | None = None) -> dict[str, Any]:
    return {"id": f"m{i}", "memory": text or f"fact {i}", "hash": None, "user_id": "kermit"}


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def named(lines: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(line for line in lines if line.get("name") == name)


# --- "the agent wiped half its memory yesterday" ------------------------------------------


def test_wiped_half_then_learned_more_mem0() -> None:
    past = {"results": [mem0_item(i) for i in range(10)]}
    current = {"results": [mem0_item(i) for i in range(0, 10, 2)]
               + [mem0_item(i, "learned since") for i in range(10, 13)]}  # fmt: skip

    result = merge_docs(current, past, "mem0-memory")

    merged = result.doc["results"]
    assert len(merged) == 13
    assert set(ids(merged)) == {f"m{i}" for i in range(13)}
    assert ids(merged)[:8] == ids(current["results"]), "what was learned since stays, in place"
    assert (result.restored, result.kept, result.taken) == (5, 0, 0)
    assert result.lines()[0] == "+ memory m1: 'fact 1'"
    assert schemas.check(dumps(result.doc, False, MEM0.read_bytes()), "m.json").problem is None


def test_wiped_half_then_learned_more_export() -> None:
    past, schema = load_sample(EXPORT)
    past["memories"] += [
        {"id": f"mem_{i}", "content": f"fact {i}", "embedding": [0.5] * 16} for i in range(7)
    ]
    past["metadata"]["memory_count"] = 10
    current = copy.deepcopy(past)
    current["memories"] = current["memories"][::2] + [
        {"id": f"new_{i}", "content": "learned since", "embedding": None} for i in range(3)
    ]
    current["relationships"] = []
    current["metadata"].update(memory_count=8, relationship_count=0)

    result = merge_docs(current, past, schema)

    assert len(result.doc["memories"]) == 13
    assert {m["id"] for m in result.doc["memories"]} >= {m["id"] for m in current["memories"]}
    assert result.doc["relationships"] == past["relationships"]
    assert result.doc["metadata"]["memory_count"] == 13
    assert result.doc["metadata"]["relationship_count"] == 1
    assert result.restored == 5 + 1
    assert "+ relationship mem_6ec160 → mem_078986 (caused)" in result.lines()


def test_inputs_are_not_modified() -> None:
    past, schema = load_sample(MCP)
    current = copy.deepcopy([line for line in past if line.get("name") != "Postgres"])
    named(current, "Ada_Lovelace")["observations"] = ["new one"]
    named(current, "vaultsync")["entityType"] = "software"
    before = copy.deepcopy((current, past))

    merge_docs(current, past, schema, "theirs")

    assert (current, past) == before


# --- conflicts -----------------------------------------------------------------------------


def test_changed_in_both_keep_or_theirs() -> None:
    past = [mem0_item(1, "Lives in Lyon"), mem0_item(2)]
    current = [mem0_item(1, "Lives in Paris"), mem0_item(2)]

    kept = merge_docs(current, past, "mem0-memory")
    taken = merge_docs(current, past, "mem0-memory", conflict="theirs")

    assert kept.doc == current and (kept.kept, kept.taken, kept.changed) == (1, 0, False)
    assert taken.doc == past and (taken.kept, taken.taken, taken.changed) == (0, 1, True)
    assert kept.lines("yesterday") == ["= memory m1 changed since yesterday: kept current"]
    assert taken.lines("HEAD~3") == [
        "< memory m1 changed since HEAD~3: took the version from HEAD~3"
    ]


def test_unknown_conflict_rule() -> None:
    with pytest.raises(UsageError, match="conflict rule 'mine'"):
        merge_docs([], [], "mem0-memory", conflict="mine")


# --- MCP knowledge graph -------------------------------------------------------------------


def test_mcp_entities_observations_relations() -> None:
    past, schema = load_sample(MCP)
    current = copy.deepcopy(past)
    current = [line for line in current if "Postgres" not in (line.get("name"), line.get("to"))]
    ada = named(current, "Ada_Lovelace")
    ada["observations"] = ["uses vim", "prefers concise answers"]  # one lost, one learned
    current.insert(2, {"type": "entity", "name": "Grace", "entityType": "person",
                       "observations": ["wrote a compiler"]})  # fmt: skip

    result = merge_docs(current, past, schema)

    names = [line.get("name") for line in result.doc if line["type"] == "entity"]
    assert names == ["Ada_Lovelace", "vaultsync", "Grace", "Postgres"]
    assert named(result.doc, "Ada_Lovelace")["observations"] == [
        "uses vim", "prefers concise answers", "works late in the evening", "likes dark mode",
    ]  # fmt: skip
    assert [r["to"] for r in result.doc if r["type"] == "relation"] == ["vaultsync", "Postgres"]
    assert (result.restored, result.observations, result.kept) == (2, 2, 0)
    assert result.lines() == [
        "+ observation on Ada_Lovelace: works late in the evening",
        "+ observation on Ada_Lovelace: likes dark mode",
        "+ entity Postgres (technology)",
        "+ relation vaultsync → Postgres (does_not_depend_on)",
    ]


def test_mcp_theirs_takes_fields_but_keeps_new_observations() -> None:
    past, schema = load_sample(MCP)
    current = copy.deepcopy(past)
    vaultsync = named(current, "vaultsync")
    vaultsync["entityType"] = "software"
    vaultsync["observations"].append("written in Python")

    kept = merge_docs(current, past, schema, "keep")
    taken = merge_docs(current, past, schema, "theirs")

    assert named(kept.doc, "vaultsync") == vaultsync
    assert named(taken.doc, "vaultsync")["entityType"] == "project"
    assert named(taken.doc, "vaultsync")["observations"] == vaultsync["observations"]
    assert (kept.kept, taken.taken) == (1, 1)
    assert taken.lines("WHEN") == [
        "< entity vaultsync changed since WHEN: took the version from WHEN"
    ]


def test_observations_are_a_set() -> None:
    past = [{"type": "entity", "name": "a", "entityType": "t", "observations": ["x", "y", "y"]}]
    current = [{"type": "entity", "name": "a", "entityType": "t", "observations": ["z", "x"]}]

    result = merge_docs(current, past, "mcp-knowledge-graph")

    assert result.doc[0]["observations"] == ["z", "x", "y"]
    assert result.observations == 1 and result.restored == 0


def test_graph_as_one_document_keeps_its_shape() -> None:
    past = {"entities": [{"name": "a", "entityType": "t", "observations": ["x"]},
                         {"name": "b", "entityType": "t", "observations": []}],
            "relations": [{"from": "a", "to": "b", "relationType": "knows"}]}  # fmt: skip
    current = {"entities": [{"name": "a", "entityType": "t", "observations": ["x"]}],
               "relations": []}  # fmt: skip

    result = merge_docs(current, past, "mcp-knowledge-graph")

    assert result.doc == past


def test_legacy_one_line_memory_json() -> None:
    """The server's legacy memory.json is JSON Lines; with one line it parses as one object."""
    past, schema = load_sample(MCP)
    ada = copy.deepcopy(named(past, "Ada_Lovelace"))

    grown = merge_docs(ada, past, schema)
    same = merge_docs(ada, [ada], schema)

    assert grown.doc == past, "several lines now: the integrator writes it as JSON Lines"
    assert same.doc is ada and not same.changed
    assert grown.to_json()["restored"] == 4


def test_mcp_merge_writes_like_the_server() -> None:
    """The MCP server's own style: compact separators, entities first, no final newline."""
    data = MCP.read_bytes()
    past, schema = load_sample(MCP)
    current = [line for line in past if line.get("name") != "vaultsync"]
    like = b"\n".join(json.dumps(x, separators=(",", ":")).encode() for x in current)

    out = dumps(merge_docs(current, past, schema).doc, True, like)

    assert sorted(out.split(b"\n")) == sorted(data.split(b"\n"))
    assert not out.endswith(b"\n") and b'{"type":"entity","name":"vaultsync"' in out
    assert schemas.check(out, "memory.jsonl").doc == merge_docs(current, past, schema).doc


# --- one memory per file -------------------------------------------------------------------


def test_record_file_gone_comes_back() -> None:
    past, schema = load_sample(RECORD)

    result = merge_docs(None, past, schema)

    assert result.doc == past and result.restored == 1
    assert result.lines() == [f"+ memory {past['id']}: 'Transcripts are stored as Markdown'"]


def test_record_file_changed_keep_or_theirs() -> None:
    past, schema = load_sample(RECORD)
    current = dict(past, content="Transcripts are stored as HTML")

    assert merge_docs(current, past, schema).doc == current
    assert merge_docs(current, past, schema, "theirs").doc == past
    assert merge_docs(past, past, schema).lines("then") == ["nothing lost since then"]
    assert merge_docs(current, None, schema).doc is current


def test_whole_graph_gone_reports_every_memory() -> None:
    past, schema = load_sample(MCP)

    result = merge_docs(None, past, schema)

    assert result.doc is past
    assert (result.restored, result.observations) == (5, 0)


# --- refusal -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "label"),
    [
        ("json", "plain JSON"),
        ("jsonl", "JSON Lines"),
        ("schemas/notes.json", "schema 'schemas/notes.json'"),
    ],
)
def test_formats_without_identity_are_refused(schema: str, label: str) -> None:
    with pytest.raises(UsageError) as info:
        merge_docs({"a": 1}, {"a": 2}, schema)

    assert f"format ({label}) has none" in info.value.message
    assert "without --merge" in str(info.value) and "--to DIR" in str(info.value)
    assert info.value.exit_code == 2


def test_a_document_not_in_its_format_is_refused() -> None:
    with pytest.raises(UsageError, match="not both memory-export documents"):
        merge_docs({"metadata": {}, "memories": 3}, {"metadata": {}, "memories": []},
                   "memory-export")  # fmt: skip


# --- writing the merged file ---------------------------------------------------------------


@pytest.mark.parametrize("path", [MCP, MEM0, EXPORT, RECORD], ids=lambda p: p.name)
def test_unchanged_merge_writes_the_same_bytes(path: Path) -> None:
    data = path.read_bytes()
    checked = schemas.check(data, path.name)

    result = merge_docs(checked.doc, copy.deepcopy(checked.doc), checked.schema)

    assert not result.changed
    assert dumps(result.doc, checked.lines, data) == data


@pytest.mark.parametrize(("indent", "newline"), [(2, "\n"), (4, "\n"), ("\t", "\n"), (2, "\r\n")])
def test_indentation_and_line_endings_are_kept(indent: int | str, newline: str) -> None:
    current = [mem0_item(1, "Café crème ☕")]
    like = (json.dumps(current, indent=indent, ensure_ascii=False) + "\n").replace("\n", newline)
    result = merge_docs(current, [mem0_item(2)], "mem0-memory")

    out = dumps(result.doc, False, like.encode()).decode()

    assert out == (json.dumps(result.doc, indent=indent, ensure_ascii=False) + "\n").replace(
        "\n", newline
    )
    assert "Café crème ☕" in out


@pytest.mark.parametrize("indent", [0, 1, 2, 4, "\t"])
def test_indented_output_is_what_json_writes(indent: int | str) -> None:
    doc: dict[str, Any] = {
        "ünï": [], "o": {}, "mixed": [1, "a, b", None, [], {"k": [True, False, None]}],
        "vector": [0.1, -2.5e-07, 1e22, 3, -0.0], "flags": [True, None], "s": ["x, y", "z"],
        "nested": [[1, 2], [[]], [{"a": {"b": [1.5]}}]], "n": None, "big": 2**70,
    }  # fmt: skip
    like = json.dumps({"a": [1]}, indent=indent).encode()

    assert dumps(doc, False, like).decode() == json.dumps(doc, indent=indent, ensure_ascii=False)


def test_compact_json_and_defaults() -> None:
    doc = {"b": [1, 2], "a": "é"}

    assert dumps(doc, False, b'{"x":1,"y":2}') == '{"b":[1,2],"a":"é"}'.encode()
    assert dumps(doc, False, b'{"x": 1, "y": 2}\n') == '{"b": [1, 2], "a": "é"}\n'.encode()
    assert (
        dumps(doc, False, None) == (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
    )
    assert dumps([{"a": 1}, {"b": 2}], True, None) == b'{"a":1}\n{"b":2}\n'
    assert dumps([{"a": "\ud83d"}], True, b'{"a": 1}\n') == b'{"a": "\\ud83d"}\n'


def test_bom_is_kept() -> None:
    like = b"\xef\xbb\xbf" + json.dumps({"a": 1}, indent=2).encode() + b"\n"

    assert dumps({"a": 2}, False, like) == b'\xef\xbb\xbf{\n  "a": 2\n}\n'
