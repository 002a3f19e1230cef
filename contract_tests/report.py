"""Results of a verification, and the reports made of them: text for people, JUnit XML and JSON for CI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class CheckResult:
    """One check: what it verifies, its outcome (passed, failed, skipped) and the evidence of a failure."""

    name: str
    title: str
    outcome: str
    evidence: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Verification:
    """A whole run against one server."""

    url: str
    version: str | None
    read_only: bool
    results: tuple[CheckResult, ...]
    seconds: float

    @property
    def failed(self) -> list[CheckResult]:
        """The failed checks."""
        return [result for result in self.results if result.outcome == "failed"]

    @property
    def conforms(self) -> bool:
        """True when checks ran and none failed."""
        return not self.failed and any(result.outcome == "passed" for result in self.results)


_MARKS = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}


def render_text(verification: Verification) -> str:
    """The human report: one line per check, evidence under each failure, a verdict at the end."""
    version = f" (Ollama {verification.version})" if verification.version else ""
    lines = [f"ollama-contract verify {verification.url}{version}", ""]
    for result in verification.results:
        lines.append(f"  {_MARKS.get(result.outcome, result.outcome.upper())}  {result.title}")
        if result.outcome != "passed" and result.evidence:
            lines += [f"        {line}" for line in result.evidence.strip().splitlines()]
    counts = {outcome: sum(r.outcome == outcome for r in verification.results) for outcome in _MARKS}
    verdict = "CONFORMS" if verification.conforms else "DOES NOT CONFORM"
    lines += [
        "",
        f"{verdict}: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped "
        f"in {verification.seconds:.1f} s",
    ]
    return "\n".join(lines)


def write_json(verification: Verification, path: Path) -> None:
    """The run as JSON: url, version, conforms, and every result."""
    data = {
        "url": verification.url,
        "version": verification.version,
        "read_only": verification.read_only,
        "conforms": verification.conforms,
        "seconds": round(verification.seconds, 3),
        "results": [asdict(result) for result in verification.results],
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_junit(verification: Verification, path: Path) -> None:
    """The run as JUnit XML, one test case per check."""
    suite = ElementTree.Element(
        "testsuite",
        name="ollama-contract",
        tests=str(len(verification.results)),
        failures=str(len(verification.failed)),
        skipped=str(sum(r.outcome == "skipped" for r in verification.results)),
        time=f"{verification.seconds:.3f}",
    )
    properties = ElementTree.SubElement(suite, "properties")
    ElementTree.SubElement(properties, "property", name="url", value=verification.url)
    ElementTree.SubElement(properties, "property", name="version", value=verification.version or "unknown")
    for result in verification.results:
        case = ElementTree.SubElement(
            suite, "testcase", classname="ollama-contract", name=result.title, time=f"{result.seconds:.3f}"
        )
        if result.outcome == "failed":
            failure = ElementTree.SubElement(
                case,
                "failure",
                message=result.evidence.strip().splitlines()[0] if result.evidence.strip() else "failed",
            )
            failure.text = result.evidence
        elif result.outcome == "skipped":
            ElementTree.SubElement(case, "skipped", message=result.evidence or "skipped")
    ElementTree.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
