"""Reporting status in the counting model (contract section 5): the
submission rows the aggregator maintains, and how a status is read from them.

An event *submits* for date D in J when it is a `report.zero` for D, or any
other counted event with `occurred_at` in W, attributed to J's subtree. Each
standing event counts over its recorded interval [since, until)
(services/aggregator/contributions.py `Counted`), so it adds, for every
ancestor A of its jurisdiction, one row keyed (A, counter, bucket, rec):

- `counter` ACTIVITY with `bucket` its occurred hour, or ZERO with `bucket`
  the day number of its `report_date`; a zero report also adds OWN_ZERO at
  its own jurisdiction only (the zero reports a contradiction can break);
- `rec` = since, the standing version's recorded time: its submission time;

+1 stamped `since` and -1 stamped `until`. As of T the rows stamped <= T sum,
per key, to the number of such events standing at T. So for (J, W, D):

- submitted: some ACTIVITY row with bucket in W, or ZERO row with bucket D,
  has a positive sum; `activity` / `zero_reported` say which;
- the submission time: the least `rec` among the keys with a positive sum;
- contradicted: some Z in J's subtree has a positive OWN_ZERO sum for D and
  a positive ACTIVITY sum in W (Z's ACTIVITY rows count Z's subtree).

`read_reporting` is the plain-Python form of the read the API makes in
ClickHouse (services/api/reporting_sql.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from schemas import codes
from services.common.counting import window_buckets

ACTIVITY = 1
ZERO = 2
OWN_ZERO = 3
#: submission times are first narrowed to a minute (`submissions.rec_minute`)
MINUTE_US = 60_000_000
_EPOCH = date(1970, 1, 1).toordinal()

#: (stamp, (code, counter, bucket, rec)) -> delta
SubmissionKey = tuple[str, int, int, int]
SubmissionDeltas = dict[tuple[int, SubmissionKey], int]


def day_number(day: str) -> int:
    """A `YYYY-MM-DD` date as days since 1970-01-01 (ClickHouse `toUInt16(toDate(day))`)."""
    return date.fromisoformat(day).toordinal() - _EPOCH


@dataclass(frozen=True)
class Submitted:
    """What a jurisdiction's reporting status is made of, as of T."""

    first_us: int | None
    activity: bool
    zero_reported: bool
    contradicted: bool

    def status(self, deadline_us: int) -> str:
        """The section 5 status, given the deadline."""
        if self.first_us is None:
            return "missing"
        if self.first_us > deadline_us:
            return "late"
        return "reported" if self.activity else "zero_reported"


def read_reporting(
    rows: Iterable[tuple[int, SubmissionKey, int]],
    code: str,
    start_us: int,
    end_us: int,
    day: str,
    as_of_us: int,
) -> Submitted:
    """J's submission as of T from rows (stamp, (code, counter, bucket, rec), delta)."""
    s, e = window_buckets(start_us, end_us)
    d = day_number(day)
    lo, hi = codes.subtree_range(code)
    standing: dict[SubmissionKey, int] = defaultdict(int)
    for t, key, delta in rows:
        if t <= as_of_us:
            standing[key] += delta
    recs: dict[int, set[int]] = defaultdict(set)
    own_zero: set[str] = set()
    active: set[str] = set()
    for (c, counter, bucket, rec), n in standing.items():
        if n <= 0:
            continue
        in_w = counter == ACTIVITY and s <= bucket < e
        if in_w:
            active.add(c)
        if counter == OWN_ZERO and bucket == d and lo <= c <= hi:
            own_zero.add(c)
        if c == code and (in_w or (counter == ZERO and bucket == d)):
            recs[counter].add(rec)
    every = recs[ACTIVITY] | recs[ZERO]
    return Submitted(
        first_us=min(every) if every else None,
        activity=bool(recs[ACTIVITY]),
        zero_reported=bool(recs[ZERO]),
        contradicted=bool(own_zero & active),
    )
