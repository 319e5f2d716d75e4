"""Outside production every JSON answer is held to its declared response model, so drift fails loudly."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from gateway.api import Operation, ResponseContractBroken, check_response


class Line(BaseModel):
    sku: str
    quantity: int


class Order(BaseModel):
    id: str
    lines: list[Line]
    note: Line | None = None


async def _handler() -> None:
    return None


ORDER = Operation("GET", "/orders/{order_id}", _handler, "Read an order", "orders", "public", response=Order)


def test_an_answer_its_model_describes_passes() -> None:
    check_response(ORDER, {"id": "o1", "lines": [{"sku": "a", "quantity": 2}], "note": None})


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ({"lines": []}, "id"),
        ({"id": "o1", "lines": [{"sku": "a", "quantity": "many"}]}, "quantity"),
        ({"id": "o1", "lines": [], "total": 3}, "body.total"),
        ({"id": "o1", "lines": [{"sku": "a", "quantity": 1, "price": 3}]}, "body.lines[].price"),
        ({"id": "o1", "lines": [], "note": {"sku": "a", "quantity": 1, "colour": "red"}}, "body.note.colour"),
    ],
)
def test_an_answer_that_drifts_from_its_model_fails_naming_the_drift(payload: dict[str, Any], named: str) -> None:
    with pytest.raises(ResponseContractBroken, match=named.replace("[", r"\[").replace("]", r"\]")):
        check_response(ORDER, payload)
