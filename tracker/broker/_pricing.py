"""The price table (config `pricing.models`) and checked cost arithmetic (rpc-broker §6.5, §10 h fixed): an
overflow of the int64 credit range is an error, never a wrap."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MAX_CREDITS = (1 << 63) - 1  # the ledger stores credits as SQLite int64
OVERSPEND_PERCENT = 105


class PricingError(Exception):
    """Base of the pricing errors."""


class UnknownModel(PricingError):
    def __init__(self, model: str) -> None:
        super().__init__(f"unknown model {model!r}")
        self.model = model


class CostOverflow(PricingError):
    """A cost or a credit sum beyond the int64 credit range."""


@dataclass(frozen=True, slots=True)
class ModelPrice:
    in_credits_per_token: int
    out_credits_per_token: int


def checked_add(a: int, b: int, what: str = "credit sum") -> int:
    total = a + b
    if total > MAX_CREDITS or total < -MAX_CREDITS - 1:
        raise CostOverflow(f"{what} overflows the credit range ({a} + {b})")
    return total


class PriceTable:
    def __init__(self, models: Mapping[str, ModelPrice]) -> None:
        self._models = dict(models)

    @classmethod
    def from_config(cls, pricing: object) -> PriceTable:
        """From a config `pricing` section (models: name → in/out credits per token)."""
        models = pricing.models  # type: ignore[attr-defined]
        return cls(
            {
                name: ModelPrice(int(price.in_credits_per_token), int(price.out_credits_per_token))
                for name, price in models.items()
            }
        )

    def price(self, model: str) -> ModelPrice:
        price = self._models.get(model)
        if price is None:
            raise UnknownModel(model)
        return price

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> int:
        """in_rate·in + out_rate·out, checked: CostOverflow when beyond the credit range."""
        price = self.price(model)
        total = price.in_credits_per_token * input_tokens + price.out_credits_per_token * output_tokens
        if total > MAX_CREDITS:
            raise CostOverflow(
                f"cost of {input_tokens} in / {output_tokens} out tokens of {model} overflows the credits"
            )
        return total

    max_cost = cost
    actual_cost = cost


def overspent(actual: int, reserved: int) -> bool:
    """actual > floor(reserved · 1.05), in integer arithmetic (Python ints do not wrap)."""
    return actual > reserved * OVERSPEND_PERCENT // 100
