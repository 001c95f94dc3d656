"""The looks of the 2D rigged presenter: colours and styles, as data.

A look is what a person picks for the presenter (hair style and colour, skin, outfit);
:class:`~adloom.digital_human.avatar.rig.RigPresenter` draws any of them with the same rig.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from adloom.core.errors import InputError

__all__ = ["LOOKS", "Look", "get_look"]

RGB = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Look:
    """Colours (RGB) and styles of one presenter."""

    name: str
    title: str
    skin: RGB
    hair: RGB
    hair_style: Literal["long", "short", "bob", "bun"]
    outfit: RGB
    outfit_style: Literal["blazer", "tee", "blouse"]
    inner: RGB  # shirt under a blazer, collar of a blouse
    lips: RGB
    iris: RGB
    lashes: bool = True
    background_top: RGB = (238, 226, 236)
    background_bottom: RGB = (196, 170, 190)


LOOKS: dict[str, Look] = {
    look.name: look
    for look in (
        Look(
            name="look1",
            title="Mei: long black hair, red blazer",
            skin=(241, 204, 178),
            hair=(36, 28, 28),
            hair_style="long",
            outfit=(190, 38, 58),
            outfit_style="blazer",
            inner=(248, 246, 242),
            lips=(198, 84, 98),
            iris=(72, 46, 30),
        ),
        Look(
            name="look2",
            title="Alex: short brown hair, blue tee",
            skin=(224, 172, 135),
            hair=(78, 50, 32),
            hair_style="short",
            outfit=(44, 92, 160),
            outfit_style="tee",
            inner=(230, 230, 230),
            lips=(178, 104, 96),
            iris=(64, 84, 52),
            lashes=False,
            background_top=(222, 232, 244),
            background_bottom=(160, 180, 206),
        ),
        Look(
            name="look3",
            title="Lin: auburn bob, cream blouse",
            skin=(250, 222, 204),
            hair=(128, 66, 38),
            hair_style="bob",
            outfit=(240, 232, 218),
            outfit_style="blouse",
            inner=(210, 190, 160),
            lips=(214, 96, 118),
            iris=(58, 42, 30),
            background_top=(246, 236, 222),
            background_bottom=(214, 190, 164),
        ),
        Look(
            name="look4",
            title="Sam: black bun, green blazer",
            skin=(156, 104, 74),
            hair=(22, 20, 22),
            hair_style="bun",
            outfit=(28, 108, 90),
            outfit_style="blazer",
            inner=(236, 226, 200),
            lips=(142, 66, 64),
            iris=(40, 28, 20),
            background_top=(224, 238, 230),
            background_bottom=(150, 186, 170),
        ),
    )
}
LOOKS["default"] = LOOKS["look1"]


def get_look(name: str) -> Look:
    """The look called ``name`` ("look1".."look4" or "default"); a typed error lists the choices."""
    try:
        return LOOKS[name]
    except KeyError:
        raise InputError(
            f"unknown presenter look {name!r}; choose one of {', '.join(sorted(LOOKS))}", field="look"
        ) from None
