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


class DeductionRule(LabelledEnum):
    """How a standard's item costs points (domain.evaluation)."""

    PER_OCCURRENCE = "per_occurrence"
    PASS_FAIL = "pass_fail"


class RoundState(LabelledEnum):
    """An inspection round (考评检查): open while evaluators record, closed (cases raised,
    results visible to the center), published (frozen, counted in the assessment)."""

    OPEN = "open"
    CLOSED = "closed"
    PUBLISHED = "published"


class NoticeKind(LabelledEnum):
    WARNING = "warning"
    OVERDUE = "overdue"
    SUPERVISE = "supervise"
    LOGIN_ALERT = "login_alert"
    PROJECT_RED = "project_red"  # a key project turned red (开工滞后三个月或严重滞后)
    LEGACY_OVERDUE = "legacy_overdue"  # a legacy issue past its target date, target not reached


class Audience(LabelledEnum):
    """Who a notification is for: a unit's staff, the center (its roles, leaders and admins),
    one user (by login) or everyone of a role (``notifications.recipient`` names which)."""

    UNIT = "unit"
    CENTER = "center"
    USER = "user"
    ROLE = "role"


class ProjectKind(LabelledEnum):
    """The kind of a key project (重点项目)."""

    ROAD = "road"
    GREENING = "greening"
    SANITATION = "sanitation"
    OLD_COMMUNITY = "old_community"
    RURAL_TOILET = "rural_toilet"
    OTHER = "other"


class ProjectPhase(LabelledEnum):
    """A key project's phase, in order."""

    PREPARATION = "preparation"
    TENDERING = "tendering"
    CONSTRUCTION = "construction"
    COMPLETED = "completed"
    ACCEPTED = "accepted"


class ProjectColour(LabelledEnum):
    """A key project's warning colour (``domain.projects.colour``)."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class ReviewState(LabelledEnum):
    """A progress report awaiting the office, accepted or returned (only accepted ones count)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    RETURNED = "returned"


class LegacyCategory(LabelledEnum):
    """The kind of a legacy issue (遗留问题)."""

    CERTIFICATE = "certificate"
    DELIVERY = "delivery"
    AGREEMENT = "agreement"
    IDLE_LAND = "idle_land"
    OTHER = "other"


class LegacyStatus(LabelledEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    CLEAR_PROGRESS = "clear_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class LegacyTarget(LabelledEnum):
    RESOLVED = "resolved"
    CLEAR_PROGRESS = "clear_progress"


class QuestionKind(LabelledEnum):
    """A survey question: one choice of options (best first), a 1–5 scale, or free text."""

    CHOICE = "choice"
    SCALE = "scale"
    TEXT = "text"


class AnswerChannel(LabelledEnum):
    """How a survey answer came in: the public page, or an evaluator's street interview."""

    PUBLIC = "public"
    INTERVIEW = "interview"


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
                   "login_alert": "登录告警", "project_red": "项目红灯",
                   "legacy_overdue": "化解逾期"},
    "ProjectKind": {"road": "市政道路", "greening": "园林绿化", "sanitation": "环卫提升",
                    "old_community": "老旧小区改造", "rural_toilet": "农厕改造", "other": "其他"},
    "ProjectPhase": {"preparation": "前期准备", "tendering": "招标", "construction": "施工",
                     "completed": "完工", "accepted": "竣工验收"},
    "ProjectColour": {"green": "正常", "yellow": "黄灯", "red": "红灯"},
    "ReviewState": {"pending": "待审核", "accepted": "已采纳", "returned": "已退回"},
    "LegacyCategory": {"certificate": "办证", "delivery": "延期交房", "agreement": "协议事项落实",
                       "idle_land": "闲置用地盘活", "other": "其他"},
    "LegacyStatus": {"not_started": "未启动", "in_progress": "推进中", "clear_progress": "取得明显进展",
                     "resolved": "已化解", "closed": "已销号"},
    "LegacyTarget": {"resolved": "化解", "clear_progress": "取得明显进展"},
    "QuestionKind": {"choice": "单选", "scale": "1–5 分", "text": "文字"},
    "AnswerChannel": {"public": "市民在线填写", "interview": "考评员街头访问"},
    "DeductionRule": {"per_occurrence": "按处扣分", "pass_fail": "不合格扣全分"},
    "RoundState": {"open": "进行中", "closed": "已结束", "published": "已发布"},
    "Audience": {"unit": "处置单位", "center": "指挥中心", "user": "本人", "role": "角色"},
    # enumerations of domain.plans and domain.supervision
    "TaskStatus": {"not_started": "未开始", "on_track": "正常推进", "lagging": "滞后",
                   "seriously_lagging": "严重滞后", "completed": "已完成", "closed": "已销号",
                   "paused": "已暂停"},
    "ReportState": {"sent": "待审核", "accepted": "已采纳", "returned": "已退回"},
    "OrderLevel": {"blue": "蓝色", "yellow": "黄色", "red": "红色"},
    "OrderState": {"issued": "待回复", "replied": "已回复待审核", "returned": "回复已退回",
                   "accepted": "回复已采纳", "signed_off": "已销号"},
    "OrderOrigin": {"task": "专项任务", "case": "案件", "project": "重点项目",
                    "legacy": "遗留问题", "free": "专项督办"},
    "OrderAction": {"reply": "回复", "accept": "采纳", "return": "退回", "signoff": "销号",
                    "raise": "提级"},
    # enumerations of domain.calendar and domain.geo
    "LimitUnit": {"wh": "工作小时", "wd": "工作日", "h": "小时", "d": "天"},
    "CoordSys": {
        "wgs84": "WGS-84（GPS 原始坐标）", "gcj02": "GCJ-02（国测局坐标：高德、腾讯）",
        "bd09": "BD-09（百度坐标）",
    },
}
