"""Fixture files: read a world (JSON or YAML), check it against the contract, and write one back."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from ollama_contract_kit.openapi import validator_for
from ollama_contract_kit.openapi.durations import KeepAliveError, parse_keep_alive
from ollama_contract_kit.openapi.loader import parse_yaml
from ollama_contract_kit.openapi.names import parse_model_name
from ollama_contract_kit.openapi.releases import NEWEST, OLDEST, parse_version
from ollama_contract_kit.openapi.timestamps import GoTime
from ollama_contract_kit.openapi.validation import MAX_PROBLEMS

from ..answers.replies import ReplyError, ReplyRule, rules_from_json
from ..simulation.clock import local_timezone
from ..simulation.machine import Machine, MachineError, machine_for, machine_from_json
from .models import Footprint, InstalledModel, RunningModel, RunningSeed

#: The default world shipped inside the package.
DEFAULT_FIXTURE = "default_world.yaml"
DEFAULT_VERSION = NEWEST
#: Where the blobs live when the world does not say (`OLLAMA_MODELS` of Ollama's Docker image).
DEFAULT_MODELS_PATH = "/root/.ollama/models"


class FixtureError(ValueError):
    """A fixture is not a valid world; the message names the source, the JSON path and the reason."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        shown = problems
        if len(problems) > MAX_PROBLEMS + 1:  # a million wrong entries make a short answer
            shown = [*problems[:MAX_PROBLEMS], f"and {len(problems) - MAX_PROBLEMS:,} more problems not listed"]
        listed = "\n".join(f"  {problem}" for problem in shown)
        super().__init__(f"invalid fixture {source}:\n{listed}" if len(problems) > 1 else f"{source}: {problems[0]}")


@dataclass(frozen=True)
class WorldDocument:
    """A validated world: the installed models, the running seeds, and the models upstream to pull."""

    version: str
    models: tuple[InstalledModel, ...]
    running: tuple[RunningSeed, ...]
    registry: tuple[InstalledModel, ...] = ()
    machine: Machine = field(default_factory=Machine)
    replies: tuple[ReplyRule, ...] = ()
    models_path: str = DEFAULT_MODELS_PATH
    #: Refuse a generating request no reply rule matches (strict replay).
    strict_replies: bool = False


def read_fixture_file(path: str | Path) -> WorldDocument:
    """Read and validate a fixture file (JSON or YAML), raising FixtureError on any problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FixtureError(source, ["no such file"]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise FixtureError(source, [f"cannot read it: {error}"]) from None
    return parse_fixture_text(text, source)


def default_fixture() -> WorldDocument:
    """The world shipped with the kit: GPU, split, CPU-only and namespaced models.

    The kit's tests validate it against the `World` schema; at run time only the world's own rules
    are checked, so starting the mock does not wait for a schema validator.
    """
    text = resources.files(__package__).joinpath(DEFAULT_FIXTURE).read_text(encoding="utf-8")
    return parse_fixture_text(text, f"<embedded {DEFAULT_FIXTURE}>", validate_schema=False)


def parse_fixture_text(text: str, source: str, validate_schema: bool = True) -> WorldDocument:
    """Parse fixture text (JSON is YAML too) and validate it."""
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else parse_yaml(text)
    except json.JSONDecodeError as error:
        raise FixtureError(
            source, [f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"]
        ) from None
    except Exception as error:  # yaml.YAMLError and friends: report, never a traceback
        raise FixtureError(source, [f"not valid YAML: {_yaml_reason(error)}"]) from None
    return build_world_document(data, source, validate_schema)


def _yaml_reason(error: Exception) -> str:
    """PyYAML's reason with its line and column, without the `in "<unicode string>"` it cannot name."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    if mark is None or problem is None:
        return str(error).replace(' in "<unicode string>"', "")
    context = getattr(error, "context", None)
    return f"{context + ': ' if context else ''}{problem} at line {mark.line + 1} column {mark.column + 1}"


_NUMBER_FOR_TEXT = re.compile(r"^[-+0-9.eE]+ is not of type 'string'")


def _with_hint(problem: str) -> str:
    """A schema problem, with the fix when YAML read an unquoted value of digits (a digest) as a number."""
    path, _, message = problem.partition(": ")
    if _NUMBER_FOR_TEXT.match(message):
        field = path.rsplit(".", 1)[-1]
        return f'{problem}; YAML reads unquoted digits as a number: quote the value ({field}: "...")'
    return problem


def build_world_document(data: Any, source: str, validate_schema: bool = True) -> WorldDocument:
    """Validate decoded fixture data against the contract's `World` schema and the world's rules."""
    if validate_schema:
        problems = [_with_hint(str(problem)) for problem in validator_for("control", "World").problems(data)]
        if problems:
            raise FixtureError(source, problems)
    try:
        machine = machine_from_json(data.get("machine"))
        problems = []
    except MachineError as error:
        machine, problems = Machine(), [str(error)]
    release = parse_version(str(data.get("version", DEFAULT_VERSION)))
    context = machine.default_context(release)
    models, model_problems = _installed_models(data["models"], "$.models", context)
    running, running_problems = _running_seeds(data.get("running", []), models)
    registry, registry_problems = _installed_models(data.get("registry", []), "$.registry", context)
    problems += model_problems + running_problems + registry_problems
    problems += version_problems(data.get("version", DEFAULT_VERSION))
    try:
        replies = rules_from_json(data.get("replies", []))
    except ReplyError as error:
        replies, problems = (), [*problems, str(error)]
    if problems:
        raise FixtureError(source, problems)
    if "machine" not in data:
        # A machine on which the world's figures are true: they were taken at the CPU default context, and
        # a server that had this many models running let that many stay loaded.
        machine = machine_for(_stated_vram(models.values(), running), context_length=context)
        if len(running) > machine.max_loaded(release):
            machine = replace(machine, settings=replace(machine.settings, max_loaded_models=len(running)))
    return WorldDocument(
        version=data.get("version", DEFAULT_VERSION),
        models=tuple(models.values()),
        running=running,
        registry=tuple(registry.values()),
        machine=machine,
        replies=replies,
        models_path=data.get("models_path", DEFAULT_MODELS_PATH),
        strict_replies=data.get("strict_replies", False),
    )


def _stated_vram(models: Iterable[InstalledModel], running: Iterable[RunningSeed]) -> int:
    """The VRAM a world's figures say is used: what its running models hold, or its biggest model's."""
    at_start = sum(seed.size_vram or (seed.model.loaded.size_vram if seed.model.loaded else 0) for seed in running)
    largest = max((model.loaded.size_vram for model in models if model.loaded), default=0)
    return max(at_start, largest)


def version_problems(version: str, where: str = "$.version") -> list[str]:
    """Why `version` is no release the mock can speak as (empty when it is one)."""
    release = parse_version(version)
    if release is None:
        return [f"{where}: {version!r} is not an Ollama release like 0.12.3"]
    if release < OLDEST:
        oldest = ".".join(map(str, OLDEST))
        return [f"{where}: {version} is older than {oldest}, the first release with /api/ps"]
    return []


def _installed_models(
    entries: list[Mapping[str, Any]], where_list: str, default_context: int
) -> tuple[dict[str, InstalledModel], list[str]]:
    models: dict[str, InstalledModel] = {}
    first_index: dict[str, int] = {}
    problems: list[str] = []
    installed_at = GoTime(time.time_ns(), local_timezone())
    for index, entry in enumerate(entries):
        where = f"{where_list}[{index}]"
        parsed = parse_model_name(entry["name"])
        if parsed is None:
            problems.append(f"{where}.name: {entry['name']!r} is not a valid Ollama model name")
            continue
        if parsed.key in first_index:
            problems.append(
                f"{where}.name: {entry['name']!r} is {'installed' if where_list == '$.models' else 'upstream'} twice "
                f"(also {where_list}[{first_index[parsed.key]}])"
            )
            continue
        loaded = entry.get("loaded")
        footprint = None
        if loaded is not None and "size" in loaded:
            footprint = Footprint(
                size=loaded["size"],
                size_vram=loaded.get("size_vram", loaded["size"]),
                context_length=loaded.get("context_length") or default_context,
            )
            if footprint.size_vram > footprint.size:
                problems.append(
                    f"{where}.loaded.size_vram: {footprint.size_vram} is more than the loaded size {footprint.size}"
                )
        first_index[parsed.key] = index
        models[parsed.key] = InstalledModel(
            name=parsed.display_shortest(),
            digest=entry["digest"],
            size=entry["size"],
            details=dict(entry["details"]),
            modified_at=GoTime.parse(entry["modified_at"]) if "modified_at" in entry else installed_at,
            loaded=footprint,
            capabilities=tuple(entry.get("capabilities", ("completion",))),
            model_info=entry.get("model_info"),
            template=entry.get("template"),
            system=entry.get("system", ""),
            license=entry.get("license", ""),
            parameters=dict(entry.get("parameters", {})),
            messages=tuple(dict(message) for message in entry.get("messages", ())),
            weights=entry.get("weights", ""),
            projector=entry.get("projector"),
            tensors=tuple(dict(tensor) for tensor in entry["tensors"]) if "tensors" in entry else None,
            projector_info=entry.get("projector_info"),
        )
    return models, problems


def _running_seeds(
    entries: list[Mapping[str, Any]], models: Mapping[str, InstalledModel]
) -> tuple[tuple[RunningSeed, ...], list[str]]:
    seeds: list[RunningSeed] = []
    seen: set[str] = set()
    problems: list[str] = []
    for index, entry in enumerate(entries):
        where = f"$.running[{index}]"
        parsed = parse_model_name(entry["model"])
        model = models.get(parsed.key) if parsed else None
        if model is None:
            problems.append(f"{where}.model: {entry['model']!r} is not one of the installed models ($.models)")
            continue
        if model.key in seen:
            problems.append(f"{where}.model: {entry['model']!r} is listed as running twice")
            continue
        seen.add(model.key)
        try:
            keep_alive = parse_keep_alive(entry.get("keep_alive"))
        except KeepAliveError as error:
            problems.append(f"{where}.keep_alive: {error}")
            continue
        size, size_vram = entry.get("size"), entry.get("size_vram")
        if size is not None and size_vram is not None and size_vram > size:
            problems.append(f"{where}.size_vram: {size_vram} is more than the loaded size {size}")
            continue
        seeds.append(
            RunningSeed(
                model=model,
                keep_alive_seconds=keep_alive,
                expires_at=GoTime.parse(entry["expires_at"]) if "expires_at" in entry else None,
                size=entry.get("size"),
                size_vram=entry.get("size_vram"),
                context_length=entry.get("context_length"),
            )
        )
    return tuple(seeds), problems


def installed_to_fixture(model: InstalledModel) -> dict[str, Any]:
    """One installed (or upstream) model as a fixture entry; show fields only where set."""
    entry: dict[str, Any] = {
        "name": model.display_name,
        "modified_at": model.modified_at.format(),
        "size": model.size,
        "digest": model.digest,
        "details": dict(model.details),
        "capabilities": list(model.capabilities),
    }
    if model.loaded is not None:
        entry["loaded"] = {
            "size": model.loaded.size,
            "size_vram": model.loaded.size_vram,
            "context_length": model.loaded.context_length,
        }
    optional = {
        "model_info": dict(model.model_info) if model.model_info else None,
        "template": model.template,
        "system": model.system,
        "license": model.license,
        "parameters": dict(model.parameters),
        "messages": [dict(message) for message in model.messages],
        "weights": model.weights,
        "projector": model.projector,
        "tensors": [dict(tensor) for tensor in model.tensors] if model.tensors is not None else None,
        "projector_info": dict(model.projector_info) if model.projector_info else None,
    }
    return entry | {key: value for key, value in optional.items() if value}


def running_to_fixture(running: RunningModel) -> dict[str, Any]:
    """One running model as a fixture entry, with its absolute `expires_at`."""
    return {
        "model": running.model.display_name,
        "expires_at": running.expires_at.format(),
        "size": running.size,
        "size_vram": running.size_vram,
        "context_length": running.context_length,
    }
