"""Calling models: judge strings (llm.Judge), the client (llm.LLM: timeouts, retries, cost), the one place that
imports and finds LiteLLM (lib.py), the lean route to OpenAI-compatible servers (route.py) and the user's network
settings on it (wire.py), preflight checks, in-process models (local.py), provider batch clients (batch.py), and
the loopback fakes the tests and benchmarks use (fakellm.py, fakebatch.py)."""
