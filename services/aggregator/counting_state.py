"""The state behind the counts: every version of every event, the
retractions by target, and the deltas each subject has emitted so far.

`CountingState.apply(versions)` takes a batch of archived versions and
returns the deltas to add to the counters: for every subject whose counted
events the batch changed (a new event, an earlier version of an event, a
retraction, whichever arrived first), `history(now) - history(emitted)`.
Which version stands, and which retraction applies, follow the reference
(services/common/reference.py `visible_events`): the standing version of an
event_id is the earliest recorded (ties: the smaller content hash); a
retraction applies from its recorded time when its standing version is a
retraction of that target.

This is the in-memory form, used by the tests (`ribao rebuild-counts` uses the runner);
the aggregator keeps the same state in ClickHouse, per subject.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from services.aggregator.contributions import (
    Counted,
    Deltas,
    counting_subject,
    difference,
    expanded,
    history,
    submissions,
)
from services.aggregator.fold import Effects, FactRow
from services.common.counting import Model
from services.common.submissions import SubmissionDeltas


@dataclass(frozen=True)
class Version:
    """What the counting needs of one archived version of an event."""

    event_id: str
    recorded_us: int
    content_hash: str
    #: the subject its fact rows count for (None: a retraction or a zero report)
    subject: str | None
    facts: tuple[FactRow, ...]
    #: a retraction's target
    target: str | None

    @property
    def order(self) -> tuple[int, str]:
        return (self.recorded_us, self.content_hash)


def version_of(effects: Effects) -> Version:
    a = effects.archive
    subject = counting_subject(effects.facts[0]) if effects.facts else None
    target = effects.retractions[0].target_event_id if effects.retractions else None
    return Version(
        a.event_id, a.recorded_us, a.content_hash, subject, effects.facts if subject else (), target
    )


@dataclass
class CountingState:
    model: Model
    versions: dict[str, dict[tuple[int, str], Version]] = field(default_factory=lambda: defaultdict(dict))
    retractions_of: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    members: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    emitted: dict[str, Deltas] = field(default_factory=dict)
    emitted_submissions: dict[str, SubmissionDeltas] = field(default_factory=dict)
    #: every submission delta `apply` has emitted, summed per (stamp, key)
    submitted: SubmissionDeltas = field(default_factory=dict)

    def standing(self, event_id: str) -> Version | None:
        found = self.versions.get(event_id)
        return found[min(found)] if found else None

    def counted(self, subject: str) -> list[Counted]:
        """The subject's standing events with the recorded interval each counts over."""
        out = []
        for event_id in sorted(self.members.get(subject, ())):
            v = self.standing(event_id)
            if v is None or v.subject != subject:
                continue
            untils = [
                r.recorded_us
                for rid in self.retractions_of.get(event_id, ())
                if (r := self.standing(rid)) is not None and r.target == event_id
            ]
            out.append(Counted(event_id, v.facts, v.recorded_us, min(untils) if untils else None))
        return out

    def affected(self, event_ids: Iterable[str]) -> set[str]:
        """The subjects whose counted events may change when these ids gain versions."""
        out: set[str] = set()
        for event_id in event_ids:
            for v in self.versions.get(event_id, {}).values():
                if v.subject is not None:
                    out.add(v.subject)
                if v.target is not None:
                    out |= {t.subject for t in self.versions.get(v.target, {}).values() if t.subject}
        return out

    def apply(self, batch: Iterable[Version]) -> Deltas:
        """The figure deltas of the batch, for every code (FAN cells expanded);
        its submission deltas are added to `submitted`, alike."""
        touched: set[str] = set()
        for v in batch:
            self.versions[v.event_id][v.order] = v
            if v.subject is not None:
                self.members[v.subject].add(v.event_id)
            if v.target is not None:
                self.retractions_of[v.target].add(v.event_id)
            touched.add(v.event_id)
        out: Deltas = {}
        ids = self.model.ids()
        for subject in sorted(self.affected(touched)):
            counted = self.counted(subject)
            now = history(counted, self.model, ids)
            change = difference(now, self.emitted.get(subject, {}))
            self.emitted[subject] = now
            rows = submissions(counted)
            for key, delta in expanded(difference(rows, self.emitted_submissions.get(subject, {}))).items():
                self.submitted[key] = self.submitted.get(key, 0) + delta
            self.emitted_submissions[subject] = rows
            for key, delta in expanded(change).items():
                out[key] = out.get(key, 0) + delta
        return {k: v for k, v in out.items() if v}
