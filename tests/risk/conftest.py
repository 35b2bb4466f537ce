from tests.payments.conftest import resident, water  # noqa: F401  (the payments tests' resident and bills)
