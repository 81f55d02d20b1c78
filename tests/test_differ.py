"""compute_diff: paths, lists, None vs missing, numeric types, ignore patterns, text diffs."""

from __future__ import annotations

import json

import pytest

from agenttrace_replay.differ import compute_diff, unified_text
from agenttrace_replay.errors import InvalidInput


def entries(diff: dict) -> dict[str, str]:
    """{path: category} over the four categories, to compare whole results at once."""
    return {path: kind for kind in ("changed", "added", "removed", "type_changes") for path in diff[kind]}


TRACE = {
    "messages": [
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "name": "weather", "arguments": {"city": "Paris"}}]},
    ],
    "parameters": {"temperature": 0.7, "max_tokens": 1024, "stream": False},
    "meta": {"timestamp": "2024-06-01T10:00:00Z", "tags": ["a", "b"]},
}


def test_identical_inputs_report_no_changes() -> None:
    diff = compute_diff(TRACE, json.loads(json.dumps(TRACE)))
    assert diff == {
        "has_changes": False,
        "summary": "No changes",
        "changed": {},
        "added": {},
        "removed": {},
        "type_changes": {},
        "text_diffs": {},
    }


def test_key_order_does_not_matter() -> None:
    reordered = {key: TRACE[key] for key in reversed(list(TRACE))}
    reordered["parameters"] = dict(reversed(list(TRACE["parameters"].items())))
    assert compute_diff(TRACE, reordered)["summary"] == "No changes"


def test_nested_change_has_a_readable_path() -> None:
    replay = json.loads(json.dumps(TRACE))
    replay["messages"][1]["tool_calls"][0]["arguments"]["city"] = "Lyon"
    diff = compute_diff(TRACE, replay)
    assert diff["changed"] == {
        'root["messages"][1]["tool_calls"][0]["arguments"]["city"]': {"old": "Paris", "new": "Lyon"}
    }
    assert diff["has_changes"] is True
    assert diff["summary"] == "1 change: 1 changed"


def test_summary_counts_each_category() -> None:
    diff = compute_diff({"a": 1, "b": 2, "c": 3, "d": 4}, {"a": 9, "b": 2.0, "d": 4, "e": 5, "f": 6})
    assert diff["summary"] == "5 changes: 1 changed, 2 added, 1 removed, 1 type change"
    assert compute_diff([1, 2], [True, 2.0])["summary"] == "2 changes: 2 type changes"


class TestLists:
    def test_items_are_compared_by_index(self) -> None:
        diff = compute_diff(["a", "b", "c"], ["a", "x", "c"])
        assert entries(diff) == {"root[1]": "changed"}
        assert diff["changed"]["root[1]"] == {"old": "b", "new": "x"}

    def test_extra_items_at_the_end_are_added(self) -> None:
        diff = compute_diff({"l": [1, 2]}, {"l": [1, 2, 3, {"k": 4}]})
        assert diff["added"] == {'root["l"][2]': 3, 'root["l"][3]': {"k": 4}}
        assert entries(diff) == {'root["l"][2]': "added", 'root["l"][3]': "added"}

    def test_missing_items_at_the_end_are_removed(self) -> None:
        diff = compute_diff([{"role": "user"}, {"role": "tool"}], [{"role": "user"}])
        assert diff["removed"] == {"root[1]": {"role": "tool"}}
        assert diff["summary"] == "1 change: 1 removed"

    def test_an_insertion_shifts_later_items(self) -> None:
        # No alignment: an item inserted at the front changes every index after it.
        diff = compute_diff(["b", "c"], ["a", "b", "c"])
        assert entries(diff) == {"root[0]": "changed", "root[1]": "changed", "root[2]": "added"}

    def test_results_keep_document_order(self) -> None:
        diff = compute_diff([[1, {"x": 1}], 5, [7]], [[2, {"x": 2}], 6, [7, 8]])
        assert list(diff["changed"]) == ["root[0][0]", 'root[0][1]["x"]', "root[1]"]

    def test_list_and_tuple_are_different_types(self) -> None:
        diff = compute_diff({"v": [1, 2]}, {"v": (1, 2)})
        assert diff["type_changes"]['root["v"]']["old_type"] == "list"
        assert diff["type_changes"]['root["v"]']["new_type"] == "tuple"


class TestPaths:
    @pytest.mark.parametrize(
        ("key", "path"),
        [
            ("a.b", 'root["a.b"]'),
            ("x[0]", 'root["x[0]"]'),
            ('say "hi"', 'root["say \\"hi\\""]'),
            ("with space", 'root["with space"]'),
            ("back\\slash", 'root["back\\\\slash"]'),
            ("line\nbreak", 'root["line\\nbreak"]'),
            ("café", 'root["café"]'),
            ("", 'root[""]'),
            (3, "root[3]"),
            (2.5, "root[2.5]"),
            (None, "root[None]"),
            (("t", 1), "root[('t', 1)]"),
        ],
    )
    def test_any_key_gets_a_path(self, key: object, path: str) -> None:
        assert entries(compute_diff({key: 1}, {key: 2})) == {path: "changed"}

    def test_dotted_and_nested_keys_do_not_collide(self) -> None:
        diff = compute_diff({"a.b": 1, "a": {"b": 1}}, {"a.b": 2, "a": {"b": 3}})
        assert set(diff["changed"]) == {'root["a.b"]', 'root["a"]["b"]'}

    def test_key_made_of_path_syntax_does_not_collide(self) -> None:
        tricky = 'a"]["b'
        diff = compute_diff({tricky: 1, "a": {"b": 1}}, {tricky: 2, "a": {"b": 1}})
        assert list(diff["changed"]) == ['root["a\\"][\\"b"]']

    def test_int_key_and_string_key_differ(self) -> None:
        diff = compute_diff({1: "x"}, {"1": "x"})
        assert entries(diff) == {"root[1]": "removed", 'root["1"]': "added"}

    def test_scalar_root(self) -> None:
        assert compute_diff("a", "b")["changed"] == {"root": {"old": "a", "new": "b"}}


class TestNoneAndMissing:
    def test_none_versus_missing_key_is_removed(self) -> None:
        diff = compute_diff({"content": None, "role": "assistant"}, {"role": "assistant"})
        assert diff["removed"] == {'root["content"]': None}
        assert diff["has_changes"] is True

    def test_missing_key_versus_none_is_added(self) -> None:
        diff = compute_diff({"role": "assistant"}, {"role": "assistant", "content": None})
        assert diff["added"] == {'root["content"]': None}

    def test_none_versus_a_value_is_a_type_change(self) -> None:
        diff = compute_diff({"content": None}, {"content": "hello"})
        assert diff["type_changes"] == {
            'root["content"]': {"old": None, "new": "hello", "old_type": "NoneType", "new_type": "str"}
        }


class TestNumericTypes:
    @pytest.mark.parametrize(
        ("old", "new"),
        [(1, 1.0), (1.0, 1), (1, True), (True, 1), (1.0, True), (True, 1.0), (0, False), (False, 0.0)],
    )
    def test_equal_values_of_different_types_are_type_changes(self, old: object, new: object) -> None:
        diff = compute_diff({"n": old}, {"n": new})
        assert diff["changed"] == {}
        assert diff["type_changes"] == {
            'root["n"]': {"old": old, "new": new, "old_type": type(old).__name__, "new_type": type(new).__name__}
        }
        assert diff["has_changes"] is True

    @pytest.mark.parametrize(
        ("old", "new", "path"),
        [
            ([1, 2], [1.0, 2], "root[0]"),
            ([1.0, 2], [1, 2], "root[0]"),
            ({"x": [1, {"y": True}]}, {"x": [1, {"y": 1}]}, 'root["x"][1]["y"]'),
            ({"x": [1, {"y": 1}]}, {"x": [1, {"y": True}]}, 'root["x"][1]["y"]'),
            ([[[[0]]]], [[[[False]]]], "root[0][0][0][0]"),
        ],
    )
    def test_type_changes_inside_equal_looking_containers(self, old: object, new: object, path: str) -> None:
        assert old == new  # Python's == cannot see these differences
        assert entries(compute_diff(old, new)) == {path: "type_changes"}

    def test_type_change_deep_inside_a_large_equal_looking_document(self) -> None:
        original = {"spans": [{"id": i, "usage": {"tokens": i * 10, "cost": i / 4}} for i in range(2000)]}
        replay = json.loads(json.dumps(original))
        replay["spans"][1234]["usage"]["tokens"] = 12340.0
        assert original == replay
        assert entries(compute_diff(original, replay)) == {'root["spans"][1234]["usage"]["tokens"]': "type_changes"}

    def test_numeric_dict_keys_are_told_apart(self) -> None:
        diff = compute_diff({1: "a"}, {1.0: "a"})
        assert entries(diff) == {"root[1]": "removed", "root[1.0]": "added"}

    def test_number_change_of_same_type_is_changed(self) -> None:
        diff = compute_diff({"t": 0.7}, {"t": 0.2})
        assert diff["changed"] == {'root["t"]': {"old": 0.7, "new": 0.2}}

    def test_nan_equals_nan(self) -> None:
        assert compute_diff([float("nan")], [float("nan")])["has_changes"] is False

    def test_container_type_change(self) -> None:
        diff = compute_diff({"r": {"a": 1}}, {"r": [1]})
        assert diff["type_changes"]['root["r"]'] == {"old": {"a": 1}, "new": [1], "old_type": "dict", "new_type": "list"}


class TestIgnore:
    original = {
        "id": "run-1",
        "messages": [{"id": "m1", "content": "hi"}, {"id": "m2", "content": "there"}],
        "meta": {"timestamp": "10:00", "created_at": "10:00", "model": "gpt-4o"},
        "metadata": {"timestamp": "10:00"},
        "a.b": {"created_at": 1},
    }
    replay = {
        "id": "run-2",
        "messages": [{"id": "x1", "content": "hi"}, {"id": "x2", "content": "there!"}],
        "meta": {"timestamp": "11:00", "created_at": "11:00", "model": "gpt-4o-mini"},
        "metadata": {"timestamp": "11:00"},
        "a.b": {"created_at": 2},
    }

    def changed(self, *patterns: str) -> set[str]:
        return set(entries(compute_diff(self.original, self.replay, ignore=list(patterns))))

    def test_without_patterns_everything_is_reported(self) -> None:
        assert len(self.changed()) == 9

    def test_dotted_wildcard_matches_any_depth(self) -> None:
        assert self.changed("*.id") == {
            'root["messages"][1]["content"]',
            'root["meta"]["timestamp"]',
            'root["meta"]["created_at"]',
            'root["meta"]["model"]',
            'root["metadata"]["timestamp"]',
            'root["a.b"]["created_at"]',
        }

    def test_bracket_path_is_exact(self) -> None:
        remaining = self.changed('root["meta"]["timestamp"]')
        assert 'root["meta"]["timestamp"]' not in remaining
        assert 'root["metadata"]["timestamp"]' in remaining

    def test_dotted_path_equals_bracket_path(self) -> None:
        assert self.changed("meta.timestamp") == self.changed('root["meta"]["timestamp"]')
        assert self.changed("root.meta.timestamp") == self.changed('root["meta"]["timestamp"]')

    def test_bracket_glob(self) -> None:
        remaining = self.changed('*["created_at"]')
        assert 'root["meta"]["created_at"]' not in remaining
        assert 'root["a.b"]["created_at"]' not in remaining

    def test_ignoring_a_path_skips_its_subtree(self) -> None:
        remaining = self.changed("meta")
        assert not any(path.startswith('root["meta"]') for path in remaining)
        assert 'root["metadata"]["timestamp"]' in remaining  # "meta" is not a prefix match

    def test_number_segment_is_a_list_index(self) -> None:
        assert self.changed("messages.1") == self.changed('root["messages"][1]')
        assert 'root["messages"][0]["id"]' in self.changed("messages.1")
        assert not any(path.startswith('root["messages"][1]') for path in self.changed("messages.1"))

    def test_question_mark_matches_one_character(self) -> None:
        remaining = self.changed('root["messages"][?]["id"]')
        assert 'root["messages"][0]["id"]' not in remaining
        assert 'root["messages"][1]["content"]' in remaining

    def test_added_and_removed_paths_can_be_ignored(self) -> None:
        diff = compute_diff({"a": 1, "old": 1}, {"a": 1, "new": 2}, ignore=["old", "new"])
        assert diff["summary"] == "No changes"

    def test_ignoring_root_ignores_everything(self) -> None:
        assert compute_diff({"a": 1}, {"a": 2}, ignore=["root"])["has_changes"] is False

    @pytest.mark.parametrize("pattern", ["", "  ", "a..b", ".a"])
    def test_malformed_patterns_are_rejected(self, pattern: str) -> None:
        with pytest.raises(InvalidInput):
            compute_diff({}, {}, ignore=[pattern])


class TestTextDiffs:
    def test_multiline_strings_get_a_line_diff(self) -> None:
        diff = compute_diff({"c": "one\ntwo\nthree"}, {"c": "one\n2\nthree"})
        assert diff["text_diffs"]['root["c"]'].splitlines() == [
            "--- original",
            "+++ replay",
            "@@ -1,3 +1,3 @@",
            " one",
            "-two",
            "+2",
            " three",
        ]
        assert 'root["c"]' in diff["changed"]

    def test_long_strings_get_a_line_diff(self) -> None:
        old, new = "word " * 50, "word " * 49 + "other"
        diff = compute_diff([old], [new])
        assert diff["text_diffs"]["root[0]"].splitlines()[3:] == [f"-{old}", f"+{new}"]

    def test_short_strings_do_not(self) -> None:
        assert compute_diff(["short"], ["shirt"])["text_diffs"] == {}


class TestDepth:
    @staticmethod
    def nest(depth: int, leaf: object) -> object:
        value = leaf
        for level in range(depth):
            value = [value] if level % 2 else {"k": value}
        return value

    def test_very_deep_values_do_not_overflow(self) -> None:
        diff = compute_diff(self.nest(5000, 1), self.nest(5000, 2))
        (path,) = diff["changed"]
        assert path.startswith('root[0]["k"]') and path.count("[") == 5000

    def test_very_deep_type_change_and_equal_values(self) -> None:
        found = entries(compute_diff(self.nest(3000, 1), self.nest(3000, 1.0)))
        assert list(found.values()) == ["type_changes"]
        assert compute_diff(self.nest(3000, 1), self.nest(3000, 1))["has_changes"] is False


def test_result_is_json_serialisable() -> None:
    replay = json.loads(json.dumps(TRACE))
    replay["meta"]["tags"].append("c")
    replay["parameters"]["max_tokens"] = 1024.0
    json.dumps(compute_diff(TRACE, replay))


class TestUnifiedText:
    def test_shows_changed_lines_of_pretty_json(self) -> None:
        text = unified_text({"b": 1, "a": "x"}, {"a": "x", "b": 1.0})
        assert text.splitlines() == [
            "--- original",
            "+++ replay",
            "@@ -1,4 +1,4 @@",
            " {",
            '   "a": "x",',
            '-  "b": 1',
            '+  "b": 1.0',
            " }",
        ]

    def test_identical_values_give_empty_text(self) -> None:
        assert unified_text(TRACE, json.loads(json.dumps(TRACE))) == ""
