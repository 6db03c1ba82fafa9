"""The root command loads its commands lazily: help and argument errors stay cheap, and what
they show is what the commands themselves say."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lampyris.cli.app import COMMANDS, load_command


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_summary_is_the_start_of_the_commands_own_help(name: str) -> None:
    command = load_command(name)
    own = _flat((command.help or "").split("\n\n")[0])
    assert command.name == name
    assert own.startswith(_flat(COMMANDS[name][2]))


@pytest.mark.parametrize("argv", [["--help"], ["--bogus"], ["no-such-command"], ["--version"]])
def test_help_and_root_errors_import_no_command(argv: list[str]) -> None:
    script = (
        "import sys\n"
        "from lampyris.cli.app import app\n"
        f"try:\n    app({argv!r})\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('numpy', 'cv2', 'onnxruntime', 'openvino', 'fastapi',\n"
        "    'sqlalchemy', 'lampyris.ops', 'lampyris.cli.cutout') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)
    assert "HEAVY []" in done.stdout, done.stdout + done.stderr
    if argv == ["--help"]:
        for name in COMMANDS:
            assert f"  {name} " in done.stdout


def test_a_command_loads_when_it_is_used() -> None:
    done = subprocess.run([sys.executable, "-m", "lampyris.cli.app", "models", "list"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "u2netp" in done.stdout


def test_the_look_sample_default_is_the_workflows_own() -> None:
    # cli/look.py keeps its own copy so that `batch --help` need not import workflows.look
    from lampyris.cli import look as cli_look
    from lampyris.workflows import look

    assert cli_look.DEFAULT_SAMPLE == look.DEFAULT_SAMPLE
