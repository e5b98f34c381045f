"""Sign-in identities: normalize and validate email addresses and phone numbers.

Emails are lower-cased (the account is case-insensitive) and checked against a deliberately simple, strict syntax.
Phones are E.164: a leading ``+`` and 8-15 digits; an 11-digit mainland China mobile number (``1[3-9]...``)
is accepted without the country code and becomes ``+86...``. The spaces, dashes, dots and parentheses people type
to group digits ("+86 138-1234-5678", "(138) 1234 5678") are dropped first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from core.errors import InvalidEmail, InvalidInput, InvalidPhone
from core.store.keys import Keys

TargetKind = Literal["email", "phone"]

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART = 64
_LOCAL = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(rf"{_LOCAL}@(?:{_LABEL}\.)+[a-z]{{2,63}}")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
_CN_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# Grouping characters only: whitespace, ASCII and Unicode dashes, dots, ASCII and full-width parentheses.
_PHONE_SEPARATORS = re.compile(r"[\s.()\-\u2010-\u2015\u2212\uff08\uff09\uff0d]")


@dataclass(frozen=True)
class Target:
    """A normalized sign-in identity: which kind, and its canonical value."""

    kind: TargetKind
    value: str


def normalize_email(raw: str) -> str:
    """Return the lower-cased address or raise InvalidEmail."""
    email = raw.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(email):
        raise InvalidEmail()
    if len(email.rsplit("@", 1)[0]) > MAX_LOCAL_PART:
        raise InvalidEmail()
    return email


def normalize_phone(raw: str) -> str:
    """Return the E.164 form (grouping characters dropped) or raise InvalidPhone."""
    phone = _PHONE_SEPARATORS.sub("", raw)
    if _CN_MOBILE.fullmatch(phone):
        return f"+86{phone}"
    if not _E164.fullmatch(phone):
        raise InvalidPhone()
    return phone


def parse_target(raw: str) -> Target:
    """Read an email-or-phone field: anything with an ``@`` is an email, the rest must be a phone."""
    if "@" in raw:
        return Target("email", normalize_email(raw))
    return Target("phone", normalize_phone(raw))


def target_of(email: str | None, phone: str | None) -> Target:
    """Pick the one identity of a form that has an email and a phone field; exactly one must be given."""
    if email and phone:
        raise InvalidInput("Give an email address or a phone number, not both.", field="email")
    if email:
        return Target("email", normalize_email(email))
    if phone:
        return Target("phone", normalize_phone(phone))
    raise InvalidInput("An email address or a phone number is required.", field="email")


def index_key(keys: Keys, target: Target) -> str:
    """Return the index key that maps this identity to its user id."""
    return keys.email_index(target.value) if target.kind == "email" else keys.phone_index(target.value)
