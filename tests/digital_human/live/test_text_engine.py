"""The text engine beside the media session: same contract (segments in, Spoken back, an interjection
cuts the current segment at a word boundary and the segment resumes from that word), spoken into a
transcript at a sped-up pace."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from adloom.core.types import Language
from adloom.digital_human.live.text_engine import TextSession
from adloom.digital_human.live.types import Interjection, Segment, SegmentKind, Spoken


class LoopSource:
    """A looping two-line script that records what the session reports (a real SegmentSource)."""

    def __init__(self) -> None:
        self.lines = [
            Segment(
                "p1/s0", "this serum is light and sinks in fast so you can wear it under makeup", SegmentKind.product
            ),
            Segment("p1/s1", "ask me anything in the comments", SegmentKind.interaction),
        ]
        self.i = 0
        self.reports: list[Spoken] = []
        self.on_first: Callable[[], None] = lambda: None

    def next_segment(self) -> Segment:
        seg = self.lines[self.i % len(self.lines)]
        self.i += 1
        if self.i == 1:
            self.on_first()  # a comment arrives as the first line starts: it is cut after its first word
        return seg

    def spoken(self, report: Spoken) -> None:
        self.reports.append(report)


def test_interjection_cuts_at_a_word_and_the_segment_resumes(tmp_path: Path) -> None:
    source = LoopSource()
    transcript = tmp_path / "transcript.jsonl"
    session = TextSession(source, Language.en, transcript=transcript, rate=20)
    answer = Interjection("@amy yes it suits oily skin", kind=SegmentKind.answer, priority=2, viewer="amy")
    source.on_first = lambda: session.interject(answer)
    session.start()
    try:
        deadline = time.monotonic() + 20
        while not any(r.segment_id == "p1/s0" and r.completed for r in source.reports):
            assert time.monotonic() < deadline, source.reports
            time.sleep(0.05)
    finally:
        session.stop()
    lines = [json.loads(x) for x in transcript.read_text(encoding="utf-8").splitlines()]
    cut, said, rest = lines[0], lines[1], lines[2]
    assert cut["id"] == "p1/s0" and cut["completed"] is False
    assert said == {"t": said["t"], "start": said["start"], "kind": "answer", "viewer": "amy", "text": answer.text}
    assert cut["start"] <= cut["t"] <= said["start"] < said["t"]  # each record: when it started and ended
    assert rest["id"] == "p1/s0" and rest["completed"] is True
    assert cut["text"] == "this"  # cut at the first word boundary after the comment arrived
    assert f"{cut['text']} {rest['text']}" == source.lines[0].text  # resumed from the word where it stopped
    assert source.reports[0] == Spoken("p1/s0", False, len(cut["text"].split()), source.reports[0].pts_end_s)
    assert session.status()["interrupted"] == 1 and session.status()["interjections"] == 1
