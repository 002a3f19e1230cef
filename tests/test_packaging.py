"""`pip install .` (a real wheel, not editable) in a clean virtualenv gives the spec and the three commands."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from .conftest import REPO

COMMANDS = ("ollama-mock", "ollama-contract", "ollama-ps")
LOCAL_ONLY = shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__", "node_modules", "reports")

# One worker builds the wheel once for all of this module's tests.
pytestmark = pytest.mark.xdist_group("wheel")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the kit's wheel installed; its dependencies are this environment's, seen through
    a path file (the kit itself is not: this environment has it as an editable install, which a path file skips)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"  # a copy: setuptools writes build/ and *.egg-info beside the sources it builds
    shutil.copytree(REPO, source, ignore=LOCAL_ONLY)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(root / "dist"),
         str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    wheel = next((root / "dist").glob("ollama_contract_kit-*.whl"))
    environment = root / "venv"
    venv.create(environment)
    python = environment / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import site; print(site.getsitepackages()[0])"],
                               capture_output=True, text=True, check=True).stdout.strip())  # fmt: skip
    (site / "dependencies.pth").write_text("\n".join(sysconfig_site_packages()) + "\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return environment


def sysconfig_site_packages() -> list[str]:
    """This environment's site-packages folders."""
    return sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})


@pytest.mark.slow
def test_wheel_ships_the_spec_and_finds_it_at_run_time(installed: Path) -> None:
    code = (
        "from ollama_contract_kit.openapi import spec_path, load_document;"
        "import sys;"
        "p = spec_path('ollama'); c = spec_path('control');"
        "assert 'site-packages' in str(p) and p.is_file() and c.is_file(), p;"
        "assert load_document('ollama')['openapi'].startswith('3.1');"
        "from ollama_contract_kit.mock_server import create_app;"
        "assert create_app().test_client().get('/api/ps').status_code == 200;"
        "print(p)"
    )
    result = subprocess.run([str(installed / "bin" / "python"), "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    assert "site-packages/ollama_contract_kit/openapi/ollama.yaml" in result.stdout
    config = subprocess.run(
        [str(installed / "bin" / "ollama-contract"), "spec", "--schemathesis-config"], capture_output=True, text=True
    )
    shipped = Path(config.stdout.strip())
    assert "site-packages" in str(shipped) and "ollama_contract_kit.contract_tests.checks" in shipped.read_text()


@pytest.mark.slow
def test_wheel_installs_no_generic_top_level_packages(installed: Path) -> None:
    site = next(installed.glob("lib/python*/site-packages"))
    for generic in ("client", "commandline", "mock_server", "openapi", "contract_tests"):
        assert not (site / generic).exists(), f"the wheel must not install a top-level {generic!r} package"


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_console_command_prints_help_and_rejects_unknown_arguments(installed: Path, command: str) -> None:
    executable = installed / "bin" / command
    shown = subprocess.run([str(executable), "--help"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "usage:" in shown.stdout
    wrong = subprocess.run([str(executable), "--no-such-option"], capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2
    assert "--no-such-option" in wrong.stderr and "Traceback" not in wrong.stderr
