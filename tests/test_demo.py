from sqlalchemy import func, select

from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.authz import Role


def test_demo_seed_is_idempotent_and_prints_logins(runner, db):
    first = runner.invoke(args=["demo", "seed"])
    second = runner.invoke(args=["demo", "seed"])

    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "13800138000" in first.output and "admin@demo.gov.cn" in first.output
    assert db.scalar(select(func.count()).select_from(Agency)) == 5
    roles = db.scalars(select(User.role)).all()
    assert sorted(role.value for role in roles) == sorted(role.value for role in Role)
    clerk = db.scalar(select(User).where(User.role == Role.CLERK))
    assert clerk.agency.code == "water"
