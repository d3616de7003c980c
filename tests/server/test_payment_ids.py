"""Payment and refund ids: the documented shape, unique, and in creation order.

Creation order is what keeps the indexes keyed by payment id appending at their
right edge (see payments/model.py); the shape is what the API validates.
"""

from __future__ import annotations

import time

from payedge_server.payments import model as records
from payedge_server.payments.validation import PAYMENT_ID


def test_ids_have_the_validated_shape_and_are_unique() -> None:
    ids = [records.new_payment_id() for _ in range(10_000)]
    assert all(PAYMENT_ID.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert records.new_refund_id().startswith("re_")


def test_an_id_made_later_sorts_later() -> None:
    first = records.new_payment_id()
    time.sleep(0.002)
    second = records.new_payment_id()
    assert first < second
