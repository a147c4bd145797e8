"""YAML documents decode through libyaml when they are plainly within the limits, with
the same values, and every document outside them is refused as it always was."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from broker.decoding import MAX_NESTING, _LimitedLoader, decode_yaml

CATALOGS = Path(__file__).resolve().parents[2] / "catalogs"


def counted(text: str) -> object:
    loader = _LimitedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


@pytest.mark.parametrize("path", sorted(CATALOGS.rglob("*.yaml")), ids=lambda path: path.name)
def test_a_bundled_catalog_decodes_as_the_counting_loader_decodes_it(path: Path) -> None:
    text = path.read_text()
    assert decode_yaml(text) == counted(text)


def test_anchors_aliases_and_merge_keys_give_the_same_values() -> None:
    text = "base: &b {a: 1, b: [1, 2]}\nuse: *b\nmerged:\n  <<: *b\n  c: 3\n"
    assert (
        decode_yaml(text)
        == counted(text)
        == {
            "base": {"a": 1, "b": [1, 2]},
            "use": {"a": 1, "b": [1, 2]},
            "merged": {"a": 1, "b": [1, 2], "c": 3},
        }
    )


def refusal(text: str) -> str:
    with pytest.raises(yaml.YAMLError) as raised:
        decode_yaml(text)
    with pytest.raises(yaml.YAMLError) as before:
        counted(text)
    assert str(raised.value) == str(before.value)
    return str(raised.value)


def test_an_alias_bomb_is_refused_as_before() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 7)]
    assert "alias bomb" in refusal("\n".join(lines) + "\n")


def test_a_recursive_alias_is_refused_as_before() -> None:
    assert "contains it" in refusal("a: &a [*a]\n")


def test_too_deep_a_document_is_refused_as_before() -> None:
    assert "nests deeper" in refusal("[" * (MAX_NESTING + 2) + "]" * (MAX_NESTING + 2))


def test_a_syntax_error_reads_as_before() -> None:
    assert "line" in refusal("a: [1, 2\nb: 3\n")
