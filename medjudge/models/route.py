"""The wire route of a judge at an OpenAI-compatible server, worked out once by LiteLLM.

A judge given as `openai/NAME@http://host/v1` or `hosted_vllm/NAME@...` speaks the OpenAI chat schema. For
those, LiteLLM decides once per judge and parameters what goes on the wire (the model name it sends, its
mapping of temperature / max_tokens / seed for that model, e.g. max_completion_tokens and no temperature
for reasoning models) and what a token costs (its price map); every call then sends exactly that body
with a shared aiohttp session (llm.py), without LiteLLM's per-call logging, cost lookup and response
objects. tests/test_route.py checks, against LiteLLM itself, that the bodies, headers, replies and costs
are the ones `litellm.acompletion` gives. Any other judge (hosted providers, Ollama, in-process models,
tiered prices) keeps the full `litellm.acompletion` path.

Routes are remembered in the database (`routes`, keyed by the route format's version, LiteLLM's version, the
model and the parameters), so a later run or a worker process sends its first request without importing
LiteLLM (seconds of start-up): the parent of workers works every route out before they start. A stored row
is checked before it is used (its fields, and that its parameters are those of the call, as LiteLLM maps
them); one that does not fit is ignored and worked out again. A route is also kept in the machine's own
database (store.machine_store, ~/.cache/medjudge/machine.db; MEDJUDGE_CACHE_DIR moves it, `off` turns it off):
a new database on a machine that has graded with the judge before finds it there. The first grade on a machine
waits for LiteLLM's import (about 4 s), once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

OPENAI_WIRE = ("openai", "hosted_vllm")  # LiteLLM providers whose request body is the OpenAI chat schema
# price-map keys a plain chat call is billed by; a model priced by anything else (tiers above N tokens,
# reasoning or audio tokens) keeps LiteLLM's own cost calculation
PLAIN_PRICES = {"input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost"}
OTHER_TIERS = ("_priority", "_flex", "_batches")  # service tiers never requested here
ROUTE_FORMAT = 2  # in every route key: a stored row of another format is never read as this one
SENT_PARAMS = {"temperature", "max_tokens", "max_completion_tokens", "seed", "n", "top_p", "stop"}


@dataclass(frozen=True)
class Route:
    lean: bool  # False: the call goes through litellm.acompletion
    model: str = ""  # the model name on the wire
    params: tuple = ()  # LiteLLM's mapping of the call's parameters but the seed, as sorted (name, value) pairs
    prices: tuple | None = None  # per token: input, output, cached input; None when LiteLLM has no price
    seeded: bool = False  # LiteLLM sends the seed as given (each sample has its own)

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

    @classmethod
    def stored(cls, text: str, params: dict) -> "Route | None":
        """A stored row as a route for a call with these parameters, or None when it does not fit: unreadable,
        fields of the wrong type, a parameter the call does not have or with another value (LiteLLM may drop
        a parameter or rename max_tokens, never invent one), prices that are not three non-negative numbers."""
        try:
            r = cls.from_json(text)
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(r.lean, bool) or not isinstance(r.seeded, bool):
            return None
        if not r.lean:
            return r
        if not isinstance(r.model, str) or not r.model:
            return None
        given = {k: v for k, v in params.items() if k != "seed" and v is not None}
        for k, v in r.params:
            source = "max_tokens" if k == "max_completion_tokens" else k
            if k not in SENT_PARAMS or source not in given or given[source] != v:
                return None
        if r.seeded != ("seed" in params):
            return None
        if r.prices is not None and (len(r.prices) != 3 or not all(isinstance(x, (int, float)) and x >= 0
                                                                   for x in r.prices)):
            return None
        return r


FULL = Route(False)
def provider_of(judge) -> str:
    return judge.model.partition("/")[0]


def wire_eligible(judge) -> bool:
    """An OpenAI-compatible server named by the judge itself, or by OPENAI_BASE_URL / OPENAI_API_BASE for an
    `openai/` judge (wire.env_base)."""
    from .wire import env_base

    return bool(judge.api_base or env_base(judge)) and not judge.in_process and provider_of(judge) in OPENAI_WIRE


def litellm_version() -> str:
    from .. import installed_version

    return installed_version("litellm") or "unknown"


def shape(params: dict) -> tuple:
    """The parameters as a route depends on them: the seed's presence, not its value (each sample has its own)."""
    return tuple(sorted((k, None if k == "seed" else v) for k, v in params.items()))


def route_key(judge, params: dict) -> str:
    """What the route depends on: the route format, LiteLLM's version, the provider and model, the parameters'
    shape (not the host)."""
    blob = json.dumps([ROUTE_FORMAT, litellm_version(), judge.model, shape(params)], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def mapped(judge, params: dict) -> tuple[str, str, dict]:
    """LiteLLM's (model name on the wire, provider, parameters) for this judge's call: its mapping of temperature,
    max_tokens and seed for the model."""
    from .lib import litellm

    lib = litellm()
    model, provider, _, _ = lib.get_llm_provider(judge.model, api_base=judge.api_base)
    found = lib.get_optional_params(model=model, custom_llm_provider=provider, drop_params=True, **params)
    if found.get("stream") is False:
        del found["stream"]  # the default: not sent
    found.update(found.pop("extra_body", None) or {})  # sent at the top level of the body
    return model, provider, {k: v for k, v in found.items() if v is not None}


_BODIES: dict = {}


def wire_body(judge, messages, params: dict) -> dict:
    """The OpenAI chat body LiteLLM sends for this call (one mapping per judge and parameters): what a batch
    line carries, the same as the online route's."""
    memo = (judge.model, json.dumps(params, sort_keys=True, default=str))
    if memo not in _BODIES:
        model, _, found = mapped(judge, params)
        _BODIES[memo] = (model, found)
    model, found = _BODIES[memo]
    return {"model": model, "messages": messages, **found}


def resolve(judge, params: dict) -> Route:
    """Ask LiteLLM: the model name it sends, its parameters for this model, and the model's plain prices."""
    if not wire_eligible(judge):
        return FULL
    from .lib import litellm

    lib = litellm()
    model, provider, sent = mapped(judge, params)
    if set(sent) - SENT_PARAMS:
        return FULL  # LiteLLM adds something for this model: let it send the call itself
    if not _sends_as_given(lib, model, provider, sent):
        return FULL  # LiteLLM rewrites the messages for this model (o1 takes no system message, ...)
    seeded = "seed" in params and sent.get("seed") == params["seed"]
    if "seed" in sent and not seeded:
        return FULL
    sent.pop("seed", None)
    try:
        info = lib.get_model_info(model=model, custom_llm_provider=provider)
    except Exception:  # not in the price map: LiteLLM prices such a reply at None too
        return Route(True, model, tuple(sorted(sent.items())), None, seeded)
    billed = {k for k, v in info.items() if "cost" in k and v and not k.endswith(OTHER_TIERS)
              and k != "search_context_cost_per_query"}
    if not billed <= PLAIN_PRICES or not info.get("input_cost_per_token") or not info.get("output_cost_per_token"):
        return FULL
    price_in, price_out = float(info["input_cost_per_token"]), float(info["output_cost_per_token"])
    price_cached = float(info.get("cache_read_input_token_cost") or price_in)
    return Route(True, model, tuple(sorted(sent.items())), (price_in, price_out, price_cached), seeded)


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
    """The routes of one LLM: kept in memory, remembered in the store (the database) and, where there is a store,
    in the machine's own (store.machine_store: a new database on this machine finds the route there)."""

    def __init__(self, store=None):
        self.store = store
        self.known: dict = {}  # (judge, parameters but the seed's value) -> Route

    def get(self, judge, params: dict) -> Route:
        if not wire_eligible(judge):
            return FULL
        memo = (judge, shape(params))
        found = self.known.get(memo)
        if found is None:
            found = self.known[memo] = self._first(judge, params)
        return found

    def _first(self, judge, params: dict) -> Route:
        from ..store import recall

        key = route_key(judge, params)
        if self.store is None:
            return resolve(judge, params)
        found, lacking = recall(self.store, lambda source: source.route(key), lambda text: Route.stored(text, params))
        if found is None:  # none stored, or rows that do not fit: LiteLLM works it out (again)
            found = resolve(judge, params)
        for source in lacking:
            source.save_route(key, judge.model, found.to_json())
        return found
