"""Modified inputs: the merge rule, ``--input KEY=VALUE`` parsing and input files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from agenttrace_replay.errors import ExitCode, InvalidInput
from agenttrace_replay.inputs import combine_patches, merge_input, parse_assignments, parse_value, read_input_file

RECORDED: dict[str, Any] = {
    "model": "gpt-4o",
    "parameters": {"temperature": 0.2, "max_tokens": 100},
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is the weather in Paris?"},
    ],
    "tools": [{"name": "get_weather"}],
}


# --- merge_input: the rule -------------------------------------------------------------


def test_objects_merge_key_by_key_at_every_depth() -> None:
    merged = merge_input(RECORDED, {"parameters": {"temperature": 0.9}, "user": "ann"})
    assert merged["parameters"] == {"temperature": 0.9, "max_tokens": 100}
    assert merged["user"] == "ann"
    assert merged["messages"] == RECORDED["messages"]
    assert merged["model"] == "gpt-4o"


def test_null_removes_a_key_and_missing_keys_are_no_error() -> None:
    merged = merge_input(RECORDED, {"model": None, "parameters": {"max_tokens": None}, "absent": None})
    assert "model" not in merged
    assert merged["parameters"] == {"temperature": 0.2}
    assert "absent" not in merged


def test_a_list_given_in_full_replaces_the_recorded_list() -> None:
    new_messages = [{"role": "user", "content": "Only this."}]
    merged = merge_input(RECORDED, {"messages": new_messages})
    assert merged["messages"] == new_messages


def test_scalars_replace_and_an_object_replaces_a_scalar() -> None:
    assert merge_input(RECORDED, {"model": "gpt-4o-mini"})["model"] == "gpt-4o-mini"
    assert merge_input({"a": "text"}, {"a": {"b": 1}}) == {"a": {"b": 1}}
    assert merge_input({"a": {"b": 1}}, {"a": [1, 2]}) == {"a": [1, 2]}


def test_key_plus_appends_one_value_or_each_item_of_a_list() -> None:
    extra = {"role": "user", "content": "And in Tokyo?"}
    one = merge_input(RECORDED, {"messages+": extra})
    assert one["messages"] == [*RECORDED["messages"], extra]
    several = merge_input(RECORDED, {"messages+": [extra, extra]})
    assert several["messages"] == [*RECORDED["messages"], extra, extra]
    assert "messages+" not in several


def test_key_plus_starts_a_list_when_the_key_is_missing() -> None:
    assert merge_input({}, {"tags+": "x"}) == {"tags": ["x"]}
    assert merge_input(None, {"tags+": ["x", "y"]}) == {"tags": ["x", "y"]}


def test_key_plus_on_a_value_that_is_not_a_list_is_an_input_error() -> None:
    with pytest.raises(InvalidInput, match=r"input\.model is not a list") as err:
        merge_input(RECORDED, {"model+": "x"})
    assert err.value.exit_code == ExitCode.USAGE


def test_integer_keys_patch_list_items_including_negative_ones() -> None:
    merged = merge_input(RECORDED, {"messages": {"-1": {"content": "What is the weather in Tokyo?"}}})
    assert merged["messages"][-1] == {"role": "user", "content": "What is the weather in Tokyo?"}
    assert merged["messages"][0] == RECORDED["messages"][0]

    merged = merge_input(RECORDED, {"messages": {"0": {"content": "Be verbose."}, "1": {"role": "developer"}}})
    assert [m["content"] for m in merged["messages"]] == ["Be verbose.", "What is the weather in Paris?"]
    assert merged["messages"][1]["role"] == "developer"


def test_integer_keys_can_replace_an_item_and_remove_keys_inside_it() -> None:
    merged = merge_input({"xs": [1, {"a": 1, "b": 2}, 3]}, {"xs": {"0": 10, "1": {"b": None}}})
    assert merged == {"xs": [10, {"a": 1}, 3]}


@pytest.mark.parametrize("index", ["2", "-3", "99"])
def test_an_index_out_of_range_is_an_input_error_naming_where(index: str) -> None:
    with pytest.raises(InvalidInput, match=rf"input\.messages: index {index} is out of range for a list of 2 item\(s\)"):
        merge_input(RECORDED, {"messages": {index: {"content": "x"}}})


def test_an_index_into_an_empty_list_is_out_of_range() -> None:
    with pytest.raises(InvalidInput, match="out of range for a list of 0 item"):
        merge_input({"messages": []}, {"messages": {"-1": {"content": "x"}}})


def test_an_empty_object_merged_into_a_list_leaves_it_alone() -> None:
    assert merge_input(RECORDED, {"messages": {}})["messages"] == RECORDED["messages"]


def test_an_object_with_non_integer_keys_replaces_a_list() -> None:
    assert merge_input({"xs": [1, 2]}, {"xs": {"0": 5, "name": "n"}}) == {"xs": {"0": 5, "name": "n"}}


def test_a_patch_into_a_missing_or_non_object_input_builds_an_object() -> None:
    assert merge_input(None, {"query": "hi"}) == {"query": "hi"}
    assert merge_input("Paris", {"arguments": {"city": "Tokyo"}}) == {"arguments": {"city": "Tokyo"}}


def test_an_empty_patch_returns_an_equal_copy() -> None:
    merged = merge_input(RECORDED, {})
    assert merged == RECORDED
    assert merged is not RECORDED
    assert merged["messages"] is not RECORDED["messages"]


def test_neither_the_recorded_input_nor_the_patch_is_changed() -> None:
    recorded = copy.deepcopy(RECORDED)
    patch = {
        "parameters": {"temperature": None},
        "messages": {"-1": {"content": "new"}},
        "tools+": [{"name": "calculator"}],
        "extra": {"nested": [1, 2]},
    }
    patch_before = copy.deepcopy(patch)
    merged = merge_input(recorded, patch)
    assert recorded == RECORDED
    assert patch == patch_before
    # the result shares nothing with the patch either: changing it changes neither input
    merged["extra"]["nested"].append(3)
    merged["tools"][-1]["name"] = "changed"
    assert patch == patch_before
    assert recorded == RECORDED


# --- combine_patches: --input-file, then --input -----------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"parameters": {"temperature": 0.9}}, {"parameters": {"max_tokens": 5}}),
        ({"model": "a"}, {"model": "b"}),
        ({"model": "a"}, {"model": None}),
        ({"parameters": {"temperature": None}}, {"user": "x"}),
        ({"messages+": [{"role": "user", "content": "1"}]}, {"messages+": {"role": "user", "content": "2"}}),
        ({"messages": [{"role": "user", "content": "only"}]}, {"messages": {"0": {"content": "edited"}}}),
        ({"messages": {"-1": {"content": "a"}}}, {"messages": {"0": {"content": "b"}}}),
        ({"messages+": [{"role": "user", "content": "1"}]}, {"messages": {"-1": {"content": "edited"}}}),
        ({"tools": [{"name": "t"}]}, {"tools+": [{"name": "u"}]}),
    ],
)
def test_a_combined_patch_applies_like_the_two_patches_in_turn(first: dict, second: dict) -> None:
    combined = combine_patches(first, second)
    assert merge_input(RECORDED, combined) == merge_input(merge_input(RECORDED, first), second)


def test_combining_keeps_removals_and_appends_that_applying_would_consume() -> None:
    assert combine_patches({}, {"model": None}) == {"model": None}
    assert combine_patches({}, {"messages+": ["x"]}) == {"messages+": ["x"]}
    assert combine_patches({"a": 1}, {}) == {"a": 1}


# --- parse_value / parse_assignments ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("-1.5", -1.5),
        ("true", True),
        ("false", False),
        ("null", None),
        ('{"a": [1, 2]}', {"a": [1, 2]}),
        ("[1, \"two\"]", [1, "two"]),
        ('"42"', "42"),
        ('"true"', "true"),
        ("What is the weather in Tokyo?", "What is the weather in Tokyo?"),
        ("", ""),
        ("{not json", "{not json"),
        ("a=b", "a=b"),
    ],
)
def test_values_are_json_when_they_parse_and_text_otherwise(text: str, value: Any) -> None:
    parsed = parse_value(text)
    assert parsed == value
    assert type(parsed) is type(value)


def test_assignments_build_one_patch_with_dotted_keys_reaching_into_objects() -> None:
    patch = parse_assignments([
        "query=What is the weather in Tokyo?",
        "parameters.temperature=0",
        "parameters.stop=[\"\\n\"]",
        "model=null",
        "metadata.run.tag=\"7\"",
        "messages.-1.content=hello",
    ])
    assert patch == {
        "query": "What is the weather in Tokyo?",
        "parameters": {"temperature": 0, "stop": ["\n"]},
        "model": None,
        "metadata": {"run": {"tag": "7"}},
        "messages": {"-1": {"content": "hello"}},
    }


def test_the_value_may_contain_equals_signs_and_keys_are_trimmed() -> None:
    assert parse_assignments([" q =a=b"]) == {"q": "a=b"}


def test_later_assignments_win_over_earlier_ones() -> None:
    assert parse_assignments(["a=1", "a=2"]) == {"a": 2}
    assert parse_assignments(["a=1", "a.b=2"]) == {"a": {"b": 2}}
    assert parse_assignments(["a.b=1", "a.c=2"]) == {"a": {"b": 1, "c": 2}}


def test_an_append_key_parses_as_written() -> None:
    assert parse_assignments(['messages+={"role": "user", "content": "hi"}']) == {
        "messages+": {"role": "user", "content": "hi"}
    }


def test_parsed_assignments_applied_to_an_input() -> None:
    patch = parse_assignments(["messages.-1.content=Tokyo?", "parameters.max_tokens=null", "model=gpt-4o-mini"])
    merged = merge_input(RECORDED, patch)
    assert merged["messages"][-1]["content"] == "Tokyo?"
    assert merged["parameters"] == {"temperature": 0.2}
    assert merged["model"] == "gpt-4o-mini"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("no-equals-sign", "is not KEY=VALUE"),
        ("=value", "is not KEY=VALUE"),
        ("  =value", "is not KEY=VALUE"),
        ("a..b=1", "has an empty part"),
        (".a=1", "has an empty part"),
        ("a.=1", "has an empty part"),
    ],
)
def test_malformed_items_are_input_errors_naming_the_option(item: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as err:
        parse_assignments(["ok=1", item], "--override")
    assert str(err.value).startswith("--override ")
    assert err.value.exit_code == ExitCode.USAGE
    assert "\n" not in str(err.value)


# --- read_input_file -------------------------------------------------------------------


def test_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "patch.json"
    path.write_text(json.dumps({"query": "Tokyo?", "parameters": {"temperature": 0}}))
    assert read_input_file(path) == {"query": "Tokyo?", "parameters": {"temperature": 0}}


def test_a_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "patch.yaml"
    path.write_text(
        "query: What is the weather in Tokyo?\n"
        "model: null\n"
        "messages:\n"
        "  '-1':\n"
        "    content: edited\n"
        "tools+:\n"
        "  - name: calculator\n"
    )
    assert read_input_file(str(path)) == {
        "query": "What is the weather in Tokyo?",
        "model": None,
        "messages": {"-1": {"content": "edited"}},
        "tools+": [{"name": "calculator"}],
    }


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file") as err:
        read_input_file(tmp_path / "nope.yaml")
    assert err.value.exit_code == ExitCode.USAGE


def test_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read it"):
        read_input_file(tmp_path)


def test_a_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(InvalidInput, match="cannot read it"):
        read_input_file(path)


def test_a_file_that_is_neither_json_nor_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("query: [unclosed\n  - x: {\n")
    with pytest.raises(InvalidInput, match="is neither JSON nor YAML") as err:
        read_input_file(path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("text", "kind"), [("[1, 2]", "list"), ("just text", "str"), ("42", "int"), ("", "nothing")])
def test_a_file_must_hold_an_object(tmp_path: Path, text: str, kind: str) -> None:
    path = tmp_path / "patch.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=f"must hold an object .*not {kind}"):
        read_input_file(path)


def test_nan_and_infinity_are_text_on_the_command_line() -> None:
    assert parse_assignments(["a=NaN", "b=-Infinity", "c=1e999", "d=1.5"]) == {
        "a": "NaN", "b": "-Infinity", "c": "1e999", "d": 1.5}  # fmt: skip


@pytest.mark.parametrize("text", ["score: .nan\n", "deep:\n  list: [1, .inf]\n"])
def test_a_file_with_a_number_json_cannot_hold(tmp_path: Path, text: str) -> None:
    path = tmp_path / "patch.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match="NaN or infinite") as err:
        read_input_file(path)
    assert ("deep.list.1" if "deep" in text else "score") in str(err.value)


@pytest.mark.parametrize(("text", "message"), [('{"score": NaN}', "NaN is not a JSON value"),
                                                ('{"x": [1, 1e999]}', "the number 1e999 is too large")])  # fmt: skip
def test_a_json_file_with_a_number_json_cannot_hold(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "patch.json"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=message):
        read_input_file(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x: " + "[" * 5000 + "]" * 5000 + "\n", "the YAML is nested too deeply to read"),
        ("x: " + "[" * 300 + "]" * 300 + "\n", "nested more than 200 levels deep"),
        ('{"x": ' + "[" * 600 + "]" * 600 + "}", "nested more than 200 levels deep"),
    ],
)
def test_a_file_nested_too_deeply_is_an_input_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=message) as err:
        read_input_file(path)
    assert err.value.exit_code == ExitCode.USAGE


def test_nesting_up_to_the_limit_is_read_and_merges(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"x": ' + "[" * 199 + "]" * 199 + "}")
    patch = read_input_file(path)
    assert merge_input({"q": 1}, patch)["q"] == 1


def test_a_value_nested_too_deeply_on_the_command_line_is_an_input_error() -> None:
    with pytest.raises(InvalidInput, match=r"--input a\.b=\.\.\.: the value is nested more than 200 levels deep"):
        parse_assignments(["a.b=" + "[" * 199 + "]" * 199])
    assert parse_assignments(["a.b=" + "[" * 198 + "]" * 198])["a"]["b"]


BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9 if prev else ['x'] * 9)}]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f"], "abcdefg")
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BOMB, "line 1 has the YAML anchor &a"),
        ("base: &b {role: user}\nmessages+: [*b]\n", "line 1 has the YAML anchor &b"),
        ("a: 1\nb: *undefined\n", "line 2 has the YAML alias *undefined"),
        ("a: &a [*a]\n", "line 1 has the YAML anchor &a"),
    ],
)
def test_yaml_anchors_and_aliases_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "patch.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput) as err:
        read_input_file(path)
    assert message in str(err.value) and "may not use anchors or aliases" in str(err.value)
    assert err.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize("parts", [201, 3000])
def test_a_dotted_key_deeper_than_the_limit_is_refused(parts: int) -> None:
    with pytest.raises(InvalidInput, match="the key is nested more than 200 levels deep"):
        parse_assignments([".".join(["a"] * parts) + "=1"])
    assert parse_assignments([".".join(["a"] * 200) + "=1"])  # the limit itself is fine
