"""Docs that cannot drift: the shell completions, the man page and the README's command
reference are generated from the app (scripts/gen_docs.py) and must be fresh; the
completions must work in their shells and the man page must render cleanly."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPLETIONS = ROOT / "completions"


def _gen():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_docs"] = module
    spec.loader.exec_module(module)
    return module


gen = _gen()


@pytest.fixture(scope="module")
def tree():
    return gen.model()


@pytest.mark.parametrize(
    "name",
    [
        "completions/streamctl.bash",
        "completions/_streamctl",
        "completions/streamctl.fish",
        "man/streamctl.1",
        "README.md",
    ],
)
def test_generated_file_is_fresh(name, monkeypatch):
    monkeypatch.setenv("COLUMNS", gen.HELP_COLUMNS)
    expected = gen.outputs()[ROOT / name]
    actual = (ROOT / name).read_text()
    assert actual == expected, f"{name} is stale: run python scripts/gen_docs.py"


# --------------------------------------------------------------------------- completions


def _bash_complete(*words: str) -> list[str]:
    script = (
        f"source {COMPLETIONS / 'streamctl.bash'}\n"
        'COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); _streamctl\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    out = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script, "bash", *words],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return out.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion():
    assert _bash_complete("streamctl", "gr") == ["group"]
    assert _bash_complete("streamctl", "consume", "s", "--gr") == ["--group"]
    assert _bash_complete("streamctl", "--db", "x.db", "gr") == ["group"]
    assert _bash_complete("streamctl", "group", "create", "s", "g", "--mk") == ["--mkstream"]
    assert _bash_complete("streamctl", "add", "s", "--max") == ["--maxlen"]
    assert _bash_complete("streamctl", "add", "s", "f") == []  # no file names for fields


@pytest.mark.skipif(
    shutil.which("zsh") is None, reason="zsh is not installed (apt-get install zsh)"
)
def test_zsh_completion_registers_with_compinit_and_answers():
    assert (COMPLETIONS / "_streamctl").read_text().startswith("#compdef streamctl\n")
    script = f"""
fpath=({COMPLETIONS} $fpath)
autoload -Uz compinit && compinit -u -D
print -r -- "registered=${{_comps[streamctl]}}"
# Stand-ins for the completion system's output functions: print the candidates.
_describe() {{ local n; for n in ${{(P)${{@[-1]}}}}; do print -r -- "cand=${{n%%:*}}"; done }}
_files() {{ print -r -- "cand=<files>" }}
_message() {{ print -r -- "cand=<value>" }}
words=(streamctl gr); CURRENT=2; _streamctl
words=(streamctl consume s --gr); CURRENT=4; _streamctl
words=(streamctl --db ''); CURRENT=3; _streamctl
"""
    out = subprocess.run(["zsh", "-f", "-c", script], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "registered=_streamctl" in lines
    cands = [line[5:] for line in lines if line.startswith("cand=")]
    assert "group" in cands and "--group" in cands and "<files>" in cands
    assert "add" in cands and "--mkstream" not in cands


@pytest.mark.skipif(
    shutil.which("fish") is None, reason="fish is not installed (apt-get install fish)"
)
def test_fish_completion_answers_complete_C():
    def complete(line: str) -> list[str]:
        out = subprocess.run(
            [
                "fish",
                "--no-config",
                "-c",
                f"source {COMPLETIONS / 'streamctl.fish'}; complete -C '{line}'",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.returncode == 0, out.stderr
        return [line.split("\t")[0] for line in out.stdout.splitlines()]

    assert complete("streamctl gr") == ["group"]
    assert complete("streamctl consume s --gr") == ["--group"]
    assert set(complete("streamctl group cr")) == {"create", "createconsumer"}
    assert complete("streamctl --db x.db gr") == ["group"]


def test_completions_know_every_command_and_option(tree):
    texts = {
        p: (COMPLETIONS / p).read_text() for p in ("streamctl.bash", "_streamctl", "streamctl.fish")
    }
    for node in tree.walk():
        for text in texts.values():
            if node.path:
                assert node.path[-1] in text
            for opt in node.options:
                for name in opt.names:
                    assert name.lstrip("-") in text


# --------------------------------------------------------------------------- man page


def _unroff(text: str) -> str:
    return (
        text.replace("\\-", "-")
        .replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "")
        .replace("\\&", "")
    )


def test_man_page_has_the_sections():
    page = (ROOT / "man" / "streamctl.1").read_text()
    for section in (
        "NAME",
        "SYNOPSIS",
        "COMMANDS",
        "OPTIONS",
        "ENVIRONMENT",
        "FILES",
        "EXIT STATUS",
        "EXAMPLES",
    ):
        assert re.search(rf'^\.SH "?{section}"?$', page, re.M), section


def test_man_page_names_every_command_option_and_exit_code(tree):
    page = _unroff((ROOT / "man" / "streamctl.1").read_text())
    for node in tree.walk():
        if node.path and not node.children:
            assert f".SS {' '.join(node.path)}" in page
        for opt in node.options:
            if opt.names == ["-h", "--help"] and node.path:
                continue
            for name in opt.names:
                assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", page), (node.path, name)
    for number, _name, _doc in gen.exit_codes():
        assert f".B {number}" in page
    for var in ("STREAMCTL_DB", "STREAMCTL_URL", "NO_COLOR"):
        assert var in page


@pytest.mark.skipif(
    shutil.which("mandoc") is None and shutil.which("groff") is None,
    reason="neither mandoc nor groff is installed (apt-get install mandoc)",
)
def test_man_page_renders_cleanly():
    page = ROOT / "man" / "streamctl.1"
    if shutil.which("mandoc"):
        out = subprocess.run(
            ["mandoc", "-Tlint", "-W", "style", str(page)], capture_output=True, text=True
        )
        assert out.stdout + out.stderr == "" and out.returncode == 0, out.stdout + out.stderr
    if shutil.which("groff"):
        out = subprocess.run(
            ["groff", "-man", "-ww", "-z", str(page)], capture_output=True, text=True
        )
        assert out.stderr == "" and out.returncode == 0, out.stderr


# --------------------------------------------------------------------------- README


def test_readme_reference_holds_every_help_text(tree, monkeypatch):
    monkeypatch.setenv("COLUMNS", gen.HELP_COLUMNS)
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(gen.START), readme.index(gen.END)
    reference = readme[start:end]
    for node in tree.walk():
        assert f"### `{' '.join(('streamctl',) + node.path)}`" in reference
        assert gen.help_text(node.path) in reference


def test_readme_tour_covers_the_basics():
    readme = (ROOT / "README.md").read_text()
    tour = readme[readme.index("<!-- tour:start -->") : readme.index("<!-- tour:end -->")]
    for command in (
        "streamctl add",
        "streamctl group create",
        "streamctl readgroup",
        "streamctl ack",
        "streamctl consume",
        "streamctl info",
    ):
        assert command in tour
