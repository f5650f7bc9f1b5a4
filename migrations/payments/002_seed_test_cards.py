"""mockbank: the issuer's test cards (Stripe's test numbers), kept by a SHA-256 of the number, with balances."""
import hashlib

# number, brand, behaviour, balance in minor units
TEST_CARDS = (
    ("4242424242424242", "visa", "approve", 10 ** 12),
    ("5555555555554444", "mastercard", "approve", 10 ** 12),
    ("378282246310005", "amex", "approve", 10 ** 12),
    ("4000056655665556", "visa", "approve", 50_000),  # a debit card with 500.00 on it
    ("4000000000000002", "visa", "card_declined", 10 ** 12),
    ("4000000000009995", "visa", "approve", 0),  # approves, but there is nothing on it
    ("4000000000000069", "visa", "expired_card", 10 ** 12),
    ("4000000000000127", "visa", "incorrect_cvc", 10 ** 12),
)


def migrate(migrator, database, fake=False, **kwargs):
    marks = ", ".join([database.param] * 5)
    for number, brand, behaviour, balance in TEST_CARDS:
        migrator.sql(f"INSERT INTO bank_card (pan_hash, brand, last4, behaviour, balance) VALUES ({marks})",
                     hashlib.sha256(number.encode()).hexdigest(), brand, number[-4:], behaviour, balance)


def rollback(migrator, database, fake=False, **kwargs):
    migrator.sql("DELETE FROM bank_card")

