"""The longest each free-text input may be, in characters once trimmed: the one table the rules in db/, the
columns' sizes in db/models/ and the mutations' descriptions all read. Over its limit, a value is refused
(db.errors.InvalidInput, naming the field) before anything is written."""

# Catalog
MAX_CATEGORY_NAME_LENGTH = 100
MAX_SLUG_LENGTH = 120
MAX_DESCRIPTION_LENGTH = 10_000  # product and category descriptions
MAX_NAME_LENGTH = 200  # supplier, product and warehouse names
MAX_SKU_LENGTH = 64  # SKUs, and the supplier's own code for a product
MAX_EMAIL_LENGTH = 254  # suppliers' and users' (RFC 5321's longest address)
MAX_PHONE_LENGTH = 50
MAX_WEBSITE_LENGTH = 500
MAX_ADDRESS_LENGTH = 1_000  # supplier and warehouse addresses

# Stock and purchasing
MAX_WAREHOUSE_CODE_LENGTH = 32
MAX_ORDER_NUMBER_LENGTH = 32
MAX_REFERENCE_LENGTH = 100  # a ledger entry's document
MAX_NOTE_LENGTH = 2_000  # ledger entries' and purchase orders' notes
MAX_IDEMPOTENCY_KEY_LENGTH = 200

# Users (passwords are not trimmed)
MAX_USERNAME_LENGTH = 64
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256

# Webhooks: an endpoint's URL and its signing secret
MAX_WEBHOOK_URL_LENGTH = 2_000
MAX_WEBHOOK_SECRET_LENGTH = 200

# Queries: a search filter's text
MAX_SEARCH_LENGTH = 1_000


def at_most(length: int) -> str:
    """A limit as mutation descriptions state it: "up to 10,000 characters"."""
    return f"up to {length:,} characters"
