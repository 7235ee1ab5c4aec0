"""The wire route of a judge at an OpenAI-compatible server, worked out once by LiteLLM.

A judge given as `openai/NAME@http://host/v1` or `hosted_vllm/NAME@...` speaks the OpenAI chat schema. For
those, LiteLLM decides once per judge and parameters what goes on the wire (the model name it sends, its
mapping of temperature / max_tokens / seed for that model, e.g. max_completion_tokens and no temperature
for reasoning models) and what a token costs (its price map); every call then sends exactly that body
with a shared aiohttp session (llm.py), without LiteLLM's per-call logging, cost lookup and response
objects. tests/test_route.py checks, against LiteLLM itself, that the bodies, headers, replies and costs
are the ones `litellm.acompletion` gives. Any other judge (hosted providers, Ollama, in-process models,
tiered prices) keeps the full `litellm.acompletion` path.

Routes are remembered in the database (`routes`, keyed by LiteLLM's version), so a later run or a
worker process sends its first request without importing LiteLLM (seconds of start-up). On a database that
has not run the judge, a model LiteLLM does not know (not in its price map: a self-hosted open model) is
sent at once as given (`guess`): LiteLLM's OpenAI config for unknown models sends the body unchanged and
prices it at None (a process that has imported LiteLLM already simply asks it). Meanwhile a helper process
(`python -m medjudge.judges.route`, on another core: a thread would fight the event loop for the GIL)
imports LiteLLM, works the real route out and stores it; `Routes` replaces the guess once it is stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, replace

OPENAI_WIRE = ("openai", "hosted_vllm")  # LiteLLM providers whose request body is the OpenAI chat schema
# price-map keys a plain chat call is billed by; a model priced by anything else (tiers above N tokens,
# reasoning or audio tokens) keeps LiteLLM's own cost calculation
PLAIN_PRICES = {"input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost"}
OTHER_TIERS = ("_priority", "_flex", "_batches")  # service tiers never requested here


@dataclass(frozen=True)
class Route:
    lean: bool  # False: the call goes through litellm.acompletion
    model: str = ""  # the model name on the wire
    params: tuple = ()  # LiteLLM's mapping of the call's parameters but the seed, as sorted (name, value) pairs
    prices: tuple | None = None  # per token: input, output, cached input; None when LiteLLM has no price
    seeded: bool = False  # LiteLLM sends the seed as given (each sample has its own)
    guessed: bool = False  # sent before LiteLLM was asked (guess); replaced by its route once known

    def body(self, messages, seed=None) -> dict:
        out = {"model": self.model, "messages": messages, **dict(self.params)}
        if self.seeded and seed is not None:
            out["seed"] = seed
        return out

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float | None:
        if self.prices is None:
            return None
        price_in, price_out, price_cached = self.prices
        return (prompt_tokens - cached_tokens) * price_in + cached_tokens * price_cached + completion_tokens * price_out

    def to_json(self) -> str:
        return json.dumps({"lean": self.lean, "model": self.model, "params": [list(p) for p in self.params],
                           "prices": list(self.prices) if self.prices is not None else None, "seeded": self.seeded})

    @classmethod
    def from_json(cls, text: str) -> "Route":
        d = json.loads(text)
        return cls(d["lean"], d["model"], tuple((k, v) for k, v in d["params"]),
                   tuple(d["prices"]) if d["prices"] is not None else None, d["seeded"])


FULL = Route(False)
_PRICED: set | None = None


def priced_models() -> set:
    """The model names in LiteLLM's price map, read from the file it loads (no LiteLLM import)."""
    global _PRICED
    if _PRICED is None:
        from .preflight import litellm_file

        path = litellm_file("model_prices_and_context_window_backup.json")
        try:
            _PRICED = set(json.loads(path.read_bytes())) if path is not None else set()
        except (OSError, ValueError):
            _PRICED = set()
    return _PRICED


def guess(judge, params: dict) -> Route | None:
    """The route of a model LiteLLM does not know, without asking it: the body as given, no price. None for a
    model it knows (its price map names it, or a gpt-5 name): that one waits for LiteLLM's own route."""
    if not wire_eligible(judge) or os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP", "").lower() != "true":
        return None  # LiteLLM fetches a newer price map online: only it knows which models it prices
    provider, _, model = judge.model.partition("/")
    names = priced_models()
    if not names or model in names or f"{provider}/{model}" in names or model.startswith("gpt-5"):
        return None
    rest = tuple(sorted((k, v) for k, v in params.items() if k != "seed"))
    return Route(True, model, rest, None, "seed" in params, guessed=True)


def provider_of(judge) -> str:
    return judge.model.partition("/")[0]


def wire_eligible(judge) -> bool:
    """An OpenAI-compatible server named by the judge itself (no provider defaults to resolve)."""
    return bool(judge.api_base) and not judge.in_process and provider_of(judge) in OPENAI_WIRE


def litellm_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("litellm")
    except PackageNotFoundError:
        return "unknown"


def shape(params: dict) -> tuple:
    """The parameters as a route depends on them: the seed's presence, not its value (each sample has its own)."""
    return tuple(sorted((k, None if k == "seed" else v) for k, v in params.items()))


def route_key(judge, params: dict) -> str:
    """What the route depends on: LiteLLM's version, the provider and model, the parameters' shape (not the
    host)."""
    blob = json.dumps([litellm_version(), judge.model, shape(params)], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def resolve(judge, params: dict) -> Route:
    """Ask LiteLLM: the model name it sends, its parameters for this model, and the model's plain prices."""
    if not wire_eligible(judge):
        return FULL
    from .llm import litellm

    lib = litellm()
    model, provider, _, _ = lib.get_llm_provider(judge.model, api_base=judge.api_base)
    mapped = lib.get_optional_params(model=model, custom_llm_provider=provider, drop_params=True, **params)
    if mapped.get("stream") is False:
        del mapped["stream"]  # the default: not sent
    mapped.update(mapped.pop("extra_body", None) or {})  # sent at the top level of the body
    mapped = {k: v for k, v in mapped.items() if v is not None}
    if set(mapped) - {"temperature", "max_tokens", "max_completion_tokens", "seed", "n", "top_p", "stop"}:
        return FULL  # LiteLLM adds something for this model: let it send the call itself
    if not _sends_as_given(lib, model, provider, mapped):
        return FULL  # LiteLLM rewrites the messages for this model (o1 takes no system message, ...)
    seeded = "seed" in params and mapped.get("seed") == params["seed"]
    if "seed" in mapped and not seeded:
        return FULL
    mapped.pop("seed", None)
    try:
        info = lib.get_model_info(model=model, custom_llm_provider=provider)
    except Exception:  # not in the price map: LiteLLM prices such a reply at None too
        return Route(True, model, tuple(sorted(mapped.items())), None, seeded)
    billed = {k for k, v in info.items() if "cost" in k and v and not k.endswith(OTHER_TIERS)
              and k != "search_context_cost_per_query"}
    if not billed <= PLAIN_PRICES or not info.get("input_cost_per_token") or not info.get("output_cost_per_token"):
        return FULL
    price_in, price_out = float(info["input_cost_per_token"]), float(info["output_cost_per_token"])
    price_cached = float(info.get("cache_read_input_token_cost") or price_in)
    return Route(True, model, tuple(sorted(mapped.items())), (price_in, price_out, price_cached), seeded)


PROBE = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
         {"role": "assistant", "content": "a"}, {"role": "user", "content": "v"}]


def _sends_as_given(lib, model: str, provider: str, mapped: dict) -> bool:
    """LiteLLM's request for this model is the OpenAI body unchanged: model, the messages as they are, the
    mapped parameters (checked on a probe conversation with its own transformation)."""
    import copy

    from litellm.types.utils import LlmProviders
    from litellm.utils import ProviderConfigManager

    config = ProviderConfigManager.get_provider_chat_config(model=model, provider=LlmProviders(provider))
    if config is None:
        return False
    sent = config.transform_request(model=model, messages=copy.deepcopy(PROBE), optional_params=dict(mapped),
                                    litellm_params={}, headers={})
    return sent == {"model": model, "messages": PROBE, **mapped}


class Routes:
    """The routes of one LLM: kept in memory, remembered in the store (the database), guessed while a helper
    process works LiteLLM's out (the guess is replaced once the route is stored)."""

    def __init__(self, store=None, resolve: bool = True):
        self.store, self.resolve = store, resolve
        self.known: dict = {}  # (judge, parameters but the seed's value) -> Route
        self.pending: dict = {}  # guessed: the same key -> (route key, helper process or None)
        self.looked = 0.0  # when the store was last looked at for a pending route

    def get(self, judge, params: dict, look: bool = False) -> Route:
        if not wire_eligible(judge):
            return FULL
        memo = (judge, shape(params))
        found = self.known.get(memo)
        if found is None:
            found = self.known[memo] = self._first(memo, judge, params)
        elif found.guessed and (look or time.monotonic() - self.looked > 0.5):  # LiteLLM's route stored yet?
            self.looked = time.monotonic()
            found = self._settled(memo, judge)
        return found

    def _first(self, memo, judge, params: dict) -> Route:
        from . import llm

        key = route_key(judge, params)
        stored = self.store.route(key) if self.store is not None else None
        if stored:
            return Route.from_json(stored)
        found = None
        if llm._litellm is None and self.store is not None and self.store.path != ":memory:":
            found = guess(judge, params)  # a process that has LiteLLM asks it directly
        if found is not None:  # sent at once; LiteLLM works the real route out in a helper process meanwhile
            self.pending[memo] = (key, resolve_elsewhere(self.store.path, judge, params) if self.resolve else None)
            return found
        found = resolve(judge, params)
        if self.store is not None:
            self.store.save_route(key, judge.model, found.to_json())
        return found

    def _settled(self, memo, judge) -> Route:
        """The stored route that replaces a guess (a difference is said on stderr), or the guess while the helper
        is still at work. A helper that stopped without storing it is an error (its last line is said)."""
        from ..errors import JudgeError

        key, helper = self.pending[memo]
        stored = self.store.route(key)
        if stored is None:
            if helper is not None and helper.poll() is not None:
                helper.said.seek(0)
                said = helper.said.read().strip().splitlines()
                raise JudgeError(f"judge {judge.model}: LiteLLM could not work out its route: "
                                 f"{said[-1] if said else f'exit code {helper.returncode}'}")
            return self.known[memo]
        found, guessed = Route.from_json(stored), self.known[memo]
        if found != replace(guessed, guessed=False):
            print(f"medjudge: LiteLLM's route for {judge.model} differs from the request sent before it was known "
                  f"({guessed.body([])} vs {found.body([])}); LiteLLM's is used from now on", file=sys.stderr)
        del self.pending[memo]
        if helper is not None:
            helper.poll()  # reaped if it has exited (it does right after storing the route)
        self.known[memo] = found
        return found

    async def settle(self):
        """Wait for the helpers still working routes out (a request refused on a guess, the parent of workers)."""
        import asyncio

        for memo in list(self.pending):
            helper = self.pending[memo][1]
            if helper is None:  # a worker leaves its guesses to the parent process
                continue
            while helper.poll() is None:
                await asyncio.sleep(0.05)
            self._settled(memo, memo[0])


def resolve_elsewhere(db_path: str, judge, params: dict):
    """Start the helper process that works the route out with LiteLLM and stores it in the database."""
    import subprocess
    import tempfile

    said = tempfile.TemporaryFile("w+", encoding="utf-8")  # what it says if it fails (a pipe could fill up)
    helper = subprocess.Popen([sys.executable, "-m", "medjudge.judges.route", str(db_path), judge.model,
                               judge.public_base or "", json.dumps(params)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=said)
    helper.said = said
    return helper


def main(argv: list[str]):
    from ..store import Store
    from .llm import Judge

    db_path, model, base, params = argv
    judge, params = Judge(model, base or None), json.loads(params)
    Store(db_path).save_route(route_key(judge, params), model, resolve(judge, params).to_json())


if __name__ == "__main__":
    main(sys.argv[1:])
