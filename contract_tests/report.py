"""Results of a verification, and the reports made of them: text for people, JUnit XML and JSON for CI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from dataclasses import asdict, dataclass
from pathlib import Path

from ollama_contract_kit.commandline.files import write_text_atomically


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
    """A whole run against one server.

    `interrupted` names what was running when SIGINT/SIGTERM stopped the run; `not_checked` says why
    nothing could be checked at all (unreachable, credentials refused, not Ollama at this URL).
    """

    url: str
    version: str | None
    read_only: bool
    results: tuple[CheckResult, ...]
    seconds: float
    interrupted: str | None = None
    not_checked: str | None = None

    @property
    def failed(self) -> list[CheckResult]:
        """The failed checks."""
        return [result for result in self.results if result.outcome == "failed"]

    @property
    def conforms(self) -> bool:
        """True when the run was whole, checks ran and none failed."""
        complete = self.interrupted is None and self.not_checked is None
        return complete and not self.failed and any(result.outcome == "passed" for result in self.results)

    @property
    def verdict(self) -> str:
        """CONFORMS, DOES NOT CONFORM, INTERRUPTED or NOT CHECKED."""
        if self.not_checked is not None:
            return "NOT CHECKED"
        if self.interrupted is not None:
            return "INTERRUPTED"
        return "CONFORMS" if self.conforms else "DOES NOT CONFORM"


_MARKS = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}


def render_header(url: str, version: str | None) -> str:
    """The report's first line: which server, which version."""
    return f"ollama-contract verify {url}{f' (Ollama {version})' if version else ''}"


def render_result(result: CheckResult) -> list[str]:
    """One check's lines: its mark and title, and the evidence under anything but a pass."""
    lines = [f"  {_MARKS.get(result.outcome, result.outcome.upper())}  {result.title}"]
    if result.outcome != "passed" and result.evidence:
        lines += [f"        {line}" for line in result.evidence.strip().splitlines()]
    return lines


def render_verdict(verification: Verification) -> str:
    """The last line: the verdict and the counts (for an interrupted run, what had run and what was running)."""
    if verification.not_checked is not None:
        return f"NOT CHECKED: {verification.not_checked}"
    counts = {outcome: sum(r.outcome == outcome for r in verification.results) for outcome in _MARKS}
    tally = (
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped "
        f"in {verification.seconds:.1f} s"
    )
    if verification.interrupted is not None:
        return f"INTERRUPTED during {verification.interrupted}: {tally} before it (this is not a verdict)"
    return f"{verification.verdict}: {tally}"


def render_text(verification: Verification) -> str:
    """The human report: one line per check, evidence under each failure, a verdict at the end."""
    lines = [render_header(verification.url, verification.version), ""]
    for result in verification.results:
        lines += render_result(result)
    return "\n".join([*lines, "", render_verdict(verification)])


def write_json(verification: Verification, path: Path) -> None:
    """The run as JSON: url, version, verdict, conforms, and every result (written whole or not at all)."""
    data = {
        "url": verification.url,
        "version": verification.version,
        "read_only": verification.read_only,
        "verdict": verification.verdict,
        "conforms": verification.conforms,
        "interrupted": verification.interrupted is not None,
        "interrupted_during": verification.interrupted,
        "not_checked": verification.not_checked,
        "seconds": round(verification.seconds, 3),
        "results": [asdict(result) for result in verification.results],
    }
    write_text_atomically(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_junit(verification: Verification, path: Path) -> None:
    """The run as JUnit XML, one test case per check (written whole or not at all).

    A run that checked nothing has one failing case saying why; an interrupted run ends with a
    case holding an `error` element, so no CI reads it as a pass.
    """
    suite = ElementTree.Element("testsuite", name="ollama-contract", time=f"{verification.seconds:.3f}")
    properties = ElementTree.SubElement(suite, "properties")
    ElementTree.SubElement(properties, "property", name="url", value=verification.url)
    ElementTree.SubElement(properties, "property", name="version", value=verification.version or "unknown")
    ElementTree.SubElement(properties, "property", name="verdict", value=verification.verdict)
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
    failures = len(verification.failed)
    errors = 0
    if verification.not_checked is not None:
        case = ElementTree.SubElement(suite, "testcase", classname="ollama-contract", name="the server can be checked")
        ElementTree.SubElement(case, "failure", message=verification.not_checked).text = verification.not_checked
        failures += 1
    if verification.interrupted is not None:
        case = ElementTree.SubElement(suite, "testcase", classname="ollama-contract", name="the run completed")
        message = f"interrupted during {verification.interrupted}"
        ElementTree.SubElement(case, "error", message=message, type="interrupted").text = render_verdict(verification)
        errors += 1
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(sum(r.outcome == "skipped" for r in verification.results)))
    ElementTree.indent(suite)
    text = ElementTree.tostring(suite, encoding="unicode", xml_declaration=False)
    write_text_atomically(path, "<?xml version='1.0' encoding='utf-8'?>\n" + text + "\n")
