"""A realistic load from the real registry: 30 days of one province's villages.

Persons are screened along an epidemic curve (rising, peaking 40% into the
period, falling) in villages of very uneven activity (log-normal weights); a
person's lifecycle follows: isolation for most (home, centralized or
medical; 14 days planned), release when the days are done (a few are
transferred, a few stay past their planned days), symptoms for some, a few
suspected, of whom a few are confirmed (later recovered, rarely deceased) and
the rest excluded. Venues close in the first week and many reopen in the
third; checkpoints post a tally every four hours; every village that had
nothing on a day sends a 零报告 for it (most on time, some late, some not at
all), and a few busy villages send one too (a contradicted zero report).
About 0.3% of person events are resent (the same event again, later) and
0.2% are retracted a few hours later.

Scale: the number of villages in scope grows with the number of events (one
village per 160 events, up to the whole province: Shandong's 62,074 at
10 million), so a small load has the same mix and density as the full one.

The stream is ordered by the day things happen, a person's whole lifecycle
coming at their screening (what a sender that posts corrections in bulk
would do); order does not matter to the figures (contract section 3).
Each item is (event as posted, when a sender's post would have been
recorded: minutes after it happened, 3% a day late), the second used only by
the preload path (records written straight to the topic).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from services.common.registry import read_divisions

Event = dict[str, Any]
#: (event as posted, recorded_us for the preload path)
Item = tuple[Event, int]

VILLAGE_PER_EVENTS = 160
CATEGORIES = (("returnee", 0.45), ("close_contact", 0.2), ("fever_clinic", 0.1), ("overseas", 0.05))
CHANNELS = ("community", "community", "community", "checkpoint", "police", "hospital", "self_report")
MODES = (("home", 0.7), ("centralized", 0.25), ("medical", 0.05))
VENUE_TYPES = (
    "market",
    "market",
    "live_poultry",
    "restaurant",
    "restaurant",
    "entertainment",
    "religious",
    "school",
    "scenic",
    "internet_cafe",
    "other",
)
COUNTRIES = ("JP", "KR", "US", "IT", "IR", "GB", "DE", "FR", "SG", "TH")
SYMPTOMS = ("fever", "cough", "chest_tightness", "other")
TALLY_HOURS = (2, 6, 10, 14, 18, 22)
#: expected events per screened person (calibrated on the generator's own output)
EVENTS_PER_PERSON = 2.18
ZERO_SHARE = 0.04


@dataclass(frozen=True)
class Region:
    province: str
    name: str
    #: every village of the province in the registry
    all_villages: int
    #: the villages that carry the load (a seeded sample, in code order)
    villages: tuple[str, ...]
    #: origins of returnees: 湖北's cities (武汉 among them) and other provinces' cities
    hubei: tuple[str, ...]
    elsewhere: tuple[str, ...]
    #: a village of another province, for freshness probes (nothing else goes there)
    probe_village: str


def load_region(registry_dir: Path, province: str, events: int, seed: int) -> Region:
    prefix = province[:2]
    villages: list[str] = []
    hubei: list[str] = []
    elsewhere: list[str] = []
    probe = ""
    name = province
    for d in read_divisions(registry_dir):
        if d.level == "province" and d.code.startswith(prefix):
            name = d.name
        elif d.level == "village" and d.code.startswith(prefix):
            villages.append(d.code)
        elif d.level == "city":
            (hubei if d.code.startswith("42") else elsewhere).append(d.code)
        elif d.level == "village" and not probe and not d.code.startswith(prefix):
            probe = d.code
    if not villages:
        raise ValueError(f"no villages under province {province} in {registry_dir}")
    want = min(len(villages), max(30, events // VILLAGE_PER_EVENTS))
    chosen = sorted(random.Random(seed).sample(villages, want))
    return Region(prefix, name, len(villages), tuple(chosen), tuple(hubei), tuple(elsewhere), probe)


@dataclass
class LoadSummary:
    """What the generator produced (filled in as it goes)."""

    first_day: date
    days: int
    villages: int
    persons: int = 0
    checkpoints: int = 0
    venues: int = 0
    total: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    #: events emitted while generating each day (cumulative sums pick the replay day)
    per_day: list[int] = field(default_factory=list)
    resends: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "first_day": self.first_day.isoformat(),
            "last_day": (self.first_day + timedelta(days=self.days - 1)).isoformat(),
            "days": self.days,
            "villages": self.villages,
            "persons": self.persons,
            "checkpoints": self.checkpoints,
            "venues": self.venues,
            "events": self.total,
            "resends": self.resends,
            "by_type": dict(sorted(self.by_type.items())),
            "per_day": self.per_day,
        }


class _Clock:
    """Local wall-clock strings with the zone's offset, e.g. 2026-11-01T09:30:00+08:00."""

    def __init__(self, zone: ZoneInfo) -> None:
        self._zone = zone

    def at(self, epoch_s: int) -> str:
        return datetime.fromtimestamp(epoch_s, self._zone).isoformat()


class History:
    """The 30-day history ending yesterday (local time), as a stream of items."""

    def __init__(
        self,
        region: Region,
        events: int,
        days: int,
        zone: ZoneInfo,
        now: datetime,
        seed: int,
    ) -> None:
        self.region = region
        self._rng = random.Random(seed)
        self._zone = zone
        self._clock = _Clock(zone)
        today = now.astimezone(zone).date()
        first = today - timedelta(days=days)
        self._start_s = int(datetime.combine(first, datetime.min.time(), zone).timestamp())
        self._end_s = self._start_s + days * 86_400
        self._now_us = int(now.timestamp() * 1_000_000)
        self._days = days
        n = len(region.villages)
        self.summary = LoadSummary(first, days, n)
        self._active = [bytearray(n) for _ in range(days)]
        weights = [self._rng.lognormvariate(0, 1.0) for _ in range(n)]
        self._cum = list(itertools.accumulate(weights))
        tallies_per_checkpoint = days * len(TALLY_HOURS)
        self._checkpoints = [
            (f"KK-{region.villages[i][:6]}-{k}", i)
            for k, i in enumerate(
                self._rng.choices(range(n), k=max(2, round(events * 0.03 / tallies_per_checkpoint)))
            )
        ]
        venue_count = max(3, round(events * 0.013 / 1.6))
        self._venues = [
            (
                f"V{k:07d}",
                self._village(),
                self._rng.choice(VENUE_TYPES),
                self._rng.randint(0, min(6, days - 1)),
                self._rng.randint(days // 2, days - 1) if self._rng.random() < 0.6 else -1,
            )
            for k in range(venue_count)
        ]
        other = len(self._checkpoints) * tallies_per_checkpoint + venue_count * 1.6 + events * ZERO_SHARE
        persons = max(days, (events - other) / EVENTS_PER_PERSON)
        curve = [0.35 + math.exp(-(((d - 0.4 * days) / (0.25 * days)) ** 2)) for d in range(days)]
        total = sum(curve)
        self._persons_per_day = [round(persons * c / total) for c in curve]
        self._person_seq = 0
        self.summary.checkpoints = len(self._checkpoints)
        self.summary.venues = venue_count

    # -- small helpers -------------------------------------------------------------------------

    def _village(self) -> int:
        return bisect.bisect_left(self._cum, self._rng.random() * self._cum[-1])

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _recorded_us(self, occurred_s: int) -> int:
        rng = self._rng
        if rng.random() < 0.03:
            delay = rng.uniform(20 * 3600, 30 * 3600)
        else:
            delay = min(rng.expovariate(1 / 1200), 6 * 3600)
        return min(int((occurred_s + delay) * 1_000_000), self._now_us - 1_000_000)

    def _mark(self, occurred_s: int, village: int) -> None:
        day = (occurred_s - self._start_s) // 86_400
        if 0 <= day < self._days:
            self._active[day][village] = 1

    def _event(self, kind: str, village: int, occurred_s: int, **body: Any) -> Event:
        return {
            "event_id": self._uuid(),
            "type": kind,
            "jurisdiction": self.region.villages[village],
            "occurred_at": self._clock.at(occurred_s),
            **body,
        }

    # -- generators ----------------------------------------------------------------------------

    def _lifecycle(self, village: int, t0: int) -> list[tuple[Event, int]]:
        """(event, occurred_s) of one person, screened at t0; only what happens before the end."""
        rng = self._rng
        self._person_seq += 1
        code = self.region.villages[village]
        person = {"id": f"{code[:6]}{self._person_seq:012d}"}
        roll, category = rng.random(), "other"
        for name, share in CATEGORIES:
            if roll < share:
                category = name
                break
            roll -= share
        data: dict[str, Any] = {"category": category}
        if category == "returnee":
            r = rng.random()
            data["origin"] = (
                "420100000000"
                if r < 0.15
                else rng.choice(self.region.hubei)
                if r < 0.35
                else rng.choice(self.region.elsewhere)
            )
        elif category == "overseas":
            data["origin"] = f"overseas:{rng.choice(COUNTRIES)}"
        data["channel"] = rng.choice(CHANNELS)
        out = [(self._event("screening.registered", village, t0, person=person, data=data), t0)]
        if rng.random() < 0.65:
            start = t0 + rng.randint(600, 6 * 3600)
            r = rng.random()
            mode = "home" if r < 0.7 else "centralized" if r < 0.95 else "medical"
            days = 14 if rng.random() < 0.9 else rng.choice((7, 21))
            iso = {"mode": mode, "planned_days": days}
            out.append((self._event("isolation.started", village, start, person=person, data=iso), start))
            r = rng.random()
            if r < 0.93:
                end, reason = start + days * 86_400 + rng.randint(0, 12 * 3600), "completed"
            elif r < 0.96:
                end, reason = start + rng.randint(1, days - 1) * 86_400, "transferred"
            else:
                end, reason = 0, ""  # still isolated past the planned days (overdue)
            if end:
                ended = self._event("isolation.ended", village, end, person=person, data={"reason": reason})
                out.append((ended, end))
        if rng.random() < 0.08:
            when = t0 + rng.randint(86_400, 7 * 86_400)
            symptoms = sorted(set(rng.choices(SYMPTOMS, k=rng.randint(1, 2))))
            sym = self._event("symptom.reported", village, when, person=person, data={"symptoms": symptoms})
            out.append((sym, when))
            if rng.random() < 0.35:
                when += rng.randint(3600, 86_400)
                out.append(self._case(village, when, person, "suspected"))
                when += rng.randint(86_400, 3 * 86_400)
                if rng.random() < 0.2:
                    out.append(self._case(village, when, person, "confirmed"))
                    r = rng.random()
                    if r < 0.8:
                        out.append(
                            self._case(village, when + rng.randint(10, 20) * 86_400, person, "recovered")
                        )
                    elif r < 0.82:
                        out.append(
                            self._case(village, when + rng.randint(5, 15) * 86_400, person, "deceased")
                        )
                else:
                    out.append(self._case(village, when, person, "excluded"))
        return [(e, t) for e, t in out if t < self._end_s]

    def _case(self, village: int, when: int, person: dict[str, str], status: str) -> tuple[Event, int]:
        event = self._event("case.classified", village, when, person=person, data={"status": status})
        return event, when

    def _with_corrections(self, event: Event, occurred_s: int, village: int) -> Iterator[Item]:
        """The event, and sometimes a resend of it or a retraction of it."""
        rng = self._rng
        recorded = self._recorded_us(occurred_s)
        yield event, recorded
        roll = rng.random()
        if roll < 0.003:
            self.summary.resends += 1
            yield event, recorded + rng.randint(300, 3600) * 1_000_000
        elif roll < 0.005:
            when = occurred_s + rng.randint(3600, 6 * 3600)
            if when < self._end_s:
                data = {"target_event_id": event["event_id"], "reason": "录入错误，已核实更正"}
                yield self._event("event.retracted", village, when, data=data), self._recorded_us(when)

    def __iter__(self) -> Iterator[Item]:
        rng = self._rng
        summary = self.summary
        for day in range(self._days):
            day0 = self._start_s + day * 86_400
            before = summary.total
            for cid, village in self._checkpoints:
                for hour in TALLY_HOURS:
                    t = day0 + hour * 3600 + rng.randint(0, 1800)
                    scale = 1 + 2 * self._persons_per_day[day] / max(self._persons_per_day)
                    data = {
                        "checkpoint_id": cid,
                        "people_checked": int(rng.randint(20, 400) * scale),
                        "vehicles_checked": int(rng.randint(5, 150) * scale),
                        "fevers_found": rng.choice((0, 0, 0, 0, 0, 1, 1, 2)),
                        "turned_back": rng.randint(0, 12),
                    }
                    self._mark(t, village)
                    yield from self._emit(self._event("checkpoint.tally", village, t, data=data), t)
            for vid, village, vtype, closes, reopens in self._venues:
                if day in (closes, reopens):
                    kind = "venue.closed" if day == closes else "venue.reopened"
                    t = day0 + rng.randint(8 * 3600, 18 * 3600)
                    self._mark(t, village)
                    venue = {"id": vid, "type": vtype}
                    yield from self._emit(self._event(kind, village, t, venue=venue, data={}), t)
            for _ in range(self._persons_per_day[day]):
                summary.persons += 1
                village = self._village()
                t0 = day0 + rng.randint(7 * 3600, 21 * 3600)
                for event, t in self._lifecycle(village, t0):
                    self._mark(t, village)
                    for item in self._with_corrections(event, t, village):
                        summary.total += 1
                        summary.by_type[item[0]["type"]] += 1
                        yield item
            yield from self._zero_reports(day, day0)
            summary.per_day.append(summary.total - before)

    def _emit(self, event: Event, occurred_s: int) -> Iterator[Item]:
        self.summary.total += 1
        self.summary.by_type[event["type"]] += 1
        yield event, self._recorded_us(occurred_s)

    def _zero_reports(self, day: int, day0: int) -> Iterator[Item]:
        rng = self._rng
        report_date = (self.summary.first_day + timedelta(days=day)).isoformat()
        active = self._active[day]
        for village in range(len(self.region.villages)):
            quiet = not active[village]
            if (quiet and rng.random() < 0.9) or (not quiet and rng.random() < 0.01):
                t = day0 + rng.randint(17 * 3600, 24 * 3600 - 1)
                event = self._event("report.zero", village, t, data={"report_date": report_date})
                late = rng.random() < 0.04
                recorded = (
                    int((day0 + 86_400 + rng.randint(3 * 3600, 12 * 3600)) * 1_000_000)
                    if late
                    else int((t + rng.randint(10, 1800)) * 1_000_000)
                )
                self.summary.total += 1
                self.summary.by_type["report.zero"] += 1
                yield event, min(recorded, self._now_us - 1_000_000)


def live_events(region: Region, count: int, now: datetime, zone: ZoneInfo, seed: int) -> list[Event]:
    """Today's traffic for the freshness stage: the same kinds of events, all of
    them happening in the last ten minutes (zero reports for today)."""
    rng = random.Random(seed)
    clock = _Clock(zone)
    now_s = int(now.timestamp())
    today = now.astimezone(zone).date().isoformat()
    villages = region.villages
    out: list[Event] = []
    for n in range(count):
        code = villages[rng.randrange(len(villages))]
        event: Event = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "type": "",
            "jurisdiction": code,
            "occurred_at": clock.at(now_s - rng.randint(0, 600)),
        }
        person = {"id": f"L{code[:6]}{seed % 1000:03d}{n:08d}"}
        r = rng.random()
        if r < 0.45:
            event |= {"type": "screening.registered", "person": person, "data": {"category": "returnee"}}
        elif r < 0.7:
            event |= {"type": "isolation.started", "person": person, "data": {"mode": "home"}}
        elif r < 0.8:
            event |= {"type": "isolation.ended", "person": person, "data": {"reason": "completed"}}
        elif r < 0.85:
            event |= {"type": "symptom.reported", "person": person, "data": {"symptoms": ["fever"]}}
        elif r < 0.88:
            event |= {"type": "case.classified", "person": person, "data": {"status": "suspected"}}
        elif r < 0.92:
            event |= {
                "type": "checkpoint.tally",
                "data": {
                    "checkpoint_id": f"KK-{code[:6]}-live",
                    "people_checked": rng.randint(20, 400),
                    "vehicles_checked": rng.randint(5, 150),
                    "fevers_found": 0,
                    "turned_back": rng.randint(0, 5),
                },
            }
        elif r < 0.94:
            event |= {
                "type": rng.choice(("venue.closed", "venue.reopened")),
                "venue": {"id": f"V{rng.randint(0, 9999):07d}", "type": rng.choice(VENUE_TYPES)},
                "data": {},
            }
        else:
            event |= {"type": "report.zero", "data": {"report_date": today}}
        out.append(event)
    return out


def probe_event(region: Region, n: int, occurred: datetime, zone: ZoneInfo, tag: str) -> Event:
    """A screening of a new person in the probe village: its arrival in the
    village's daily report is what the freshness stage times."""
    return {
        "event_id": str(uuid.uuid4()),
        "type": "screening.registered",
        "jurisdiction": region.probe_village,
        "occurred_at": _Clock(zone).at(int(occurred.timestamp())),
        "person": {"id": f"probe-{tag}-{n}"},
        "data": {"category": "other"},
    }
