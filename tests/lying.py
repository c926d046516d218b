"""Values whose comparisons and conversions lie, for the issue 11 tests: source text, because the
tests define them inside child interpreters (and exec it here for in-process calls)."""

SOURCE = """
class EvilInt(int):
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = lambda self, other: True
    __hash__ = int.__hash__

    def __index__(self):
        return 1

    def __int__(self):
        return 1


class EvilFloat(float):
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = lambda self, other: True
    __hash__ = float.__hash__

    def __float__(self):
        return 0.005
"""
