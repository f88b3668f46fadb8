"""Shared paths and helpers. The wheel must be installed; `cargo xtask test` builds it into
a throw-away venv and runs these tests with GENRE_CLI naming a binary with the `predict`
command (the runner itself), whose answers the package's must equal."""

import json
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
FIXTURES = REPO / "fixtures"


@pytest.fixture(scope="session")
def manifest():
    return json.loads((FIXTURES / "reference" / "manifest.json").read_text())


@pytest.fixture(scope="session")
def cli_predictions():
    """`genre predict --format json` over some files: {file: prediction dict}."""
    cli = os.environ.get("GENRE_CLI")
    if not cli:
        pytest.skip("GENRE_CLI names no genre binary (cargo xtask test sets it)")

    def run(files, *extra):
        out = subprocess.run(
            [cli, "predict", "--format", "json", "--threads", "2", *extra, *map(str, files)],
            check=False, capture_output=True, text=True,
        )
        return {p["file"]: p for p in map(json.loads, out.stdout.splitlines())}

    return run
