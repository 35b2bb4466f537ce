"""Imports every domain's models so that Base.metadata is complete (for Alembic and tests)."""

from portal.accounts import models as accounts_models
from portal.agencies import models as agencies_models
from portal.bills import models as bills_models
from portal.db import Base
from portal.wallet import models as wallet_models

metadata = Base.metadata

__all__ = ["accounts_models", "agencies_models", "bills_models", "metadata", "wallet_models"]
