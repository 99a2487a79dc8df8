"""The Brazilian 9th digit: which chat id a phone number has on WhatsApp.

Mobile numbers gained a leading 9 between 2012 and 2016, but accounts registered before keep
their old id: `558591203123@c.us`, not `5585991203123@c.us`. Sending to the wrong form can get
201 and a SERVER ack and still never arrive (WAHA issues #238, #2120). WAHA's own rules
(WAHA_API.md, section 3):

- DDD 11 to 28: the 13-digit form with the 9 is the id;
- DDD 31 and above: either form may be the real one; ask `GET /api/contacts/check-exists` and
  use the `chatId` it returns.

`needs_lookup` says which numbers need the question; `ChatIdMemo` remembers each answer so a
number is asked about once (a bounded LRU: a long-running worker sees millions of numbers).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Final

__all__ = ["ChatIdMemo", "brazilian_mobile", "direct_chat_id", "needs_lookup"]

_BRAZIL: Final = "55"
_FIRST_DDD_WITH_OLD_IDS: Final = 31


def _digits(phone_e164: str) -> str:
    digits = phone_e164.removeprefix("+")
    if not digits.isdigit():
        raise ValueError(f"phone {phone_e164!r} is not in E.164 form (+ and digits)")
    return digits


def brazilian_mobile(phone_e164: str) -> tuple[int, str] | None:
    """(DDD, 9-digit subscriber number) of a Brazilian mobile in E.164; None otherwise."""
    digits = _digits(phone_e164)
    if not digits.startswith(_BRAZIL) or len(digits) != 13:
        return None
    ddd, subscriber = int(digits[2:4]), digits[4:]
    if ddd < 11 or not subscriber.startswith("9"):
        return None
    return ddd, subscriber


def direct_chat_id(phone_e164: str) -> str:
    """The chat id written from the number as it is: `+5511987654321` → `5511987654321@c.us`."""
    return f"{_digits(phone_e164)}@c.us"


def needs_lookup(phone_e164: str) -> bool:
    """True for Brazilian mobiles with DDD >= 31, whose WhatsApp id may lack the 9th digit."""
    mobile = brazilian_mobile(phone_e164)
    return mobile is not None and mobile[0] >= _FIRST_DDD_WITH_OLD_IDS


@dataclass(slots=True)
class ChatIdMemo:
    """Answers of `check-exists`, per number: the chat id, or None for "not on WhatsApp"."""

    max_entries: int = 200_000
    _known: OrderedDict[str, str | None] = field(default_factory=OrderedDict)

    def lookup(self, phone_e164: str) -> tuple[bool, str | None]:
        """(known, chat id). A number that needs no lookup is always known."""
        if not needs_lookup(phone_e164):
            return True, direct_chat_id(phone_e164)
        if phone_e164 not in self._known:
            return False, None
        self._known.move_to_end(phone_e164)
        return True, self._known[phone_e164]

    def remember(self, phone_e164: str, chat_id: str | None) -> None:
        self._known[phone_e164] = chat_id
        self._known.move_to_end(phone_e164)
        while len(self._known) > self.max_entries:
            self._known.popitem(last=False)

    def __len__(self) -> int:
        return len(self._known)
