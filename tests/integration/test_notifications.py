"""Notifications about any target: migration 0008 turns the case notifications of an existing
database into notifications about cases (for their unit or the center), and the sweeper keeps
raising each case notice once (both databases)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, select, text

from tests.factories import build_tiny_city, dispatched_case, local
from xiuhua.domain.access import Principal
from xiuhua.domain.choices import Audience, NoticeKind, Role
from xiuhua.services.notifications import Notice, list_notices, raise_once
from xiuhua.services.sweeper import sweep
from xiuhua.store.db import transaction
from xiuhua.store.migrate import alembic_config, upgrade
from xiuhua.store.tables import notifications

HANDLER_HW = Principal("handler_hw", Role.HANDLER, unit_code="U-HW")
SHIFT = Principal("shift01", Role.SHIFT_LEADER)


def downgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_case_notifications_stored_before_become_notifications_about_cases(
        engine: Engine) -> None:
    build_tiny_city(engine)
    case_no = dispatched_case(engine, "2026-10-16 09:00")
    downgrade(engine, "0007")
    at = local("2026-10-16 15:00")
    with engine.begin() as conn:
        for audience, unit, message in (("unit", "U-HW", "已超期"), ("center", "U-HW", "承办已超期")):
            conn.execute(text(
                "INSERT INTO notifications (at, kind, case_no, assignment_seq, unit_code, "
                "audience, message) VALUES (:at, 'overdue', :no, 1, :unit, :audience, :m)"),
                {"at": at, "no": case_no, "unit": unit, "audience": audience, "m": message})
    upgrade(engine)
    with transaction(engine) as session:
        rows = session.execute(select(
            notifications.c.target_kind, notifications.c.target_id,
            notifications.c.assignment_seq, notifications.c.audience,
            notifications.c.recipient, notifications.c.message)
            .order_by(notifications.c.id)).all()
        assert [tuple(r) for r in rows] == [
            ("case", case_no, 1, "unit", "U-HW", "已超期"),
            ("case", case_no, 1, "center", "", "承办已超期")]
        # the migrated rows are read as before, and still count as raised once
        assert [n.message for n in list_notices(session, HANDLER_HW).items] == ["已超期"]
        assert [n.message for n in list_notices(session, SHIFT).items] == ["承办已超期"]
        again = Notice.on_case(at, NoticeKind.OVERDUE, case_no, 1, "U-HW", Audience.UNIT, "x")
        assert raise_once(session, again) is False
    assert sweep(engine, at).total == 0  # the overdue notices exist: nothing new


def test_the_sweeper_still_notifies_the_unit_and_the_center_once(engine: Engine) -> None:
    build_tiny_city(engine)
    case_no = dispatched_case(engine, "2026-10-16 09:00")
    assert sweep(engine, local("2026-10-16 12:30")).counts == {"warning": 2}
    assert sweep(engine, local("2026-10-16 15:00")).counts == {"overdue": 2}
    assert sweep(engine, local("2026-10-16 15:05")).total == 0
    with transaction(engine) as session:
        [unit_notice, _] = list_notices(session, HANDLER_HW).items
        assert (unit_notice.target_kind, unit_notice.target_id) == ("case", case_no)
        assert unit_notice.kind == "overdue" and unit_notice.recipient == "U-HW"
        assert [n.kind for n in list_notices(session, SHIFT).items] == ["overdue", "warning"]
