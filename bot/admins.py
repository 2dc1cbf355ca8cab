"""Who is an admin: COP_ADMINS and those appointed in Slack (bot/services/admins.py), as
one collection that every rule asks (`user_id in settings.admins`).

The appointed ones are read from the database at most every few seconds per process
(`CACHE_TTL`); a change in this process is seen at once (the cache is dropped after each
write, like every read cache here).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from bot.cache import ReadCache
from bot.services import admins as admins_service
from storage.db import Database

CACHE_TTL = 2.0


class Admins(Collection[str]):
    def __init__(self, configured: Collection[str], db: Database) -> None:
        self.configured = frozenset(configured)
        self._db = db
        self._cache: ReadCache[frozenset[str]] = ReadCache(ttl=CACHE_TTL)
        db.after_write.append(self._cache.invalidate)

    def appointed(self) -> frozenset[str]:
        return self._cache.get("appointed", self._read)

    def _read(self) -> frozenset[str]:
        with self._db.read() as session:
            return admins_service.appointed(session)

    def __contains__(self, user: object) -> bool:
        return user in self.configured or user in self.appointed()

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.configured | self.appointed()))

    def __len__(self) -> int:
        return len(self.configured | self.appointed())

    def __bool__(self) -> bool:
        return bool(self.configured) or bool(self.appointed())
