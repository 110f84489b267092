"""Stock root query fields."""

import strawberry


@strawberry.type
class StockQueries:
    pass
