"""Report ids and the short codes people read over the phone and type on a keypad."""
from __future__ import annotations

import hashlib
import re
import uuid

# No 0/O, 1/I/L: nothing a person can mistake for something else when reading aloud.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
CODE_PATTERN = re.compile(rf"^[{ALPHABET}]{{{CODE_LENGTH}}}$")


def code_for(seed: str, attempt: int = 0) -> str:
    """The attempt-th candidate code for a seed: the same seed always gives the same
    sequence, so a retried submission finds the report it already created."""
    digest = int.from_bytes(hashlib.sha256(f"{seed}#{attempt}".encode()).digest()[:8], "big")
    chars = []
    for _ in range(CODE_LENGTH):
        digest, index = divmod(digest, len(ALPHABET))
        chars.append(ALPHABET[index])
    return "".join(chars)


def report_id_for(seed: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"gridloop:{seed}").hex


def random_seed() -> str:
    return uuid.uuid4().hex


def normalize_code(text: str) -> str | None:
    """A code as typed (any case, with stray spaces or dashes) or None if it is not one."""
    candidate = re.sub(r"[\s\-]", "", text).upper()
    return candidate if CODE_PATTERN.match(candidate) else None

