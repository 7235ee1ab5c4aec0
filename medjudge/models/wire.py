"""The user's network settings on the lean route, as LiteLLM and the OpenAI SDK read them: the proxy
(HTTPS_PROXY / HTTP_PROXY, then ALL_PROXY, NO_PROXY), TLS (SSL_VERIFY as a boolean or a CA bundle path,
SSL_CERT_FILE, REQUESTS_CA_BUNDLE, else certifi's bundle, as LiteLLM) and the OpenAI organisation and project
headers. A proxy the lean route cannot use (SOCKS) is refused in one line, never bypassed."""

from __future__ import annotations

import os
from functools import lru_cache
from urllib.parse import urlsplit

FALSE = {"false", "0", "no", "off"}


def _env(*names) -> str | None:
    for name in names:
        for variant in (name, name.lower()):
            value = os.environ.get(variant)
            if value:
                return value
    return None


def proxy_for(url: str) -> tuple:
    """(proxy URL or None, proxy basic auth or None) for a request to `url`. With no proxy set, nothing to bypass
    (and urllib.request, whose NO_PROXY rule is used, is not imported: 30 ms)."""
    host = urlsplit(url).hostname or ""
    scheme = urlsplit(url).scheme
    proxy = _env("HTTPS_PROXY") if scheme == "https" else _env("HTTP_PROXY")
    source = "HTTPS_PROXY" if scheme == "https" else "HTTP_PROXY"
    if not proxy:
        proxy, source = _env("ALL_PROXY"), "ALL_PROXY"
    if not proxy:
        return None, None
    from urllib.request import proxy_bypass_environment

    from aiohttp import BasicAuth
    from yarl import URL

    if proxy_bypass_environment(host):
        return None, None
    parsed = URL(proxy if "://" in proxy else f"http://{proxy}")
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"the proxy {parsed.with_user(None)} ({source}) uses {parsed.scheme}, which this route "
                         "cannot speak: set an http(s) proxy, or NO_PROXY for this host")
    auth = BasicAuth(parsed.user or "", parsed.password or "") if parsed.user else None
    return parsed.with_user(None), auth


def tls(url: str):
    """aiohttp's `ssl=` for this URL: False when SSL_VERIFY says so, else a context on the CA bundle named by
    SSL_VERIFY (a path), SSL_CERT_FILE or REQUESTS_CA_BUNDLE, else certifi's (what LiteLLM verifies with)."""
    if urlsplit(url).scheme != "https":
        return None
    verify = os.environ.get("SSL_VERIFY")
    cafile = None
    if verify is not None:
        if os.path.exists(verify):
            cafile = verify
        elif verify.strip().lower() in FALSE:
            return False
    cafile = cafile or next((p for p in (os.environ.get("SSL_CERT_FILE"), os.environ.get("REQUESTS_CA_BUNDLE"))
                             if p and os.path.exists(p)), None)
    return _context(cafile)


@lru_cache(maxsize=8)
def _context(cafile: str | None):
    import ssl

    if cafile is None:
        import certifi

        cafile = certifi.where()
    return ssl.create_default_context(cafile=cafile)


def org_headers() -> dict:
    """The OpenAI organisation and project, as LiteLLM passes them to the OpenAI client (OPENAI_ORGANIZATION, or
    the SDK's OPENAI_ORG_ID; OPENAI_PROJECT_ID)."""
    out = {}
    org = os.environ.get("OPENAI_ORGANIZATION") or os.environ.get("OPENAI_ORG_ID")
    if org:
        out["OpenAI-Organization"] = org
    project = os.environ.get("OPENAI_PROJECT_ID")
    if project:
        out["OpenAI-Project"] = project
    return out


def env_base(judge) -> str | None:
    """The API base LiteLLM sends an `openai/` judge without one of its own to: OPENAI_BASE_URL or
    OPENAI_API_BASE (how most vLLM and proxy users configure it); None when neither is set."""
    if judge.api_base or judge.model.partition("/")[0] != "openai":
        return None
    return os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE") or None
