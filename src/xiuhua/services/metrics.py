"""What the server counts for Prometheus beyond HTTP (``http/metrics.py`` serves them): the
sweeper's turns and notices, and the cases by status (read from the database at each scrape,
so every process answers the same)."""

from __future__ import annotations

from prometheus_client import Counter
from sqlalchemy.orm import Session

from xiuhua.domain.choices import CaseStatus
from xiuhua.store.metrics import cases_by_status

SWEEPS = Counter("xiuhua_sweeper_runs", "Turns of the deadline sweeper in this process, by outcome "
                 "(swept: held the lease and swept; standby: another process holds it; failed)",
                 ["outcome"])
NOTICES = Counter("xiuhua_sweeper_notices", "Notifications the sweeper raised, by kind", ["kind"])


def case_counts(session: Session) -> dict[str, int]:
    """Every case status (zero included) -> number of cases."""
    found = cases_by_status(session)
    return {status.value: found.get(status.value, 0) for status in CaseStatus}
