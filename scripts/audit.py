"""pip-audit for the test command: fail on a known vulnerability, never on a missing network.

pip-audit needs a vulnerability service: OSV (api.osv.dev) or PyPI's JSON API (one
request per installed release, `pypi.org/pypi/NAME/VERSION/json`). Each is probed first
by asking about a release known to be vulnerable (jinja2 2.4.1): the first that answers
with its vulnerabilities is used. If neither does (no network, or a mirror that serves
only some of PyPI), the audit is skipped with a line saying so, and so it is when the
service answered for none of the installed packages. A vulnerability found fails the
run (exit 1) unless IGNORED lists its id with the reason it does not apply.

    python scripts/audit.py            # what scripts/test.sh runs
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from typing import Any

# Vulnerability id (GHSA-…, PYSEC-…, CVE-…) -> why it does not affect Copydesk. Keep it short.
IGNORED: dict[str, str] = {}

PROBE_TIMEOUT_S = 5.0
_OSV_QUERY = "https://api.osv.dev/v1/query"
_PYPI_RELEASE = "https://pypi.org/pypi/jinja2/2.4.1/json"
_KNOWN_VULNERABLE = {"package": {"name": "jinja2", "ecosystem": "PyPI"}, "version": "2.4.1"}


def _fetch_json(url: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 (https constants)
    with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_S) as response:  # noqa: S310
        return json.load(response)


def probe_services() -> tuple[str | None, list[str]]:
    """The service to audit with ("osv" or "pypi"), or None; and what each probe found."""
    notes = []
    for service, ask in (
        ("osv", lambda: bool(_fetch_json(_OSV_QUERY, _KNOWN_VULNERABLE).get("vulns"))),
        ("pypi", lambda: bool(_fetch_json(_PYPI_RELEASE).get("vulnerabilities"))),
    ):
        try:
            if ask():
                return service, notes
            notes.append(f"{service}: answered without the known vulnerabilities")
        except Exception as exc:  # any failure to reach it means: not usable from here
            notes.append(f"{service}: {type(exc).__name__}: {exc}")
    return None, notes


@dataclass
class AuditResult:
    audited: int = 0
    skipped: list[str] = field(default_factory=list)  # "name version: reason"
    found: list[str] = field(default_factory=list)  # "name version: ID (fix: …)"
    ignored: list[str] = field(default_factory=list)  # "name version: ID: reason"

    @property
    def failed(self) -> bool:
        return bool(self.found)


def summarise(report: dict[str, Any], ignored: dict[str, str]) -> AuditResult:
    """pip-audit's JSON report → what was audited, skipped, found and knowingly ignored."""
    result = AuditResult()
    for dependency in report.get("dependencies", []):
        where = f"{dependency['name']} {dependency.get('version', '?')}"
        if "skip_reason" in dependency:
            result.skipped.append(f"{where}: {dependency['skip_reason']}")
            continue
        result.audited += 1
        for vuln in dependency.get("vulns", []):
            ids = [vuln["id"], *vuln.get("aliases", [])]
            reason = next((ignored[i] for i in ids if i in ignored), None)
            if reason is not None:
                result.ignored.append(f"{where}: {vuln['id']}: {reason}")
            else:
                fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
                result.found.append(f"{where}: {vuln['id']} (fixed in: {fixes})")
    return result


def run_pip_audit(service: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "pip_audit", "--vulnerability-service", service]
    command += ["--format", "json", "--progress-spinner", "off", "--skip-editable"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if completed.returncode not in (0, 1):  # 1: vulnerabilities found
        raise RuntimeError(f"pip-audit failed ({completed.returncode}): {completed.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(completed.stdout)
    return report


def main() -> int:
    service, notes = probe_services()
    if service is None:
        print(
            "pip-audit skipped: no network to the vulnerability service (" + "; ".join(notes) + ")"
        )
        return 0
    result = summarise(run_pip_audit(service), IGNORED)
    if result.audited == 0:
        print(
            f"pip-audit skipped: the vulnerability service ({service}) answered for none of "
            f"the {len(result.skipped)} installed packages"
        )
        return 0
    print(
        f"pip-audit ({service}): {result.audited} packages audited, {len(result.skipped)} "
        f"not found on PyPI, {len(result.found)} known vulnerabilities, "
        f"{len(result.ignored)} ignored with a reason"
    )
    for line in result.skipped:
        print(f"  not audited: {line}")
    for line in result.ignored:
        print(f"  ignored: {line}")
    for line in result.found:
        print(f"  VULNERABLE: {line}")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
