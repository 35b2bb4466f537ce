"""Paying without a portal account: a visitor names the payer's wallet (its number or mobile) and the
wallet's owner authorises the amount with a one-time code sent to them."""
