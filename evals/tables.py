"""Terminal tables that fit: the table when its rows fit the console, else one block per row.

A rich table wider than the terminal wraps every cell inside its column: at 80
columns a ten-column table becomes one word per line (`evals calibrate` printed a
91-line table). :func:`print_table` measures the table's natural width first and, when
it does not fit, prints the same cells as a narrow layout: per row, the first cell as a
heading and every other column as ``header  value`` beneath it, which reads the same at
any width. Wide terminals and CI logs (whose consoles are 120+ columns) keep the table.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text


def natural_width(console: Console, table: Table) -> int:
    """Columns the table needs so that no cell wraps."""
    options = console.options.update_width(10_000)
    return Measurement.get(console, options, table).maximum


def _header(column_header: RenderableType) -> str:
    text = column_header.plain if isinstance(column_header, Text) else str(column_header)
    return " ".join(text.split())


def _as_text(cell: RenderableType) -> Text:
    if isinstance(cell, Text):
        return cell
    return Text.from_markup(cell) if isinstance(cell, str) else Text(str(cell))


def narrow(table: Table) -> RenderableType:
    """The table's rows as blocks: first cell as a heading, the others as header/value."""
    columns = table.columns
    if not columns:
        return table
    cells = [list(c.cells) for c in columns]
    blocks: list[RenderableType] = []
    if table.title:
        blocks.append(Text.assemble(_as_text(table.title), style="bold"))
    for i in range(table.row_count):
        head = Text.assemble(
            f"{_header(columns[0].header)}: ",
            _as_text(cells[0][i]),
            style="bold",
        )
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for col, col_cells in zip(columns[1:], cells[1:], strict=True):
            grid.add_row(_header(col.header), col_cells[i])
        blocks += [head, grid, Text("")]
    if table.caption:
        blocks.append(_as_text(table.caption))
    return Group(*blocks)


def fitted(console: Console, table: Table) -> RenderableType:
    """The table if it fits the console's width, else its narrow layout."""
    return table if natural_width(console, table) <= console.width else narrow(table)


def print_table(console: Console, table: Table) -> None:
    """Print a table so that no row wraps (see the module docstring)."""
    console.print(fitted(console, table))
