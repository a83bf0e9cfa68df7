"""A student's values, keyed by /check's paths (``layers[0].z``, ``network.layers[1].bias``), as
/check's ``claimed``. Pure Python with no imports: the exercise notebook carries this module's
source in its check() cell, and ``backprop grade`` uses it as it is, so both read a student's
values the same way. A blank is ``...`` (Python's Ellipsis), alone or anywhere in a list."""


def filled(value: object) -> bool:
    """Whether a value holds no blank: a number, or lists of numbers with no ``...``."""
    if value is ...:
        return False
    if isinstance(value, list):
        return bool(value) and all(filled(item) for item in value)
    return True


def claimed_from(values: dict[str, object]) -> dict[str, object]:
    """The filled values as /check's ``claimed``: ``{"layers[1].z": v}`` becomes
    ``{"layers": [{}, {"z": v}]}``; a value with a blank is left out."""
    claimed: dict[str, object] = {}
    for path, value in values.items():
        if not filled(value):
            continue
        parts = path.replace("]", "").replace("[", ".").split(".")
        owner: dict[str, object] = claimed
        for at, part in enumerate(parts[:-1]):
            if part.isdigit():
                continue
            if parts[at + 1].isdigit():
                index = int(parts[at + 1])
                items = owner.setdefault(part, [])
                assert isinstance(items, list)
                items.extend({} for _ in range(index + 1 - len(items)))
                owner = items[index]
            else:
                inner = owner.setdefault(part, {})
                assert isinstance(inner, dict)
                owner = inner
        owner[parts[-1]] = value
    return claimed
