"""The registry search index: exact, then prefix, then substring matches, by
level then code; within a scope; code prefixes; ancestors' names."""

from __future__ import annotations

from services.api.search import DivisionIndex

ROWS = [
    ("000000000000", "全国", "country", ""),
    ("340000000000", "安徽省", "province", "000000000000"),
    ("340800000000", "安庆市", "city", "340000000000"),
    ("340826000000", "宿松县", "county", "340800000000"),
    ("340826103000", "许岭镇", "town", "340826000000"),
    ("340826103001", "许岭社区居委会", "village", "340826103000"),
    ("340826103002", "宏兴社区居委会", "village", "340826103000"),
    ("340826103002", "宏兴社区居委会", "village", "340826103000"),  # not merged yet
    ("340826104000", "下仓镇", "town", "340826000000"),
    ("340826104001", "东许岭村", "village", "340826104000"),
    ("340826104002", "许岭", "village", "340826104000"),
    ("350000000000", "福建省", "province", "000000000000"),
    ("350800000000", "龙岩市", "city", "350000000000"),
    ("350802000000", "新罗区", "county", "350800000000"),
    ("350802009000", "铁山街道", "town", "350802000000"),
    ("350802009213", "许岭村委会", "village", "350802009000"),
]
INDEX = DivisionIndex(ROWS)
ALL = "000000000000"


def codes_of(q: str, scope: str = ALL, limit: int = 20) -> list[str]:
    return [f.code for f in INDEX.search(q, scope, limit)[0]]


def test_exact_then_prefix_then_substring_each_by_level_then_code() -> None:
    assert codes_of("许岭") == [
        "340826104002",  # 许岭: exact
        "340826103000",  # 许岭镇: a prefix, a town before the villages
        "340826103001",
        "350802009213",
        "340826104001",  # 东许岭村: contains it
    ]
    assert INDEX.size == len(ROWS) - 1


def test_only_within_the_scope() -> None:
    assert codes_of("许岭", "350000000000") == ["350802009213"]
    assert codes_of("许岭", "340826104000") == ["340826104002", "340826104001"]
    assert codes_of("安徽", "350000000000") == []


def test_a_code_itself_first_then_every_code_below_it() -> None:
    assert codes_of("340826104") == ["340826104000", "340826104001", "340826104002"]
    assert codes_of("3408")[:3] == ["340800000000", "340826000000", "340826103000"]
    assert codes_of("35", "340000000000") == []
    assert codes_of("00") == ["000000000000"]
    assert codes_of("1234567890123") == []


def test_at_most_limit_and_whether_there_are_more() -> None:
    found, more = INDEX.search("居委会", ALL, 1)
    assert [f.code for f in found] == ["340826103001"] and more
    found, more = INDEX.search("居委会", ALL, 2)
    assert len(found) == 2 and not more


def test_each_result_names_its_ancestors_from_the_province_down() -> None:
    (found,), _ = INDEX.search("许岭村委会", ALL)
    assert found.name == "许岭村委会" and found.level == "village"
    assert [n for _, n, _ in found.ancestors] == ["福建省", "龙岩市", "新罗区", "铁山街道"]
    assert [lv for *_, lv in found.ancestors] == ["province", "city", "county", "town"]
    (province,), _ = INDEX.search("安徽省", ALL)
    assert province.ancestors == ()
