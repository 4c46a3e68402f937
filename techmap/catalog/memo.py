"""Per-process memos of answers computed from the whole table, kept until the data change.

Counting a million rows takes seconds; checking whether anything changed takes a millisecond
(read_data_version(): indexed MAX()es of Entry.updated, the history tables and releases, and
the top entry id). So answers that do not depend on the request's details, such as the
unfiltered facet counts or the cables' envelopes, are computed once per process and reused
while that version holds. Each call checks the version, so a change is seen at once.
"""

import threading
from collections import OrderedDict

_lock = threading.Lock()
_store: OrderedDict = OrderedDict()
MAX_ITEMS = 64  # distinct keys kept (least recently used first out)


def current_version():
    from techmap.web.caching import read_data_version  # the validator HTTP caching uses

    return read_data_version()


def memoized(key, compute):
    """compute()'s value for key, recomputed when the data version differs from last time.

    The value is shared between requests: callers must not change it.
    """
    version = current_version()
    with _lock:
        hit = _store.get(key)
        if hit is not None and hit[0] == version:
            _store.move_to_end(key)
            return hit[1]
    value = compute()
    with _lock:
        _store[key] = (version, value)
        _store.move_to_end(key)
        while len(_store) > MAX_ITEMS:
            _store.popitem(last=False)
    return value


def forget() -> None:
    """Drop every memo (tests)."""
    with _lock:
        _store.clear()
