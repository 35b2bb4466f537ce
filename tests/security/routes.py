"""Every route of the portal, with the status each role gets: the table the security tests read.

Roles: anon (not logged in), res (the resident who owns the objects), res2 (another resident), clerk
(a clerk of the agency the objects belong to), clerk2 (a clerk of another agency), fin (finance),
admin, cash (a counter cashier of a hall serving the objects' agency, with the counter payment and the
open shift), cash2 (a cashier of a hall serving another agency only). Groups: residents = res res2;
clerks = clerk clerk2; cashiers = cash cash2; staff = clerks fin admin; users = everyone but anon;
all; rest = the roles not named before it. A status is a number, `login` (302 to
/account/login) or `302` (any other redirect). Paths take the world's ids: {payment}, {batch}, ...

A route missing here fails test_every_route_has_an_expectation: a new route cannot escape the matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = ("anon", "res", "res2", "clerk", "clerk2", "fin", "admin", "cash", "cash2")
GROUPS = {
    "residents": ("res", "res2"),
    "clerks": ("clerk", "clerk2"),
    "cashiers": ("cash", "cash2"),
    "staff": ("clerk", "clerk2", "fin", "admin"),
    "users": ROLES[1:],
    "all": ROLES,
}


@dataclass(frozen=True)
class Route:
    path: str
    expect: str
    data: dict = field(default_factory=dict)  # the form a permitted user would send (CSRF token added)

    def statuses(self) -> dict[str, str]:
        """The expectation string as {role: status}; every role exactly once."""
        result: dict[str, str] = {}
        for part in self.expect.split():
            names, status = part.split(":")
            for name in names.split(","):
                roles = [r for r in ROLES if r not in result] if name == "rest" else GROUPS.get(name, (name,))
                for role in roles:
                    assert role in ROLES and role not in result, f"{self.path}: {role} twice or unknown"
                    result[role] = status
        assert set(result) == set(ROLES), f"{self.path}: no expectation for {set(ROLES) - set(result)}"
        return result


PAGE = "anon:login users:200"
RESIDENT_ONLY = "anon:login residents:200 staff,cashiers:403"
FINANCE_STAFF = "anon:login fin,admin:200 rest:403"
ADMIN_ONLY = "anon:login admin:200 rest:403"
ADMIN_ACTION = "anon:login admin:302 rest:403"
AGENCY_PAGE = "anon:login clerk,fin,admin:200 clerk2:404 residents,cashiers:403"
COUNTER = "anon:login cashiers:200 rest:403"
COUNTER_OF_AGENCY = "anon:login cash:200 cash2:403 rest:403"  # cash2's hall does not serve the agency
COUNTER_OBJECT = "anon:login cash:200 cash2:404 rest:403"  # another hall's payment or shift is not there
API = "all:401"  # the wallet's JSON API answers unsigned calls 401, cookie or not

ROUTES: dict[tuple[str, str], Route] = {
    # public
    ("main.index", "GET"): Route("/", "all:200"),
    ("main.healthz", "GET"): Route("/healthz", "all:200"),
    ("main.readyz", "GET"): Route("/readyz", "all:200"),
    ("static", "GET"): Route("/static/css/portal.css", "all:200"),
    ("i18n.switch_language", "GET"): Route("/language/en", "all:302"),
    ("receipts.verify", "GET"): Route("/receipts/verify/{token}", "all:200"),
    ("bills.index", "GET"): Route("/bills/", "all:200"),
    ("bills.lookup", "GET"): Route("/bills/{agency}?account_reference=3100200300", "all:200"),
    # agencies with sensitive query fields (a taxpayer's ID number) look up by POST, out of the address
    ("bills.lookup", "POST"): Route("/bills/{agency}", "all:200", {"account_reference": "3100200300"}),
    # accounts: the logged-in are sent home from the login and registration pages
    ("accounts.register", "GET"): Route("/account/register", "anon:200 users:302"),
    ("accounts.register", "POST"): Route("/account/register", "anon:200 users:302"),
    ("accounts.login", "GET"): Route("/account/login", "anon:200 users:302"),
    ("password_reset.forgot", "GET"): Route("/account/forgot-password", "anon:200 users:302"),
    ("password_reset.forgot", "POST"): Route(
        "/account/forgot-password", "all:302", {"identifier": "13700000999"}
    ),
    ("password_reset.sent", "GET"): Route("/account/forgot-password/sent", "all:200"),
    ("password_reset.choose", "GET"): Route("/account/reset-password/not-a-token", "all:200"),
    ("password_reset.choose", "POST"): Route("/account/reset-password/not-a-token", "all:200"),
    ("dev_outbox.outbox", "GET"): Route("/dev/outbox", "all:200"),  # testing; 404 in production
    ("accounts.login", "POST"): Route("/account/login", "anon:200 users:302"),
    ("accounts.logout", "POST"): Route("/account/logout", "all:302"),
    ("accounts.profile", "GET"): Route("/account/", PAGE),
    ("accounts.verify_identity", "GET"): Route(
        "/account/identity", "anon:login residents:200 staff,cashiers:302"
    ),
    ("accounts.verify_identity", "POST"): Route(
        "/account/identity", "anon:login residents:200 staff,cashiers:302"
    ),
    ("accounts.change_password", "GET"): Route("/account/password", PAGE),
    ("accounts.change_password", "POST"): Route("/account/password", PAGE),
    # two-factor: only someone between the two login steps may give a code; others are sent on
    ("two_factor.verify", "GET"): Route("/account/two-factor", "anon:login users:302"),
    ("two_factor.verify", "POST"): Route("/account/two-factor", "anon:login users:302"),
    ("two_factor.recovery", "GET"): Route("/account/two-factor/recovery", "anon:login users:302"),
    ("two_factor.recovery", "POST"): Route("/account/two-factor/recovery", "anon:login users:302"),
    ("two_factor.setup", "GET"): Route("/account/two-factor/setup", "anon:login users:302"),
    ("two_factor.setup", "POST"): Route("/account/two-factor/setup", "anon:login users:302"),
    ("two_factor.enable", "GET"): Route(
        "/account/two-factor/enable", "anon:login residents:200 staff,cashiers:302"
    ),
    ("two_factor.enable", "POST"): Route(
        "/account/two-factor/enable", "anon:login residents:200 staff,cashiers:302"
    ),
    ("two_factor.disable", "GET"): Route("/account/two-factor/disable", "anon:login users:302"),
    ("two_factor.disable", "POST"): Route("/account/two-factor/disable", "anon:login users:302"),
    ("two_factor.new_recovery_codes", "GET"): Route(
        "/account/two-factor/recovery-codes", "anon:login residents:302 staff,cashiers:200"
    ),
    ("two_factor.new_recovery_codes", "POST"): Route(
        "/account/two-factor/recovery-codes", "anon:login residents:302 staff,cashiers:200"
    ),
    # admin: staff accounts
    ("admin.staff", "GET"): Route("/admin/staff", ADMIN_ONLY),
    ("admin.unlock_staff", "POST"): Route("/admin/staff/{staff}/unlock", ADMIN_ACTION),
    ("admin.new_staff", "GET"): Route("/admin/staff/new", ADMIN_ONLY),
    ("admin.new_staff", "POST"): Route("/admin/staff/new", ADMIN_ONLY),
    ("admin.edit_staff", "GET"): Route("/admin/staff/{staff}", ADMIN_ONLY),
    ("admin.edit_staff", "POST"): Route("/admin/staff/{staff}", ADMIN_ACTION),
    ("admin.set_staff_active", "POST"): Route(
        "/admin/staff/{staff}/active", ADMIN_ACTION, {"active": "no", "confirmed": "yes"}
    ),
    ("admin.reset_two_factor", "POST"): Route(
        "/admin/staff/{staff}/two-factor/reset", ADMIN_ACTION, {"confirmed": "yes"}
    ),
    # agencies and their bill batches: a clerk of another agency is told they do not exist
    ("agencies.index", "GET"): Route(
        "/agencies/", "anon:login clerks:302 fin,admin:200 residents,cashiers:403"
    ),
    ("agencies.overview", "GET"): Route("/agencies/{agency}/", AGENCY_PAGE),
    ("agencies.protocol_document", "GET"): Route("/agencies/protocol/openapi.json", "all:200"),
    ("batches.index", "GET"): Route("/agencies/{agency}/batches/", AGENCY_PAGE),
    ("batches.upload", "POST"): Route(
        "/agencies/{agency}/batches/", "anon:login clerk:422 clerk2:404 rest:403"
    ),
    ("batches.preview", "GET"): Route("/agencies/{agency}/batches/{batch}", AGENCY_PAGE),
    ("batches.commit", "POST"): Route(
        "/agencies/{agency}/batches/{batch}/commit", "anon:login clerk:302 clerk2:404 rest:403"
    ),
    ("batches.withdraw", "POST"): Route(
        "/agencies/{agency}/batches/{batch}/withdraw", "anon:login clerk:409 clerk2:404 rest:403"
    ),
    ("batches.error_report", "GET"): Route("/agencies/{agency}/batches/{batch}/errors.csv", AGENCY_PAGE),
    ("batches.status", "GET"): Route("/agencies/{agency}/batches/{batch}/status.json", AGENCY_PAGE),
    ("batches.template", "GET"): Route("/agencies/{agency}/batches/template.csv", AGENCY_PAGE),
    # residents' bills, payments and wallet: another resident's objects do not exist for them
    ("bills.save", "POST"): Route(
        "/bills/{agency}/save",
        "anon:login residents:302 staff,cashiers:403",
        {"account_reference": "3100200300", "nickname": "Home"},
    ),
    ("bills.mine", "GET"): Route("/bills/mine", RESIDENT_ONLY),
    ("bills.delete", "POST"): Route(
        "/bills/mine/{account}/delete", "anon:login res:302 res2:404 staff,cashiers:403", {"confirmed": "yes"}
    ),
    ("autopay.edit", "GET"): Route(
        "/bills/mine/{account}/autopay", "anon:login res:200 res2:404 staff,cashiers:403"
    ),
    ("autopay.edit", "POST"): Route(
        "/bills/mine/{account}/autopay",
        "anon:login res:302 res2:404 staff,cashiers:403",
        {"enabled": "y", "monthly_cap": "100"},
    ),
    ("notify.inbox", "GET"): Route("/notices/", RESIDENT_ONLY),
    ("notify.preferences", "GET"): Route("/notices/preferences", RESIDENT_ONLY),
    ("notify.preferences", "POST"): Route(
        "/notices/preferences", "anon:login residents:302 staff,cashiers:403", {"reminders": "y", "sms": "y"}
    ),
    ("notify.mark_all_read", "POST"): Route(
        "/notices/read-all", "anon:login residents:302 staff,cashiers:403"
    ),
    ("notify.mark_read", "POST"): Route(
        "/notices/{notice}/read", "anon:login res:302 res2:404 staff,cashiers:403"
    ),
    ("payments.history", "GET"): Route("/payments/", RESIDENT_ONLY),
    ("payments.detail", "GET"): Route(
        "/payments/{payment}", "anon:login res:200 res2:404 staff,cashiers:403"
    ),
    ("receipt_files.receipt_pdf", "GET"): Route(
        "/payments/{payment}/receipts/{receipt}.pdf", "anon:login res:200 res2:404 staff,cashiers:403"
    ),
    ("payments.review", "POST"): Route("/payments/review", "anon:login residents:302 staff,cashiers:403"),
    ("payments.confirm", "POST"): Route("/payments/confirm", "anon:login residents:302 staff,cashiers:403"),
    ("wallet.home", "GET"): Route("/wallet/", RESIDENT_ONLY),
    ("wallet.link_card", "GET"): Route("/wallet/cards/new", RESIDENT_ONLY),
    ("wallet.link_card", "POST"): Route("/wallet/cards/new", RESIDENT_ONLY),
    ("wallet.top_up", "GET"): Route("/wallet/top-up", RESIDENT_ONLY),
    ("wallet.top_up", "POST"): Route("/wallet/top-up", RESIDENT_ONLY),
    ("wallet.withdraw", "GET"): Route("/wallet/withdraw", RESIDENT_ONLY),
    ("wallet.withdraw", "POST"): Route("/wallet/withdraw", RESIDENT_ONLY),
    ("wallet.statement", "GET"): Route("/wallet/statement", RESIDENT_ONLY),
    # operations (finance and admin; only finance refunds)
    ("operations.dead_letters", "GET"): Route("/operations/outbox", FINANCE_STAFF),
    ("operations.resend", "POST"): Route(
        "/operations/outbox/{message}/resend", "anon:login fin,admin:302 rest:403"
    ),
    ("operations.find_payment", "GET"): Route("/operations/payments", FINANCE_STAFF),
    ("operations.payment", "GET"): Route("/operations/payments/{payment}", FINANCE_STAFF),
    ("operations.refund", "POST"): Route(
        "/operations/payments/{payment}/items/{item}/refund", "anon:login fin:422 rest:403"
    ),
    # finance reports: clerks see their own agency's collections only
    ("reports.index", "GET"): Route(
        "/reports/", "anon:login fin,admin:200 clerks:302 residents,cashiers:403"
    ),
    ("reports.collections", "GET"): Route(
        "/reports/collections", "anon:login staff:200 residents,cashiers:403"
    ),
    ("reports.export_collections", "GET"): Route(
        "/reports/collections.csv", "anon:login staff:200 residents,cashiers:403"
    ),
    ("reports.reconciliation", "GET"): Route("/reports/reconciliation", FINANCE_STAFF),
    # analytics: aggregates for finance and admin staff only
    ("analytics.adoption", "GET"): Route("/analytics/", FINANCE_STAFF),
    ("analytics.behaviour", "GET"): Route("/analytics/behaviour", FINANCE_STAFF),
    ("analytics.export", "GET"): Route("/analytics/channels.csv", FINANCE_STAFF),
    ("analytics.live", "GET"): Route("/analytics/live", FINANCE_STAFF),
    ("analytics.promotions", "GET"): Route("/analytics/promotions", FINANCE_STAFF),
    ("analytics.live_panel", "GET"): Route("/analytics/live/panel", FINANCE_STAFF),
    ("reports.settlements", "GET"): Route("/reports/settlements", FINANCE_STAFF),
    ("reports.settle", "POST"): Route(
        "/reports/settlements", "anon:login fin:302 rest:403", {"agency": "{agency}", "day": "{day}"}
    ),
    ("reports.settlement_statement", "GET"): Route("/reports/settlements/{settlement}.pdf", FINANCE_STAFF),
    ("reports.transfer", "GET"): Route("/reports/transfers/{transfer}", FINANCE_STAFF),
    # admin: risk review and the audit log
    ("risk.queue", "GET"): Route("/admin/risk/", ADMIN_ONLY),
    ("risk.case", "GET"): Route("/admin/risk/{flag}", ADMIN_ONLY),
    ("risk.assign", "POST"): Route("/admin/risk/{flag}/assign", ADMIN_ACTION),
    ("risk.note", "POST"): Route("/admin/risk/{flag}/notes", ADMIN_ACTION, {"text": "Called the resident."}),
    ("risk.close", "POST"): Route("/admin/risk/{flag}/close", ADMIN_ACTION, {"outcome": "cleared"}),
    ("risk.report", "GET"): Route("/admin/risk/{flag}/report.csv", ADMIN_ONLY),
    ("risk.request_unfreeze", "POST"): Route(
        "/admin/risk/unfreeze", ADMIN_ACTION, {"user_id": "{resident_id}", "reason": "called the hotline"}
    ),
    ("risk.approve_unfreeze", "POST"): Route("/admin/risk/unfreeze/{unfreeze}/approve", ADMIN_ACTION),
    # disputes: the resident's own (the world's dispute is open on the payment's one bill)
    ("disputes.index", "GET"): Route("/disputes/", RESIDENT_ONLY),
    ("disputes.new", "GET"): Route(
        "/disputes/new/{payment}", "anon:login res:200 res2:404 staff,cashiers:403"
    ),
    ("disputes.new", "POST"): Route(  # 400: that bill has a dispute open already
        "/disputes/new/{payment}",
        "anon:login res:400 res2:404 staff,cashiers:403",
        {"bill": "{item}", "kind": "other", "description": "Charged more than the bill said."},
    ),
    # a saved account's bill: the world's resident saved the household; res2 has no such account
    ("disputes.new_for_bill", "POST"): Route(
        "/disputes/bill", "anon:login res:200 res2:404 staff,cashiers:403", {"bill": "{saved_bill}"}
    ),
    ("disputes.detail", "GET"): Route(
        "/disputes/{dispute}", "anon:login res:200 res2:404 staff,cashiers:403"
    ),
    ("disputes.attachment", "GET"): Route(
        "/disputes/{dispute}/attachment", "anon:login res:200 res2:404 staff,cashiers:403"
    ),
    ("disputes.reopen", "POST"): Route(
        "/disputes/{dispute}/reopen",
        "anon:login res:302 res2:404 staff,cashiers:403",
        {"why": "The answer is not right."},
    ),
    ("disputes.close", "POST"): Route(
        "/disputes/{dispute}/close", "anon:login res:302 res2:404 staff,cashiers:403"
    ),
    ("dispute_desk.queue", "GET"): Route("/staff/disputes/", "anon:login staff:200 residents,cashiers:403"),
    ("dispute_desk.case", "GET"): Route("/staff/disputes/{dispute}", AGENCY_PAGE),
    ("dispute_desk.attachment", "GET"): Route("/staff/disputes/{dispute}/attachment", AGENCY_PAGE),
    ("dispute_desk.send", "POST"): Route(
        "/staff/disputes/{dispute}/send", "anon:login fin,admin:302 rest:403"
    ),
    ("dispute_desk.answer", "POST"): Route(
        "/staff/disputes/{dispute}/answer",
        "anon:login clerk:302 clerk2:404 rest:403",
        {"text": "Our records show the bill paid on the day."},
    ),
    ("dispute_desk.resolve", "POST"): Route(
        "/staff/disputes/{dispute}/resolve",
        "anon:login fin,admin:302 rest:403",
        {"outcome": "rejected", "reason": "Paid in full; the agency confirmed it."},
    ),
    ("dispute_desk.working_calendar", "GET"): Route("/staff/disputes/calendar", ADMIN_ONLY),
    ("dispute_desk.working_calendar", "POST"): Route(
        "/staff/disputes/calendar", ADMIN_ACTION, {"day": "2027-10-01", "name": "National Day"}
    ),
    ("dispute_desk.remove_day", "POST"): Route("/staff/disputes/calendar/2027-10-01/remove", ADMIN_ACTION),
    ("reports.disputes_csv", "GET"): Route("/reports/disputes.csv", FINANCE_STAFF),
    # paying without an account: the button on the lookup page, the wallet, the code, the receipt
    # the counter: a cashier's own shift and their hall's payments; halls are the admins'
    ("counter.index", "GET"): Route("/counter/", COUNTER),
    ("counter.open_shift", "POST"): Route("/counter/shift", "anon:login cashiers:302 rest:403"),
    ("counter.lookup", "GET"): Route("/counter/bills/{agency}", COUNTER_OF_AGENCY),
    ("counter.lookup", "POST"): Route(
        "/counter/bills/{agency}", COUNTER_OF_AGENCY, {"account_reference": "3100200300"}
    ),
    ("counter.take", "POST"): Route("/counter/take", COUNTER_OF_AGENCY, {"bill": "{counter_bill}"}),
    ("counter.payment", "GET"): Route("/counter/payments/{counter_payment}", COUNTER_OBJECT),
    ("counter.receipt", "GET"): Route(
        "/counter/payments/{counter_payment}/receipts/{counter_receipt}.pdf", COUNTER_OBJECT
    ),
    ("counter.shift", "GET"): Route("/counter/shifts/{shift}", COUNTER_OBJECT),
    ("counter.close", "GET"): Route("/counter/shifts/{shift}/close", COUNTER_OBJECT),
    ("counter.close", "POST"): Route(  # 200: the difference shown, asking to confirm
        "/counter/shifts/{shift}/close", COUNTER_OBJECT, {"counted": "15.00"}
    ),
    ("counter.halls", "GET"): Route("/counter/halls", ADMIN_ONLY),
    ("counter.halls", "POST"): Route(
        "/counter/halls",
        ADMIN_ACTION,
        {"code": "sec-north", "name_zh": "北区大厅", "name_en": "North Hall", "agencies": "{agency}"},
    ),
    ("guest.start", "POST"): Route("/pay/start", "all:200", {"bill": "{guest_bill}"}),
    ("guest.wallet", "POST"): Route(
        "/pay/wallet", "all:302", {"bill": "{guest_bill}", "wallet": "13911110002"}
    ),
    ("guest.code", "GET"): Route("/pay/code", "all:302"),  # no try in this session: back to the bills
    ("guest.code", "POST"): Route("/pay/code", "all:302", {"code": "123456"}),
    ("guest.done", "GET"): Route("/pay/done", "all:302"),
    ("campaigns.index", "GET"): Route("/admin/campaigns/", FINANCE_STAFF),
    ("campaigns.new", "GET"): Route("/admin/campaigns/new", ADMIN_ONLY),
    ("campaigns.new", "POST"): Route(
        "/admin/campaigns/new",
        ADMIN_ACTION,
        {
            "name_zh": "测试立减",
            "name_en": "Test saver",
            "first_day": "{today}",
            "last_day": "{today}",
            "rule": "fixed_off",
            "amount_off": "1.00",
            "per_resident_uses": "1",
            "budget": "100",
        },
    ),
    ("campaigns.detail", "GET"): Route("/admin/campaigns/{campaign}", FINANCE_STAFF),
    ("reports.campaign_csv", "GET"): Route("/reports/campaigns/{campaign}.csv", FINANCE_STAFF),
    ("campaigns.approve", "POST"): Route("/admin/campaigns/{campaign}/approve", ADMIN_ACTION),
    ("campaigns.reject", "POST"): Route("/admin/campaigns/{campaign}/reject", ADMIN_ACTION),
    ("campaigns.end", "POST"): Route("/admin/campaigns/{campaign}/end", ADMIN_ACTION, {"confirmed": "yes"}),
    ("campaigns.return_budget", "POST"): Route("/admin/campaigns/{campaign}/return-budget", ADMIN_ACTION),
    ("audit.index", "GET"): Route("/admin/audit/", ADMIN_ONLY),
    ("audit.export", "GET"): Route("/admin/audit/export.csv", ADMIN_ONLY),
    # the wallet's JSON API: signatures, not sessions
    ("wallet_api.openapi_document", "GET"): Route("/wallet/api/v1/openapi.json", "all:200"),
    ("wallet_api.open_wallet", "POST"): Route("/wallet/api/v1/wallets", API),
    ("wallet_api.open_agency_account", "POST"): Route("/wallet/api/v1/agencies", API),
    ("wallet_api.balance", "GET"): Route("/wallet/api/v1/wallets/{owner}/balance", API),
    ("wallet_api.set_tier", "PUT"): Route("/wallet/api/v1/wallets/{owner}/tier", API),
    ("wallet_api.set_frozen", "PUT"): Route("/wallet/api/v1/wallets/{owner}/frozen", API),
    ("wallet_api.link_card", "POST"): Route("/wallet/api/v1/wallets/{owner}/cards", API),
    ("wallet_api.cards", "GET"): Route("/wallet/api/v1/wallets/{owner}/cards", API),
    ("wallet_api.top_up", "POST"): Route("/wallet/api/v1/wallets/{owner}/top-ups", API),
    ("wallet_api.withdraw", "POST"): Route("/wallet/api/v1/wallets/{owner}/withdrawals", API),
    ("wallet_api.pay", "POST"): Route("/wallet/api/v1/wallets/{owner}/payments", API),
    ("wallet_api.refund", "POST"): Route("/wallet/api/v1/payments/{transfer}/refunds", API),
    ("wallet_api.hold", "POST"): Route("/wallet/api/v1/wallets/{owner}/holds", API),
    ("wallet_api.capture", "POST"): Route("/wallet/api/v1/holds/{transfer}/capture", API),
    ("wallet_api.release", "POST"): Route("/wallet/api/v1/holds/{transfer}/release", API),
    ("wallet_api.statement", "GET"): Route("/wallet/api/v1/wallets/{owner}/statement", API),
    # monitoring only: the world sets METRICS_TOKEN and its clients come from 10.9.x.x, so no role (cookie
    # or not) gets more than the page of an unknown address (tests/ops/test_metrics.py scrapes it)
    ("metrics", "GET"): Route("/metrics", "all:404"),
}
