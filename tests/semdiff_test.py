"""Semantic diffs: memories, entities, observations and relations, not text lines."""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import SAMPLES, load_sample
from vaultsync import schemas
from vaultsync.semdiff import diff_docs

MCP = SAMPLES / "mcp" / "memory.jsonl"
MEM0 = SAMPLES / "mem0" / "memories.json"
EXPORT = SAMPLES / "export" / "export.json"
RECORD = SAMPLES / "records" / "second-brain" / "31162427-3bfd-1d33-8d00-38ec42650644.json"


def entity(doc: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(line for line in doc if line.get("name") == name)


# --- MCP knowledge graph -------------------------------------------------------------------


def test_mcp_graph_entities_observations_and_relations() -> None:
    old, schema = load_sample(MCP)
    new = copy.deepcopy(old)
    ada = entity(new, "Ada_Lovelace")
    ada["observations"].remove("likes dark mode")
    ada["observations"].append("uses vim")
    entity(new, "vaultsync")["entityType"] = "software"
    new.insert(3, {"type": "entity", "name": "Grace", "entityType": "person",
                   "observations": ["wrote a compiler"]})  # fmt: skip
    new.pop()  # the relation vaultsync → Postgres

    diff = diff_docs(old, new, schema)

    assert schema == "mcp-knowledge-graph"
    assert diff.summary() == (
        "+1 entity, 2 entities changed, +1 observation, -1 observation, -1 relation"
    )
    assert diff.lines() == [
        "+ entity Grace (person)",
        "  + observation: wrote a compiler",
        "~ entity Ada_Lovelace (person)",
        "  + observation: uses vim",
        "  - observation: likes dark mode",
        "~ entity vaultsync (software): entityType: 'project' → 'software'",
        "- relation vaultsync → Postgres (does_not_depend_on)",
    ]


def test_mcp_relation_added_and_entity_removed() -> None:
    old, schema = load_sample(MCP)
    new = [line for line in old if line.get("name") != "Postgres"]
    new.append({"type": "relation", "from": "Ada_Lovelace", "to": "Postgres",
                "relationType": "avoids"})  # fmt: skip

    diff = diff_docs(old, new, schema)

    assert diff.summary() == "-1 entity, +1 relation"
    assert "- entity Postgres (technology)" in diff.lines()
    assert "  - observation: used by the billing service" in diff.lines()
    assert "+ relation Ada_Lovelace → Postgres (avoids)" in diff.lines()


def test_reordered_observations_and_lines_are_no_change() -> None:
    old, schema = load_sample(MCP)
    new = copy.deepcopy(old)[::-1]
    entity(new, "Ada_Lovelace")["observations"].reverse()

    diff = diff_docs(old, new, schema)

    assert diff.is_empty
    assert diff.summary() == "no change in memories"


def test_whitespace_only_change_is_no_change() -> None:
    data = MCP.read_bytes()
    spaced = b"\n".join(
        json.dumps(json.loads(line), indent=None).encode() for line in data.splitlines()
    )
    old = schemas.check(data, "memory.jsonl")
    new = schemas.check(spaced + b"\n\n", "memory.jsonl")
    assert spaced != data

    diff = diff_docs(old.doc, new.doc, new.schema)

    assert diff.is_empty and diff.summary() == "no change in memories"
    assert diff.lines() == ["no change in memories"]


def test_graph_as_one_document() -> None:
    old: dict[str, Any] = {
        "entities": [{"name": "a", "entityType": "t", "observations": ["x"]}],
        "relations": [],
    }
    new = copy.deepcopy(old)
    new["entities"][0]["observations"] += ["y", "z"]
    new["relations"].append({"from": "a", "to": "a", "relationType": "knows"})

    diff = diff_docs(old, new, "mcp-knowledge-graph")

    assert diff.summary() == "1 entity changed, +2 observations, +1 relation"


def test_created_and_deleted_files() -> None:
    doc, schema = load_sample(MCP)

    created, deleted = diff_docs(None, doc, schema), diff_docs(doc, None, schema)

    assert (created.summary(), deleted.summary()) == ("created", "deleted")
    assert created.lines()[:3] == [
        "created",
        "+ entity Ada_Lovelace (person)",
        "  + observation: prefers concise answers",
    ]
    assert deleted.lines()[1] == "- entity Ada_Lovelace (person)"
    assert diff_docs(None, None, schema).is_empty


# --- records: mem0, memory records, exports -----------------------------------------------


def test_mem0_memories_added_removed_changed() -> None:
    old, schema = load_sample(MEM0)
    new = copy.deepcopy(old)
    lyon = new["results"][2]
    lyon["memory"] = "Lives in Paris"
    del new["results"][1]
    new["results"].append({"id": "m-new", "memory": "Plays the cello", "hash": None})

    diff = diff_docs(old, new, schema)

    assert diff.summary() == "+1 memory, -1 memory, 1 memory changed"
    assert diff.lines() == [
        "+ memory m-new: 'Plays the cello'",
        "- memory 795b929e-9a9a-80fd-ea7b-5bf55eb561a4: 'Allergic to peanuts'",
        f"~ memory {lyon['id']}: memory: 'Lives in Lyon' → 'Lives in Paris'",
    ]


def test_mem0_bare_list_and_plurals() -> None:
    old, schema = load_sample(MEM0)
    new = old["results"] + [{"id": f"n{i}", "memory": f"fact {i}"} for i in range(3)]

    diff = diff_docs(old["results"], new, schema)

    assert diff.summary() == "+3 memories"


def test_single_record_file() -> None:
    old, schema = load_sample(RECORD)
    new = copy.deepcopy(old)
    new["content"] = "Obsidian vault moved to Notes/"
    new["metadata"]["tags"] = ["obsidian"]
    del new["metadata"]["source"]

    diff = diff_docs(old, new, schema)

    assert schema == "memory-record"
    assert diff.summary() == "memory changed: content, metadata/source, metadata/tags"
    assert diff.lines() == [
        f"~ memory {old['id']}",
        "  content: 'Obsidian vault lives in SecondBrain/' → 'Obsidian vault moved to Notes/'",
        "  - metadata/source: 'agent'",
        '  + metadata/tags: ["obsidian"]',
    ]
    assert diff_docs(None, new, schema).summary() == "created"


def test_export_embedding_is_reported_not_dumped() -> None:
    old, schema = load_sample(EXPORT)
    vector = [random.uniform(-1, 1) for _ in range(1536)]
    old["memories"][0]["embedding"] = vector
    new = copy.deepcopy(old)
    new["memories"][0]["embedding"] = [x + 0.001 for x in vector]

    diff = diff_docs(old, new, schema)

    assert diff.summary() == "1 memory changed"
    assert diff.lines() == ["~ memory mem_6fbabe: embedding changed"]
    rendered = json.dumps(diff.to_json())
    assert len(rendered) < 1000, "the vector must not be in the --json output"
    assert diff.to_json()["changes"][0]["fields"] == [
        {"path": "embedding", "op": "~", "elided": True, "old_size": 1536, "new_size": 1536}
    ]


def test_an_embedding_added_or_removed_is_not_dumped_either() -> None:
    old, schema = load_sample(EXPORT)
    new = copy.deepcopy(old)
    del new["memories"][0]["embedding"]
    new["memories"][1]["vectors"] = {"small": [0.25] * 384}

    diff = diff_docs(old, new, schema)

    assert diff.lines() == [
        "~ memory mem_6fbabe",
        "  - embedding: 16 numbers",
        "~ memory mem_6ec160",
        '  + vectors: {"small": "[384 numbers]"}',
    ]
    assert "0.25" not in json.dumps(diff.to_json())


def test_export_memories_relationships_and_metadata() -> None:
    old, schema = load_sample(EXPORT)
    new = copy.deepcopy(old)
    new["memories"].append({"id": "mem_new", "content": "Invoice sent", "embedding": [0.1] * 16})
    new["memories"][1]["content"] = "Deadline moved to April"
    new["metadata"]["memory_count"] = 4
    new["relationships"] = []

    diff = diff_docs(old, new, schema)

    assert diff.summary() == (
        "+1 memory, 1 memory changed, -1 relationship; keys changed: /metadata/memory_count"
    )
    assert diff.lines() == [
        "~ /metadata/memory_count: 3 → 4",
        "+ memory mem_new: 'Invoice sent'",
        "~ memory mem_6ec160: content: 'Deadline moved to March' → 'Deadline moved to April'",
        "- relationship mem_6ec160 → mem_078986 (caused)",
    ]
    assert "0.1" not in "\n".join(diff.lines())


def test_relationship_strength_changed() -> None:
    old, schema = load_sample(EXPORT)
    new = copy.deepcopy(old)
    new["relationships"][0]["strength"] = 0.2

    diff = diff_docs(old, new, schema)

    assert diff.summary() == "1 relationship changed"
    assert diff.lines() == ["~ relationship mem_6ec160 → mem_078986 (caused): strength: 0.9 → 0.2"]


def test_long_values_are_shortened() -> None:
    old, schema = load_sample(MEM0)
    new = copy.deepcopy(old)
    new["results"][0]["memory"] = "very long " * 200

    (line,) = diff_docs(old, new, schema).lines()

    assert len(line) < 200 and line.endswith("…'")


# --- plain JSON ----------------------------------------------------------------------------


def test_generic_json_paths() -> None:
    old = {"a": {"b": 1}, "d": "gone", "list": [1, 2]}
    new = {"a": {"b": 2}, "c": {"e": True}, "list": [1, 2, 3]}

    diff = diff_docs(old, new, "json")

    assert diff.summary() == "keys changed: /a/b, +/c, -/d, +/list/2"
    assert diff.lines() == [
        "~ /a/b: 1 → 2",
        '+ /c: {"e": true}',
        "- /d: 'gone'",
        "+ /list/2: 3",
    ]
    assert diff.to_json()["keys"][0] == {"path": "/a/b", "op": "~", "old": 1, "new": 2,
                                         "elided": False}  # fmt: skip


def test_generic_summary_stays_one_short_line() -> None:
    old = {f"setting_number_{i}": i for i in range(300)}
    new = {k: v + 1 for k, v in old.items()}

    diff = diff_docs(old, new, "json")

    assert len(diff.summary()) <= 120
    assert diff.summary().startswith("keys changed: /setting_number_0, /setting_number_1, ")
    assert diff.summary().endswith(" more")
    assert len(diff.lines(limit=50)) == 50 and diff.lines(limit=50)[-1] == "… and 251 more lines"


def test_jsonl_and_user_schema_are_diffed_as_json() -> None:
    diff = diff_docs([{"x": 1}, {"x": 2}], [{"x": 1}, {"x": 3}], "jsonl")
    user = diff_docs({"id": 1, "v": "a"}, {"id": 1, "v": "b"}, "schemas/mine.json")

    assert diff.summary() == "keys changed: /1/x"
    assert user.summary() == "keys changed: /v"
    assert diff_docs({"a": 1}, {"a": 1}, "json").summary() == "no change in memories"


def test_deepdiff_is_imported_only_for_field_detail() -> None:
    """Its import costs ~115 ms: a sync that only added entities must not pay it."""
    code = f"""
import sys
from vaultsync import schemas
from vaultsync.semdiff import diff_docs
doc = schemas.check(open({str(MCP)!r}, "rb").read(), "memory.jsonl").doc
new = doc + [{{"type": "entity", "name": "x", "entityType": "t", "observations": ["o"]}}]
new[0] = dict(new[0], observations=new[0]["observations"] + ["more"])
print(diff_docs(doc, new, "mcp-knowledge-graph").summary(), "deepdiff" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "+1 entity, 1 entity changed, +1 observation False"


@pytest.mark.parametrize("schema", ["mem0-memory", "memory-export", "mcp-knowledge-graph"])
def test_a_malformed_document_falls_back_to_json(schema: str) -> None:
    diff = diff_docs({"results": 3, "memories": 3, "entities": 3}, {"x": 1}, schema)

    assert diff.shape == "json" and diff.summary().startswith("keys changed: ")
