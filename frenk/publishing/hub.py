"""Uploading a published folder to the Hugging Face Hub. The token is read from ``HF_TOKEN``
at the moment of use and is never returned, printed or logged."""

from __future__ import annotations

import os
from pathlib import Path

from ..core.errors import FrenkError


def _token() -> str:
    token = os.environ.get("HF_TOKEN", "").strip()
    if not token:
        raise FrenkError("push=true needs a Hugging Face token in the environment variable HF_TOKEN (a write token)")
    return token


def check_push(repo_id: str) -> str:
    """Fail before anything changes when there is no token or the Hub cannot be reached.
    Returns the account name the token belongs to."""
    from huggingface_hub import whoami

    token = _token()
    try:
        return whoami(token=token)["name"]
    except Exception as exc:
        # the exception text may quote request headers; say only what kind of failure it was
        raise FrenkError(
            f"cannot reach the Hugging Face Hub to push to {repo_id} ({type(exc).__name__}); check the network "
            "and HF_TOKEN, or publish without push=true and upload the folder later"
        ) from None


def push_folder(folder: Path, repo_id: str) -> str:
    from huggingface_hub import HfApi

    api = HfApi(token=_token())
    try:
        api.create_repo(repo_id, exist_ok=True)
        commit = api.upload_folder(folder_path=str(folder), repo_id=repo_id, commit_message="Publish with frenk")
    except Exception as exc:
        raise FrenkError(f"uploading to {repo_id} failed ({type(exc).__name__})") from None
    return str(getattr(commit, "commit_url", repo_id))
