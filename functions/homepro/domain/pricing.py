"""The server's price list: what a session costs per category, in cents (never from the client)."""

from __future__ import annotations

from homepro.domain.models import Category

CURRENCY = "usd"
PRICES: dict[Category, int] = {
    Category.PLUMBING: 4900,
    Category.ELECTRICAL: 5900,
    Category.HVAC: 6900,
    Category.APPLIANCE: 4900,
    Category.CARPENTRY: 4500,
    Category.GENERAL: 3900,
}


def price_of(category: Category) -> int:
    return PRICES[category]
