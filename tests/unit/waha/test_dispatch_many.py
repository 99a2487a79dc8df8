"""`Dispatcher.dispatch_many`: a batch in flight at once, one lane per chat (docs/adr/0021)."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from connectors.waha.client import ContactCheck, FileToSend, SentMessage, SessionInfo
from connectors.waha.dispatch import lane_key, lanes
from connectors.waha.dispatcher import Dispatcher, DispatchPolicy, Outcome, SendOrder
from connectors.waha.errors import WahaPermanentError

FAST = DispatchPolicy(rate_per_s=0, per_session=4)


class FakeWaha:
    """Answers every send after a random short delay; counts what is in flight."""

    def __init__(self, *, refuse: set[str] = frozenset(), seed: int = 1) -> None:  # type: ignore[assignment]
        self.rng = random.Random(seed)
        self.refuse = refuse
        self.in_flight: dict[str, int] = {}
        self.most_in_flight: dict[str, int] = {}
        self.sent: list[tuple[str, str, str]] = []
        """(session, chat, text) in the order WAHA accepted them."""
        self.chat_busy: set[str] = set()
        self.overlapping_chats = 0

    async def send_text(self, session: str, chat_id: str, text: str) -> SentMessage:
        if chat_id in self.chat_busy:
            self.overlapping_chats += 1
        self.chat_busy.add(chat_id)
        self.in_flight[session] = self.in_flight.get(session, 0) + 1
        self.most_in_flight[session] = max(
            self.most_in_flight.get(session, 0), self.in_flight[session]
        )
        try:
            await asyncio.sleep(self.rng.uniform(0, 0.01))
            if text in self.refuse:
                raise WahaPermanentError("400 Bad Request", method="POST", url="/api/sendText")
            self.sent.append((session, chat_id, text))
            return SentMessage(f"id-{text}", chat_id, {})
        finally:
            self.in_flight[session] -= 1
            self.chat_busy.discard(chat_id)

    async def send_file(
        self, session: str, chat_id: str, file: FileToSend, caption: str | None = None
    ) -> SentMessage:
        return await self.send_text(session, chat_id, caption or "")

    async def start_typing(self, session: str, chat_id: str) -> None: ...

    async def stop_typing(self, session: str, chat_id: str) -> None: ...

    async def check_exists(self, session: str, phone: str) -> ContactCheck:
        return ContactCheck(True, f"{phone.lstrip('+')}@c.us")

    async def session_info(self, session: str) -> SessionInfo:
        return SessionInfo(session, "WORKING")


def _order(n: int, chat: int, session: str = "s1") -> SendOrder:
    return SendOrder("t", f"r{n}", session, f"+55119{chat:08d}", f"m{n}")


def test_lanes_group_by_session_and_chat_key_in_order() -> None:
    orders = [
        _order(0, 1),
        _order(1, 2),
        _order(2, 1),
        _order(3, 1, session="s2"),
        # The same debtor with and without the 9th digit is one chat, one lane.
        SendOrder("t", "r4", "s1", "+5531987654321", "a"),
        SendOrder("t", "r5", "s1", "+553187654321", "b"),
    ]
    assert lanes(orders) == [[0, 2], [1], [3], [4, 5]]
    assert lane_key(orders[4]) == lane_key(orders[5]) == ("s1", "5531987654321")


async def test_a_batch_is_in_flight_at_once_within_the_session_cap() -> None:
    waha = FakeWaha()
    dispatcher = Dispatcher(waha, FAST)
    orders = [_order(n, chat=n) for n in range(40)] + [_order(40, chat=0, session="s2")]
    ended: list[int] = []
    outcomes = await dispatcher.dispatch_many(orders, done=lambda i, o: ended.append(i))
    assert all(o is not None and o.sent is not None for o in outcomes)
    assert [o.sent.message_id for o in outcomes if o and o.sent] == [f"id-m{n}" for n in range(41)]
    assert len(waha.sent) == 41 and len({text for _, _, text in waha.sent}) == 41
    assert waha.most_in_flight["s1"] == FAST.per_session  # concurrent, and never more
    assert sorted(ended) == list(range(41))  # `done` once per order


async def test_a_chat_gets_its_messages_one_at_a_time_in_order() -> None:
    waha = FakeWaha(seed=5)
    dispatcher = Dispatcher(waha, FAST)
    orders = [_order(n, chat=n % 3) for n in range(30)]
    await dispatcher.dispatch_many(orders)
    assert waha.overlapping_chats == 0
    for chat in range(3):
        texts = [text for _, chat_id, text in waha.sent if chat_id == f"55119{chat:08d}@c.us"]
        assert texts == [f"m{n}" for n in range(30) if n % 3 == chat]


async def test_a_failure_in_the_middle_stops_nothing_else() -> None:
    waha = FakeWaha(refuse={"m5"})
    dispatcher = Dispatcher(waha, FAST)
    orders = [_order(n, chat=n % 2) for n in range(10)]
    outcomes = await dispatcher.dispatch_many(orders)
    failed = outcomes[5]
    assert (
        failed is not None and failed.permanent is not None and failed.permanent.status_code is None
    )
    assert [n for n, o in enumerate(outcomes) if o is not None and o.sent is not None] == [
        n for n in range(10) if n != 5
    ]
    # The chat of the failed message still got its later messages, in order.
    assert [t for _, c, t in waha.sent if c == "5511900000001@c.us"] == ["m1", "m3", "m7", "m9"]


async def test_an_abandoned_batch_sends_no_later_message_of_a_chat() -> None:
    waha = FakeWaha()
    dispatcher = Dispatcher(waha, FAST)
    orders = [_order(n, chat=n % 2) for n in range(8)]
    ended: dict[int, Outcome | None] = {}

    def done(index: int, outcome: Outcome | None) -> None:
        ended[index] = outcome

    # Abandoned once the first message went (a rebalance, say): what was in flight finishes.
    outcomes = await dispatcher.dispatch_many(
        orders, abandoned=lambda: len(waha.sent) >= 1, done=done
    )
    assert ended == dict(enumerate(outcomes))
    # Every message WAHA took has its outcome (kept by the agent for a redelivery) ...
    assert sorted(t for _, _, t in waha.sent) == sorted(
        o.sent.message_id.removeprefix("id-") for o in outcomes if o is not None and o.sent
    )
    # ... and in each chat, nothing after the first abandoned message went.
    for lane in lanes(orders):
        went = [outcomes[i] is not None for i in lane]
        assert went == sorted(went, reverse=True) and not went[-1]


async def test_pacing_holds_however_many_are_in_flight() -> None:
    waha = FakeWaha()
    policy = DispatchPolicy(rate_per_s=100, jitter=0, per_session=8)
    dispatcher = Dispatcher(waha, policy)
    began = time.monotonic()
    await dispatcher.dispatch_many([_order(n, chat=n) for n in range(11)])
    assert time.monotonic() - began >= 10 / 100 * 0.95  # ten gaps of 10 ms


async def test_an_unexpected_error_cancels_the_other_lanes() -> None:
    waha = FakeWaha()

    async def broken(session: str, chat_id: str, text: str) -> SentMessage:
        if text == "m0":
            raise RuntimeError("bug")
        await asyncio.sleep(10)
        raise AssertionError("not cancelled")

    waha.send_text = broken  # type: ignore[method-assign]
    dispatcher = Dispatcher(waha, FAST)
    with pytest.raises(RuntimeError, match="bug"):
        await asyncio.wait_for(
            dispatcher.dispatch_many([_order(n, chat=n) for n in range(4)]), timeout=5
        )


def test_per_session_must_be_positive() -> None:
    with pytest.raises(ValueError, match="per_session"):
        Dispatcher(FakeWaha(), DispatchPolicy(per_session=0))
