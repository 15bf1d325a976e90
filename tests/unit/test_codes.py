"""Contract section 1 (jurisdictions): division codes, their levels and hierarchy."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import codes
from schemas.codes import (
    COUNTRY,
    CodeError,
    ancestors,
    is_within,
    level_of,
    normalize,
    parent_of,
    partition_key,
    subtree_range,
)

VILLAGE = "340826103001"
TOWN = "340826103000"
COUNTY = "340826000000"
CITY = "340800000000"
PROVINCE = "340000000000"

# -- normalize ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("00", COUNTRY),
        (COUNTRY, COUNTRY),
        ("34", PROVINCE),
        ("3408", CITY),
        ("340826", COUNTY),
        ("340826103", TOWN),
        ("340826103001", VILLAGE),
        ("110101001001", "110101001001"),
        ("820000000000", "820000000000"),
    ],
)
def test_normalize_pads_to_12_digits(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize("code", [COUNTRY, PROVINCE, CITY, COUNTY, TOWN, VILLAGE])
def test_normalize_is_idempotent(code: str) -> None:
    assert normalize(normalize(code)) == normalize(code) == code


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "3",
        "340",
        "34082",
        "3408261",
        "34082610",
        "3408261030",
        "34082610300",
        "3408261030011",
        "34082a",
        "34O826",
        "3408-26",
        " 340826",
        "340826 ",
        "+34082",
        "001234",  # province 00 is not the country
        "0012",
        "000826103001",
        "001100000000",
        340826,
        None,
        3.4,
        "340826\n",  # `$` also matches before a final newline (bug at a828451)
        "３４０８２６",  # full-width digits match a Unicode `\d` (bug at a828451)
        "٣٤",  # Arabic-Indic digits (bug at a828451)
    ],
)
def test_normalize_rejects_bad_codes(raw: Any) -> None:
    with pytest.raises(CodeError):
        normalize(raw)


def test_code_error_is_a_value_error() -> None:
    assert issubclass(CodeError, ValueError)


# -- level_of, parent_of, ancestors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        (COUNTRY, "country", None),
        (PROVINCE, "province", COUNTRY),
        (CITY, "city", PROVINCE),
        (COUNTY, "county", CITY),
        (TOWN, "town", COUNTY),
        (VILLAGE, "village", TOWN),
        ("110101001001", "village", "110101001000"),
        ("110101001000", "town", "110101000000"),
        ("110101000000", "county", "110100000000"),
        ("110100000000", "city", "110000000000"),
        ("110000000000", "province", COUNTRY),
        ("659001100200", "village", "659001100000"),
        ("340826103100", "village", TOWN),
        ("340826100000", "town", COUNTY),
        ("340820000000", "county", CITY),
        ("340100000000", "city", PROVINCE),
        ("100000000000", "province", COUNTRY),
    ],
)
def test_level_and_parent(code: str, level: str, parent: str | None) -> None:
    assert level_of(code) == level
    assert parent_of(code) == parent


def test_ancestors_nearest_first_up_to_country() -> None:
    assert ancestors(VILLAGE) == [VILLAGE, TOWN, COUNTY, CITY, PROVINCE, COUNTRY]
    assert ancestors(COUNTY) == [COUNTY, CITY, PROVINCE, COUNTRY]
    assert ancestors(PROVINCE) == [PROVINCE, COUNTRY]
    assert ancestors(COUNTRY) == [COUNTRY]


def test_levels_and_digits_match_the_contract() -> None:
    assert codes.LEVELS == ("country", "province", "city", "county", "town", "village")
    assert [codes.DIGITS[level] for level in codes.LEVELS] == [0, 2, 4, 6, 9, 12]


# -- subtree_range, is_within ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "low", "high"),
    [
        (COUNTRY, "000000000000", "999999999999"),
        (PROVINCE, "340000000000", "349999999999"),
        (CITY, "340800000000", "340899999999"),
        (COUNTY, "340826000000", "340826999999"),
        (TOWN, "340826103000", "340826103999"),
        (VILLAGE, VILLAGE, VILLAGE),
    ],
)
def test_subtree_range(code: str, low: str, high: str) -> None:
    assert subtree_range(code) == (low, high)


@pytest.mark.parametrize(
    ("code", "scope", "inside"),
    [
        (VILLAGE, VILLAGE, True),
        (VILLAGE, TOWN, True),
        (VILLAGE, COUNTY, True),
        (VILLAGE, CITY, True),
        (VILLAGE, PROVINCE, True),
        (VILLAGE, COUNTRY, True),
        (COUNTRY, COUNTRY, True),
        (COUNTY, COUNTY, True),
        (COUNTY, TOWN, False),  # an ancestor is not within its descendant
        (PROVINCE, CITY, False),
        (COUNTRY, PROVINCE, False),
        ("340826103002", VILLAGE, False),  # sibling village
        ("340826104001", TOWN, False),  # village of a sibling town
        ("340827000000", COUNTY, False),  # sibling county
        ("350826103001", PROVINCE, False),
        ("340826103001", "340826100000", False),  # town 100 is not a prefix of town 103
        ("110101001001", "110000000000", True),
        ("110101001001", "120000000000", False),
    ],
)
def test_is_within(code: str, scope: str, inside: bool) -> None:
    assert is_within(code, scope) is inside
    low, high = subtree_range(scope)
    assert (low <= code <= high) is inside


# -- partition_key ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "key"),
    [
        (VILLAGE, "340826"),
        (TOWN, "340826"),
        (COUNTY, "340826"),
        (CITY, "340800"),
        (PROVINCE, "340000"),
        (COUNTRY, "000000"),
    ],
)
def test_partition_key(code: str, key: str) -> None:
    assert partition_key(code) == key


# -- properties -----------------------------------------------------------------------------------


@st.composite
def village_codes(draw: st.DrawFn) -> str:
    """A 12-digit village code whose every level segment is non-zero."""
    province = draw(st.integers(1, 99))
    city = draw(st.integers(1, 99))
    county = draw(st.integers(1, 99))
    town = draw(st.integers(1, 999))
    village = draw(st.integers(1, 999))
    return f"{province:02d}{city:02d}{county:02d}{town:03d}{village:03d}"


@given(village_codes())
def test_property_every_ancestor_contains_the_village(code: str) -> None:
    assert normalize(code) == code
    assert level_of(code) == "village"
    chain = ancestors(code)
    assert len(chain) == 6
    assert chain[-1] == COUNTRY
    for ancestor in chain:
        low, high = subtree_range(ancestor)
        assert low <= code <= high
        assert is_within(code, ancestor)


@given(village_codes())
def test_property_parent_chain_reaches_country_in_5_steps(code: str) -> None:
    levels = []
    current: str | None = code
    for _ in range(5):
        assert current is not None
        current = parent_of(current)
        assert current is not None
        levels.append(level_of(current))
    assert current == COUNTRY
    assert parent_of(COUNTRY) is None
    assert levels == ["town", "county", "city", "province", "country"]


@given(village_codes())
def test_property_normalize_each_level_prefix(code: str) -> None:
    for level, digits in (("province", 2), ("city", 4), ("county", 6), ("town", 9)):
        prefix = code[:digits]
        normal = normalize(prefix)
        assert normal == prefix.ljust(12, "0")
        assert level_of(normal) == level
        assert normal in ancestors(code)


@given(village_codes(), village_codes())
def test_property_is_within_matches_subtree_range(code: str, other: str) -> None:
    for scope in ancestors(other):
        low, high = subtree_range(scope)
        assert is_within(code, scope) is (low <= code <= high)


@given(village_codes())
def test_property_partition_key_is_the_county(code: str) -> None:
    county = ancestors(code)[2]
    assert level_of(county) == "county"
    assert partition_key(code) == county[:6]
    assert all(partition_key(c) == county[:6] for c in ancestors(code)[:3])


@given(st.sampled_from([2, 4, 6, 9, 12]), st.integers(1, 10**12 - 1))
def test_the_ancestors_are_the_code_with_its_levels_zeroed(digits: int, n: int) -> None:
    """What the ledger's views compute for a row that stands for a place and
    its ancestors (migration 020): the distinct values of the code with its
    last 3, 6, 8 and 10 digits zeroed, and the country."""
    prefix = str(n).zfill(12)[:digits]
    if prefix[:2] == "00":
        prefix = "1" + prefix[1:]
    code = codes.normalize(prefix)
    c = int(code)
    zeroed = {c, c // 10**3 * 10**3, c // 10**6 * 10**6, c // 10**8 * 10**8, c // 10**10 * 10**10, 0}
    assert {int(a) for a in codes.ancestors(code)} == zeroed
