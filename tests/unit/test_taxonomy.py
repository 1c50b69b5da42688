"""The case taxonomy: the shipped GB/T 47678.5-2026 directory and the editable file's checks."""

from __future__ import annotations

import pytest

from xiuhua.domain.calendar import LimitUnit, TimeLimit
from xiuhua.domain.errors import InvalidInput
from xiuhua.domain.taxonomy import CaseClass, ClassKind, Taxonomy, parse_taxonomy_csv
from xiuhua.services.city import shipped_taxonomy_text

HEADER = ("kind,major_code,major_name,code,name,source,public_reportable,active,"
          "filing_condition,closing_condition,limit_normal,limit_urgent,calendar\n")
GOOD_MATTER = "matter,06,市容环境类,06010,暴露垃圾,GB/T 47678.5-2026,1,1,,,4wh,2wh,default\n"
GOOD_COMPONENT = "component,01,市政公用设施,01001,供水井盖,GB/T 47678.5-2026,,1,,,,,\n"


@pytest.fixture(scope="module")
def shipped() -> Taxonomy:
    return Taxonomy.of(parse_taxonomy_csv(shipped_taxonomy_text()))


def parse(*rows: str, header: str = HEADER) -> list[CaseClass]:
    return parse_taxonomy_csv(header + "".join(rows))


def refusal(*rows: str, header: str = HEADER) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        parse(*rows, header=header)
    return info.value


# --- the shipped directory -------------------------------------------------------------------


def test_the_shipped_file_holds_153_component_and_256_matter_classes(shipped: Taxonomy) -> None:
    kinds = [kind for kind, _ in shipped.classes]
    assert kinds.count(ClassKind.COMPONENT) == 153
    assert kinds.count(ClassKind.MATTER) == 256
    assert len(shipped.matters()) == 256


def test_every_shipped_matter_has_a_normal_limit_in_working_time(shipped: Taxonomy) -> None:
    for matter in shipped.matters():
        normal = matter.limit_for("normal")
        assert normal.working, matter.code
        assert matter.calendar == "default"
        if "urgent" in matter.limits:
            assert matter.limit_for("urgent").seconds <= normal.seconds, matter.code


def test_the_shipped_limits_of_well_known_matters(shipped: Taxonomy) -> None:
    garbage = shipped.matter("06010")
    assert (garbage.name, garbage.major_code, garbage.major_name) == ("暴露垃圾", "06", "市容环境类")
    assert garbage.limit_for("normal") == TimeLimit.parse("4wh")
    assert garbage.limit_for("urgent") == TimeLimit("2wh", LimitUnit.WORKING_HOURS, 7200)
    assert garbage.public_reportable and garbage.active
    assert shipped.matter("06001").limits == {"normal": "15wd", "urgent": "4wh"}
    assert not shipped.matter("09003").public_reportable  # 流浪乞讨
    assert shipped.component("01001").name == "供水井盖"


def test_shipped_matter_codes_are_five_digits_under_their_major(shipped: Taxonomy) -> None:
    majors = {f"{n:02d}" for n in range(1, 11)} | {"99"}
    assert shipped.major_codes() == majors
    for matter in shipped.matters():
        assert len(matter.code) == 5 and matter.code.startswith(matter.major_code)
    component_matters = [m for m in shipped.matters() if m.major_code <= "05"]
    assert all(m.name.endswith("异常") for m in component_matters)


def test_an_unknown_class_or_urgency_is_refused(shipped: Taxonomy) -> None:
    for lookup, code in ((lambda: shipped.matter("06999"), "unknown_category"),
                         (lambda: shipped.matter("01001" + "0"), "unknown_category"),
                         (lambda: shipped.component("06010"), "unknown_component_class"),
                         (lambda: shipped.matter("06010").limit_for("extreme"),
                          "invalid_urgency")):
        with pytest.raises(InvalidInput) as info:
            lookup()
        assert info.value.code == code


# --- reading an edited file ------------------------------------------------------------------


def test_a_small_file_reads_flags_defaults_and_optional_columns() -> None:
    header = "kind,major_code,major_name,code,name,limit_normal,public_reportable,active\n"
    matter, component, retired = parse(
        "matter,99,本地扩展事项,99001,共享单车乱停放,2wh,是,\n",
        "component,01,市政公用设施,01001,供水井盖,,,\n",
        "matter,99,本地扩展事项,99002,旧事项,1wd,0,0\n", header=header)
    assert (matter.kind, matter.limits, matter.calendar) == (ClassKind.MATTER, {"normal": "2wh"},
                                                             "default")
    assert matter.public_reportable and matter.active
    assert component.kind is ClassKind.COMPONENT and component.limits == {}
    assert not retired.active and not retired.public_reportable


def test_a_file_saved_with_a_byte_order_mark_and_blank_lines_reads() -> None:
    classes = parse_taxonomy_csv("\ufeff" + HEADER + GOOD_MATTER + "\n" + ",,,,,,,,,,,,\n")
    assert [c.code for c in classes] == ["06010"]


@pytest.mark.parametrize(("row", "reason"), [
    ("matter,06,市容环境类,6010,暴露垃圾,,1,1,,,4wh,,\n", "6010"),
    ("matter,06,市容环境类,07010,暴露垃圾,,1,1,,,4wh,,\n", "07010"),
    ("matter,06,市容环境类,06010,,,1,1,,,4wh,,\n", "缺少名称"),
    ("matter,06,市容环境类,06010,暴露垃圾,,1,1,,,,2wh,\n", "缺少一般紧急程度"),
    ("matter,06,市容环境类,06010,暴露垃圾,,1,1,,,4小时,,\n", "4小时"),
    ("matter,06,市容环境类,06010,暴露垃圾,,1,1,,,0wh,,\n", "大于零"),
    ("event,06,市容环境类,06010,暴露垃圾,,1,1,,,4wh,,\n", "event"),
    ("matter,06,市容环境类,06010\n", "缺少名称"),
    ("matter,06,市容环境类,06010,暴露垃圾,,1,1,,,4wh,,default,extra\n", "列数多于表头"),
], ids=["four-digit-code", "code-outside-major", "no-name", "no-normal-limit", "bad-limit-unit",
        "zero-limit", "unknown-kind", "short-row", "extra-column"])
def test_a_bad_row_is_refused_naming_its_line(row: str, reason: str) -> None:
    error = refusal(GOOD_COMPONENT, row)
    assert error.message.startswith("分类文件第 3 行有误")
    assert reason in error.message
    assert error.code == "invalid_category"


def test_a_repeated_class_is_refused_naming_both_lines() -> None:
    error = refusal(GOOD_MATTER, GOOD_COMPONENT, GOOD_MATTER)
    assert error.code == "duplicate_category"
    assert "第 4 行" in error.message and "第 2 行" in error.message
    assert [c.kind for c in parse(GOOD_MATTER, GOOD_COMPONENT.replace("01001", "06010")
                                  .replace(",01,", ",06,"))] == [ClassKind.MATTER,
                                                                  ClassKind.COMPONENT]


def test_a_file_without_the_required_columns_is_refused() -> None:
    error = refusal("06010,暴露垃圾\n", header="code,name\n")
    assert error.code == "invalid_category"
    assert "kind" in error.message and "major_code" in error.message
    assert "第 1 行" in error.message


def test_a_taxonomy_refuses_a_class_given_twice() -> None:
    classes = parse(GOOD_MATTER)
    with pytest.raises(InvalidInput) as info:
        Taxonomy.of(classes + classes)
    assert info.value.code == "duplicate_category"


def test_a_class_refuses_an_unknown_urgency_level() -> None:
    with pytest.raises(InvalidInput) as info:
        CaseClass(ClassKind.MATTER, "06010", "暴露垃圾", "06", "市容环境类",
                  limits={"normal": "4wh", "critical": "1wh"})
    assert info.value.code == "invalid_urgency"
