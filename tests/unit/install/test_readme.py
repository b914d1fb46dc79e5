"""The README's configuration reference lists exactly the settings the components read."""

from __future__ import annotations

import re

from tests.unit.install.install_files import PROJECT_ROOT, settings_variables


def _install_section() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text()
    start = readme.index("<!-- section: install -->")
    return readme[start : readme.index("<!-- /section: install -->", start)]


def test_configuration_reference_lists_every_setting_and_nothing_else() -> None:
    reference = _install_section().split("### Configuration reference", 1)[1]
    listed = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", reference, re.M))
    settings = settings_variables("apranova_operator") | settings_variables("apranova_api")
    assert not settings - listed, f"missing from README.md: {sorted(settings - listed)}"
    assert not listed - settings, f"not a setting any more: {sorted(listed - settings)}"
