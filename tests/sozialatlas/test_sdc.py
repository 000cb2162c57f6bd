"""Disclosure control: no withheld count can be recomputed exactly.

The attacker here is independent of the module: exact rational Gaussian
elimination (``fractions``) on the published equations, no numpy. A withheld
value is derived when the reduced system has an equation whose only unknown
is that value; the attacker then reads it off and compares with the truth.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ckanext.udp.sozialatlas import sdc


def equations(p: sdc.Protected) -> list[tuple[dict[str, int], int]]:
    """What a reader of the published table knows: each equation as
    ({unknown name: coefficient}, right-hand side)."""
    cells = p.published_cells()
    rows = p.published_row_totals()
    cols = p.published_column_totals()
    grand = p.published_grand_total()
    r, c = len(cells), len(cells[0])
    eqs: list[tuple[dict[str, int], int]] = []

    def add(terms: list[tuple[str, int | None, int]]) -> None:
        unknown: dict[str, int] = {}
        rhs = 0
        for name, value, coef in terms:
            if value is None:
                unknown[name] = unknown.get(name, 0) + coef
            else:
                rhs -= coef * value
        eqs.append((unknown, rhs))

    for i in range(r):
        add([(f"c{i},{j}", cells[i][j], 1) for j in range(c)] + [(f"r{i}", rows[i], -1)])
    for j in range(c):
        add([(f"c{i},{j}", cells[i][j], 1) for i in range(r)] + [(f"k{j}", cols[j], -1)])
    add([(f"r{i}", rows[i], 1) for i in range(r)] + [("g", grand, -1)])
    add([(f"k{j}", cols[j], 1) for j in range(c)] + [("g", grand, -1)])
    return eqs


def derive(p: sdc.Protected) -> dict[str, Fraction]:
    """Every withheld value that the published table fixes exactly."""
    eqs = [e for e in equations(p) if e[0]]
    names = sorted({n for e, _ in eqs for n in e})
    m = [[Fraction(e.get(n, 0)) for n in names] + [Fraction(rhs)] for e, rhs in eqs]
    pivots: list[int] = []
    row = 0
    for col in range(len(names)):
        pick = next((k for k in range(row, len(m)) if m[k][col] != 0), None)
        if pick is None:
            continue
        m[row], m[pick] = m[pick], m[row]
        m[row] = [x / m[row][col] for x in m[row]]
        for k in range(len(m)):
            if k != row and m[k][col] != 0:
                f = m[k][col]
                m[k] = [a - f * b for a, b in zip(m[k], m[row], strict=True)]
        pivots.append(col)
        row += 1
    out = {}
    for k, col in enumerate(pivots):
        if all(m[k][j] == 0 for j in range(len(names)) if j != col):
            out[names[col]] = m[k][-1]
    return out


def truth(p: sdc.Protected) -> dict[str, int]:
    t = {f"c{i},{j}": v for i, row in enumerate(p.cells) for j, v in enumerate(row)}
    t.update({f"r{i}": v for i, v in enumerate(p.row_totals)})
    t.update({f"k{j}": v for j, v in enumerate(p.column_totals)})
    t["g"] = p.grand_total
    return t


def withheld(p: sdc.Protected) -> set[str]:
    t = {f"c{i},{j}": s for i, row in enumerate(p.cell_status) for j, s in enumerate(row)}
    t.update({f"r{i}": s for i, s in enumerate(p.row_status)})
    t.update({f"k{j}": s for j, s in enumerate(p.column_status)})
    t["g"] = p.grand_status
    return {k for k, s in t.items() if s != sdc.PUBLISHED}


# small counts on purpose: many cells below the threshold, zeros, thin rows
tables = st.integers(min_value=1, max_value=7).flatmap(
    lambda r: st.integers(min_value=1, max_value=6).flatmap(
        lambda c: st.lists(
            st.lists(st.one_of(st.integers(0, 4), st.integers(0, 40)), min_size=c, max_size=c),
            min_size=r,
            max_size=r,
        )
    )
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables, minimum=st.integers(1, 5), zeros_unsafe=st.booleans())
def test_no_withheld_value_can_be_derived_and_no_small_count_is_published(table, minimum, zeros_unsafe):
    p = sdc.protect(table, minimum=minimum, zeros_unsafe=zeros_unsafe)
    derived = derive(p)
    hidden = withheld(p)
    # the attacker's solution is right for what is published ...
    for name, value in derived.items():
        assert value == truth(p)[name]
    # ... and reaches no withheld value
    assert not (hidden & derived.keys()), f"derivable: {sorted(hidden & derived.keys())}"
    # no published count below the threshold (zeros only when they are safe)
    for name, value in truth(p).items():
        if name not in hidden:
            assert value >= minimum or (value == 0 and not zeros_unsafe), (name, value)


def test_the_attacker_finds_a_cell_withheld_by_primary_suppression_alone():
    """Without secondary suppression the attacker succeeds: the test can fail."""
    p = sdc.protect([[10, 2, 10], [10, 10, 10], [10, 10, 10]], minimum=3)
    assert p.cell_status[0][1] == sdc.PRIMARY
    only_primary = sdc.Protected(
        cells=p.cells,
        row_totals=p.row_totals,
        column_totals=p.column_totals,
        grand_total=p.grand_total,
        cell_status=[[sdc.PRIMARY if v == 2 else sdc.PUBLISHED for v in row] for row in p.cells],
        row_status=[sdc.PUBLISHED] * 3,
        column_status=[sdc.PUBLISHED] * 3,
        grand_status=sdc.PUBLISHED,
        minimum=3,
    )
    assert derive(only_primary) == {"c0,1": 2}
    assert derive(p) == {}
    # the protection is a cycle of four cells, the cheapest ones: 2 plus three 10s
    assert p.counts() == {sdc.PUBLISHED: 12, sdc.PRIMARY: 1, sdc.SECONDARY: 3}
    assert p.published_row_totals() == [22, 30, 30] and p.published_grand_total() == 82


def test_margins_are_published_when_they_are_safe_and_zeros_by_default():
    p = sdc.protect([[0, 5, 7], [4, 1, 9], [6, 8, 0], [3, 3, 3]])
    assert all(s == sdc.PUBLISHED for s in p.row_status + p.column_status + [p.grand_status])
    assert p.published_cells()[0][0] == 0
    assert p.cell_status[1][1] == sdc.PRIMARY


def test_a_small_margin_is_withheld_and_protected():
    p = sdc.protect([[1, 1, 0], [20, 30, 40], [25, 35, 45]])
    assert p.row_status[0] == sdc.PRIMARY
    assert "r0" not in derive(p)


@pytest.mark.parametrize("bad", [[], [[]], [[1, 2], [3]], [[1, -1]], [[1.5, 2]], [["3", 4]], [[True, 2]]])
def test_bad_tables_are_refused(bad):
    with pytest.raises(sdc.TableError):
        sdc.protect(bad)
