"""Live rooms as long-running processes: define, start, stop, status, say, comment.

A room is a YAML file (or a definition posted through :func:`define_room`). ``start`` validates it,
stores it with its assets in ``ADLOOM_HOME/live/<room id>/`` and launches one background process per
room, which wires script, director, comment intake, answers and a session together and serves a
loopback control API guarded by a random token. By job:

- :mod:`~adloom.serving.rooms.schema`: the room file, loading it, storing it with its assets;
- :mod:`~adloom.serving.rooms.outputs`: the ``outputs`` strings (RTMP, HLS, MP4 file, null);
- :mod:`~adloom.serving.rooms.runtime`: the running room's parts wired together;
- :mod:`~adloom.serving.rooms.control`: the control API and the room process that serves it;
- :mod:`~adloom.serving.rooms.simulate`: the room's script over a simulated day, and how much it repeats;
- :mod:`~adloom.serving.rooms.process`: starting, finding, calling and stopping room processes.

The text engine lives beside the media session, in :mod:`adloom.digital_human.live.text_engine`.
"""

from adloom.serving.rooms.control import CommentBody, ControlGuard, SayBody, control_app, run_room
from adloom.serving.rooms.outputs import check_outputs, output_specs, parse_output, stream_secrets
from adloom.serving.rooms.process import (
    RunInfo,
    call,
    comment,
    is_our_room,
    known_rooms,
    process_identity,
    resolve_room_ref,
    room_status,
    run_info,
    say,
    start_room,
    stop_room,
)
from adloom.serving.rooms.runtime import RoomRuntime, build_schedule, room_script, to_loop_script
from adloom.serving.rooms.schema import (
    RoomFile,
    RoomPreset,
    ScheduleSlot,
    define_room,
    load_room,
    parse_room,
    room_dir,
    rooms_root,
)
from adloom.serving.rooms.simulate import VarietyReport, simulate_script, variety_report

__all__ = [
    "CommentBody",
    "ControlGuard",
    "RoomFile",
    "RoomPreset",
    "RoomRuntime",
    "RunInfo",
    "SayBody",
    "ScheduleSlot",
    "VarietyReport",
    "build_schedule",
    "call",
    "check_outputs",
    "comment",
    "control_app",
    "define_room",
    "is_our_room",
    "known_rooms",
    "load_room",
    "output_specs",
    "parse_output",
    "parse_room",
    "process_identity",
    "resolve_room_ref",
    "room_dir",
    "room_script",
    "room_status",
    "rooms_root",
    "run_info",
    "run_room",
    "say",
    "simulate_script",
    "start_room",
    "stop_room",
    "stream_secrets",
    "to_loop_script",
    "variety_report",
]
