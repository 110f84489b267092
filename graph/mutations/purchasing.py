"""Purchasing mutations."""

import strawberry


@strawberry.type
class PurchasingMutations:
    pass
