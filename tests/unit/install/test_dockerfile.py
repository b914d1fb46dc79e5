"""The Dockerfile: a pinned base, a final stage without build tools, a non-root user, and an
entry point that is the project's own console script."""

from __future__ import annotations

import json
import re
import tomllib

from tests.unit.install.install_files import PROJECT_ROOT

DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text()
BUILD_TOOLS = ("gcc", "g++", "build-essential", "make", "clang", "python3-dev", "libpq-dev")


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    pairs = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


INSTRUCTIONS = _instructions(DOCKERFILE)
STAGES = [i for i, (keyword, _) in enumerate(INSTRUCTIONS) if keyword == "FROM"]
FINAL_STAGE = INSTRUCTIONS[STAGES[-1] :]


def test_base_image_is_pinned_to_a_patch_release() -> None:
    args = dict(
        rest.split("=", 1) for keyword, rest in INSTRUCTIONS if keyword == "ARG" and "=" in rest
    )
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", args["PYTHON_IMAGE"]), args
    assert all(rest.startswith("${PYTHON_IMAGE}") for _, rest in INSTRUCTIONS if _ == "FROM")


def test_image_is_multi_stage_and_final_stage_has_no_build_tools() -> None:
    assert len(STAGES) == 2
    final_text = " ".join(rest for _, rest in FINAL_STAGE)
    assert not [tool for tool in BUILD_TOOLS if re.search(rf"\b{re.escape(tool)}\b", final_text)]
    assert "apt-get install" not in final_text
    assert not any(keyword == "COPY" and "/src" in rest for keyword, rest in FINAL_STAGE)


def test_final_stage_runs_as_the_non_root_user_of_the_chart() -> None:
    users = [rest for keyword, rest in FINAL_STAGE if keyword == "USER"]
    assert users == ["10001:10001"]


def test_entry_point_is_the_console_script() -> None:
    (entrypoint,) = [json.loads(rest) for keyword, rest in FINAL_STAGE if keyword == "ENTRYPOINT"]
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    assert entrypoint == ["apranova"]
    assert "apranova" in project["scripts"]


def test_build_context_holds_only_what_the_builder_copies() -> None:
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    copied = set()
    for keyword, rest in INSTRUCTIONS:
        if keyword == "COPY" and not rest.startswith("--from"):
            copied.update(source.rstrip("/") for source in rest.split()[:-1])
    assert "*" in ignored, "the context must start from nothing and allow files one by one"
    assert copied <= allowed, copied - allowed
