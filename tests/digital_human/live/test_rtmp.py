"""Acceptance: a room streams 20 s to a real RTMP server on loopback; what the server received is read back.

The session runs faster than real time (nginx-rtmp relays and records whatever pace it
is pushed at). It inserts sync marks — a white frame and a 10 ms tone burst at the same
PTS, once a second — so the A/V offset is measured on a real signal in the stream the
server recorded, after encoding, MPEG-TS, remuxing to FLV and the RTMP hop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from live_helpers import BarAvatar, LoopSource, av_offsets, needs_espeak, read_stream

from adloom.digital_human.live.outputs import OutputSpec
from adloom.digital_human.live.session import LiveConfig, LiveSession

SECONDS = 20


@needs_espeak
def test_twenty_seconds_to_rtmp_read_back_h264_aac_25fps_in_sync(rtmp_server, tmp_path: Path) -> None:
    source = LoopSource()
    config = LiveConfig(realtime=False, max_frames=SECONDS * 25, sync_mark_every_s=1.0, preset="ultrafast")
    outputs = [
        OutputSpec.rtmp(rtmp_server.url("room1")),
        OutputSpec.hls(tmp_path / "hls"),
        OutputSpec.mp4(tmp_path / "rec.mp4"),
    ]
    session = LiveSession(source, BarAvatar(), outputs, config, tts=["espeak"])
    session.start()
    assert session.wait(120), "the session did not finish its 20 s"
    status = session.stop()
    rtmp_server.stop()  # graceful: nginx finalises the recording

    assert status.state == "stopped" and status.error == ""
    assert status.frame == SECONDS * 25
    assert {o.kind: o.state for o in status.outputs} == {"rtmp": "closed", "hls": "closed", "mp4": "closed"}
    assert all(o.bytes_dropped == 0 and o.reconnects == 0 for o in status.outputs)
    assert status.segments_completed >= 2 and status.tts_failures == 0

    recordings = rtmp_server.recordings()
    assert len(recordings) == 1, recordings
    got = read_stream(recordings[0])
    assert (got.video_codec, got.audio_codec) == ("h264", "aac")
    assert abs(got.fps - 25.0) <= 0.1, got.fps
    assert got.frames == SECONDS * 25
    assert abs(got.audio_seconds - SECONDS) < 0.1
    # the speech is there: the loudest second is far above the quietest
    per_second = [np.sqrt(np.mean(got.audio[i * 48000 : (i + 1) * 48000] ** 2)) for i in range(SECONDS - 1)]
    assert max(per_second) > 0.02

    offsets = av_offsets(got)
    assert len(got.flashes) == SECONDS and len(offsets) == SECONDS
    assert max(abs(o) for o in offsets) < 0.040, offsets

    # the same encode reached the local preview and the recording
    playlist = (tmp_path / "hls" / "index.m3u8").read_text()
    assert "#EXTM3U" in playlist and ".ts" in playlist
    mp4 = read_stream(tmp_path / "rec.mp4")
    assert mp4.frames == SECONDS * 25 and (mp4.video_codec, mp4.audio_codec) == ("h264", "aac")
    assert max(abs(o) for o in av_offsets(mp4)) < 0.040
