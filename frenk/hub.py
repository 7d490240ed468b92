"""Whether the Hugging Face Hub may be asked, decided once before the first Hub call.

``HF_HUB_OFFLINE=1`` (or ``TRANSFORMERS_OFFLINE=1``) is honoured. Without it, a Hub that does not
answer within a few seconds puts this process in offline mode (the cache is still used), so that a
model or dataset that is not cached is refused at once, not after the Hub client's ~25 s of retries.
"""

from __future__ import annotations

import os

#: seconds the Hub has to answer before this process works offline
PROBE_TIMEOUT_S = 5
_TRUE = ("1", "true", "yes", "on")
_probed: str | None = None


def offline_by_user() -> bool:
    return any(os.environ.get(k, "").strip().lower() in _TRUE for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def access() -> str:
    """``"offline"`` (the user's setting), ``"unreachable"`` (probed: this process now works
    offline) or ``"online"``. The probe runs once per process, honouring proxy settings."""
    global _probed
    if _probed is not None:  # once probed, this process's answer (offline mode set by the probe included)
        return _probed
    if offline_by_user():
        return "offline"
    if _probed is None:
        import requests

        try:
            requests.head(endpoint(), timeout=PROBE_TIMEOUT_S, allow_redirects=False)
            _probed = "online"
        except requests.RequestException:
            _probed = "unreachable"
            _go_offline()
    return _probed


def _go_offline() -> None:
    """Offline mode for this process: the variable for libraries not yet imported, and
    huggingface_hub's own switch (read at each call) for those already imported."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import huggingface_hub.constants

    huggingface_hub.constants.HF_HUB_OFFLINE = True


def offline_reason() -> str:
    """Why the Hub is not asked, or "" when it is online."""
    state = access()
    if state == "offline":
        return "HF_HUB_OFFLINE is set (the Hub was not asked)"
    if state == "unreachable":
        return f"the Hub ({endpoint()}) does not answer from here"
    return ""


def why_not_found(what: str) -> str:
    """Why ``what`` (a model id) could not be read, in the words of :func:`access`."""
    reason = offline_reason()
    if reason:
        return f"{what} is not in the local Hugging Face cache, and {reason}"
    return f"{what} was not found on the Hugging Face Hub ({endpoint()}) nor in the local cache: check the name"
