"""The banner announcing next year's holiday notice is not imported yet (the command center's
home and the administrator's; the calendar page shows it to the administrator too)."""

from __future__ import annotations

from datetime import datetime

from xiuhua.domain.access import CENTER_ROLES, Principal
from xiuhua.domain.choices import Role
from xiuhua.domain.city import City
from xiuhua.services.calendars import provisional_next_year

BANNER_ROLES = CENTER_ROLES | {Role.ADMIN}


def calendar_banner(city: City, user: Principal, now: datetime) -> int | None:
    """Next year, from 1 November while its notice is not imported, for the roles who set
    deadlines (or import the notice); ``None`` otherwise. Rendered by calendar/_banner.html."""
    if user.role not in BANNER_ROLES:
        return None
    return provisional_next_year(city.calendar(), now)
