"""Stock mutations."""

import strawberry


@strawberry.type
class StockMutations:
    pass
