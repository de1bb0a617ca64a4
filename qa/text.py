"""Answer text compared as SQuAD's official metric compares it, for the reader and the metric alike.

The runtime reader merges near-duplicate answers with it, so it lives here rather than in the
SQuAD module the evaluation owns.
"""

from __future__ import annotations

import re
import string

_PUNCTUATION = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower case, without ASCII punctuation, the articles a/an/the, or extra whitespace
    (the normalisation of evaluate-v1.1.py / evaluate-v2.0.py)."""
    s = "".join(ch for ch in s.lower() if ch not in _PUNCTUATION)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", s).split())
