"""`FixedHeader` gives the codec's bytes around an event's id and body, and refuses a layout
that is not the pinned schema's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.binary import epoch_millis, long_bytes, optional_string_bytes, string_bytes
from schemas.codec import encode
from schemas.errors import UnencodableEvent
from schemas.events import ImportRejected, new_header
from schemas.fixed_header import LONG, OPTIONAL_STRING, STRING, FixedHeader

BODY = (
    ("import_id", STRING),
    ("row", LONG),
    ("reason", STRING),
    ("message", STRING),
    ("field", OPTIONAL_STRING),
    ("raw_row", OPTIONAL_STRING),
)
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)


@given(
    tenant=texts,
    correlation=texts,
    source=texts,
    causation=st.none() | texts,
    moment=st.datetimes(timezones=st.just(UTC)),
    row=st.integers(0, 2**63 - 1),
    field=st.none() | texts,
)
def test_header_and_body_are_the_codecs_bytes(
    tenant: str,
    correlation: str,
    source: str,
    causation: str | None,
    moment: datetime,
    row: int,
    field: str | None,
) -> None:
    event_id = str(uuid.uuid4())
    header = FixedHeader(
        "ImportRejected",
        BODY,
        tenant_id=tenant,
        correlation_id=correlation,
        source=source,
        causation_id=causation,
    )
    body = b"".join(
        (
            string_bytes("imp"),
            long_bytes(row),
            string_bytes("duplicate"),
            string_bytes("repetido"),
            optional_string_bytes(field),
            optional_string_bytes(None),
        )
    )
    written = header.before_id + event_id.encode() + header.after_id(epoch_millis(moment)) + body
    event = ImportRejected(
        header=new_header(
            "ImportRejected",
            tenant_id=tenant,
            correlation_id=correlation,
            causation_id=causation,
            source=source,
            occurred_at=moment,
            event_id=event_id,
        ),
        import_id="imp",
        row=row,
        reason="duplicate",
        message="repetido",
        field=field,
        raw_row=None,
    )
    assert written == encode(event.to_representation())


@pytest.mark.parametrize(
    "body",
    [
        BODY[:-1],  # a field missing
        (*BODY[:2], ("reason", LONG), *BODY[3:]),  # a field of another type
        (BODY[1], BODY[0], *BODY[2:]),  # fields out of order
    ],
)
def test_a_layout_that_is_not_the_pinned_schema_is_refused(
    body: tuple[tuple[str, object], ...],
) -> None:
    with pytest.raises(UnencodableEvent, match="ImportRejected's pinned schema is not the layout"):
        FixedHeader("ImportRejected", body, tenant_id="t", correlation_id="c", source="s")
