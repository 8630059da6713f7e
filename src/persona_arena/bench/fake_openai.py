"""A fake OpenAI-compatible chat server on loopback, for adapter tests and benchmarks.

    async with FakeOpenAI() as server:
        spec = f"openai/fake-model;api_base={server.api_base}"
        ...
        assert server.requests_served == ...

or, in a test module, `from fake_openai import fake_server  # noqa: F401` and take the
`fake_server` fixture (tests/fake_openai.py). `python -m persona_arena.bench.fake_openai --port
8000` runs one standalone (for benchmarks in another process; Ctrl-C stops it). It lives in the
package because `arena bench` measures the adapters against it (P7).

It serves `POST /v1/chat/completions` (and `/chat/completions`) on 127.0.0.1 at a free port.
What it answers, per request:

* `tools` in the request: a tool call to the first tool, whose `arguments` are JSON generated
  from the tool's parameter schema (enums honoured; an object of numbers with `"x-sum": s`
  sums to s). A `response_format` json_schema: the same JSON as the message content.
* no tools: when some message carries a JSON Schema in a ```json fence (the adapter's
  JSON-in-text prompt), JSON for that schema as text; otherwise a short chat reply.

Behaviour is chosen per request, first match wins:

1. the in-flight limit: with `max_in_flight=K`, a request arriving while K are being served
   gets a 429 (an overloaded provider);
2. queued faults (`server.inject("429", count=3)`, optionally only for one `model=`):
   consumed one per request;
3. the persistent mode of the request's model (`modes={"bad-model": "500"}`), else `default_mode`.

Modes: "ok", "429", "500", "503", "hang" (answers only after `hang_seconds`, or when the server
stops), "truncated" (the JSON in content/arguments is cut in half, finish_reason "length"),
"text" (answers a tool request in plain text, JSON in the content), "garbage" (a reply that is
not JSON at all, for any request), "leaky" (a 400 whose message quotes the request's
Authorization header, like a careless provider).

`latency` delays every answer except the errors (a 429 or 5xx comes at once).
The server counts requests (`requests_served`, per model in `by_model`), keeps the request
bodies (`requests`) and records the highest concurrency it saw (`max_in_flight_seen`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession, web

MODES = ("ok", "429", "500", "503", "hang", "truncated", "text", "garbage", "leaky")
_FENCED_JSON = re.compile(r"```json\s*\n(.*?)\n\s*```", re.S)


# -- JSON from a schema -------------------------------------------------------------------------
def sample_from_schema(schema: Any, rng: random.Random | None = None) -> Any:
    """A value valid for `schema` (the subset of JSON Schema our games use, and a bit more)."""
    rng = rng or random.Random(0)
    if not isinstance(schema, dict) or not schema:
        return "ok"
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(list(schema["enum"]))
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return sample_from_schema(rng.choice(schema[key]), rng)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(part)
        return sample_from_schema(merged, rng)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        return _sample_object(schema, rng)
    if kind == "array":
        return _sample_array(schema, rng)
    if kind in ("number", "integer"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        high = schema.get("maximum", schema.get("exclusiveMaximum", low + 100))
        return rng.randint(int(low), int(high)) if kind == "integer" else round(rng.uniform(low, high), 4)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _sample_string(schema, rng)


def _sample_string(schema: dict, rng: random.Random) -> str:
    words = ["hello", "there", "which", "of", "you", "likes", "tea", "and", "why", "today"]
    text = " ".join(rng.choice(words) for _ in range(rng.randint(3, 8))).capitalize() + "?"
    text = text[: schema.get("maxLength", len(text))]
    return text.ljust(schema.get("minLength", 0), "x")


def _sample_array(schema: dict, rng: random.Random) -> list:
    items = schema.get("items", {})
    low = schema.get("minItems", 1)
    high = max(low, schema.get("maxItems", low + 2))
    n = rng.randint(low, high)
    if isinstance(items, dict) and "enum" in items:  # a set of choices: distinct picks
        choices = [c for c in items["enum"]]
        return rng.sample(choices, min(n, len(choices)))
    return [sample_from_schema(items, rng) for _ in range(n)]


def _sample_object(schema: dict, rng: random.Random) -> dict:
    props: dict = schema.get("properties", {})
    out = {name: sample_from_schema(sub, rng) for name, sub in props.items()}
    total = schema.get("x-sum")
    numeric = [n for n, sub in props.items() if isinstance(sub, dict) and sub.get("type") in ("number", "integer")]
    if total is not None and numeric:
        weights = [rng.random() + 0.05 for _ in numeric]
        scale = total / sum(weights)
        values = [round(w * scale, 4) for w in weights]
        values[-1] = round(total - sum(values[:-1]), 4)  # exact sum despite rounding
        out.update(zip(numeric, values))
    return out


# -- the server ---------------------------------------------------------------------------------
@dataclass
class _Fault:
    mode: str
    model: str | None  # None: any model


class FakeOpenAI:
    def __init__(self, *, default_mode: str = "ok", modes: dict[str, str] | None = None,
                 max_in_flight: int | None = None, latency: float = 0.0, hang_seconds: float = 60.0,
                 seed: int = 0, reply_text: str = "I would rather not say, but I do like tea.",
                 port: int = 0) -> None:
        for mode in [default_mode, *(modes or {}).values()]:
            if mode not in MODES:
                raise ValueError(f"unknown mode {mode!r}; modes are {MODES}")
        self.default_mode = default_mode
        self.modes = dict(modes or {})
        self.max_in_flight = max_in_flight
        self.latency = latency
        self.hang_seconds = hang_seconds
        self.reply_text = reply_text
        self.rng = random.Random(seed)
        self.faults: deque[_Fault] = deque()
        self.requests: list[dict[str, Any]] = []
        self.by_model: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()  # mode actually served -> count
        self.in_flight = 0
        self.max_in_flight_seen = 0
        self._bind_port = port  # 0: a free port
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None

    # public knobs
    def inject(self, mode: str, count: int = 1, *, model: str | None = None) -> None:
        """The next `count` requests (of `model`, or of any model) are served in `mode`."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.faults.extend(_Fault(mode, model) for _ in range(count))

    @property
    def requests_served(self) -> int:
        return len(self.requests)

    @property
    def api_base(self) -> str:
        assert self.port is not None, "the server is not started"
        return f"http://127.0.0.1:{self.port}/v1"

    # lifecycle
    async def start(self) -> FakeOpenAI:
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_post("/chat/completions", self._handle)
        app.router.add_get("/v1/stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._bind_port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()  # hanging handlers return now
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeOpenAI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # requests
    def _choose_mode(self, model: str) -> str:
        if self.max_in_flight is not None and self.in_flight > self.max_in_flight:
            return "429"
        for fault in self.faults:
            if fault.model in (None, model):
                self.faults.remove(fault)
                return fault.mode
        return self.modes.get(model, self.default_mode)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight_seen = max(self.max_in_flight_seen, self.in_flight)
        try:
            body = await request.json()
            self.requests.append(body)
            model = str(body.get("model", ""))
            self.by_model[model] += 1
            mode = self._choose_mode(model)
            self.outcomes[mode] += 1
            if mode == "429":
                return _error(429, "Rate limit reached for requests", "rate_limit_exceeded", {"retry-after": "0"})
            if mode == "leaky":  # a careless provider that quotes the request's key in its error
                return _error(400, f"invalid request; you sent {request.headers.get('Authorization', '')!r}",
                              "invalid_request_error")
            if mode in ("500", "503"):
                return _error(int(mode), "The server had an error while processing your request", "server_error")
            if self.latency:  # errors above come at once, as real providers send them
                await asyncio.sleep(self.latency)
            if mode == "hang":
                assert self._stopping is not None
                try:
                    await asyncio.wait_for(self._stopping.wait(), self.hang_seconds)
                except TimeoutError:
                    pass
                mode = "ok"
            return web.json_response(self._completion(body, model, mode))
        finally:
            self.in_flight -= 1

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response({"requests_served": self.requests_served, "outcomes": dict(self.outcomes),
                                  "max_in_flight_seen": self.max_in_flight_seen})

    def _completion(self, body: dict[str, Any], model: str, mode: str) -> dict[str, Any]:
        tools = body.get("tools") or []
        schema = _response_schema(body)
        content: str | None
        tool_calls = None
        finish = "stop"
        if mode == "garbage":
            content = "Sure! Here is my answer: I think it is the second one."
        elif tools and mode != "text":
            function = tools[0].get("function", {})
            arguments = json.dumps(sample_from_schema(function.get("parameters", {}), self.rng))
            if mode == "truncated":
                arguments, finish = arguments[: len(arguments) // 2], "length"
            else:
                finish = "tool_calls"
            content = None
            tool_calls = [{"id": f"call_{len(self.requests)}", "type": "function",
                           "function": {"name": function.get("name", "reply"), "arguments": arguments}}]
        elif tools or schema is not None:
            source = schema if schema is not None else tools[0].get("function", {}).get("parameters", {})
            content = json.dumps(sample_from_schema(source, self.rng))
        else:
            content = self.reply_text
        if mode == "truncated" and content is not None:
            content, finish = content[: max(1, len(content) // 2)], "length"
        prompt_chars = sum(len(str(m.get("content") or "")) for m in body.get("messages", []))
        completion_chars = len(content or "") + sum(len(c["function"]["arguments"]) for c in tool_calls or [])
        usage = {"prompt_tokens": prompt_chars // 4 + 1, "completion_tokens": completion_chars // 4 + 1}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if tool_calls:
            message["tool_calls"] = tool_calls
        return {
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "system_fingerprint": "fake",
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": usage,
        }


def _response_schema(body: dict[str, Any]) -> dict | None:
    """The schema a request asks the reply to follow, without tools: response_format, else a
    JSON Schema the prompt carries in a ```json fence (the last one)."""
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return fmt.get("json_schema", {}).get("schema") or {"type": "object"}
    for message in reversed(body.get("messages", [])):
        content = message.get("content")
        if not isinstance(content, str):
            continue
        for block in reversed(_FENCED_JSON.findall(content)):
            try:
                schema = json.loads(block)
            except ValueError:
                continue
            if isinstance(schema, dict) and ("properties" in schema or "type" in schema):
                return schema
    return None


def _error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> web.Response:
    kind = "rate_limit_error" if status == 429 else "server_error"
    return web.json_response({"error": {"message": message, "type": kind, "param": None, "code": code}},
                             status=status, headers=headers)


class FakeOpenAIProcess:
    """The fake server in a process of its own, as a real provider is: its work and its
    timers share nothing with the client's event loop (what `arena bench` P7 measures).

        async with FakeOpenAIProcess(max_in_flight=20, latency=0.3) as server:
            ... server.api_base ...
            stats = await server.stats()  # {"requests_served", "outcomes", "max_in_flight_seen"}
    """

    def __init__(self, *, max_in_flight: int | None = None, latency: float = 0.0, start_timeout: float = 60.0) -> None:
        self.args = ["--latency", str(latency)]
        if max_in_flight is not None:
            self.args += ["--max-in-flight", str(max_in_flight)]
        self.start_timeout = start_timeout
        self.api_base = ""
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> FakeOpenAIProcess:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "persona_arena.bench.fake_openai", "--port", "0", *self.args,
            stdout=asyncio.subprocess.PIPE)
        assert self._process.stdout is not None
        try:
            line = await asyncio.wait_for(self._process.stdout.readline(), self.start_timeout)
        except TimeoutError:
            await self.__aexit__()
            raise RuntimeError("the fake OpenAI server did not start") from None
        if not line.startswith(_READY.encode()):
            await self.__aexit__()
            raise RuntimeError(f"the fake OpenAI server did not start: {line!r}")
        self.api_base = line.decode().split()[-1]
        return self

    async def stats(self) -> dict[str, Any]:
        async with ClientSession() as http, http.get(f"{self.api_base}/stats") as response:
            response.raise_for_status()
            return await response.json()

    async def __aexit__(self, *exc: object) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()


_READY = "fake OpenAI-compatible server on"


async def _serve(args: argparse.Namespace) -> None:
    async with FakeOpenAI(default_mode=args.mode, max_in_flight=args.max_in_flight, latency=args.latency,
                          port=args.port) as server:
        print(f"{_READY} {server.api_base}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible chat server on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--max-in-flight", type=int, default=None, help="429 above this many requests in flight")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    try:
        asyncio.run(_serve(parser.parse_args()))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
