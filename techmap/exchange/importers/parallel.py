"""Parse a large CSV file on every core: the text is cut at record boundaries into parts
that worker processes read and validate at the same time.

A record boundary is a line end with an even number of quote characters before it. That
holds when every quote belongs to a well-formed quoted cell; a worker checks it for its
part, and when any part has a stray quote (or a record the csv module rejects), the
caller parses the whole file in one process instead, so results never depend on the cut.
Workers are forked: they share the parent's copy of the text and loaded modules, and
send back only their parsed rows, packed by marshal when they are plain values (four
times faster to pack than by pickle, which the pool would use).
"""

import collections
import concurrent.futures
import csv
import io
import marshal
import multiprocessing
import os
import re
import threading
import time

from techmap.catalog import bulkload, gazetteer
from techmap.exchange.importers.base import csv_rows
from techmap.exchange.importers.values import country_iso2

# Files smaller than this parse faster in one process than it takes to start workers.
PARALLEL_FROM = 8 * 1024 * 1024  # characters
PART = 2 * 1024 * 1024  # characters per part: many parts keep both workers busy to the end
AHEAD = 4  # parts submitted per worker ahead of the one the caller waits for
WORKER_NICENESS = 10
# A well-formed quoted cell: it starts a cell and its closing quote ends one. The pattern
# starts with the quote itself, so the search skips from quote to quote (five times
# faster than trying the look-behind at every character).
_QUOTED = re.compile(r'"(?:(?<=[,\n\r]")|(?<=^"))[^"]*(?:""[^"]*)*"(?=[,\r\n]|$)')

_text = ""  # the text being parsed, shared with forked workers


def _record_end(text: str, start: int, stop: int) -> int:
    """The position after the first line end at or after stop with an even number of
    quotes in text[start:end] (a record boundary), or len(text)."""
    quotes = text.count('"', start, stop)
    while True:
        end = text.find("\n", stop)
        if end < 0:
            return len(text)
        quotes += text.count('"', stop, end + 1)
        stop = end + 1
        if quotes % 2 == 0:
            return stop


def _line_count(text: str, start: int, end: int) -> int:
    """Lines in text[start:end] as the csv module counts them (\\n, \\r\\n or \\r)."""
    return (
        text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)
    )


def parts(text: str, start: int, first_line: int, size: int | None = None):
    """(start, end, number of the first line) of consecutive parts of text from start,
    each of about size (PART) characters."""
    size = size or PART
    line = first_line
    while start < len(text):
        end = _record_end(text, start, min(start + size, len(text)))
        yield start, end, line
        line += _line_count(text, start, end)
        start = end


def _start_worker(parent: int) -> None:
    """Worker start-up: exit when the importing process dies (e.g. killed), rather than
    wait forever for work that will never come; and run at a lower priority than it, since
    it writes each part while the workers parse the next: its work is the longer chain."""
    os.nice(WORKER_NICENESS)

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _parse_part(job):
    start, end, first_line, header, parse_rows = job
    part = _text[start:end]
    if '"' in part and '"' in _QUOTED.sub("", part):
        return None  # a stray quote: the cut may be wrong
    rows = list(csv_rows(csv.reader(io.StringIO(part, newline=""), strict=False), first_line - 1))
    if any(isinstance(row, Exception) for _, row in rows):
        return None  # the csv module's recovery may depend on where the part starts
    parsed = parse_rows(rows, header)
    try:
        return marshal.dumps(parsed)
    except ValueError:  # other objects than plain values, e.g. row errors: the pool pickles
        return parsed


def _unpacked(result):
    return marshal.loads(result) if isinstance(result, bytes) else result


def workers() -> int:
    return bulkload.cores()


def parse_in_parallel(text: str, header: list[str], parse_rows):
    """parse_rows() of every record after the header: an iterator of per-part results in
    file order, yielded as the workers finish them so the caller can use one part while
    the next are parsed. A part that cannot be cut safely yields None, and the caller then
    parses the whole file in one process. None instead of an iterator when the file cannot
    be cut at all, or this machine cannot run workers."""
    header_end = _record_end(text, 0, 0)
    if _line_count(text, 0, header_end) != 1 or '"' in _QUOTED.sub("", text[:header_end]):
        return None
    if workers() < 2:
        return None
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    jobs = (
        (start, end, line, header, parse_rows)
        for start, end, line in parts(text, header_end, 1 + _line_count(text, 0, header_end))
    )
    return _parsed_parts(text, jobs)


def _parsed_parts(text: str, jobs):
    global _text
    # Loaded once here, the gazetteer's cities and the country names are shared by the
    # forked workers instead of being loaded by each (each indexes the countries it needs).
    gazetteer.city_point("", "")
    country_iso2("China")
    _text = text
    pool = concurrent.futures.ProcessPoolExecutor(
        workers(),
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(os.getpid(),),
    )
    try:
        # Parts are cut as the workers take them (cutting a 400 MB file took 0.8 s before
        # the first worker started), and at most AHEAD wait parsed for the caller.
        pending, window = collections.deque(), AHEAD * workers()
        while True:
            while len(pending) < window and (job := next(jobs, None)) is not None:
                pending.append(pool.submit(_parse_part, job))
            if not pending:
                return
            result = pending.popleft().result()
            yield _unpacked(result)
            if result is None:
                return
    finally:
        _text = ""
        pool.shutdown(cancel_futures=True)


_END = object()


def read_ahead(items):
    """Yield the items of an iterator, each computed in a thread while the caller uses the
    one before: the parsed parts of a first load are turned into records while the caller
    waits for the database to write the part before (the thread takes the interpreter's
    lock whenever the caller waits on a socket or on SQLite). The first item is computed in
    the caller's thread, so whatever the iterator starts (the workers, forked) starts there.
    """
    items = iter(items)
    try:
        item = next(items, _END)
        if item is _END:
            return
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="read-ahead") as pool:
            while item is not _END:
                following = pool.submit(next, items, _END)
                yield item
                item = following.result()
    finally:
        if hasattr(items, "close"):  # e.g. a generator that shuts its workers down
            items.close()
