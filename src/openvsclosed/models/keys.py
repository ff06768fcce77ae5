"""API keys as the environment holds them: read clean, refused when unusable, scrubbed out.

Apart from `models/__init__` so the chat classes can use it without importing the loader.
"""

from __future__ import annotations

from collections.abc import Mapping


class UnusableKey(ValueError):
    """A key variable whose value cannot go into an HTTP header (named, never quoted)."""


def read_key(env: Mapping[str, str], variable: str) -> str:
    """The key in `variable`, without the whitespace a file or `.env` leaves around it.

    A control character inside would make `requests` raise an error quoting the header, key
    included, so such a value is refused here, naming only the variable.
    """
    key = (env.get(variable) or "").strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise UnusableKey(f"{variable} holds a control character inside the key; allowed: the "
                          "key alone (surrounding spaces and newlines are stripped)")
    return key


def secret_forms(secret: str) -> set[str]:
    """Every way a key may appear in text: raw, stripped, escaped as repr and JSON write it."""
    import json

    forms = {secret, secret.strip(), repr(secret)[1:-1], json.dumps(secret)[1:-1]}
    return {f for f in forms if len(f) >= 4}


def scrub_secrets(text: str, secrets: Mapping[str, str]) -> str:
    """`text` with every form of each secret value replaced by `$VARIABLE`.

    Call it before cutting text short: a key that straddles the cut would otherwise leave its
    first characters behind, where no later scrub can recognise them.
    """
    for variable, raw in secrets.items():
        if raw and raw.strip():
            for form in sorted(secret_forms(raw), key=len, reverse=True):
                text = text.replace(form, f"${variable}")
    return text
