"""Resident wallet pages: home, link a card, top up, withdraw, statement with CSV download."""

from __future__ import annotations

import csv
import io
import uuid

from flask import Blueprint, Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from portal.authz import Role, role_required
from portal.clock import local_time
from portal.db import get_session
from portal.errors import PortalError
from portal.forms import attach_error
from portal.money import format_fen, plain_yuan
from portal.wallet import resident
from portal.wallet.factory import wallet_client
from portal.wallet.forms import LinkCardForm, MoneyMoveForm, StatementFilterForm
from portal.wallet.owners import wallet_number, wallet_owner

bp = Blueprint("wallet", __name__, url_prefix="/wallet")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@bp.get("/")
@role_required(Role.RESIDENT)
def home():
    wallet = wallet_client()
    balance = resident.ensure_wallet(wallet, current_user)
    owner = wallet_owner(current_user)
    return render_template(
        "wallet/home.html",
        balance=balance,
        cards=wallet.cards(owner).cards,
        recent=wallet.statement(owner, per_page=5).lines,
        kinds=resident.KIND_LABELS,
        wallet_number=wallet_number(current_user.id),
    )


@bp.route("/cards/new", methods=["GET", "POST"])
@role_required(Role.RESIDENT)
def link_card():
    form = LinkCardForm()
    if form.validate_on_submit():
        try:
            card = resident.link_card(wallet_client(), current_user, form.card_number.data)
        except PortalError as error:
            attach_error(form, error)
        else:
            flash(_("Card %(card)s is linked to your wallet.", card=card.masked_number), "success")
            return redirect(url_for("wallet.home"))
    return render_template("wallet/link_card.html", form=form)


@bp.route("/top-up", methods=["GET", "POST"])
@role_required(Role.RESIDENT)
def top_up():
    return _money_move("top_up")


@bp.route("/withdraw", methods=["GET", "POST"])
@role_required(Role.RESIDENT)
def withdraw():
    return _money_move("withdraw")


def _money_move(direction: str):
    """Top-up and withdrawal share one form; the idempotency key is minted when the form is shown,
    so a double click, a refresh or a resubmission moves money once and shows the same result."""
    wallet = wallet_client()
    balance = resident.ensure_wallet(wallet, current_user)
    cards = wallet.cards(wallet_owner(current_user)).cards
    if not cards:
        flash(_("Link a bank card first."), "info")
        return redirect(url_for("wallet.link_card"))
    form = MoneyMoveForm()
    form.card.choices = [
        SelectChoice(card.reference, f"{card.bank_name} {card.masked_number}") for card in cards
    ]
    if request.method == "GET":
        form.idempotency_key.data = uuid.uuid4().hex
    if form.validate_on_submit():
        operation = resident.top_up if direction == "top_up" else resident.withdraw
        try:
            result = operation(
                wallet,
                get_session(),
                current_user,
                form.amount.fen,
                form.card.data,
                form.idempotency_key.data,
            )
        except PortalError as error:
            attach_error(form, error)
        else:
            message = (
                _(
                    "Top-up of %(amount)s done. Reference %(reference)s.",
                    amount=format_fen(result.amount_fen),
                    reference=result.reference,
                )
                if direction == "top_up"
                else _(
                    "Withdrawal of %(amount)s to your card done. Reference %(reference)s.",
                    amount=format_fen(result.amount_fen),
                    reference=result.reference,
                )
            )
            flash(message, "success")
            return redirect(url_for("wallet.home"))
    return render_template("wallet/move.html", form=form, balance=balance, direction=direction)


@bp.get("/statement")
@role_required(Role.RESIDENT)
def statement():
    wallet = wallet_client()
    resident.ensure_wallet(wallet, current_user)
    form = StatementFilterForm(request.args)
    form.kind.choices = [SelectChoice("", _("All types"))] + [
        SelectChoice(kind, label) for kind, label in resident.KIND_LABELS.items()
    ]
    filters = {"kind": None, "date_from": None, "date_to": None}
    if form.validate():
        filters = {
            "kind": form.kind.data or None,
            "date_from": form.date_from.data,
            "date_to": form.date_to.data,
        }
    if request.args.get("format") == "csv" and not form.errors:
        return _statement_csv(wallet, filters)
    page = wallet.statement(wallet_owner(current_user), page=request.args.get("page", 1, type=int), **filters)
    return render_template(
        "wallet/statement.html", form=form, page=page, kinds=resident.KIND_LABELS, filters=filters
    )


def _statement_csv(wallet, filters):
    """UTF-8 with BOM (Excel opens Chinese correctly), streamed a page at a time."""
    header = [
        _("Time (Beijing)"),
        _("Type"),
        _("Amount (yuan)"),
        _("Balance after (yuan)"),
        _("Reference"),
        _("Description"),
    ]

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        yield "\ufeff" + buffer.getvalue()
        for line in resident.all_lines(wallet, current_user, **filters):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(
                [
                    local_time(line.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                    str(resident.KIND_LABELS.get(line.kind, line.kind)),
                    plain_yuan(line.amount_fen),
                    plain_yuan(line.balance_after_fen),
                    line.reference,
                    _neutralise(line.description),
                ]
            )
            yield buffer.getvalue()

    name = "wallet-statement-{}-{}.csv".format(filters["date_from"] or "start", filters["date_to"] or "today")
    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _neutralise(text: str) -> str:
    """A text cell that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
