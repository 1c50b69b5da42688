"""The form of each lifecycle action on the case page: which fields it asks for, their Chinese
labels, choices and current values (or the values of a refused attempt, with its reason)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from xiuhua.domain.choices import Action, CancelReason, Rating, Role, UnitKind
from xiuhua.domain.city import City
from xiuhua.domain.lifecycle import Case, return_window_closes
from xiuhua.domain.taxonomy import URGENCY_LABELS, ClassKind
from xiuhua.http.presenters import suggestion_message
from xiuhua.http.schemas import UnitRef
from xiuhua.services import city as city_service
from xiuhua.services.cases import component_owner
from xiuhua.web.pages import limit_label, local_time
from xiuhua.web.views import unit_name

FIELD_LABELS = {
    "version": "版本", "note": "备注", "unit": "处置单位", "limit": "时限", "reason": "原因",
    "duplicate_of": "重复的原案件号", "value": "评价", "inspector": "核查监督员",
    "category_code": "类别", "urgency": "紧急程度", "component_code": "部件编码",
    "address": "地址", "description": "描述", "location": "位置",
}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text / textarea / select
    required: bool = False
    hint: str = ""


NOTE = Field("note", "备注", "textarea")
LIMIT_HINT = "如 4wh（工作小时）、2wd（工作日）、24h、3d"

ACTION_FORMS: dict[Action, tuple[Field, ...]] = {
    Action.AMEND: (Field("category_code", "类别", "select"), Field("urgency", "紧急程度", "select"),
                   Field("address", "地址"), Field("description", "描述", "textarea"), NOTE),
    Action.REQUEST_VERIFY: (Field("inspector", "核实监督员", "select",
                                  hint="留空则派给该网格的责任监督员"), NOTE),
    Action.VERIFY: (Field("note", "核实情况", "textarea"),),
    Action.FILE: (NOTE,),
    Action.CANCEL: (Field("reason", "作废原因", "select", required=True),
                    Field("duplicate_of", "重复的原案件号", hint="作废原因为“重复”时填写"), NOTE),
    Action.DISPATCH: (Field("unit", "处置单位", "select", required=True),
                      Field("limit", "时限", hint="留空按事项规定时限；" + LIMIT_HINT), NOTE),
    Action.RETURN: (Field("reason", "回退原因", "textarea", required=True),),
    Action.REQUEST_EXTENSION: (Field("limit", "延长时限", required=True, hint=LIMIT_HINT),
                               Field("reason", "申请理由", "textarea")),
    Action.EXTEND: (Field("limit", "批准延长时限", hint="留空按申请的时限"), NOTE),
    Action.REJECT_EXTENSION: (Field("reason", "驳回理由", "textarea"),),
    Action.REQUEST_SUSPENSION: (Field("reason", "申请挂账理由", "textarea", required=True),),
    Action.REJECT_SUSPENSION: (Field("reason", "驳回理由", "textarea"),),
    Action.SUSPEND: (Field("reason", "挂账原因", "textarea", required=True),),
    Action.RESUME: (NOTE,),
    Action.FEEDBACK: (Field("note", "处置情况", "textarea"),),
    Action.CHECK_FAIL: (Field("note", "不通过原因", "textarea"),),
    Action.CHECK_PASS: (Field("note", "核查情况", "textarea"),),
    Action.CLOSE: (NOTE,),
    Action.SUPERVISE: (Field("note", "督办意见", "textarea"),),
    Action.RATE: (Field("value", "评价", "select", required=True),),
}
DANGER = frozenset({Action.CANCEL, Action.RETURN, Action.CHECK_FAIL, Action.REJECT_EXTENSION,
                    Action.REJECT_SUSPENSION})


@dataclass
class FormView:
    action: Action
    fields: list[tuple[Field, str, list[tuple[str, str]]]]  # field, value, choices
    version: int
    danger: bool
    error: str = ""
    open: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _categories(city: City) -> list[tuple[str, str]]:
    return sorted((c.code, f"{c.code} {c.major_name} · {c.name}")
                  for (kind, _), c in city.taxonomy.classes.items()
                  if kind is ClassKind.MATTER and c.active)


def _units(city: City) -> list[tuple[str, str]]:
    return [(u.code, u.name) for u in city.units.values()
            if u.active and u.kind != UnitKind.CENTER.value]


def _choices(session: Session, city: City, name: str) -> list[tuple[str, str]]:
    if name == "category_code":
        return _categories(city)
    if name == "urgency":
        return list(URGENCY_LABELS.items())
    if name == "unit":
        return _units(city)
    if name == "reason":
        return [(r.value, r.label) for r in CancelReason]
    if name == "value":
        return [(r.value, r.label) for r in Rating]
    if name == "inspector":
        return list(city_service.active_users(session, Role.INSPECTOR).items())
    return []


def suggestion(session: Session, city: City, case: Case) -> tuple[str, str]:
    """The unit the responsibility matrix names (if exactly one) and why."""
    if case.location is None:
        return "", "案件尚未定位到单元网格，无法确定责任单位"
    answer = city.responsible(case.category_code, case.location.grid_code,
                              component_owner(session, case.component_code))
    refs = [UnitRef(code=u, name=unit_name(city, u)) for u in answer.units]
    return answer.unit or "", suggestion_message(answer, refs)[1]


def _defaults(session: Session, city: City, case: Case, action: Action) -> dict[str, str]:
    if action is Action.AMEND:
        return {"category_code": case.category_code, "urgency": case.urgency,
                "address": case.address or "", "description": case.description or ""}
    return {}


def action_form(session: Session, city: City, case: Case, action: Action,
                failed: Mapping[str, Any] | None) -> FormView:
    """The form of ``action``; after a refused attempt at it, its values and the reason."""
    refused = failed is not None and failed.get("action") == action.value
    values = dict(failed.get("values", {})) if refused and failed else \
        _defaults(session, city, case, action)
    fields = [(f, str(values.get(f.name, "")), _choices(session, city, f.name))
              for f in ACTION_FORMS[action]]
    view = FormView(action, fields, case.version, action in DANGER,
                    error=str(failed.get("text", "")) if refused and failed else "", open=refused)
    if action is Action.DISPATCH:
        unit, view.extra["suggestion"] = suggestion(session, city, case)
        if not refused:
            view.fields[0] = (view.fields[0][0], unit, view.fields[0][2])
    assignment = case.open_assignment
    if action is Action.RETURN and assignment is not None:
        closes = return_window_closes(assignment, city.rules)
        view.extra["suggestion"] = (f"回退须在 {local_time(closes, '%m-%d %H:%M')} 前"
                                    f"（派遣后 {limit_label(city.rules.config.return_window)}）")
    if action in (Action.REQUEST_EXTENSION, Action.REQUEST_SUSPENSION) and assignment:
        view.extra["suggestion"] = (f"须在处置时限 {local_time(assignment.deadline, '%m-%d %H:%M')}"
                                    " 前提出")
    return view
