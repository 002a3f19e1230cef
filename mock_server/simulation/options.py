"""A request's `options`, read as Ollama reads them (`api.Options.FromMap`): the model's parameters first,
then the request's, each checked for its type with Ollama's error text (the route answers it with 500).

Runner options decide the runner a request needs (a different one means a reload); predict options
decide how the answer ends (`num_predict`, `stop`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Ollama's `api.Options` fields by JSON name and kind (`api/types.go` Options and Runner). Unknown names
#: are ignored, as Ollama only logs them.
_KINDS = {
    "num_ctx": "integer", "num_batch": "integer", "num_gpu": "integer", "main_gpu": "integer",
    "use_mmap": "boolean", "num_thread": "integer", "draft_num_predict": "integer", "num_keep": "integer",
    "seed": "integer", "num_predict": "integer", "top_k": "integer", "top_p": "float32", "min_p": "float32",
    "typical_p": "float32", "repeat_last_n": "integer", "temperature": "float32", "repeat_penalty": "float32",
    "presence_penalty": "float32", "frequency_penalty": "float32", "stop": "array",
}  # fmt: skip
#: `num_batch` when neither the model nor the request sets it (`api.DefaultOptions`).
DEFAULT_NUM_BATCH = 512


class OptionError(ValueError):
    """An option of the wrong type; the message is Ollama's (`option "num_ctx" must be of type integer`)."""


@dataclass(frozen=True)
class RunnerOptions:
    """What a runner is loaded with; a request that needs other values reloads it (`needsReload`)."""

    #: The context asked for (0: the server's default, which follows its VRAM).
    num_ctx: int = 0
    num_batch: int = DEFAULT_NUM_BATCH
    #: Layers to offload to the GPUs; -1 lets the server decide (and then never asks for a reload).
    num_gpu: int = -1
    main_gpu: int | None = None
    use_mmap: bool | None = None
    #: Whether a prompt longer than the context is truncated (`shift`, default on) rather than refused.
    context_shift: bool = True


@dataclass(frozen=True)
class PredictOptions:
    """How an answer ends: after `num_predict` tokens (-1: no limit), or where a `stop` text begins."""

    num_predict: int = -1
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Options:
    """A request's options, merged over the model's parameters."""

    runner: RunnerOptions
    predict: PredictOptions
    #: True when neither the request nor the model named `num_ctx`: the server's default applies.
    automatic_context: bool


def _checked(key: str, value: Any) -> Any:
    kind = _KINDS[key]
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise OptionError(f'option "{key}" must be of type integer')
        return int(value)  # Go truncates a JSON float toward zero
    if kind == "boolean":
        if not isinstance(value, bool):
            raise OptionError(f'option "{key}" must be of type boolean')
        return value
    if kind == "float32":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise OptionError(f'option "{key}" must be of type float32')
        return float(value)
    if not isinstance(value, list):
        raise OptionError(f'option "{key}" must be of type array')
    if not all(isinstance(item, str) for item in value):
        raise OptionError(f'option "{key}" must be of an array of strings')
    return tuple(value)


def _read(layer: Mapping[str, Any], into: dict[str, Any]) -> None:
    for key, value in layer.items():
        if key in _KINDS and value is not None:
            into[key] = _checked(key, value)


def read_options(parameters: Mapping[str, Any], requested: Mapping[str, Any] | None) -> Options:
    """The options of a request for a model with `parameters` (its Modelfile's); OptionError for a wrong type.

    A parameter given as a list in a Modelfile (`stop` lines) counts as its list; a single value of
    a list option is taken as a one-item list.
    """
    merged: dict[str, Any] = {}
    model_layer = {key: value for key, value in parameters.items() if key != "stop" or isinstance(value, list)}
    if isinstance(parameters.get("stop"), str):
        model_layer["stop"] = [parameters["stop"]]
    _read(model_layer, merged)
    _read(requested or {}, merged)
    runner = RunnerOptions(
        num_ctx=max(0, merged.get("num_ctx", 0)),
        num_batch=merged.get("num_batch", DEFAULT_NUM_BATCH),
        num_gpu=merged.get("num_gpu", -1),
        main_gpu=merged.get("main_gpu"),
        use_mmap=merged.get("use_mmap"),
    )
    predict = PredictOptions(num_predict=merged.get("num_predict", -1), stop=merged.get("stop", ()))
    automatic = "num_ctx" not in (requested or {}) and "num_ctx" not in parameters
    return Options(runner=runner, predict=predict, automatic_context=automatic)
