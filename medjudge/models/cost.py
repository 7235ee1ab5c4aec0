"""What a judge call costs before it is made: tokens estimated from the prompt's characters, one guess at a
verdict's reply, and the model's prices per token online and at the batch rate (LiteLLM's price map).
`grade --dry-run`, `optimize --dry-run` and the --tpm pacer estimate with these, and only these."""

from __future__ import annotations

from .lib import litellm

CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text with BPE tokenizers
REPLY_TOKENS = 150  # a verdict's reply (JSON with a short explanation) when max_tokens does not bound it


def prompt_tokens(messages) -> float:
    """A prompt's input tokens, estimated from its characters."""
    return sum(len(m.get("content") or "") for m in messages) / CHARS_PER_TOKEN


def reply_tokens(max_tokens: int | None = None) -> int:
    """A reply's output tokens: max_tokens where it is set, else the usual verdict's length."""
    return max_tokens or REPLY_TOKENS


def cost(prices: tuple[float, float] | None, tokens_in: float, tokens_out: float) -> float | None:
    """The price of these tokens (None when the model has no price)."""
    return None if prices is None else tokens_in * prices[0] + tokens_out * prices[1]


def _price_info(judge) -> dict | None:
    """The judge's entry in LiteLLM's price map (by its full name, else without the provider), if it has a price."""
    table = litellm().model_cost
    info = table.get(judge.model) or table.get(judge.model.split("/", 1)[-1])
    return info if info and info.get("input_cost_per_token") is not None else None


def online_prices(judge) -> tuple[float, float] | None:
    """Per-token input and output prices online; None when the model has no price in LiteLLM's map."""
    info = _price_info(judge)
    return None if info is None else (info["input_cost_per_token"], info.get("output_cost_per_token") or 0)


def batch_prices(judge) -> tuple[float, float] | None:
    """Per-token input and output prices at the batch rate: LiteLLM's *_batches prices, else half the online."""
    info = _price_info(judge)
    if info is None:
        return None
    i = info.get("input_cost_per_token_batches") or info["input_cost_per_token"] / 2
    o = info.get("output_cost_per_token_batches") or (info.get("output_cost_per_token") or 0) / 2
    return i, o
