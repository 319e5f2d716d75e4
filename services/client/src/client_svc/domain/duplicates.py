"""How likely two client records are one person, from what they share."""

from __future__ import annotations

# Evidence and its weight: an email or phone number is close to an identity, a name much less so.
WEIGHTS = {"same_email": 0.9, "same_phone": 0.85, "same_name": 0.6}


def score(reasons: set[str]) -> float:
    """Independent evidence combines: 1 - product of (1 - weight)."""
    doubt = 1.0
    for reason in reasons:
        doubt *= 1.0 - WEIGHTS[reason]
    return round(1.0 - doubt, 4)
