"""Reports of the assessment: the Excel workbook (考核报表, :mod:`~xiuhua.reports.excel`) and the
Word monthly circular (月度通报, :mod:`~xiuhua.reports.circular`) of a period, written from the same
figures as the JSON. The CLI (``xiuhua assess --format xlsx|docx``) and the API downloads both
gather a :class:`~xiuhua.domain.reports.ReportInput` with
:func:`~xiuhua.services.assessment.report_input` and write it with :func:`render_report`: the
writers depend on the domain only and read no database.

The circular is rendered from ``templates/circular.docx`` (rebuilt by
``python -m xiuhua.reports.make_template``), or from ``circular.docx`` in the data directory when
an office has put its own edited copy there.
"""

from __future__ import annotations

from pathlib import Path

from xiuhua.domain.reports import ReportInput
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


def render_report(found: ReportInput, data_dir: Path | None = None) -> bytes:
    """The bytes of the workbook (``xlsx``) or the circular (``docx``) ``found`` was gathered for."""
    if found.fmt == "xlsx":
        return workbook(found)
    return circular(found, office_template(data_dir))
