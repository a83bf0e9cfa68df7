"""Python source as ruff formats it (app.render.export.source): literals that read back as the
same numbers, within the line length."""

import ast
import math

from app.render.export.source import literal


def test_literals_read_back_as_the_same_numbers() -> None:
    """Numbers are written in forms that Python reads back bit for bit, laid out within the
    line length."""
    tricky = [1e-7, -0.0, 1.7976931348623157e308, 5e-324, 0.1 + 0.2, 123456789012345680000.0, 2.5]
    rows = [tricky, [float(i) / 3 for i in range(60)], []]
    text = literal(rows, 0, 4)
    back = ast.literal_eval(text)
    assert [[float(x).hex() for x in row] for row in back] == [
        [x.hex() for x in row] for row in rows
    ]
    assert math.copysign(1.0, back[0][1]) == -1.0
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "e+" not in text  # ruff writes 1e308, not 1e+308
    assert ast.literal_eval(literal([[3, 0, 2, 1]])) == [[3, 0, 2, 1]]
