"""What a contract check is, and the run it belongs to (the target, and the model the lifecycle checks share)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from .lifecycle import LifecycleUnavailable, ProbeModel, load_probe_model, restore
from .target import ContractTarget


class CheckSkipped(Exception):
    """The check does not apply to this server (read-only, a live server, nothing to load); says why."""


@dataclass(frozen=True)
class Check:
    """One contract check: a stable name for reports, a one-line title for people, and what it does.

    `run` raises AssertionError (or Schemathesis's failure group) when the server breaks the rule,
    and CheckSkipped when the check does not apply.
    """

    name: str
    title: str
    run: Callable[[ContractRun], None]

    @classmethod
    def of(cls, function: Callable[[ContractRun], None], parameter: str | None = None) -> Check:
        """A check named after `function` and titled by its docstring's first line (`[parameter] ` before it).

        `function` may be a `functools.partial` that binds `parameter`.
        """
        inner = function.func if isinstance(function, partial) else function
        title = (inner.__doc__ or inner.__name__).strip().splitlines()[0].rstrip(".")
        if parameter is None:
            return cls(inner.__name__, title, function)
        return cls(f"{inner.__name__}[{parameter}]", f"[{parameter}] {title}", function)


class ContractRun:
    """One pass of the checks over a target; the lifecycle checks share one probe model, loaded on first use."""

    def __init__(self, target: ContractTarget) -> None:
        self.target = target
        self._probe: ProbeModel | None = None
        self._not_loaded: BaseException | None = None

    def probe(self) -> ProbeModel:
        """The loaded probe model; CheckSkipped (read-only, nothing loadable) or the load's failure otherwise."""
        if self._probe is None and self._not_loaded is None:
            self._not_loaded = self._load()
        if self._not_loaded is not None:
            raise self._not_loaded
        assert self._probe is not None
        return self._probe

    def _load(self) -> BaseException | None:
        if self.target.read_only:
            return CheckSkipped("--read-only: the load/unload checks change server state")
        try:
            self._probe = load_probe_model(self.target)
        except LifecycleUnavailable as reason:
            return CheckSkipped(str(reason))
        except AssertionError as failure:  # the server could not be asked: every lifecycle check fails with it
            return failure
        return None

    def finish(self) -> None:
        """Leave the server as it was found: the probe model unloaded, models it evicted running again."""
        if self._probe is not None:
            restore(self.target, self._probe.name, self._probe.running_before)
