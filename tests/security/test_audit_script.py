"""scripts/audit.py, the test command's pip-audit step: fails on a vulnerability that is
not ignored with a reason, never on a missing network."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from copydesk.settings import REPO_ROOT


def load_audit() -> ModuleType:
    name = "copydesk_scripts_audit"
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "scripts" / "audit.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


REPORT: dict[str, Any] = {
    "dependencies": [
        {"name": "jinja2", "version": "2.4.1", "vulns": [
            {"id": "PYSEC-2014-8", "fix_versions": ["2.7.2"], "aliases": ["CVE-2014-1402"]},
            {"id": "GHSA-462w-v97r-4m45", "fix_versions": ["2.10.1"], "aliases": []},
        ]},
        {"name": "httpx", "version": "0.28.1", "vulns": []},
        {"name": "torch", "version": "2.13.0+cpu", "skip_reason": "Dependency not found on PyPI"},
    ],
    "fixes": [],
}  # fmt: skip


def test_a_found_vulnerability_fails_unless_ignored_with_a_reason() -> None:
    audit = load_audit()
    result = audit.summarise(REPORT, {})
    assert (result.audited, len(result.skipped), len(result.found)) == (2, 1, 2)
    assert result.failed
    assert result.found[0] == "jinja2 2.4.1: PYSEC-2014-8 (fixed in: 2.7.2)"
    ignored = {"CVE-2014-1402": "templates are ours", "GHSA-462w-v97r-4m45": "not used"}
    result = audit.summarise(REPORT, ignored)  # an alias counts too
    assert not result.failed
    assert result.ignored == [
        "jinja2 2.4.1: PYSEC-2014-8: templates are ours",
        "jinja2 2.4.1: GHSA-462w-v97r-4m45: not used",
    ]


def test_no_service_is_a_skip_not_a_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = load_audit()
    monkeypatch.setattr(audit, "probe_services", lambda: (None, ["osv: URLError: no DNS"]))
    assert audit.main() == 0
    assert capsys.readouterr().out.startswith(
        "pip-audit skipped: no network to the vulnerability service (osv: URLError: no DNS)"
    )


def test_a_service_that_knows_no_installed_package_is_a_skip(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = load_audit()
    report = {"dependencies": [{"name": "x", "version": "1", "skip_reason": "not found"}]}
    monkeypatch.setattr(audit, "probe_services", lambda: ("pypi", []))
    monkeypatch.setattr(audit, "run_pip_audit", lambda service: report)
    assert audit.main() == 0
    assert "pip-audit skipped: the vulnerability service (pypi) answered for none" in (
        capsys.readouterr().out
    )


def test_a_vulnerability_fails_the_test_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = load_audit()
    monkeypatch.setattr(audit, "probe_services", lambda: ("osv", []))
    monkeypatch.setattr(audit, "run_pip_audit", lambda service: REPORT)
    assert audit.main() == 1
    out = capsys.readouterr().out
    assert (
        "pip-audit (osv): 2 packages audited, 1 not found on PyPI, 2 known vulnerabilities" in out
    )
    assert "VULNERABLE: jinja2 2.4.1: PYSEC-2014-8 (fixed in: 2.7.2)" in out


def test_nothing_is_ignored_without_a_reason() -> None:
    audit = load_audit()
    assert all(isinstance(reason, str) and reason.strip() for reason in audit.IGNORED.values())


def test_the_test_command_runs_bandit_and_pip_audit_before_pytest() -> None:
    script = (REPO_ROOT / "scripts" / "test.sh").read_text()
    bandit = script.index("bandit -r copydesk db flows tasks -c pyproject.toml")
    audit = script.index("python scripts/audit.py")
    assert bandit < script.index("python -m pytest") and audit < script.index("python -m pytest")
    assert Path(REPO_ROOT / "pyproject.toml").read_text().count("[tool.bandit]") == 1
