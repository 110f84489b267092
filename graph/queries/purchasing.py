"""Purchasing root query fields."""

import strawberry


@strawberry.type
class PurchasingQueries:
    pass
