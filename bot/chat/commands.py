"""Chat commands declared where they are handled.

    @handles("help", "trogiup", "huongdan")
    def _cmd_help(self, ...): ...

binds a command's name and its aliases to the method, with who may use it (`role`: citizen, team, admin)
and whether it works in a group chat. `CommandTable(cls)` collects a class's commands once; `find(word)`
gives the command a typed word names (any letter case), or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

ROLES = ("citizen", "team", "admin")  # lowest first: a command needing `team` is for team members and admins


@dataclass(frozen=True)
class Command:
    name: str
    aliases: tuple[str, ...]
    handler: str  # the method's name
    role: str = "citizen"
    groups: bool = True  # may be used in a group chat (nothing personal in what it shows)

    def allows(self, role: str) -> bool:
        return ROLES.index(role) >= ROLES.index(self.role)


def handles(name: str, *aliases: str, role: str = "citizen", groups: bool = True) -> Callable:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")

    def mark(method: Callable) -> Callable:
        method.command = Command(name, aliases, method.__name__, role, groups)
        return method

    return mark


class CommandTable:
    def __init__(self, cls: type) -> None:
        self._by_word: dict[str, Command] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                declared = getattr(value, "command", None)
                if isinstance(declared, Command):
                    for word in (declared.name, *declared.aliases):
                        if word in self._by_word and self._by_word[word].handler != declared.handler:
                            raise ValueError(f"/{word} is declared twice ({self._by_word[word].handler}, {declared.handler})")
                        self._by_word[word] = declared

    def find(self, word: str) -> Command | None:
        return self._by_word.get(word.lower())

    def words(self) -> list[str]:
        return sorted(self._by_word)

    def __contains__(self, word: str) -> bool:
        return word.lower() in self._by_word
