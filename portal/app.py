"""create_app(): the configured Flask application, composed from the core and every domain's blueprints.

It sits at the top of the layers (``pyproject.toml``): it may import anything, nothing imports it but
``portal/__init__.py``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from portal import cli, db, extensions, i18n, input_guard, metrics, web, wiring
from portal.accounts import auth
from portal.accounts.views.account import bp as accounts_bp
from portal.accounts.views.reset import bp as password_reset_bp
from portal.accounts.views.twofactor import bp as two_factor_bp
from portal.admin.views.audit import bp as audit_bp
from portal.admin.views.staff import bp as admin_bp
from portal.agencies import registry
from portal.agencies.views import bp as agencies_bp
from portal.analytics.views import bp as analytics_bp
from portal.autopay.views import bp as autopay_bp
from portal.batches.views import bp as batches_bp
from portal.bills.views import bp as bills_bp
from portal.counter.views import bp as counter_bp
from portal.disputes.views.desk import bp as dispute_desk_bp
from portal.disputes.views.residents import bp as disputes_bp
from portal.guest.views import bp as guest_bp
from portal.main.views import bp as main_bp
from portal.notify import notifiers
from portal.notify.views.dev_outbox import bp as dev_outbox_bp
from portal.notify.views.inbox import bp as inbox_bp
from portal.payments.views.operations import bp as operations_bp
from portal.payments.views.residents import bp as payments_bp
from portal.promotions.views import bp as campaigns_bp
from portal.receipts.views import bp as receipts_bp
from portal.receipts.views import downloads as receipt_files_bp
from portal.reports.views import bp as reports_bp
from portal.risk.views import bp as risk_bp
from portal.settings.configs import Config, load_config
from portal.settings.environment import PROJECT_ROOT
from portal.templating import PortalEnvironment
from portal.wallet.views.api import bp as wallet_api_bp
from portal.wallet.views.pages import bp as wallet_bp

BLUEPRINTS = (
    main_bp,
    accounts_bp,
    agencies_bp,
    admin_bp,
    bills_bp,
    wallet_bp,
    wallet_api_bp,
    payments_bp,
    receipts_bp,
    receipt_files_bp,
    operations_bp,
    batches_bp,
    reports_bp,
    audit_bp,
    risk_bp,
    campaigns_bp,
    autopay_bp,
    disputes_bp,
    dispute_desk_bp,
    guest_bp,
    counter_bp,
    analytics_bp,
    inbox_bp,
    two_factor_bp,
    password_reset_bp,
    dev_outbox_bp,
)


class Portal(Flask):
    """Flask with the portal's Jinja environment (templates compiled per language)."""

    jinja_environment = PortalEnvironment


def create_app(config: Config | Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` is a Config instance, or overrides applied to the environment's one."""
    app = Portal(
        "portal",
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    settings = config if isinstance(config, Config) else load_config()
    settings.validate()
    app.config.from_mapping(settings.as_dict())
    if isinstance(config, Mapping):
        app.config.from_mapping(config)

    web.init_logging(app)
    metrics.init_app(app)  # before db: a request's time then includes its commit
    db.init_app(app)
    web.init_app(app)  # first, so the request id exists even for requests CSRF or the limiter refuse
    input_guard.init_app(app)
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    registry.init_app(app)
    notifiers.init_app(app)
    wiring.init_app(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    cli.init_app(app)
    return app
