"""Go's ``time.Parse(time.RFC3339Nano, ...)`` and jsonpb's ``google.protobuf.Timestamp`` text.

jsonpb reads a Timestamp with Go's general layout parser (lenient: a one-digit hour, a comma before the
fraction, offsets up to 24:60 pass) and writes it back in UTC with 0, 3, 6 or 9 fractional digits. The
parse errors are Go's ``*time.ParseError`` messages, word for word.
"""

from __future__ import annotations

from kuma_cp.specs._jsonpb import _time_quote

__all__ = ["parse_rfc3339", "timestamp_text"]

_LAYOUT = "2006-01-02T15:04:05.999999999Z07:00"
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _quote(text: str) -> str:
    return _time_quote(text.encode("utf-8", errors="surrogateescape"))  # Go's time.quote


class _Bad(Exception):
    pass


def _cannot(value: str, element: str, layout_element: str) -> ValueError:
    return ValueError(
        f"parsing time {_quote(value)} as {_quote(_LAYOUT)}: cannot parse {_quote(element)} as "
        f"{_quote(layout_element)}"
    )


def _digit(text: str, index: int) -> bool:
    return index < len(text) and "0" <= text[index] <= "9"


def _getnum(text: str, fixed: bool) -> tuple[int, str]:
    if not _digit(text, 0):
        raise _Bad
    if not _digit(text, 1):
        if fixed:
            raise _Bad
        return int(text[0]), text[1:]
    return int(text[:2]), text[2:]


def _atoi(text: str) -> int:
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or not all("0" <= c <= "9" for c in digits):
        raise _Bad
    return -int(digits) if text[:1] == "-" else int(digits)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_from_civil(year: int, month: int, day: int) -> int:
    # days since 1970-01-01 of a proleptic Gregorian date (any year)
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (month <= 2), month, day


def _fraction(text: str) -> tuple[int, str]:
    # stdFracSecond9: a period or comma and any number of digits (nanoseconds, truncated)
    if len(text) < 2 or text[0] not in ".," or not "0" <= text[1] <= "9":
        return 0, text
    end = 1
    while end < len(text) and "0" <= text[end] <= "9":
        end += 1
    digits = text[1 : min(end, 10)]
    return int(digits) * 10 ** (9 - len(digits)), text[end:]


def _zone(text: str) -> tuple[int, str, str]:
    # stdISO8601ColonTZ: Z or ±hh:mm; (offset seconds, rest, range error); _Bad when malformed
    if text[:1] == "Z":
        return 0, text[1:], ""
    if len(text) < 6 or text[3] != ":":
        raise _Bad
    hours = minutes = 0
    bad = text[0] not in "+-"
    try:
        hours = _getnum(text[1:3], True)[0]
        minutes = _getnum(text[4:6], True)[0]
    except _Bad:
        bad = True
    error = "time zone offset hour" if hours > 24 else ""
    error = "time zone offset minute" if minutes > 60 else error
    if bad and not error:
        raise _Bad
    offset = (hours * 60 + minutes) * 60
    return (-offset if text[0] == "-" else offset), text[6:], error


_RANGES = {"01": (1, 12, "month"), "15": (0, 23, "hour"), "04": (0, 59, "minute"), "05": (0, 59, "second")}


def parse_rfc3339(value: str) -> tuple[int, int]:
    """Unix seconds and nanoseconds of *value*, or ValueError with Go's ``*time.ParseError`` text."""
    rest = value
    fields: list[int] = []
    for prefix, element in (("", "2006"), ("-", "01"), ("-", "02"), ("T", "15"), (":", "04"), (":", "05")):
        if prefix:
            if not rest.startswith(prefix):
                raise _cannot(value, rest, prefix)
            rest = rest[1:]
        hold = rest
        try:
            if element != "2006":
                number, rest = _getnum(rest, element != "15")
            elif len(rest) < 4 or not _digit(rest, 0):
                raise _Bad
            else:
                number, rest = _atoi(rest[:4]), rest[4:]
        except _Bad:
            raise _cannot(value, hold, element) from None
        low, high, name = _RANGES.get(element, (0, 9999, ""))
        if not low <= number <= high:
            raise ValueError(f"parsing time {_quote(value)}: {name} out of range")
        fields.append(number)
    nanos, rest = _fraction(rest)
    hold = rest
    try:
        offset, rest, range_error = _zone(rest)
    except _Bad:
        raise _cannot(value, hold, "Z07:00") from None
    if range_error:
        raise ValueError(f"parsing time {_quote(value)}: {range_error} out of range")
    if rest:
        raise ValueError(f"parsing time {_quote(value)}: extra text: {_quote(rest)}")
    year, month, day, hour, minute, second = fields
    days_in = 29 if month == 2 and _leap(year) else _DAYS[month - 1]
    if not 1 <= day <= days_in:
        raise ValueError(f"parsing time {_quote(value)}: day out of range")
    seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
    return seconds, nanos


def timestamp_text(seconds: int, nanos: int) -> str:
    """The text jsonpb writes for a Timestamp: UTC, ``Z``, 0, 3, 6 or 9 fractional digits."""
    days, clock = divmod(seconds, 86400)
    year, month, day = _civil_from_days(days)
    sign = "-" if year < 0 else ""
    text = f"{sign}{abs(year):04d}-{month:02d}-{day:02d}T{clock // 3600:02d}:{clock // 60 % 60:02d}:"
    fraction = f"{nanos:09d}"
    for _ in range(2):
        fraction = fraction.removesuffix("000")
    fraction = "" if fraction == "000" else "." + fraction
    return f"{text}{clock % 60:02d}{fraction}Z"
