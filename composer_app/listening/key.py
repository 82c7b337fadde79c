"""The sealed answer key of a kit.

The key's content (which clip is which, with a random salt) is hashed; the first
:data:`ID_CHARS` hex digits of that SHA-256 are the kit id, which the page, and so every
results file, carries, and the whole digest is the seal. Editing the content breaks the
seal; rewriting the seal too gives another kit id, which no listener's results carry.
Nothing secret is needed to check it, and the salt keeps the id from revealing the
answers.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path

from composer_app.music import UserError
from composer_app.music.atomic import atomic_write_bytes

KEY_FORMAT = "composer-app listening-test key"
KEY_NAME = "answer-key.json"
ID_CHARS = 20
_DOMAIN = b"composer-app listening-test key v1\n"


def canonical(content: dict) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def digest(content: dict) -> str:
    return hashlib.sha256(_DOMAIN + canonical(content)).hexdigest()


def new_salt() -> str:
    return secrets.token_hex(16)


def seal(content: dict) -> dict:
    """The key file's JSON: the content, its kit id and seal."""
    d = digest(content)
    return {"format": KEY_FORMAT, "version": 1, "kit_id": d[:ID_CHARS], "seal": d,
            "content": content}


def write_key(path: Path, content: dict) -> dict:
    sealed = seal(content)
    atomic_write_bytes(Path(path), (json.dumps(sealed, indent=1, sort_keys=True) + "\n").encode())
    return sealed


def read_key(path: Path) -> dict:
    """The checked key file; UserError (one line) when missing, damaged or altered."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no answer key here (is this the folder "
                        "`listening-test make` wrote?)") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read the answer key ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != KEY_FORMAT \
            or not isinstance(data.get("content"), dict):
        raise UserError(f"{path}: not a listening-test answer key")
    d = digest(data["content"])
    if data.get("seal") != d or data.get("kit_id") != d[:ID_CHARS]:
        raise UserError(f"{path}: the answer key has been altered (its seal does not match "
                        "its content); use the key `listening-test make` wrote")
    return data
