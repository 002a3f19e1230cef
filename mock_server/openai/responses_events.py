"""The server-sent events of Ollama's `/v1/responses` (`ResponsesStreamConverter` in `openai/responses.go`).

Each native chat chunk gives its events: `response.created` and `response.in_progress` first, the
reasoning summary's deltas, each tool call whole (one arguments delta), the text's deltas, and at
the end the items' `done` events and `response.completed`. Every event is a `map[string]any`, so its
keys are sorted at every level; `sequence_number` counts from 0; `created_at` is when it is built.
There is no `data: [DONE]`. When the model calls the built-in web search, which a server with its
cloud off cannot run, the stream ends with `response.failed` instead (`WebSearchResponsesWriter`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..serving.encoding import go_map
from .responses_wire import Echo, arguments, draw, response_object, seconds, text_part, usage


class ResponseEvents:
    """Turns native chat chunks into the Responses stream's events, as `ResponsesStreamConverter` does."""

    def __init__(self, echo: Echo, response_id: str, item_id: str) -> None:
        self.echo, self.response_id, self.item_id = echo, response_id, item_id
        self.started = False
        self.sequence = 0
        self.output_index = 0
        self.reasoning_id = ""
        self.thinking = ""
        self.text: str | None = None  # None until the message item starts
        self.calls_sent = False
        self.completed: list[dict[str, Any]] = []

    def process(self, chunk: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """The events one native chunk gives (each data a sorted map, `sequence_number` counting from 0)."""
        now = seconds(chunk)
        message = chunk.get("message") or {}
        events: list[tuple[str, dict[str, Any]]] = []
        if not self.started:
            self.started = True
            for name in ("response.created", "response.in_progress"):
                events.append((name, {"response": self._object("in_progress", [], None, now)}))
        if message.get("thinking"):
            events += self._thinking(message["thinking"])
        if message.get("tool_calls"):
            events += self._finish_reasoning() + self._calls(message["tool_calls"])
            self.calls_sent = True
        elif not self.calls_sent and message.get("content"):
            events += self._text(message["content"])
        if chunk.get("done"):
            events += self._completion(chunk, now)
        return [self._numbered(name, data) for name, data in events]

    def search_failed(self, query: str, final: Mapping[str, Any], error: tuple[int, str]) -> list[tuple[str, Any]]:
        """The end of a stream whose model called the web search: the search call's start (when it had a
        query), then `response.failed` with the error and the answer's usage."""
        events: list[tuple[str, dict[str, Any]]] = []
        if not self.started:
            self.started = True
            now = seconds(final)
            events += [
                (name, {"response": self._object("in_progress", [], None, now)})
                for name in ("response.created", "response.in_progress")
            ]
        if query.strip():
            events += self._finish_reasoning()
            position, item_id = self.output_index, f"ws_{self.response_id.removeprefix('resp_')}_1"
            self.output_index += 1
            action = {"type": "search", "query": query}
            item = {"id": item_id, "type": "web_search_call", "status": "in_progress", "action": action}
            events += [("response.output_item.added", {"output_index": position, "item": item})]
            events += [
                (f"response.web_search_call.{stage}", {"item_id": item_id, "output_index": position})
                for stage in ("in_progress", "searching")
            ]
        prompt, generated = int(final.get("prompt_eval_count", 0)), int(final.get("eval_count", 0))
        failed = {
            "id": self.response_id,
            "object": "response",
            "status": "failed",
            "model": self.echo.model,
            "output": [],
            "error": {"code": "api_error", "message": error[1]},
            "usage": {"input_tokens": prompt, "output_tokens": generated, "total_tokens": prompt + generated},
        }
        events.append(("response.failed", {"response": failed}))
        return [self._numbered(name, data) for name, data in events]

    def _numbered(self, name: str, data: dict[str, Any]) -> tuple[str, Any]:
        data |= {"type": name, "sequence_number": self.sequence}
        self.sequence += 1
        return name, go_map(data)

    def _object(self, status: str, output: list[Any], usage: Any, now: int) -> dict[str, Any]:
        return response_object(self.echo, self.response_id, status, output, usage, created_at=now, streamed=True)

    def _thinking(self, thinking: str) -> list[tuple[str, dict[str, Any]]]:
        events = []
        if not self.reasoning_id:
            self.reasoning_id = f"rs_{draw()}"
            item = {"id": self.reasoning_id, "type": "reasoning", "summary": []}
            events.append(("response.output_item.added", {"output_index": self.output_index, "item": item}))
        self.thinking += thinking
        delta = {"item_id": self.reasoning_id, "output_index": self.output_index, "summary_index": 0, "delta": thinking}
        return events + [("response.reasoning_summary_text.delta", delta)]

    def _finish_reasoning(self) -> list[tuple[str, dict[str, Any]]]:
        if not self.reasoning_id:
            return []
        item = {
            "id": self.reasoning_id,
            "type": "reasoning",
            "encrypted_content": self.thinking,
            "summary": [{"type": "summary_text", "text": self.thinking}],
        }
        self.completed.append(item)
        done = {
            "item_id": self.reasoning_id,
            "output_index": self.output_index,
            "summary_index": 0,
            "text": self.thinking,
        }
        events = [
            ("response.reasoning_summary_text.done", done),
            ("response.output_item.done", {"output_index": self.output_index, "item": item}),
        ]
        self.reasoning_id, self.thinking = "", ""
        self.output_index += 1
        return events

    def _calls(self, calls: list[Mapping[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        events: list[tuple[str, dict[str, Any]]] = []
        for index, call in enumerate(calls):
            position, item_id, encoded = self.output_index + index, f"fc_{draw()}_{index}", arguments(call)
            item = {
                "id": item_id,
                "type": "function_call",
                "call_id": call.get("id", ""),
                "name": call["function"]["name"],
            }
            finished = item | {"status": "completed", "arguments": encoded}
            self.completed.append(finished)
            where = {"item_id": item_id, "output_index": position}
            events += [
                (
                    "response.output_item.added",
                    {"output_index": position, "item": item | {"status": "in_progress", "arguments": ""}},
                ),
                ("response.function_call_arguments.delta", where | {"delta": encoded}),
                ("response.function_call_arguments.done", where | {"arguments": encoded}),
                ("response.output_item.done", {"output_index": position, "item": finished}),
            ]
        self.output_index += len(calls)
        return events

    def _message(self, status: str) -> dict[str, Any]:
        content = [text_part(self.text or "")] if status == "completed" else []
        return {"id": self.item_id, "type": "message", "status": status, "role": "assistant", "content": content}

    def _text(self, content: str) -> list[tuple[str, dict[str, Any]]]:
        events = self._finish_reasoning()
        where = {"item_id": self.item_id, "output_index": self.output_index, "content_index": 0}
        if self.text is None:
            self.text = ""
            events += [
                (
                    "response.output_item.added",
                    {"output_index": self.output_index, "item": self._message("in_progress")},
                ),
                ("response.content_part.added", where | {"part": text_part("")}),
            ]
        self.text += content
        return events + [("response.output_text.delta", where | {"delta": content, "logprobs": []})]

    def _completion(self, chunk: Mapping[str, Any], now: int) -> list[tuple[str, dict[str, Any]]]:
        events = self._finish_reasoning()
        output: list[Any] = list(self.completed)
        if self.text is not None:
            output.append(self._message("completed"))
            if not self.calls_sent:
                where = {"item_id": self.item_id, "output_index": self.output_index, "content_index": 0}
                events += [
                    ("response.output_text.done", where | {"text": self.text, "logprobs": []}),
                    ("response.content_part.done", where | {"part": text_part(self.text)}),
                    (
                        "response.output_item.done",
                        {"output_index": self.output_index, "item": self._message("completed")},
                    ),
                ]
        final = self._object("completed", output, usage(chunk), now) | {"completed_at": now}
        return events + [("response.completed", {"response": final})]
