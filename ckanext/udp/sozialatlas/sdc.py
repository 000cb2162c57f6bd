"""Statistical disclosure control for two-way tables of counts.

A table of counts (rows x columns, e.g. Stadtteil x age group) is published
with its row totals, column totals and grand total. Before that:

1. **Primary suppression**: every count below ``minimum`` (default 3) is
   withheld. Zero cells are published by default (a zero describes nobody;
   this is tau-ARGUS's default too); ``zeros_unsafe=True`` withholds them as
   well. A margin (row, column or grand total) below the minimum is withheld
   like a cell.
2. **Secondary suppression**: a withheld value must not be recomputable
   exactly from what is published. The published table is a linear system:
   each row sums to its row total, each column to its column total, the row
   totals and the column totals to the grand total. Restricted to the
   withheld values (the unknowns) it is ``A x = b``. A withheld value ``x_u``
   is determined exactly iff the unit vector ``e_u`` lies in the row space of
   ``A``, i.e. iff every vector of the null space of ``A`` is 0 at ``u``. While
   some withheld value is determined, the cheapest further value next to it
   (sharing an equation) is withheld: interior non-zero cells first (smallest
   count first: least information lost), then zero cells, margins last.

What this does **not** cover (tau-ARGUS and sdcTable do more): interval
(feasibility) attacks that use non-negativity to narrow a withheld value to a
small range (protection intervals / "sliding protection"), optimal (minimal
loss) secondary patterns via linear or integer programming, linked tables
sharing cells, hierarchical classifications, dominance (p%, n,k) rules for
magnitude tables, and tables of more than two dimensions (several years are
protected as separate two-way tables, each with its own margins).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

PUBLISHED = "published"
PRIMARY = "primary"
SECONDARY = "secondary"

DEFAULT_MINIMUM = 3
_TOLERANCE = 1e-9


class TableError(ValueError):
    """The input is not a table of non-negative whole counts."""


@dataclass
class Protected:
    """A protected two-way table: values and a status per value.

    ``cells[i][j]``, ``row_totals[i]``, ``column_totals[j]``, ``grand_total``
    hold the true counts; ``*_status`` says which are published. Use
    :meth:`published_cells` etc. for what may leave the house (``None`` where
    withheld).
    """

    cells: list[list[int]]
    row_totals: list[int]
    column_totals: list[int]
    grand_total: int
    cell_status: list[list[str]]
    row_status: list[str]
    column_status: list[str]
    grand_status: str
    minimum: int
    zeros_unsafe: bool = False
    notes: list[str] = field(default_factory=list)

    @staticmethod
    def _show(value: int, status: str) -> int | None:
        return value if status == PUBLISHED else None

    def published_cells(self) -> list[list[int | None]]:
        return [
            [self._show(v, s) for v, s in zip(row, status, strict=True)]
            for row, status in zip(self.cells, self.cell_status, strict=True)
        ]

    def published_row_totals(self) -> list[int | None]:
        return [self._show(v, s) for v, s in zip(self.row_totals, self.row_status, strict=True)]

    def published_column_totals(self) -> list[int | None]:
        return [self._show(v, s) for v, s in zip(self.column_totals, self.column_status, strict=True)]

    def published_grand_total(self) -> int | None:
        return self._show(self.grand_total, self.grand_status)

    def counts(self) -> dict[str, int]:
        flat = [s for row in self.cell_status for s in row] + self.row_status + self.column_status
        flat.append(self.grand_status)
        return {k: flat.count(k) for k in (PUBLISHED, PRIMARY, SECONDARY)}


class _Layout:
    """Variables: the r*c cells, then r row totals, c column totals, the grand total."""

    def __init__(self, rows: int, cols: int) -> None:
        self.rows, self.cols = rows, cols
        self.n = rows * cols + rows + cols + 1
        eqs = []
        for i in range(rows):  # cells of row i - row total i = 0
            eq = np.zeros(self.n)
            eq[[self.cell(i, j) for j in range(cols)]] = 1
            eq[self.row(i)] = -1
            eqs.append(eq)
        for j in range(cols):
            eq = np.zeros(self.n)
            eq[[self.cell(i, j) for i in range(rows)]] = 1
            eq[self.col(j)] = -1
            eqs.append(eq)
        for margin in ([self.row(i) for i in range(rows)], [self.col(j) for j in range(cols)]):
            eq = np.zeros(self.n)
            eq[margin] = 1
            eq[self.grand] = -1
            eqs.append(eq)
        self.matrix = np.array(eqs)

    def cell(self, i: int, j: int) -> int:
        return i * self.cols + j

    def row(self, i: int) -> int:
        return self.rows * self.cols + i

    def col(self, j: int) -> int:
        return self.rows * self.cols + self.rows + j

    @property
    def grand(self) -> int:
        return self.n - 1

    def is_margin(self, v: int) -> bool:
        return v >= self.rows * self.cols


def determined(matrix: np.ndarray, unknown: Sequence[int]) -> list[int]:
    """The unknowns (column indexes of ``matrix``) fixed exactly by ``matrix x = b``.

    ``x_u`` is determined iff ``e_u`` is in the row space of the system
    restricted to the unknowns, i.e. iff all null-space vectors vanish at u.
    """
    if not unknown:
        return []
    a = matrix[:, list(unknown)]
    a = a[np.any(a != 0, axis=1)]
    if a.shape[0] == 0:
        return []
    _, s, vt = np.linalg.svd(a)
    rank = int(np.sum(s > _TOLERANCE * max(a.shape) * (s[0] if s.size else 1)))
    null = vt[rank:]  # rows: an orthonormal basis of the null space
    if null.shape[0] == 0:
        return list(unknown)
    weight = np.linalg.norm(null, axis=0)
    return [u for u, w in zip(unknown, weight, strict=True) if w < 1e-7]


def _validate(table: Sequence[Sequence[int]]) -> list[list[int]]:
    rows = [list(r) for r in table]
    if not rows or not rows[0]:
        raise TableError("the table is empty")
    width = len(rows[0])
    out = []
    for r in rows:
        if len(r) != width:
            raise TableError("all rows need the same number of columns")
        line = []
        for v in r:
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise TableError(f"counts must be whole numbers >= 0, not {v!r}")
            line.append(int(v))
        out.append(line)
    return out


def protect(table: Sequence[Sequence[int]], minimum: int = DEFAULT_MINIMUM, zeros_unsafe: bool = False) -> Protected:
    """Primary and secondary suppression of a two-way table of counts (see module doc)."""
    if minimum < 1:
        raise TableError("the minimum must be at least 1")
    cells = _validate(table)
    rows, cols = len(cells), len(cells[0])
    lay = _Layout(rows, cols)
    values = np.zeros(lay.n, dtype=np.int64)
    for i in range(rows):
        for j in range(cols):
            values[lay.cell(i, j)] = cells[i][j]
        values[lay.row(i)] = sum(cells[i])
    for j in range(cols):
        values[lay.col(j)] = sum(cells[i][j] for i in range(rows))
    values[lay.grand] = int(values[: rows * cols].sum())

    def unsafe(v: int) -> bool:
        return values[v] < minimum and (values[v] > 0 or zeros_unsafe)

    status = [PRIMARY if unsafe(v) else PUBLISHED for v in range(lay.n)]

    def cost(chosen: Sequence[int]) -> tuple[int, int, int]:
        """(margins, zero cells, counts) withheld additionally: margins last, zeros after counts."""
        margins = sum(1 for v in chosen if lay.is_margin(v))
        zeros = sum(1 for v in chosen if not lay.is_margin(v) and values[v] == 0)
        return (margins, zeros, sum(int(values[v]) for v in chosen))

    def unknowns() -> list[int]:
        return [v for v in range(lay.n) if status[v] != PUBLISHED]

    def options(target: int) -> list[list[int]]:
        """Candidate sets to withhold next: for a cell, every rectangle of
        cells through it (the classic protection pattern of a two-way table);
        besides, every single value sharing an equation with it."""
        out: list[list[int]] = []
        if not lay.is_margin(target):
            i, j = divmod(target, cols)
            for k in range(rows):
                for m in range(cols):
                    if k != i and m != j:
                        corners = [lay.cell(i, m), lay.cell(k, j), lay.cell(k, m)]
                        extra = [v for v in corners if status[v] == PUBLISHED]
                        if extra:
                            out.append(extra)
        related = np.any(lay.matrix[:, [target]] != 0, axis=1)
        near = np.flatnonzero(np.any(lay.matrix[related] != 0, axis=0))
        out += [[int(v)] for v in near if status[v] == PUBLISHED]
        if not out:  # cannot happen for a consistent table; be safe anyway
            out = [[v] for v in range(lay.n) if status[v] == PUBLISHED]
        return out

    exposed = determined(lay.matrix, unknowns())
    while exposed:
        target = exposed[0]
        base = unknowns()
        best: tuple[tuple[int, ...], list[int]] | None = None
        for extra in options(target):
            still = determined(lay.matrix, sorted(base + extra))
            key = (int(target in still), *cost(extra), len(still))
            if best is None or key < best[0]:
                best = (key, extra)
        assert best is not None
        for v in best[1]:
            status[v] = SECONDARY
        exposed = determined(lay.matrix, unknowns())

    return Protected(
        cells=cells,
        row_totals=[int(values[lay.row(i)]) for i in range(rows)],
        column_totals=[int(values[lay.col(j)]) for j in range(cols)],
        grand_total=int(values[lay.grand]),
        cell_status=[[status[lay.cell(i, j)] for j in range(cols)] for i in range(rows)],
        row_status=[status[lay.row(i)] for i in range(rows)],
        column_status=[status[lay.col(j)] for j in range(cols)],
        grand_status=status[lay.grand],
        minimum=minimum,
        zeros_unsafe=zeros_unsafe,
    )
