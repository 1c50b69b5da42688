"""Reports of the assessment: the Excel workbook (考核报表, :mod:`~xiuhua.reports.excel`) and the
Word monthly circular (月度通报, :mod:`~xiuhua.reports.circular`) of a period, written from the same
figures as the JSON. The CLI (``xiuhua assess --format xlsx|docx``) and the API downloads both
call :func:`render_report`.

The circular is rendered from ``templates/circular.docx`` (rebuilt by
``python -m xiuhua.reports.make_template``), or from ``circular.docx`` in the data directory when
an office has put its own edited copy there.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from xiuhua.domain.access import Principal
from xiuhua.domain.assessment import AssessmentConfig, Period
from xiuhua.domain.city import City
from xiuhua.domain.errors import InvalidInput
from xiuhua.reports.circular import TEMPLATE_FILE, circular
from xiuhua.reports.excel import workbook

MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def report_filename(label: str, fmt: str) -> str:
    return f"assessment-{label}.{fmt}"


def office_template(data_dir: Path | None) -> Path | None:
    """The office's own circular template in the data directory, if there is one."""
    path = data_dir / TEMPLATE_FILE if data_dir is not None else None
    return path if path is not None and path.is_file() else None


def render_report(session: Session, city: City, period_text: str, fmt: str, config: AssessmentConfig,
                  at: datetime, data_dir: Path | None = None, viewer: Principal | None = None) -> tuple[str, bytes]:
    """(the period's label, the file's bytes) of the workbook (``xlsx``) or the circular (``docx``),
    with the people's figures ``viewer`` may see (:func:`~xiuhua.domain.assessment.scoped_figures`;
    None: all, for the CLI)."""
    label = Period.parse(period_text).label
    if fmt == "xlsx":
        return label, workbook(session, city, label, config, at, viewer)
    if fmt == "docx":
        return label, circular(session, city, label, config, at, office_template(data_dir), viewer)
    raise InvalidInput(f"未知的报表格式“{fmt}”，可选：{'、'.join(MEDIA_TYPES)}", code="invalid_format")
