"""External tools run under a deadline proportional to their work; a timeout is a typed error naming the call."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from adloom.core import proc as proc_mod
from adloom.core.errors import BackendUnavailableError, ToolTimeoutError
from adloom.core.proc import deadline, run_tool, tool_timeout

#: An ffmpeg that never ends on its own: an endless test source encoded to nowhere, progress on stdout.
ENDLESS = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-re", "-f", "lavfi", "-i",
           "testsrc=size=64x64:rate=25", "-f", "null", "-progress", "pipe:1", "-"]  # fmt: skip


def test_timeout_grows_with_the_work() -> None:
    assert tool_timeout() == proc_mod.TOOL_FLOOR_S
    assert tool_timeout(30.0) == tool_timeout(0.0) + 30 * proc_mod.TOOL_S_PER_MEDIA_S
    assert tool_timeout(frames=100) == tool_timeout() + 100 * proc_mod.TOOL_S_PER_FRAME
    assert tool_timeout(-5.0, frames=-1) == tool_timeout()  # nonsense lengths never shrink the floor


def test_run_tool_kills_a_hung_tool_and_names_purpose_and_input(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    with pytest.raises(ToolTimeoutError) as info:
        run_tool(ENDLESS, purpose="ffmpeg decoding the clip", subject=clip, timeout_s=0.5, capture_output=True)
    err = info.value
    assert isinstance(err, BackendUnavailableError)
    assert "ffmpeg decoding the clip" in str(err) and str(clip) in str(err) and err.timeout_s == 0.5
    assert err.__cause__ is None  # the command line (inputs and all) is not repeated in a traceback


def test_run_tool_returns_the_finished_process() -> None:
    done = run_tool([imageio_ffmpeg.get_ffmpeg_exe(), "-version"], purpose="ffmpeg version", subject="-",
                    timeout_s=tool_timeout(), capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0 and "ffmpeg version" in done.stdout


def test_deadline_stops_a_tool_whose_output_is_read_while_it_runs() -> None:
    p = subprocess.Popen(ENDLESS, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert p.stdout is not None
    lines = 0
    with pytest.raises(ToolTimeoutError, match=r"ffmpeg rendering the video \(out\.mp4\)"):
        with deadline(p, purpose="ffmpeg rendering the video", subject="out.mp4", timeout_s=1.0):
            for _ in p.stdout:
                lines += 1
            p.wait()
    assert p.poll() is not None and lines > 0  # it was running, reporting progress, and is gone now


def test_deadline_is_silent_when_the_tool_finishes() -> None:
    p = subprocess.Popen([imageio_ffmpeg.get_ffmpeg_exe(), "-version"], stdout=subprocess.PIPE)
    with deadline(p, purpose="ffmpeg version", subject="-", timeout_s=tool_timeout()):
        out = p.communicate()[0]
    assert p.returncode == 0 and out.startswith(b"ffmpeg version")
