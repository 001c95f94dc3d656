"""The console's strings in zh and en, from ``adloom/data/ui/*.yaml`` (one file per page).

Every key must have both languages and the same ``{placeholders}`` in each; a file that breaks this fails
to load with a message naming the file, the key and the line (:func:`adloom.core.datafiles.load_data`).
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, RootModel, model_validator

from adloom.core.datafiles import load_data, package_data_path

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
_KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Entry(BaseModel):
    zh: str
    en: str

    @model_validator(mode="after")
    def _same_placeholders(self) -> Entry:
        if _fields(self.zh) != _fields(self.en):
            raise ValueError(
                f"zh has placeholders {sorted(_fields(self.zh))} but en has {sorted(_fields(self.en))}; "
                "use the same names in both"
            )
        if not self.zh.strip() or not self.en.strip():
            raise ValueError("both zh and en need text")
        return self


class StringsFile(RootModel[dict[str, Entry]]):
    @model_validator(mode="after")
    def _keys(self) -> StringsFile:
        for key in self.root:
            if not _KEY.match(key):
                raise ValueError(f"key {key!r}: use dotted lower-case words, e.g. page.button_name")
        return self


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Entry]:
    """Every string of every page file; a key defined in two files is an error."""
    merged: dict[str, Entry] = {}
    where: dict[str, str] = {}
    for path in sorted(package_data_path("ui").glob("*.yaml")):
        for key, entry in load_data(path, StringsFile).root.items():
            if key in merged:
                raise ValueError(f"{path.name}: key {key!r} is already defined in {where[key]}")
            merged[key], where[key] = entry, path.name
    return merged


def text(key: str, lang: Lang, **values: object) -> str:
    """The string ``key`` in ``lang`` with ``values`` filled in. An unknown key raises ``KeyError`` (tests
    catch a page that asks for a string nobody wrote)."""
    entry = catalogue()[key]
    template = entry.zh if lang == "zh" else entry.en
    return template.format(**values) if values else template
