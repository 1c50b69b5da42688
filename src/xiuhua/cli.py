"""The ``xiuhua`` command line. Each command calls one service; domain errors are printed in
Chinese and exit non-zero."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import Engine

from xiuhua.config import get_settings
from xiuhua.domain.calendar import local_zone
from xiuhua.domain.choices import Action, Role
from xiuhua.domain.errors import DomainError, InvalidInput
from xiuhua.store.db import make_engine

app = typer.Typer(help="绣花 Xiuhua —— 城市精细化管理（数字化城管）平台", no_args_is_help=True,
                  pretty_exceptions_enable=False)
import_app = typer.Typer(help="导入数据（区域、部件、案件）", no_args_is_help=True)
export_app = typer.Typer(help="导出数据", no_args_is_help=True)
check_app = typer.Typer(help="检查（责任覆盖等）", no_args_is_help=True)
make_app = typer.Typer(help="生成数据（单元网格等）", no_args_is_help=True)
calendar_app = typer.Typer(help="工作日历（节假日与调休）", no_args_is_help=True)
user_app = typer.Typer(help="用户账号（角色、单位、网格、密码、访问令牌）", no_args_is_help=True)
apikey_app = typer.Typer(help="Open311 客户端 API 密钥", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(check_app, name="check")
app.add_typer(make_app, name="make")
app.add_typer(calendar_app, name="calendar")
app.add_typer(user_app, name="user")
app.add_typer(apikey_app, name="apikey")

T = TypeVar("T")


def engine() -> Engine:
    from xiuhua.services.city import init_database

    settings = get_settings()
    eng = make_engine(settings.effective_database_url, echo=settings.sql_echo)
    init_database(eng)
    return eng


def err(message: str) -> None:
    typer.echo(message, err=True)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Print a domain error (in Chinese, with its code) and exit 1 instead of a traceback."""
    try:
        yield
    except DomainError as exc:
        err(f"错误 [{exc.code}]：{exc}")
        raise typer.Exit(1) from None


def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with domain_errors():
        return fn(*args, **kwargs)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"日期“{text}”无效，应为 YYYY-MM-DD") from None


@app.command()
def init() -> None:
    """创建或升级数据库，并写入默认分类和工作日历。"""
    engine()
    typer.echo(f"数据库已就绪：{get_settings().effective_database_url}")


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="随机种子")] = 1,
    months: Annotated[int, typer.Option(help="历史月数")] = 6,
    end: Annotated[str | None, typer.Option(help="历史截止日期 YYYY-MM-DD（默认今天）")] = None,
    no_history: Annotated[bool, typer.Option("--no-history", help="只建城市，不生成历史案件")] = False,
    reset: Annotated[bool, typer.Option(help="先清空现有数据库")] = True,
    districts: Annotated[int, typer.Option(help="建成地级市：区（县）数（最后一个为开发区，各有区级指挥中心）；0 为县级市")] = 0,
) -> None:
    """生成示范城市“X市”：区域、网格、单位、部件、责任矩阵、监督员与历史案件。"""
    from xiuhua.services.demo import build_demo_city

    end_day = parse_day(end) if end else datetime.now(local_zone()).date()
    summary = run(build_demo_city, get_settings(), seed=seed, months=months, end=end_day,
                  history=not no_history, reset=reset, progress=sys.stderr.isatty(),
                  districts=districts)
    typer.echo(str(summary))
    _warn_open_deadlines()


@import_app.command("regions")
def import_regions(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="GeoJSON / Shapefile / GeoPackage")],
    src_crs: Annotated[str | None, typer.Option(
        "--src-crs", help="源坐标系（文件无 .prj 或 .prj 有误时）：EPSG 代码，如 EPSG:4549（CGCS2000 3 度带"
        "高斯-克吕格，中央经线 120°E，坐标不带带号；带带号的第 40 带为 EPSG:4528），或 gcj02（高德/腾讯）、bd09（百度）"
    )] = None,
    encoding: Annotated[str | None, typer.Option(help="属性编码，如 GBK")] = None,
    code_field: Annotated[str | None, typer.Option(
        "--code-field", help="编码字段（默认依次识别 code/编码/XZQDM/gb/adcode 等；可带国家代码前缀 156）")] = None,
    name_field: Annotated[str | None, typer.Option(
        "--name-field", help="名称字段（默认依次识别 name/名称/XZQMC 等）")] = None,
    level_field: Annotated[str | None, typer.Option(
        "--level-field", help="层级字段（值如 city/district/street/community/grid；默认识别 level/层级/级别）")] = None,
    repair: Annotated[bool, typer.Option(
        "--repair", help="修复无效（自相交等）的面（make_valid，只保留面），逐个报告")] = False,
    merge_parts: Annotated[bool, typer.Option(
        "--merge-parts", help="把编码相同的多个要素合并为一个区域")] = False,
) -> None:
    """导入区域（市、街道/开发区、社区、单元网格）。

    例：xiuhua import regions 社区.shp --encoding GBK --src-crs EPSG:4549 --code-field XZQDM --repair
    """
    from xiuhua.services.regions import RegionFileOptions, import_regions

    options = RegionFileOptions(src_crs, encoding, code_field, name_field, level_field, repair, merge_parts)
    result = run(import_regions, engine(), file, options)
    for note in result.notes:
        typer.echo(note)
    typer.echo(f"已导入 {result.count} 个区域")


@import_app.command("components")
def import_components(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    src_crs: Annotated[str | None, typer.Option("--src-crs")] = None,
    encoding: Annotated[str | None, typer.Option()] = None,
) -> None:
    """导入部件普查数据。"""
    from xiuhua.services.components import import_components_file

    count = run(import_components_file, engine(), file, src_crs=src_crs, encoding=encoding)
    typer.echo(f"已导入 {count} 个部件")


@import_app.command("units")
def import_units(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV：code,name[,kind,parent_code,region_code,active]")],
    encoding: Annotated[str | None, typer.Option(help="文件编码，如 GBK")] = None,
) -> None:
    """导入单位（职能部门、街道办、社区、作业单位）。"""
    from xiuhua.services.units import import_units_file

    count = run(import_units_file, engine(), file, encoding=encoding)
    typer.echo(f"已导入 {count} 个单位")


@import_app.command("rules")
def import_rules(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV：scope,category,region_code,unit_code")],
    replace: Annotated[bool, typer.Option("--replace", help="先清空现有责任规则")] = False,
    encoding: Annotated[str | None, typer.Option(help="文件编码，如 GBK")] = None,
) -> None:
    """导入责任规则（权属 → 专业归口 → 属地兜底）。"""
    from xiuhua.services.units import import_rules_file

    count = run(import_rules_file, engine(), file, replace=replace, encoding=encoding)
    typer.echo(f"已导入 {count} 条责任规则")


@import_app.command("categories")
def import_categories(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="与 data/categories.csv 同列的分类文件")],
    encoding: Annotated[str | None, typer.Option(help="文件编码，如 GBK")] = None,
) -> None:
    """导入或更新部件、事项分类及其处置时限（停用请将 active 设为 0）。"""
    from xiuhua.services.city import import_taxonomy_file

    count = run(import_taxonomy_file, engine(), file, encoding=encoding)
    typer.echo(f"已导入 {count} 个分类")


@import_app.command("cases")
def import_cases(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON Lines，每行一个案件")],
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="跳过有误的案件并写出报告")] = False,
    report: Annotated[Path | None, typer.Option(help="--skip-invalid 的报告文件（默认 FILE.errors.txt）")] = None,
) -> None:
    """导入历史案件（逐条按同一状态机重放）；已发布考核周期的数据因此变化的，作为更正计入下一个未发布的月份。"""
    from xiuhua.services.interchange import import_cases_file

    result = run(import_cases_file, engine(), file, skip_invalid=skip_invalid, report_path=report,
                 actor=cli_actor())
    typer.echo(str(result))
    _warn_open_deadlines()


def _warn_open_deadlines() -> None:
    """The one-line hint when the deadlines just computed count a provisional year."""
    from xiuhua.services.calendars import provisional_open_deadlines

    warn_provisional(run(provisional_open_deadlines, engine()))


@export_app.command("cases")
def export_cases(
    date_from: Annotated[str | None, typer.Option("--from", help="上报日期起（含）YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="上报日期止（含）YYYY-MM-DD")] = None,
) -> None:
    """导出案件为 JSON Lines（写到标准输出）。"""
    from xiuhua.services.interchange import export_cases as export

    start = parse_day(date_from) if date_from else None
    stop = parse_day(date_to) if date_to else None
    count = run(export, engine(), sys.stdout, date_from=start, date_to=stop)
    err(f"已导出 {count} 个案件")


@check_app.command("coverage")
def check_coverage(
    details: Annotated[bool, typer.Option("--details", help="逐条列出每个问题（默认只打印汇总）")] = False,
) -> None:
    """检查责任覆盖：每个事项在每个网格都有且只有一个责任单位，网格无缝隙、无重叠。"""
    from xiuhua.services.coverage import check_coverage as check

    report = run(check, engine())
    for line in (report.iter_lines() if details else report.summary_report()):
        typer.echo(line)
    if not report.ok:
        raise typer.Exit(1)


@make_app.command("grids")
def make_grids(
    size: Annotated[float, typer.Option("--size", help="网格边长（米），如 100")],
    community: Annotated[str | None, typer.Option("--community", help="只划分这个社区（编码）")] = None,
) -> None:
    """把尚无单元网格的社区划分为方形网格（按行编号 …001、…002；不足 20% 的边角并入相邻网格）。"""
    from xiuhua.services.grids import make_grids as make

    made = run(make, engine(), size, community)
    for item in made:
        typer.echo(f"社区 {item.community_code} {item.community_name}：{item.count} 个网格")
    if not made:
        typer.echo("没有需要划分网格的社区（所有社区都已有单元网格）")
    else:
        typer.echo(f"已生成 {sum(m.count for m in made)} 个单元网格（{len(made)} 个社区）")


@calendar_app.command("set")
def calendar_set(
    day: Annotated[str, typer.Argument(help="日期 YYYY-MM-DD")],
    kind: Annotated[str, typer.Argument(help="workday（上班）或 holiday（休息）")],
) -> None:
    """把某一天设为工作日或休息日（覆盖法定节假日数据）。"""
    from xiuhua.services.calendars import set_day

    if kind not in ("workday", "holiday"):
        raise typer.BadParameter("类型须为 workday 或 holiday")
    run(set_day, engine(), parse_day(day), kind == "workday")
    typer.echo(f"{day} 已设为{'工作日' if kind == 'workday' else '休息日'}")


@calendar_app.command("import")
def calendar_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV：date,type[,name]，可写 YYYY-MM-DD..YYYY-MM-DD")],
    year: Annotated[int | None, typer.Option(help="通知所属年份（默认：文件中日期最多的年份）")] = None,
    partial: Annotated[bool, typer.Option("--partial", help="只导入部分日期：缺少法定节假日也导入，该年仍为暂定")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只显示会改变什么，不导入")] = False,
) -> None:
    """导入某年国务院办公厅公布的放假和调休安排（该年即以文件为准），并列出变化。"""
    from xiuhua.services.calendars import import_schedule

    result = run(import_schedule, engine(), file, year=year, partial=partial, actor=cli_actor(),
                 dry_run=dry_run)
    status = "正式" if result.official else "暂定（部分导入，文件中的日期作为调整）"
    verb = "将导入" if dry_run else "已导入"
    typer.echo(f"{verb} {result.year} 年放假安排：{result.days} 天，该年为{status}")
    if result.other_year_days:
        typer.echo(f"其他年份的 {len(result.other_year_days)} 天作为调整："
                   f"{'、'.join(d.isoformat() for d in result.other_year_days)}")
    typer.echo(f"与现行日历相比变化 {len(result.changes)} 天" + ("：" if result.changes else ""))
    for change in result.changes:
        typer.echo(f"  {change.day.isoformat()} 星期{WEEKDAYS[change.day.weekday()]} → {change.label}")
    _echo_moves(result.moves, "截止时间将变化的在办案件" if result.moves else "")
    if result.moves and not dry_run:
        typer.echo("已设定的截止时间不会自动改变；请运行 xiuhua calendar recompute --apply 调整")


WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")


def _echo_moves(moves: list[Any], title: str) -> None:
    if title:
        typer.echo(f"{title} {len(moves)} 件：")
    for m in moves:
        typer.echo(f"  {m.case_no} {m.unit_code} 时限 {m.limit}："
                   f"{_local_minute(m.old)} → {_local_minute(m.new)}")
    warn_provisional(sorted({y for m in moves for y in m.provisional_years}))


def warn_provisional(years: list[int]) -> None:
    """One line when a deadline was computed across years whose notice is not known yet."""
    if years:
        listed = "、".join(f"{y} 年" for y in years)
        err(f"提示：{listed}放假安排尚未导入，时限暂按推定的节假日计算；"
            f"公布后请用 xiuhua calendar import 导入")


@calendar_app.command("recompute")
def calendar_recompute(
    apply: Annotated[bool, typer.Option("--apply", help="调整截止时间（记入案件办理过程和审计日志）")] = False,
) -> None:
    """列出（加 --apply 则调整）计时跨过已变更日子的在办案件截止时间。"""
    from xiuhua.services.calendars import recompute

    moves = run(recompute, engine(), apply_moves=apply, actor=cli_actor())
    if not moves:
        typer.echo("没有需要调整的截止时间")
        return
    _echo_moves(moves, "已调整截止时间" if apply else "截止时间需调整的在办案件")
    if not apply:
        typer.echo("加 --apply 调整这些截止时间")


@calendar_app.command("status")
def calendar_status() -> None:
    """列出去年到明年每年的日历状态：正式或暂定、来源、节假日和调休上班天数。"""
    from xiuhua.services.calendars import calendar_status as status

    for s in run(status, engine()):
        origin = s.source.label
        if s.file_name or s.imported_at:
            when = _local_minute(s.imported_at) if s.imported_at else ""
            origin += f"（{s.file_name or '文件'}，{when} 导入）"
        typer.echo(f"{s.year} 年：{s.status_label}；来源：{origin}；工作日 {s.workdays} 天，"
                   f"节假日（工作日放假）{s.holidays} 天，调休上班 {s.makeup_workdays} 天")


@calendar_app.command("show")
def calendar_show(
    start: Annotated[str, typer.Argument(help="起始时间，如 2026-10-16T17:00")],
    limit: Annotated[str, typer.Argument(help="时限，如 4wh、2wd、24h、3d")],
    calendar: Annotated[str, typer.Option(help="日历名称")] = "default",
) -> None:
    """计算截止时间（用于核对时限规则）。"""
    from xiuhua.services.calendars import deadline_for

    due = run(deadline_for, engine(), start, limit, calendar)
    typer.echo(due.deadline.astimezone(local_zone()).isoformat())
    warn_provisional(due.provisional_years)


def in_transaction(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn(session, *args, **kwargs)`` in one transaction; domain errors exit 1."""
    from xiuhua.store.db import transaction

    with domain_errors(), transaction(engine()) as session:
        return fn(session, *args, **kwargs)


def cli_actor() -> str:
    """Who acts from the command line, for the audit log."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):
        return "cli"


def parse_role(text: str) -> Role:
    """A staff role (the public has no accounts); unknown roles exit 1 listing the choices."""
    staff = [r for r in Role if r is not Role.PUBLIC]
    found = next((r for r in staff if r.value == text.strip().lower()), None)
    if found is None:
        choices = "、".join(f"{r.value}（{r.label}）" for r in staff)
        with domain_errors():
            raise InvalidInput(f"未知角色“{text}”，可选：{choices}", code="unknown_role")
    return found


def ask_password(required: bool) -> str | None:
    """Prompt twice on a terminal; elsewhere there is nobody to ask."""
    if sys.stdin.isatty():
        return str(typer.prompt("密码", hide_input=True, confirmation_prompt=True))
    if required:
        err("错误 [missing_password]：非交互方式运行时须用 --password 提供新密码")
        raise typer.Exit(1)
    return None


@user_app.command("add")
def user_add(
    login: Annotated[str, typer.Argument(help="登录名（字母、数字、- 或 _）")],
    role: Annotated[str, typer.Option(help="角色：admin、acceptor、shift_leader、dispatcher、handler、unit_leader、inspector、leader")],
    unit: Annotated[str | None, typer.Option(help="所属单位代码（处置人员、单位负责人必填）")] = None,
    grid: Annotated[list[str] | None, typer.Option(help="责任网格编码（监督员，可重复）")] = None,
    password: Annotated[str | None, typer.Option(help="密码（省略时在终端中输入）")] = None,
    name: Annotated[str | None, typer.Option(help="姓名（默认同登录名）")] = None,
    enable: Annotated[bool, typer.Option("--enable", help="登录名已停用时，重新启用该账号")] = False,
    district: Annotated[str | None, typer.Option(help="所属区（县）编码：区级指挥中心的受理员、值班长、派遣员只处理本区案件")] = None,
) -> None:
    """新建或更新用户账号（已停用的账号须加 --enable 才会修改并重新启用）。"""
    from xiuhua.services.accounts import add_user

    parsed = parse_role(role)
    password = password if password is not None else ask_password(required=False)
    in_transaction(add_user, login, parsed, datetime.now(local_zone()), name=name, unit_code=unit,
                   grids=tuple(grid or ()), password=password, actor=cli_actor(), enable=enable,
                   district=district)
    typer.echo(f"用户 {login}（{parsed.label}）已保存")
    if password is None:
        typer.echo(f"未设置新密码：如需登录，请运行 xiuhua user passwd {login}")


@user_app.command("passwd")
def user_passwd(
    login: Annotated[str, typer.Argument(help="登录名")],
    password: Annotated[str | None, typer.Option(help="新密码（省略时在终端中输入）")] = None,
) -> None:
    """设置用户密码（同时解除登录锁定；该用户已登录的会话与访问令牌全部失效）。"""
    from xiuhua.services.accounts import set_password

    new = password if password is not None else ask_password(required=True)
    in_transaction(set_password, login, new, datetime.now(local_zone()), actor=cli_actor())
    typer.echo(f"用户 {login} 的密码已更新，其已登录的会话与访问令牌均已失效")


@user_app.command("disable")
def user_disable(login: Annotated[str, typer.Argument(help="登录名")]) -> None:
    """停用用户，并撤销其全部访问令牌。"""
    from xiuhua.services.accounts import disable_user

    in_transaction(disable_user, login, datetime.now(local_zone()), actor=cli_actor())
    typer.echo(f"用户 {login} 已停用，其访问令牌均已撤销")


@user_app.command("token")
def user_token(
    login: Annotated[str, typer.Argument(help="登录名")],
    name: Annotated[str, typer.Option(help="令牌用途说明")] = "cli",
    expires: Annotated[str | None, typer.Option(
        help="有效期，如 90d（天）、12h（小时）、4w（周）；省略则长期有效，直至撤销")] = None,
) -> None:
    """为用户生成新的访问令牌（Bearer），最后一行即令牌，只显示这一次。"""
    from xiuhua.domain.accounts import parse_lifetime
    from xiuhua.services.accounts import issue_token

    with domain_errors():
        lifetime = parse_lifetime(expires) if expires is not None else None
    at = datetime.now(local_zone())
    token = in_transaction(issue_token, login, at, name=name, lifetime=lifetime,
                           actor=cli_actor())
    until = f"，有效期至 {_local_minute(at + lifetime)}" if lifetime is not None else ""
    typer.echo(f"用户 {login} 的新访问令牌（请妥善保存，只显示这一次{until}）：")
    typer.echo(token)


def _local_minute(at: datetime | None) -> str:
    return at.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M") if at is not None else "—"


@user_app.command("tokens")
def user_tokens(login: Annotated[str, typer.Argument(help="登录名")]) -> None:
    """列出用户未撤销的访问令牌：编号、用途、创建时间、最近使用、到期时间（不显示令牌本身）。"""
    from xiuhua.services.accounts import list_tokens

    found = in_transaction(list_tokens, login)
    if not found:
        typer.echo(f"用户 {login} 没有有效的访问令牌")
        return
    now = datetime.now(UTC)
    typer.echo("编号\t用途\t创建时间\t最近使用\t到期时间")
    for t in found:
        expiry = "长期有效" if t.expires_at is None else _local_minute(t.expires_at)
        if t.expires_at is not None and t.expires_at <= now:
            expiry += "（已过期）"
        typer.echo(f"{t.id}\t{t.name}\t{_local_minute(t.created_at)}\t"
                   f"{_local_minute(t.last_used_at)}\t{expiry}")


@user_app.command("revoke-token")
def user_revoke_token(
    login: Annotated[str, typer.Argument(help="登录名")],
    token_id: Annotated[int, typer.Argument(metavar="ID", help="令牌编号（见 xiuhua user tokens）")],
) -> None:
    """撤销用户的一个访问令牌。"""
    from xiuhua.services.accounts import revoke_token_id

    in_transaction(revoke_token_id, login, token_id, datetime.now(local_zone()), actor=cli_actor())
    typer.echo(f"用户 {login} 的访问令牌 {token_id} 已撤销")


@apikey_app.command("add")
def apikey_add(name: Annotated[str, typer.Argument(help="客户端应用名称")]) -> None:
    """为 Open311 客户端生成 API 密钥，最后一行即密钥，只显示这一次。"""
    from xiuhua.services.accounts import add_api_key

    key = in_transaction(add_api_key, name, datetime.now(local_zone()), actor=cli_actor())
    typer.echo(f"客户端“{name}”的 Open311 api_key（请妥善保存，只显示这一次）：")
    typer.echo(key)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="监听端口")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="服务进程数")] = 1,
    ssl_certfile: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="HTTPS 证书文件（PEM，含中间证书）；手机浏览器只在 HTTPS 下提供定位")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="HTTPS 证书私钥文件（PEM）")] = None,
) -> None:
    """启动 Web 服务（含时限监控：临期预警、超期提醒、督办通知）。"""
    from xiuhua.server import serve as run_server

    if (ssl_certfile is None) != (ssl_keyfile is None):
        typer.echo("--ssl-certfile 与 --ssl-keyfile 须同时提供", err=True)
        raise typer.Exit(2)
    run(run_server, host=host, port=port, workers=workers, ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile)


# --- operations: backups, the health report ---------------------------------------------------


@app.command("backup")
def backup_cmd(
    target: Annotated[Path, typer.Argument(metavar="DIR", file_okay=False, help="备份目录（新建或空目录，如 /backup/xiuhua-2026-12-07）")],
) -> None:
    """备份数据库与照片（服务运行中也可执行）：SQLite 在线备份或 PostgreSQL pg_dump，并写出清单 manifest.json（时间、数据库版本、各表行数、校验和）。"""
    from xiuhua.services.backup import backup

    settings = get_settings()
    source = make_engine(settings.effective_database_url, echo=settings.sql_echo)  # as it is: never migrated first
    manifest = run(backup, source, settings.data_dir, target)
    source.dispose()
    typer.echo(f"已备份到 {target}：{manifest}")


@app.command("restore")
def restore_cmd(
    source: Annotated[Path, typer.Argument(metavar="DIR", exists=True, file_okay=False, help="xiuhua backup 写出的备份目录")],
    force: Annotated[bool, typer.Option("--force", help="目标数据库已有数据或照片目录已有文件时，仍用备份覆盖")] = False,
) -> None:
    """从备份恢复数据库与照片（请先停止服务）；先核对校验和，目标不为空时须加 --force；恢复后升级到当前数据库版本。"""
    from xiuhua.services.backup import restore
    from xiuhua.services.city import init_database

    settings = get_settings()
    target = make_engine(settings.effective_database_url, echo=settings.sql_echo)
    manifest = run(restore, target, settings.data_dir, source, force=force)
    init_database(target)
    target.dispose()
    typer.echo(f"已从 {source} 恢复：{manifest}")


DOCTOR_MARKS = {"ok": "✓", "warn": "!", "fail": "✗"}


@app.command("doctor")
def doctor() -> None:
    """检查生产环境：设置（公开地址、HTTPS 下的安全 Cookie、时区）、数据库版本、工作日历暂定年份、最近一次备份、磁盘空间；每项附说明和处理办法，有失败项时退出码为 1。"""
    from xiuhua.services.doctor import diagnose, failed

    settings = get_settings()
    target = make_engine(settings.effective_database_url, echo=settings.sql_echo)  # never migrates
    findings = run(diagnose, settings, target)
    target.dispose()
    for f in findings:
        typer.echo(f"{DOCTOR_MARKS[f.level.value]} [{f.level.label}] {f.check}：{f.message}")
        if f.fix:
            typer.echo(f"    处理：{f.fix}")
    counts = {level: sum(1 for f in findings if f.level.value == level) for level in DOCTOR_MARKS}
    typer.echo(f"共 {len(findings)} 项：正常 {counts['ok']}，提示 {counts['warn']}，失败 {counts['fail']}")
    if failed(findings):
        raise typer.Exit(1)


# --- assessment (绩效评价) --------------------------------------------------------------------

assess_app = typer.Typer(help="考核：一月一考核、一月一通报、年底排名（扣分、加分、奖补标准、发布）",
                         invoke_without_command=True)
app.add_typer(assess_app, name="assess")
ASSESS_FORMATS = ("json", "xlsx", "docx")


def assess_config() -> Any:
    from xiuhua.services.assessment import load_config

    return run(load_config, get_settings().data_dir)


def area_json(period: str, district: str, fmt: str, out: Path | None) -> str | None:
    """The two-level assessment of ``district`` as JSON, or its circular written to a file."""
    import json

    from xiuhua.services.city import load_city
    from xiuhua.services.districts import area_assessment
    from xiuhua.store.db import read_transaction

    config = assess_config()
    with domain_errors(), read_transaction(engine()) as session:
        figures = area_assessment(session, load_city(session), period, config, district,
                                  datetime.now(local_zone()))
    if fmt == "docx":
        from xiuhua.reports.district_circular import render

        path = out or Path(f"assessment-{figures['period']}-{district}.docx")
        path.write_bytes(render(figures))
        err(f"考核通报已写入 {path}")
        return None
    if fmt != "json":
        err("错误 [invalid_format]：两级考核（--district）输出 json 或 docx（通报）")
        raise typer.Exit(1)
    return json.dumps(figures, ensure_ascii=False, indent=2)


def assess_json(period: str) -> str:
    import json

    from xiuhua.services.assessment import assess_period
    from xiuhua.services.city import load_city
    from xiuhua.store.db import read_transaction

    config = assess_config()
    with domain_errors(), read_transaction(engine()) as session:
        figures = assess_period(session, load_city(session), period, config, datetime.now(local_zone()))
    return json.dumps(figures, ensure_ascii=False, indent=2)


def assess_report(period: str, fmt: str, out: Path | None) -> None:
    """Write the workbook (xlsx) or the circular (docx) to ``out`` (default assessment-<period>.<ext>)."""
    from xiuhua.reports import render_report, report_filename
    from xiuhua.services.assessment import report_input
    from xiuhua.services.city import load_city
    from xiuhua.store.db import read_transaction

    config, settings = assess_config(), get_settings()
    with domain_errors(), read_transaction(engine()) as session:
        found = report_input(session, load_city(session), period, fmt, config, datetime.now(local_zone()))
    label, content = found.label, render_report(found, settings.data_dir)
    path = out or Path(report_filename(label, fmt))
    path.write_bytes(content)
    err(f"{'考核报表' if fmt == 'xlsx' else '考核通报'}已写入 {path}")


@assess_app.callback()
def assess(
    ctx: typer.Context,
    period: Annotated[str | None, typer.Option("--period", help="考核周期：月 2026-10、季度 2026Q4 或年 2026")] = None,
    fmt: Annotated[str, typer.Option("--format", help="输出格式：json、xlsx 或 docx")] = "json",
    out: Annotated[Path | None, typer.Option("--out", dir_okay=False, help="输出文件（json 默认写到标准输出，xlsx、docx 默认 assessment-<周期>.<扩展名>）")] = None,
    district: Annotated[str | None, typer.Option("--district", help="两级考核（json 或 docx 通报）：市的编码——各区（县）与市直部门排名；区（县）的编码——所辖街道与其派遣的单位排名")] = None,
) -> None:
    """生成考核周期的考核数据：处置单位的各项数量、比率、得分、等级和排名，区域、高发问题、监督员和指挥中心人员；xlsx 为考核报表，docx 为月度通报（公文格式）。"""
    if ctx.invoked_subcommand is not None:
        return
    if period is None:
        err("错误 [missing_period]：请用 --period 指定考核周期，如 --period 2026-10")
        typer.echo(ctx.get_help())
        raise typer.Exit(1)
    if fmt not in ASSESS_FORMATS:
        err(f"错误 [invalid_format]：未知的输出格式“{fmt}”，可选：{'、'.join(ASSESS_FORMATS)}")
        raise typer.Exit(1)
    if fmt != "json" and district is None:
        assess_report(period, fmt, out)
        return
    text = assess_json(period) if district is None else area_json(period, district, fmt, out)
    if text is None:
        return
    if out is None:
        typer.echo(text)
        return
    out.write_text(text + "\n", encoding="utf-8")
    err(f"考核数据已写入 {out}")


@assess_app.command("publish")
def assess_publish(
    period: Annotated[str, typer.Option("--period", help="考核周期，如 2026-10")],
) -> None:
    """发布（冻结）已结束的考核周期：发布后数据不再改变；其后登记的扣分、加分计入下一个未发布的月份。"""
    from xiuhua.services.assessment import publish
    from xiuhua.services.city import load_city

    config = assess_config()
    figures = in_transaction(lambda session: publish(session, load_city(session), period, config,
                                                     datetime.now(local_zone()), cli_actor()))
    ranked = [u for u in figures["units"] if u["rank"] is not None]
    typer.echo(f"考核周期 {figures['period']} 已发布：{len(figures['units'])} 个单位，"
               f"{len(ranked)} 个参与排名，{len(figures['adjustments'])} 项调整")
    for unit in ranked[:3]:
        typer.echo(f"  第 {unit['rank']} 名  {unit['unit_name']}  {unit['score']:.2f} 分（{unit['grade']}）")


def assess_entry(kind: str, unit: str, day: str, item: str, points: float, photo: str | None) -> None:
    from xiuhua.services.assessment import add_entry
    from xiuhua.services.city import load_city

    when = parse_day(day)
    entry = in_transaction(lambda session: add_entry(session, load_city(session), kind, unit, when, item, points,
                                                     datetime.now(local_zone()), cli_actor(), photo_id=photo))
    typer.echo(f"已登记 {entry['unit_name'] or unit}{entry['kind_label']} {entry['points']:g} 分"
               f"（{entry['date']}，{entry['item']}），计入 {entry['booked_period']} 考核")
    if entry["adjusts"]:
        typer.echo(f"{entry['adjusts']} 已发布，本项作为调整计入 {entry['booked_period']}，并在其通报中列出")


UnitOpt = Annotated[str, typer.Option("--unit", help="单位代码")]
DateOpt = Annotated[str, typer.Option("--date", help="检查日期 YYYY-MM-DD（决定所属考核月份）")]
ItemOpt = Annotated[str, typer.Option("--item", help="考核事项")]
PointsOpt = Annotated[float, typer.Option("--points", help="分值（大于 0，最多两位小数）")]


@assess_app.command("deduct")
def assess_deduct(unit: UnitOpt, day: DateOpt, item: ItemOpt, points: PointsOpt,
                  photo: Annotated[str | None, typer.Option("--photo", help="证据照片编号（先上传）")] = None) -> None:
    """登记考核检查扣分（抽查扣分）。--photo 须为已上传的照片（命令行以运维身份执行，只核对照片存在）。"""
    assess_entry("deduction", unit, day, item, points, photo)


@assess_app.command("bonus")
def assess_bonus(unit: UnitOpt, day: DateOpt, item: ItemOpt, points: PointsOpt) -> None:
    """登记加分。"""
    assess_entry("bonus", unit, day, item, points, None)


@assess_app.command("action-bonus")
def assess_action_bonus(
    action: Annotated[str, typer.Option("--action", help="专项行动名称")],
    day: DateOpt,
    units: Annotated[list[str], typer.Argument(help="按名次排列的单位代码（第一名在前）")],
) -> None:
    """按专项行动排名加分：第一名、第二名……按 assessment.toml 的 [composite] action_bonus 加分。"""
    from xiuhua.services.assessment import add_action_bonus
    from xiuhua.services.city import load_city

    config, when = assess_config(), parse_day(day)
    entries = in_transaction(lambda session: add_action_bonus(
        session, load_city(session), action, when, units, config, datetime.now(local_zone()), cli_actor()))
    for entry in entries:
        typer.echo(f"{entry['item']}：{entry['unit_name'] or entry['unit_code']} 加 {entry['points']:g} 分，"
                   f"计入 {entry['booked_period']} 考核")


@assess_app.command("reward-bands")
def assess_reward_bands(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV：period,rank_from,rank_to,amount[,note]")],
    encoding: Annotated[str | None, typer.Option(help="文件编码，如 GBK")] = None,
) -> None:
    """导入以奖代补标准（按名次段的奖补金额，负数为扣减）；文件中每个周期的标准整体替换。"""
    from xiuhua.services.assessment import import_reward_bands

    counts = in_transaction(import_reward_bands, file, datetime.now(local_zone()), cli_actor(), encoding=encoding)
    for period, count in counts.items():
        typer.echo(f"{period}：已导入 {count} 档奖补标准")


permissions_app = typer.Typer(help="权限表：哪些角色可以执行哪些案件操作", no_args_is_help=True)
app.add_typer(permissions_app, name="permissions")


@permissions_app.command("show")
def permissions_show() -> None:
    """列出每个案件操作允许的角色。"""
    from xiuhua.domain.lifecycle import SYSTEM_ACTIONS
    from xiuhua.store.city import load_permissions
    from xiuhua.store.db import read_transaction

    with read_transaction(engine()) as session:
        table = load_permissions(session)
    for action in Action:
        if action in SYSTEM_ACTIONS:
            continue
        roles = sorted(table.table.get(action, frozenset()))
        typer.echo(f"{action.value}（{action.label}）：{'、'.join(f'{r.value}（{r.label}）' for r in roles) or '无'}")


@permissions_app.command("set")
def permissions_set(
    action: Annotated[str, typer.Argument(help="案件操作，如 dispatch")],
    roles: Annotated[list[str], typer.Argument(help="允许的角色，如 dispatcher shift_leader")],
) -> None:
    """设置某个案件操作允许的角色（替换原有设置，记入审计日志）。"""
    from xiuhua.services.accounts import set_permission
    from xiuhua.store.db import transaction

    try:
        chosen_action = Action(action)
        chosen_roles = [Role(r) for r in roles]
    except ValueError as exc:
        raise typer.BadParameter(f"未知的操作或角色：{exc}") from None
    with transaction(engine()) as session:
        run(set_permission, session, chosen_action, chosen_roles, datetime.now(UTC), actor=cli_actor())
    typer.echo(f"{chosen_action.label}：{'、'.join(r.label for r in chosen_roles)}")


# --- field evaluation (考评) -----------------------------------------------------------------

standard_app = typer.Typer(help="考评标准（导入、导出）", no_args_is_help=True)
points_app = typer.Typer(help="测评点位", no_args_is_help=True)
round_app = typer.Typer(help="考评检查（抽样、结束、发布）", no_args_is_help=True)
app.add_typer(standard_app, name="standard")
app.add_typer(points_app, name="evaluation-points")
app.add_typer(round_app, name="round")


@standard_app.command("import")
def standard_import(
    file: Annotated[Path, typer.Argument(help="考评标准 .xlsx（一级指标…四级指标、分值、扣分标准、适用点位、事项代码）")],
    name: Annotated[str | None, typer.Option(help="标准名称（默认取文件名）")] = None,
    year: Annotated[int | None, typer.Option(help="年度（默认今年）")] = None,
) -> None:
    """导入考评标准（全部行无误才导入；公式单元格拒绝，并指出行列）。"""
    from xiuhua.services.city import load_city
    from xiuhua.services.evaluation import import_standard

    now = datetime.now(local_zone())

    def work(session: Any) -> int:
        return import_standard(session, load_city(session), file, name or file.stem, year or now.year,
                               now, cli_actor())

    new_id = in_transaction(work)
    typer.echo(f"考评标准已导入，编号 {new_id}")


@standard_app.command("export")
def standard_export(
    standard_id: Annotated[int, typer.Argument(metavar="ID", help="标准编号")],
    out: Annotated[Path, typer.Option(help="输出 .xlsx 文件")],
) -> None:
    """导出考评标准为 .xlsx（与导入的表格格式相同）。"""
    from xiuhua.reports.evaluation import standard_workbook
    from xiuhua.services.evaluation import get_standard, standard_rows

    found = in_transaction(get_standard, standard_id)
    out.write_bytes(standard_workbook(found.name, standard_rows(found)))
    typer.echo(f"已导出 {len(found.items)} 个考评项目：{out}")


@points_app.command("import")
def evaluation_points_import(
    file: Annotated[Path, typer.Argument(help="GeoJSON 等 GIS 文件（code、name、kind、unit）或 .xlsx（编号、名称、类型、经度、纬度、责任单位）")],
) -> None:
    """导入测评点位（按编号新增或更新；全部无误才导入）。"""
    from xiuhua.services.city import load_city
    from xiuhua.services.evaluation import evaluation_settings, import_points

    settings = evaluation_settings(get_settings().data_dir)

    def work(session: Any) -> int:
        return import_points(session, load_city(session), file, settings, datetime.now(UTC), cli_actor())

    count = in_transaction(work)
    typer.echo(f"已导入 {count} 个测评点位")


@round_app.command("plan")
def round_plan(
    standard: Annotated[int, typer.Option(help="考评标准编号")],
    period: Annotated[str, typer.Option(help="月份，如 2026-11")],
    seed: Annotated[int, typer.Option(help="随机种子（记录在案，同一种子和点位得到同一样本）", min=0, max=2**62)],
    per_kind: Annotated[int, typer.Option(help="每个街道每类点位抽取的数量", min=1, max=1000)] = 2,
) -> None:
    """按类型和街道分层随机抽样，新建考评检查；最后一行输出检查编号。"""
    from xiuhua.services.evaluation import plan_round, round_size

    def work(session: Any) -> tuple[int, int]:
        new_id = plan_round(session, standard, period, seed, per_kind, at=datetime.now(UTC))
        return new_id, round_size(session, new_id)

    new_id, size = in_transaction(work)
    typer.echo(f"已抽取 {size} 个点位（种子 {seed}，每街道每类 {per_kind} 个）")
    typer.echo(str(new_id))


@round_app.command("close")
def round_close(round_id: Annotated[int, typer.Argument(metavar="ID", help="考评检查编号")]) -> None:
    """结束考评检查：计算各点位得分，每条扣分生成一件整改案件（来源：考评检查）。"""
    from xiuhua.services.city import load_city
    from xiuhua.services.evaluation import close_round

    cases = in_transaction(lambda session: close_round(session, load_city(session), round_id, datetime.now(UTC)))
    typer.echo(f"考评检查 {round_id} 已结束，生成整改案件 {len(cases)} 件" + (f"：{'、'.join(cases)}" if cases else ""))


@round_app.command("publish")
def round_publish(round_id: Annotated[int, typer.Argument(metavar="ID", help="考评检查编号")]) -> None:
    """发布考评检查（发布后不再改变，计入考核）。"""
    from xiuhua.services.evaluation import publish_round

    booked = in_transaction(publish_round, round_id, datetime.now(UTC))
    typer.echo(f"考评检查 {round_id} 已发布，计入 {booked} 考核")


@round_app.command("self-report")
def round_self_report(
    period: Annotated[str, typer.Option(help="考核周期，如 2026-11、2026-Q4、2026")],
    standard: Annotated[int, typer.Option(help="考评标准编号")],
    out: Annotated[Path | None, typer.Option(help="输出 .docx 文件（默认 self-evaluation-<周期>.docx）")] = None,
) -> None:
    """自评价报告（Word）：本期已发布考评检查的分项得分、得分最低点位及照片、整改率、与上期比较。"""
    from xiuhua.reports.self_evaluation import self_evaluation
    from xiuhua.services.city import load_city
    from xiuhua.services.evaluation import self_evaluation_input

    settings = get_settings()
    found = in_transaction(lambda session: self_evaluation_input(
        session, settings, load_city(session), period, standard, datetime.now(UTC)))
    path = out or Path(f"self-evaluation-{found.period.label}.docx")
    path.write_bytes(self_evaluation(found))
    typer.echo(f"自评价报告已写入 {path}")


@user_app.command("second-role")
def user_second_role(
    login: Annotated[str, typer.Argument(help="登录名")],
    role: Annotated[str, typer.Argument(help="兼任角色：evaluator（考评员）；none 取消兼任")],
) -> None:
    """让用户兼任考评员（如监督员兼考评员），或取消兼任。"""
    from xiuhua.services.accounts import set_second_role

    chosen = None if role == "none" else parse_role(role)
    in_transaction(set_second_role, login, chosen, datetime.now(UTC), actor=cli_actor())
    typer.echo(f"用户 {login} 的兼任角色：{chosen.label if chosen else '无'}")


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    app()


# --- the work programme (专项行动) ------------------------------------------------------------

plan_app = typer.Typer(help="专项行动：导入计划表、导出推进情况表、单位别名", no_args_is_help=True)
app.add_typer(plan_app, name="plan")


def cli_office() -> Any:
    """The command line acts with the office's rights over plans (as an administrator)."""
    from xiuhua.domain.access import Principal
    from xiuhua.domain.choices import Role

    return Principal(cli_actor(), Role.ADMIN)


@plan_app.command("import")
def plan_import(
    file: Annotated[Path, typer.Argument(help="计划表（.xlsx）：序号 | 任务 | 工作内容 | 牵头单位 | 配合单位 | 责任人 | 完成时限 [| 开始时间]")],
    name: Annotated[str | None, typer.Option("--name", help="计划名称（默认取表头上方的标题行）")] = None,
    start: Annotated[str | None, typer.Option("--start", help="计划开始日期（默认当年 1 月 1 日）")] = None,
) -> None:
    """导入一份计划：全部成功或全部不导入；每处问题注明行和列。最后一行输出新计划的编号。"""
    from xiuhua.services.city import load_city
    from xiuhua.services.plans import import_plan

    if not file.is_file():
        err(f"错误：文件不存在：{file}")
        raise typer.Exit(1)
    first = parse_day(start) if start else None
    plan_id = in_transaction(lambda session: import_plan(session, cli_office(), load_city(session), file,
                                                         datetime.now(local_zone()), name=name, start=first))
    typer.echo(plan_id)


@plan_app.command("export")
def plan_export(
    plan_id: Annotated[int, typer.Argument(help="计划编号")],
    out: Annotated[Path, typer.Option("--out", help="输出文件（.xlsx）")],
) -> None:
    """导出推进情况表：汇总表，每个板块一张表，按状态着色。"""
    from xiuhua.reports.plans import plan_workbook
    from xiuhua.services.city import load_city
    from xiuhua.services.plans import workbook_input

    def build(session: Any) -> Any:
        names = {u.code: u.name for u in load_city(session).units.values()}
        return workbook_input(session, cli_office(), plan_id, datetime.now(local_zone()), names)

    out.write_bytes(plan_workbook(in_transaction(build)))
    err(f"推进情况表已写入 {out}")


@plan_app.command("alias")
def plan_alias(
    alias: Annotated[str, typer.Argument(help="计划表中使用的单位简称，如 城管局")],
    unit: Annotated[str | None, typer.Argument(help="单位编码；省略则删除该别名")] = None,
) -> None:
    """维护单位别名（计划表中的单位名称按单位全称和别名匹配）。"""
    from xiuhua.services.city import load_city
    from xiuhua.services.plans import set_alias

    in_transaction(lambda session: set_alias(session, cli_office(), load_city(session), alias, unit))
    err(f"别名“{alias}”已{'设为 ' + unit if unit else '删除'}")
