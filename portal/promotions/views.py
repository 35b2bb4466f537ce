"""Campaign pages: admins propose and (a second admin) approve, reject or end; finance reads reports."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from portal.agencies import services as agency_services
from portal.agencies.models import AgencyCategory
from portal.authz import Role, role_required
from portal.clock import local_time
from portal.db import get_session, utcnow
from portal.errors import NotFound, PortalError
from portal.forms import ConfirmForm, attach_error, confirmation_page, confirmed
from portal.i18n import current_locale
from portal.promotions import campaigns
from portal.promotions.forms import RULE_LABELS, CampaignForm
from portal.promotions.models import CampaignRule
from portal.promotions.wording import covers_text, offer_facts, offer_text
from portal.wallet.factory import wallet_service
from portal.web import not_found

bp = Blueprint("campaigns", __name__, url_prefix="/admin/campaigns")


@bp.record_once
def _template_helpers(state) -> None:
    state.app.jinja_env.globals.update(
        campaign_rule_label=lambda rule: str(RULE_LABELS[CampaignRule(rule)]),
        campaign_offer_text=offer_text,
        campaign_covers_text=covers_text,
        utcnow=utcnow,
    )
    state.app.jinja_env.filters.update(
        beijing_date=lambda moment: local_time(moment).date().isoformat(),
        # ends_at is the first moment after the last day
        beijing_last_day=lambda moment: local_time(moment - timedelta(microseconds=1)).date().isoformat(),
    )


@bp.get("/")
@role_required(Role.ADMIN, Role.FINANCE)
def index():
    return render_template("promotions/index.html", campaigns=campaigns.all_campaigns(get_session()))


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def new():
    session = get_session()
    form = CampaignForm()
    form.agencies.choices = [
        SelectChoice(a.code, a.name_for(current_locale())) for a in agency_services.all_agencies(session)
    ]
    form.categories.choices = [SelectChoice(c.value, c.label) for c in AgencyCategory]
    if form.validate_on_submit():
        try:
            proposed = campaigns.propose(session, current_user, _draft(form))
        except PortalError as error:
            attach_error(form, error)
        else:
            flash(_("Campaign proposed. A second admin must approve it before it starts."), "success")
            return redirect(url_for("campaigns.detail", campaign_id=proposed.id))
    return render_template("promotions/new.html", form=form)


def _draft(form: CampaignForm) -> campaigns.CampaignDraft:
    return campaigns.CampaignDraft(
        name_zh=form.name_zh.data,
        name_en=form.name_en.data,
        first_day=form.first_day.data,
        last_day=form.last_day.data,
        agency_codes=tuple(form.agencies.data or ()),
        categories=tuple(form.categories.data or ()),
        rule=CampaignRule(form.rule.data),
        amount_off_fen=form.amount_off.fen or 0,
        percent_bp=form.percent.basis_points,
        cap_fen=form.cap.fen or 0,
        threshold_fen=form.threshold.fen or 0,
        per_resident_uses=form.per_resident_uses.data,
        budget_fen=form.budget.fen or 0,
    )


@bp.get("/<int:campaign_id>")
@role_required(Role.ADMIN, Role.FINANCE)
def detail(campaign_id: int):
    session = get_session()
    found = _campaign_or_404(campaign_id)
    return render_template(
        "promotions/detail.html",
        campaign=found,
        offer=offer_facts(session, found),
        confirm_form=ConfirmForm(),
    )


@bp.post("/<int:campaign_id>/approve")
@role_required(Role.ADMIN)
def approve(campaign_id: int):
    return _decide(
        campaign_id,
        lambda session: campaigns.approve(session, wallet_service(session), current_user, campaign_id),
        _("Approved: the budget is funded and the campaign runs in its period."),
    )


@bp.post("/<int:campaign_id>/reject")
@role_required(Role.ADMIN)
def reject(campaign_id: int):
    return _decide(
        campaign_id,
        lambda session: campaigns.reject(session, current_user, campaign_id),
        _("Rejected: the campaign will not run."),
    )


@bp.post("/<int:campaign_id>/end")
@role_required(Role.ADMIN)
def end(campaign_id: int):
    if ConfirmForm().validate_on_submit() and not confirmed(request.form):
        found = _campaign_or_404(campaign_id)
        return confirmation_page(
            _("End “%(name)s” now?", name=found.name_for(current_locale())),
            _(
                "Residents get no more discounts from it from this moment, and it cannot start again. "
                "Discounts already given stay."
            ),
            _("Yes, end the campaign now"),
            url_for("campaigns.detail", campaign_id=campaign_id),
        )
    return _decide(
        campaign_id,
        lambda session: campaigns.end(session, current_user, campaign_id),
        _("Ended: the campaign gives no more discounts."),
    )


@bp.post("/<int:campaign_id>/return-budget")
@role_required(Role.ADMIN)
def return_budget(campaign_id: int):
    return _decide(
        campaign_id,
        lambda session: campaigns.return_rest(session, wallet_service(session), current_user, campaign_id),
        _("What was left of the budget went back to the promotion fund."),
    )


def _decide(campaign_id: int, work, done: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    _campaign_or_404(campaign_id)
    try:
        work(get_session())
    except PortalError as error:
        flash(error.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign_id))


def _campaign_or_404(campaign_id: int):
    try:
        return campaigns.campaign(get_session(), campaign_id)
    except NotFound:
        not_found("campaign", campaign_id)
