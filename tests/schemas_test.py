"""The shipped schemas, auto-detection, validation messages and `validate` / `schemas`."""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from tests.conftest import SAMPLES, Env
from vaultsync import configcheck, schemas
from vaultsync.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures" / "schemas"
ROOT = Path(__file__).parent.parent


def fixture_files(kind: str) -> list[tuple[str, Path]]:
    return [
        (name, path)
        for name in schemas.shipped_names()
        for path in sorted((FIXTURES / name / kind).iterdir())
    ]


def expected(name: str, path: Path) -> dict[str, str]:
    table: dict[str, dict[str, str]] = json.loads((FIXTURES / name / "expected.json").read_text())
    return table[path.name]


def ids(cases: list[tuple[str, Path]]) -> list[str]:
    return [f"{name}/{path.name}" for name, path in cases]


VALID = fixture_files("valid")
INVALID = fixture_files("invalid")


# --- every shipped schema, against its fixtures ------------------------------------------------


def test_every_shipped_schema_has_a_title_a_description_and_fixtures() -> None:
    assert set(schemas.shipped_names()) == {
        "json", "jsonl", "memory-record", "mem0-memory", "mcp-knowledge-graph",
        "memory-export", "markdown", "text", "vaultsync-config",
    }  # fmt: skip
    for name, description in schemas.shipped():
        document = json.loads((schemas.schema_dir() / f"{name}.schema.json").read_text())
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert document["title"] and description and "\n" not in description
        invalid = sorted(p.name for p in (FIXTURES / name / "invalid").iterdir())
        assert list((FIXTURES / name / "valid").iterdir()) and invalid
        assert sorted(json.loads((FIXTURES / name / "expected.json").read_text())) == invalid


@pytest.mark.parametrize(("name", "path"), VALID, ids=ids(VALID))
def test_valid_fixture_is_accepted(name: str, path: Path) -> None:
    if name == "vaultsync-config":
        configcheck.check_config(tomllib.loads(path.read_text()))
        return
    checked = schemas.check(path.read_bytes(), path.name, name)
    assert checked.problem is None, str(checked.problem)
    assert checked.schema == name


@pytest.mark.parametrize(("name", "path"), INVALID, ids=ids(INVALID))
def test_invalid_fixture_is_rejected_naming_where(name: str, path: Path) -> None:
    want = expected(name, path)
    if name == "vaultsync-config":
        with pytest.raises(ConfigError) as info:
            configcheck.check_config(tomllib.loads(path.read_text()))
        assert info.value.exit_code == 2
        assert info.value.message.startswith(f"vaultsync.toml: {want['where']}: ")
        assert want["message"] in info.value.message
        return
    problem = schemas.check(path.read_bytes(), path.name, name).problem
    assert problem is not None
    assert problem.where == want["where"]
    assert want["message"] in problem.message
    assert str(problem).startswith(f"{name}: ")


# --- auto-detection ----------------------------------------------------------------------------

SAMPLE_SCHEMAS = {
    "mcp/memory.jsonl": "mcp-knowledge-graph",
    "mem0/memories.json": "mem0-memory",
    "export/export.json": "memory-export",
    **{str(p.relative_to(SAMPLES)): "memory-record" for p in SAMPLES.glob("records/*/*.json")},
}


@pytest.mark.parametrize(("rel", "name"), sorted(SAMPLE_SCHEMAS.items()))
def test_samples_are_detected_and_valid(rel: str, name: str) -> None:
    data = (SAMPLES / rel).read_bytes()
    checked = schemas.check(data, f"src/{rel}")
    assert (checked.schema, checked.problem) == (name, None)
    if checked.lines:
        assert checked.doc == [json.loads(line) for line in data.splitlines()]
    else:
        assert checked.doc == json.loads(data)


@pytest.mark.parametrize(
    ("name", "file", "schema"),
    [
        ("mcp-knowledge-graph", "valid/legacy-memory.json", "mcp-knowledge-graph"),
        ("mcp-knowledge-graph", "valid/graph.json", "mcp-knowledge-graph"),
        ("mcp-knowledge-graph", "valid/single-entity.json", "mcp-knowledge-graph"),
        ("mcp-knowledge-graph", "invalid/legacy-relation-missing-to.json", "mcp-knowledge-graph"),
        ("mem0-memory", "valid/list.json", "mem0-memory"),
        ("mem0-memory", "valid/item-with-nulls.json", "mem0-memory"),
        ("mem0-memory", "invalid/results-item-missing-memory.json", "mem0-memory"),
        ("memory-export", "invalid/embedding-text.json", "memory-export"),
        ("memory-record", "valid/minimal.json", "memory-record"),
        ("jsonl", "valid/mixed.jsonl", "jsonl"),
        ("json", "valid/object.json", "json"),
    ],
)
def test_auto_picks_the_most_specific_schema(name: str, file: str, schema: str) -> None:
    path = FIXTURES / name / file
    assert schemas.check(path.read_bytes(), path.name).schema == schema


@pytest.mark.parametrize(
    "doc",
    [
        {"id": "msg_01", "content": [{"type": "text", "text": "a chat message, not a memory"}]},
        {"results": {"passed": 3, "failed": 0}},
        {"results": [{"name": "test_a", "outcome": "passed"}]},
        [{"id": 1, "title": "a list of things that are not mem0 memories"}],
        {"entities": "not a graph"},
    ],
)
def test_auto_leaves_lookalike_files_alone(doc: Any) -> None:
    # A false rejection would stop an unrelated file in a tracked folder being backed up.
    checked = schemas.check(json.dumps(doc).encode(), "settings.json")
    assert (checked.schema, checked.problem) == ("json", None)


def test_auto_checks_a_legacy_memory_json_line_by_line() -> None:
    lines = (SAMPLES / "mcp" / "memory.jsonl").read_bytes().splitlines()
    lines[3] = b'{"type":"relation","from":"Ada_Lovelace","relationType":"maintains"}'
    checked = schemas.check(b"\n".join(lines), "claude/memory.json")
    assert checked.lines and len(checked.doc) == 5
    assert str(checked.problem) == "mcp-knowledge-graph: line 4: 'to' is a required property"


def test_two_documents_in_a_json_file_are_rejected_unless_they_are_a_graph() -> None:
    checked = schemas.check(b'{"id": "a", "content": "x"}\n{"id": "b", "content": "y"}', "r.json")
    assert str(checked.problem) == "json: line 2: not well-formed JSON: Extra data (column 1)"


# --- messages ----------------------------------------------------------------------------------


def test_jsonl_error_names_the_line() -> None:
    lines = (SAMPLES / "mcp" / "memory.jsonl").read_bytes().splitlines()
    lines[2] = b'{"type":"entity","entityType":"technology","observations":["used by billing"]}'
    problem = schemas.check(b"\n".join(lines), "mcp/memory.jsonl").problem
    assert str(problem) == "mcp-knowledge-graph: line 3: 'name' is a required property"


def test_jsonl_error_counts_the_other_bad_lines_and_skips_blank_ones() -> None:
    good = b'{"type":"entity","name":"a","entityType":"x","observations":[]}'
    bad = b'{"type":"entity","name":"b","entityType":"x","observations":[1]}'
    problem = schemas.check(b"\n".join([good, b"", b"   ", bad, good, bad, bad]), "m.jsonl").problem
    assert problem is not None
    assert problem.where == "line 4 /observations/0"
    assert problem.message == "1 is not of type 'string' (and 2 more invalid lines)"


def test_malformed_jsonl_names_line_and_column() -> None:
    data = b'{"a": 1}\n\n{"b": [1, 2}\n'
    problem = schemas.check(data, "notes.ndjson").problem
    assert (
        str(problem) == "jsonl: line 3: not well-formed JSON: Expecting ',' delimiter (column 12)"
    )


def test_a_huge_value_does_not_flood_the_message() -> None:
    doc = {"id": "x", "content": "x", "metadata": [0.123456789] * 100_000}
    problem = schemas.check(json.dumps(doc).encode(), "r.json").problem
    assert problem is not None and problem.where == "/metadata"
    assert len(problem.message) < 300 and problem.message.endswith(
        "is not of type 'object', 'null'"
    )


def test_nan_and_infinity_are_not_json() -> None:
    for token in (b"NaN", b"Infinity", b"-Infinity"):
        problem = schemas.check(b'{"id": "x", "content": "y", "score": ' + token + b"}", "r.json")
        assert problem.problem is not None and "is not valid JSON" in problem.problem.message


def junk() -> Iterator[bytes]:
    rng = random.Random(7)
    yield bytes(rng.randrange(256) for _ in range(4096))
    yield b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    yield b"\x00\x00\x00\x01\x00"  # looks like UTF-32 to json.detect_encoding
    yield b"\xff\xfe{\x00"  # a UTF-16 BOM, then half a character
    yield b'{"content": "\xc3\x28"}'  # invalid UTF-8 inside otherwise fine JSON
    yield b"[" * 200_000  # nested deeper than any parser allows
    yield b"\x00" * 64


@pytest.mark.parametrize("data", list(junk()), ids=lambda d: d[:12].hex())
@pytest.mark.parametrize("name", ["memory.json", "memory.jsonl"])
@pytest.mark.parametrize("schema", ["auto", "json", "mcp-knowledge-graph", "memory-record"])
def test_binary_junk_is_a_problem_not_an_exception(data: bytes, name: str, schema: str) -> None:
    checked = schemas.check(data, name, schema)
    assert checked.problem is not None and checked.doc is None
    assert str(checked.problem).startswith(f"{checked.schema}: ")


def test_schema_none_checks_nothing() -> None:
    assert schemas.check(b"\x00 not even json", "a.json", "none") == schemas.Checked(
        None, None, "none"
    )


# --- user schemas ------------------------------------------------------------------------------


def write_json(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def test_a_user_schema_is_a_path_in_the_vault_and_applies_per_line(tmp_path: Path) -> None:
    write_json(tmp_path / "schemas" / "note.json", {"type": "object", "required": ["note"]})
    ok = schemas.check(
        b'{"note": 1}\n{"note": 2}', "n.jsonl", "schemas/note.json", vault_root=tmp_path
    )
    assert (ok.schema, ok.problem) == ("schemas/note.json", None)
    bad = schemas.check(
        b'{"note": 1}\n{"nope": 2}', "n.jsonl", "schemas/note.json", vault_root=tmp_path
    )
    assert str(bad.problem) == "schemas/note.json: line 2: 'note' is a required property"


def test_an_edited_user_schema_is_read_again(tmp_path: Path) -> None:
    write_json(tmp_path / "s.json", {"type": "object"})
    assert schemas.check(b"[]", "a.json", "s.json", vault_root=tmp_path).problem is not None
    write_json(tmp_path / "s.json", {"type": ["object", "array"]})
    assert schemas.check(b"[]", "a.json", "s.json", vault_root=tmp_path).problem is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "neither a shipped schema nor a readable file"),
        ("{not json", "is not valid JSON"),
        ('["a", "list"]', "a JSON Schema is an object"),
        ('{"type": 5}', "not a usable JSON Schema"),
        ('{"$ref": "https://example.invalid/remote.json"}', "not a usable JSON Schema"),
    ],
)
def test_an_unusable_user_schema_is_a_config_error(
    tmp_path: Path, content: str | None, reason: str
) -> None:
    if content is not None:
        (tmp_path / "s.json").write_text(content)
    with pytest.raises(ConfigError) as info:
        schemas.check(b"{}", "a.json", "s.json", vault_root=tmp_path)
    assert info.value.exit_code == 2
    assert "'s.json'" in info.value.message and reason in info.value.message


# --- pick_schema -------------------------------------------------------------------------------


def test_pick_schema_first_matching_glob_wins() -> None:
    rules = {"graph/*.jsonl": "mcp-knowledge-graph", "**/*.jsonl": "jsonl", "x/*": "none"}
    assert schemas.pick_schema(rules, "graph/memory.jsonl") == "mcp-knowledge-graph"
    assert schemas.pick_schema(rules, "deep/er/log.jsonl") == "jsonl"
    assert schemas.pick_schema(rules, "x/memory.json") == "none"
    assert schemas.pick_schema(rules, "memory.json") == "auto"
    assert schemas.pick_schema("memory-record", "anything.json") == "memory-record"


# --- check_config ------------------------------------------------------------------------------


def config_error(doc: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        configcheck.check_config(doc)
    return info.value


def test_check_config_names_a_misspelled_key_and_suggests_the_right_one() -> None:
    error = config_error({"sources": [{"naem": "claude", "path": "~/.claude"}]})
    assert error.message == "vaultsync.toml: sources[0].naem: unknown key"
    assert error.hint == "did you mean 'name'?"
    assert error.exit_code == 2


def test_check_config_names_a_bad_enum_value_and_the_choices() -> None:
    error = config_error({"vault": {"secrets": "blok"}})
    assert error.message == (
        "vaultsync.toml: vault.secrets: 'blok' is not one of ['block', 'warn', 'off', 'redact']"
    )


def test_check_config_accepts_a_tomlkit_document() -> None:
    # config.py edits vaultsync.toml with tomlkit, whose strings and tables are subclasses.
    text = (FIXTURES / "vaultsync-config" / "valid" / "full.toml").read_text()
    configcheck.check_config(tomlkit.parse(text))
    bad = tomlkit.parse(text.replace('secrets = "block"', 'secrets = "blok"'))
    with pytest.raises(ConfigError, match=r"vault\.secrets: 'blok' is not one of"):
        configcheck.check_config(bad)


def test_check_config_refuses_two_sources_sharing_a_folder() -> None:
    error = config_error(
        {"sources": [{"name": "claude", "path": "a"}, {"name": "Claude", "path": "b"}]}
    )
    assert (
        error.message == "vaultsync.toml: sources[1].name: 'Claude' is already used by sources[0]"
    )


def test_check_config_refuses_an_unknown_schema_name() -> None:
    doc = {"sources": [{"name": "m", "path": "a", "schema": {"*.json": "mem0"}}]}
    error = config_error(doc)
    assert error.message.startswith("vaultsync.toml: sources[0].schema.\"*.json\": 'mem0' is not a")
    assert error.hint == "did you mean 'mem0-memory'?"
    configcheck.check_config({"sources": [{"name": "m", "path": "a", "schema": "s/my.json"}]})


def test_check_config_refuses_a_toml_date_where_text_belongs() -> None:
    error = config_error(tomllib.loads("[vault]\nbranch = 2026-01-20\n"))
    assert error.message == "vaultsync.toml: vault.branch: a TOML date/time is not allowed here"


def test_config_schema_uses_only_keywords_the_quick_verdict_knows() -> None:
    supported = {
        "$schema", "$comment", "title", "description", "$defs", "$ref", "type", "enum", "not",
        "properties", "additionalProperties", "required", "items", "minLength", "pattern",
        "minimum", "maximum",
    }  # fmt: skip

    def keywords(schema: Any) -> Iterator[str]:
        for key, value in schema.items():
            yield key
            if key in ("properties", "$defs"):
                for sub in value.values():
                    yield from keywords(sub)
            elif isinstance(value, dict) and key != "enum":
                yield from keywords(value)

    document = schemas._shipped("vaultsync-config").document
    assert set(keywords(document)) <= supported


def test_reading_config_and_checking_plain_json_imports_no_validator() -> None:
    # Import time is part of every cron run; only a file that needs a real check pays it.
    config = FIXTURES / "vaultsync-config" / "valid" / "full.toml"
    code = (
        "import sys, tomllib; from vaultsync import configcheck, schemas\n"
        f"configcheck.check_config(tomllib.loads(open({str(config)!r}).read()))\n"
        "assert schemas.check(b'{\"a\": 1}', 'settings.json').problem is None\n"
        "assert schemas.check(b'[1]\\n[2]', 'log.jsonl').problem is None\n"
        "loaded = {'jsonschema', 'jsonschema_rs'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --- the two validators agree -----------------------------------------------------------------

REPLACEMENTS: list[Any] = [None, True, 0, 1.5, -1, "", "x", "2026-01-20", "a\n", [], ["x"], [1], {}]


def corpus() -> Iterator[Any]:
    """Every fixture and sample document (JSON Lines: every line), and one-edit variants."""
    base: list[Any] = []
    for path in [*FIXTURES.rglob("*.*"), *SAMPLES.rglob("*.*")]:
        if path.name == "expected.json" or "vaultsync-config" in path.parts:
            continue
        checked = schemas.check(path.read_bytes(), path.name)
        if checked.doc is not None:
            base.extend(checked.doc if checked.lines else [checked.doc])
    base.extend(tomllib.loads(p.read_text()) for p in FIXTURES.glob("vaultsync-config/*/*.toml"))
    for doc in base:
        yield doc
        yield from variants(doc, depth=4)


def variants(doc: Any, depth: int) -> Iterator[Any]:
    """`doc` with one node (at most `depth` deep) deleted or replaced."""
    for path in paths(doc, depth):
        parent = path[:-1]
        edited = copy.deepcopy(doc)
        node = edited
        for step in parent:
            node = node[step]
        del node[path[-1]]
        yield edited
        for value in REPLACEMENTS:
            edited = copy.deepcopy(doc)
            node = edited
            for step in parent:
                node = node[step]
            node[path[-1]] = value
            yield edited


def paths(doc: Any, depth: int) -> Iterator[tuple[Any, ...]]:
    if depth == 0:
        return
    children = (
        doc.items()
        if isinstance(doc, dict)
        else enumerate(doc[:2])
        if isinstance(doc, list)
        else []
    )
    for key, child in children:
        yield (key,)
        for sub in paths(child, depth - 1):
            yield (key, *sub)


def test_fast_and_slow_validators_agree_on_every_document() -> None:
    docs = list(corpus())
    assert len(docs) > 5000
    for name in schemas.shipped_names():
        schema = schemas._shipped(name)
        if schema.trivial:
            continue
        verdicts = {True: 0, False: 0}
        for doc in docs:
            fast = bool(schema.fast().is_valid(doc))
            assert fast == schema.slow().is_valid(doc), (name, doc)
            if name == "vaultsync-config":
                assert fast == configcheck._conforms(schema.document, doc, schema.document), doc
            verdicts[fast] += 1
        assert verdicts[True] > 5 and verdicts[False] > 5, (name, verdicts)


# --- the commands ------------------------------------------------------------------------------


def test_validate_reports_each_file_and_exits_1_when_one_is_invalid(
    env: Env, tmp_path: Path
) -> None:
    good = SAMPLES / "mcp" / "memory.jsonl"
    bad = FIXTURES / "mcp-knowledge-graph" / "invalid" / "missing-name.jsonl"
    missing = tmp_path / "gone.json"
    proc = env.vs("validate", str(good), str(bad), str(missing), code=1)
    assert proc.stdout.splitlines() == [
        f"ok  {good} (mcp-knowledge-graph)",
        f"invalid  {bad}: mcp-knowledge-graph: line 3: 'name' is a required property",
        f"invalid  {missing}: cannot read: No such file or directory",
    ]


def test_validate_quiet_prints_only_the_invalid(env: Env) -> None:
    good = [str(p) for p in SAMPLES.rglob("*.json*")]
    assert env.vs("validate", "--quiet", *good).stdout == ""
    bad = FIXTURES / "memory-record" / "invalid" / "metadata-list.json"
    proc = env.vs("validate", "--quiet", *good, str(bad), code=1)
    assert proc.stdout == (
        f"invalid  {bad}: memory-record: /metadata: "
        "['not', 'a', 'table'] is not of type 'object', 'null'\n"
    )


def test_validate_json_is_one_document(env: Env) -> None:
    good = SAMPLES / "mem0" / "memories.json"
    bad = FIXTURES / "mem0-memory" / "invalid" / "list-score-text.json"
    proc = env.vs("validate", "--json", "--schema", "mem0-memory", str(good), str(bad), code=1)
    assert json.loads(proc.stdout) == [
        {"path": str(good), "schema": "mem0-memory", "valid": True, "problem": None},
        {
            "path": str(bad),
            "schema": "mem0-memory",
            "valid": False,
            "problem": "mem0-memory: /0/score: 'high' is not of type 'number', 'null'",
        },
    ]


def test_validate_checks_vaultsync_toml(env: Env) -> None:
    bad = FIXTURES / "vaultsync-config" / "invalid" / "misspelled-source-key.toml"
    proc = env.vs("validate", str(bad), code=1)
    assert proc.stdout == f"invalid  {bad}: vaultsync-config: sources[1].naem: unknown key\n"


def test_validate_with_an_unknown_schema_exits_2_before_reading_files(env: Env) -> None:
    proc = env.vs("validate", "--schema", "mem0", str(SAMPLES / "mem0" / "memories.json"), code=2)
    assert proc.stdout == ""
    assert "schema 'mem0' is neither a shipped schema nor a readable file" in proc.stderr


def test_schemas_lists_every_shipped_schema(env: Env) -> None:
    lines = env.vs("schemas").stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(schemas.shipped_names())
    assert any(line.startswith("mcp-knowledge-graph  The MCP memory server") for line in lines)
    listed = json.loads(env.vs("schemas", "--json").stdout)
    assert [(s["name"], s["description"]) for s in listed] == schemas.shipped()


def test_the_wheel_ships_the_schemas_where_schema_dir_looks() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert include["schemas"] == "vaultsync/_data/schemas"
    assert schemas.schema_dir() == ROOT / "schemas"
