"""fielddiff's plain path (revised records, no deepdiff) says what deepdiff says."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from vaultsync import fielddiff

KEYS = st.sampled_from(["content", "id", "a/b", "x~y", "embedding", "vector", "meta", "t"])
SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-2, 2) | st.text(max_size=3)
VALUES = st.recursive(
    SCALARS | st.lists(st.integers(0, 2), max_size=3),
    lambda inner: st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=8,
)
DOCS = st.dictionaries(KEYS, VALUES, max_size=5)


def by_deepdiff(old: Any, new: Any, absolute: bool) -> list[Any]:
    from deepdiff import DeepDiff

    tree = DeepDiff(
        old, new, view="tree", threshold_to_diff_deeper=0, custom_operators=[fielddiff._Pruner()]
    )
    found = [fielddiff._field(r, lv, absolute) for r, levels in tree.items() for lv in levels]
    return sorted(found, key=lambda pair: pair[0])


@settings(max_examples=400, deadline=None)
@given(DOCS, DOCS, st.booleans())
def test_the_plain_path_agrees_with_deepdiff(old: Any, new: Any, absolute: bool) -> None:
    plain = fielddiff._plain(old, new, [], absolute)
    if plain is None:  # a list differs: deepdiff's own path
        return
    got = [c for _, c in sorted(plain, key=lambda pair: pair[0])]
    assert got == [c for _, c in by_deepdiff(old, new, absolute)]


def test_a_revised_record_takes_the_plain_path() -> None:
    old = {"id": "m1", "content": "tea", "metadata": {"client": "acme"}, "embedding": [0.1] * 40}
    new = {"id": "m1", "content": "coffee", "metadata": {"client": "beta"}, "embedding": [0.1] * 40}
    assert fielddiff._plain(old, new, [], False) is not None
    found, more = fielddiff.field_changes(old, new)
    assert [c.text() for c in found] == [
        "content: 'tea' → 'coffee'",
        "metadata/client: 'acme' → 'beta'",
    ]
    assert more == 0


def test_a_changed_list_goes_to_deepdiff() -> None:
    assert fielddiff._plain({"tags": [1, 2]}, {"tags": [1, 3]}, [], False) is None
    found, _ = fielddiff.field_changes({"tags": [1, 2]}, {"tags": [1, 3]})
    assert [c.text() for c in found] == ["tags/1: 2 → 3"]
