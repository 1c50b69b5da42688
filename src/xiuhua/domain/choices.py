"""Enumerations of the domain, each value with its Chinese label (NetBox-style choices)."""

from __future__ import annotations

from enum import StrEnum


class LabelledEnum(StrEnum):
    """A string enum whose members carry a zh-CN label for display."""

    @property
    def label(self) -> str:
        return _LABELS.get(type(self).__name__, {}).get(self.value, self.value)

    @classmethod
    def values(cls) -> list[str]:
        return [m.value for m in cls]


class CaseStatus(LabelledEnum):
    REPORTED = "reported"
    FILED = "filed"
    DISPATCHED = "dispatched"
    SUSPENDED = "suspended"
    HANDLED = "handled"
    CHECKED = "checked"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        return self not in (CaseStatus.CLOSED, CaseStatus.CANCELLED)


class Action(LabelledEnum):
    REPORT = "report"
    AMEND = "amend"
    REQUEST_VERIFY = "request_verify"
    VERIFY = "verify"
    FILE = "file"
    CANCEL = "cancel"
    DISPATCH = "dispatch"
    RETURN = "return"
    REQUEST_EXTENSION = "request_extension"
    EXTEND = "extend"
    REJECT_EXTENSION = "reject_extension"
    REQUEST_SUSPENSION = "request_suspension"
    REJECT_SUSPENSION = "reject_suspension"
    SUSPEND = "suspend"
    RESUME = "resume"
    FEEDBACK = "feedback"
    CHECK_FAIL = "check_fail"
    CHECK_PASS = "check_pass"
    CLOSE = "close"
    SUPERVISE = "supervise"
    RATE = "rate"
    RECOMPUTE_DEADLINE = "recompute_deadline"  # the system, after the calendar changed


class Role(LabelledEnum):
    ADMIN = "admin"
    ACCEPTOR = "acceptor"
    SHIFT_LEADER = "shift_leader"
    DISPATCHER = "dispatcher"
    HANDLER = "handler"
    UNIT_LEADER = "unit_leader"
    INSPECTOR = "inspector"
    LEADER = "leader"
    OFFICE = "office"  # 城管委办公室: the action plan, supervision orders, projects, legacy issues
    EVALUATOR = "evaluator"  # 考评员: field evaluation rounds
    PUBLIC = "public"


class Source(LabelledEnum):
    INSPECTOR = "inspector"
    PUBLIC = "public"
    HOTLINE = "hotline"
    VIDEO = "video"
    LEADER = "leader"
    CENSUS = "census"
    EVALUATION = "evaluation"  # a deduction of a field evaluation round


class CancelReason(LabelledEnum):
    INVALID = "invalid"
    DUPLICATE = "duplicate"
    OUT_OF_SCOPE = "out_of_scope"


class Rating(LabelledEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


class TaskKind(LabelledEnum):
    VERIFY = "verify"
    CHECK = "check"


class AssignmentEnd(LabelledEnum):
    OPEN = "open"
    HANDLED = "handled"
    RETURNED = "returned"


class AssignmentKind(LabelledEnum):
    DISPATCH = "dispatch"
    REWORK = "rework"


class RegionLevel(LabelledEnum):
    CITY = "city"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"


class UnitKind(LabelledEnum):
    CENTER = "center"
    DEPARTMENT = "department"
    STREET_OFFICE = "street_office"
    COMMUNITY = "community"
    CONTRACTOR = "contractor"
    COMPANY = "company"


class AssessedKind(LabelledEnum):
    """The kind of an assessed (evaluated) unit, by which a score source may be weighted: the
    unit's kind, a street office split by its region into a street (街道) and a development
    zone (开发区)."""

    STREET = "street"
    ZONE = "zone"
    DEPARTMENT = "department"
    COMMUNITY = "community"
    CONTRACTOR = "contractor"
    COMPANY = "company"


class ComponentStatus(LabelledEnum):
    INTACT = "intact"
    DAMAGED = "damaged"
    LOST = "lost"
    ABANDONED = "abandoned"
    REMOVED = "removed"


class NoticeKind(LabelledEnum):
    WARNING = "warning"
    OVERDUE = "overdue"
    SUPERVISE = "supervise"
    LOGIN_ALERT = "login_alert"


class Audience(LabelledEnum):
    """Who a notification is for: a unit's staff, the center (its roles, leaders and admins),
    one user (by login) or everyone of a role (``notifications.recipient`` names which)."""

    UNIT = "unit"
    CENTER = "center"
    USER = "user"
    ROLE = "role"


_LABELS: dict[str, dict[str, str]] = {
    "YearSource": {"imported": "本市导入的放假安排", "package": "holidays 包（官方安排）",
                   "partial": "部分导入（其余为推定）", "estimate": "holidays 包推定"},
    "CaseStatus": {
        "reported": "已上报", "filed": "已立案", "dispatched": "处置中", "suspended": "挂账",
        "handled": "已反馈待核查", "checked": "核查通过待结案", "closed": "已结案",
        "cancelled": "已作废",
    },
    "Action": {
        "report": "上报", "amend": "修改", "request_verify": "派发核实", "verify": "核实",
        "file": "立案", "cancel": "作废",
        "dispatch": "派遣", "return": "回退", "request_extension": "申请延期",
        "extend": "批准延期", "reject_extension": "驳回延期",
        "request_suspension": "申请挂账", "reject_suspension": "驳回挂账", "suspend": "挂账",
        "resume": "恢复处置", "feedback": "处置反馈", "check_fail": "核查不通过（返工）",
        "check_pass": "核查通过", "close": "结案", "supervise": "督办", "rate": "评价",
        "recompute_deadline": "按工作日历调整时限",
    },
    "Role": {
        "admin": "系统管理员", "acceptor": "受理员", "shift_leader": "值班长",
        "dispatcher": "派遣员", "handler": "处置人员", "unit_leader": "单位负责人",
        "inspector": "监督员", "leader": "领导", "office": "城管委办公室", "evaluator": "考评员",
        "public": "公众",
    },
    "Source": {
        "inspector": "监督员上报", "public": "公众举报", "hotline": "热线", "video": "视频监控",
        "leader": "领导交办", "census": "普查", "evaluation": "考评检查",
    },
    "CancelReason": {"invalid": "无效", "duplicate": "重复", "out_of_scope": "不属于受理范围"},
    "Rating": {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"},
    "TaskKind": {"verify": "核实", "check": "核查"},
    "AssignmentEnd": {"open": "进行中", "handled": "已处置", "returned": "已回退"},
    "AssignmentKind": {"dispatch": "派遣", "rework": "返工"},
    "RegionLevel": {"city": "市", "district": "区（县）", "street": "街道", "community": "社区", "grid": "单元网格"},
    "UnitKind": {
        "center": "指挥中心", "department": "职能部门", "street_office": "街道办事处",
        "community": "社区居委会", "contractor": "作业单位", "company": "企业",
    },
    "AssessedKind": {
        "street": "街道", "zone": "开发区", "department": "职能部门", "community": "社区",
        "contractor": "作业单位", "company": "企业",
    },
    "ComponentStatus": {
        "intact": "完好", "damaged": "破损", "lost": "丢失", "abandoned": "废弃", "removed": "移除",
    },
    "NoticeKind": {"warning": "临期预警", "overdue": "超期", "supervise": "督办",
                   "login_alert": "登录告警"},
    "Audience": {"unit": "处置单位", "center": "指挥中心", "user": "本人", "role": "角色"},
    # enumerations of domain.calendar and domain.geo
    "LimitUnit": {"wh": "工作小时", "wd": "工作日", "h": "小时", "d": "天"},
    "CoordSys": {
        "wgs84": "WGS-84（GPS 原始坐标）", "gcj02": "GCJ-02（国测局坐标：高德、腾讯）",
        "bd09": "BD-09（百度坐标）",
    },
}
