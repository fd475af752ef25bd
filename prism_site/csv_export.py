"""What every CSV export of the site shares: rows streamed one line at a time, and cells a
spreadsheet cannot run as formulas."""

import csv

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file that hands back what is written, so csv.writer makes one line at a time."""

    def write(self, value):
        return value


def line_writer():
    """A csv writer whose `writerow` returns the line, for a StreamingHttpResponse."""
    return csv.writer(_Echo())


def spreadsheet_safe(value):
    """Text that a spreadsheet would run as a formula gets a leading `'`; numbers and everything
    else are left as they are (a negative number is data, not a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value
