"""Did you mean: the query with its misspelled words corrected from the archive's vocabulary."""

from __future__ import annotations

import re

from searchsvc.text.querylang import OPERATORS, TOKEN
from searchsvc.text.vocabulary import MAX_CORRECTED_WORDS, Vocabulary


def suggest_query(text: str, vocabulary: Vocabulary) -> str | None:
    """The query with misspelled words corrected, or None when nothing changes.

    Quoted phrases, field:value terms, operators, wildcards and exclusions are
    left as typed; so is everything a word is glued to (punctuation, case).
    """
    changed = False
    pieces = []
    looked_up = 0
    for match in TOKEN.finditer(text):
        token = match.group(0)
        replacement = token
        if token not in OPERATORS and not token.startswith(('"', "-", "+")):
            if ":" not in token and "*" not in token:
                core = re.match(r"^(\W*)([^\W\d_]+)(\W*)$", token)
                if core and looked_up < MAX_CORRECTED_WORDS:
                    looked_up += 1
                    fixed = vocabulary.correct(core.group(2))
                    if fixed:
                        replacement = core.group(1) + fixed + core.group(3)
                        changed = True
        pieces.append(replacement)
    return " ".join(pieces) if changed else None
