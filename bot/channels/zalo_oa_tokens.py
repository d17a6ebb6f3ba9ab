"""The Zalo OA's OAuth pair, kept in the database (`channel_tokens`) and refreshed one at a time.

An access token lasts about 25 hours (`expires_in`, a string of seconds); a refresh token is single-use.
So a refresh (POST ZALO_OA_OAUTH_URL, form `app_id`, `grant_type=refresh_token`, `refresh_token`, header
`secret_key: <app secret>`) runs inside one transaction that holds a lock on the pair (PostgreSQL: an
advisory lock; SQLite: the write lock), writes the new pair and commits before anyone uses it: a second
worker waits and then finds the new pair, and a restart reads it. The first pair comes from the settings
(ZALO_OA_ACCESS_TOKEN, ZALO_OA_REFRESH_TOKEN); a different refresh token there later (the operator
connected the OA again) replaces the stored pair. A refresh that fails (HTTP 200 with `error_name` /
`error_description` and no `access_token`, or no answer) is logged for the operator and the stored pair
kept; it is tried again at most every RETRY_AFTER_FAILURE seconds. Blocking: call it from threads.
No log line carries a token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
import zlib
from dataclasses import dataclass

import httpx
from sqlalchemy import text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.storage.db import Database
from bot.storage.models import ChannelToken, utcnow

log = logging.getLogger(__name__)

CHANNEL = "zalo_oa"
MARGIN = 1800.0  # seconds before expiry a token is refreshed (at most half its lifetime)
RETRY_AFTER_FAILURE = 60.0  # seconds between two refresh attempts after one failed
CACHE_SECONDS = 30.0  # how long this process trusts the pair it read (another worker may refresh it)


SAVED = ("access_token", "refresh_token", "expires_at", "refresh_expires_at", "refreshed_at", "last_error", "failed_at")


@dataclass(frozen=True)
class Pair:
    access_token: str
    expires_at: dt.datetime
    refreshed_at: dt.datetime
    last_error: str = ""
    failed_at: dt.datetime | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    return t if t is None or t.tzinfo else t.replace(tzinfo=dt.timezone.utc)  # SQLite hands back naive UTC


def _pair_of(row: ChannelToken) -> Pair:
    return Pair(row.access_token, _aware(row.expires_at), _aware(row.refreshed_at), row.last_error, _aware(row.failed_at))


def _seconds(value: object) -> float | None:
    """`expires_in` as the OAuth answer gives it ("90000", a string) or as a number."""
    try:
        seconds = float(str(value))
    except ValueError:
        return None
    return seconds if seconds > 0 else None


class TokenStore:
    def __init__(self, db: Database, app_id: str, app_secret: str, oauth_url: str, first_access: str,
                 first_refresh: str, http: httpx.Client) -> None:
        self.db, self.app_id, self.app_secret, self.oauth_url = db, app_id, app_secret, oauth_url
        self.first_access, self.first_refresh = first_access, first_refresh
        self._http = http
        self._lock = threading.Lock()
        self._pair: Pair | None = None
        self._read_at = 0.0
        self._unsaved: dict | None = None  # a new pair the database did not take: written at the next chance
        self.refreshes = 0  # successful refreshes by this process
        self.failures = 0

    @classmethod
    def from_settings(cls, db: Database, settings, http: httpx.Client) -> TokenStore:
        return cls(db, settings.zalo_oa_app_id, settings.zalo_oa_app_secret, settings.zalo_oa_oauth_url,
                   settings.zalo_oa_access_token, settings.zalo_oa_refresh_token, http)

    # -- reading ---------------------------------------------------------------------------------

    def access(self) -> str:
        """The access token to use now ("" when there is none), refreshed first when it is near expiry."""
        pair = self.pair()
        if pair is None:
            return ""
        if self._due(pair):
            return self.refresh(stale=pair.access_token)
        return pair.access_token

    def pair(self) -> Pair | None:
        """The current pair (as this process last read it, for at most CACHE_SECONDS)."""
        if self._pair is not None and time.monotonic() - self._read_at < CACHE_SECONDS:
            return self._pair
        with self.db.session() as s:
            row = s.get(ChannelToken, (CHANNEL, self.app_id))
            if row is not None and not self._replaced(row):
                return self._remember(row)
        return self._locked(lambda s, row: row)  # no pair yet, or a new one in the settings: seed it

    def status(self) -> dict:
        """For /healthz: when the access token expires and how the last refresh went (no token)."""
        pair = self._pair
        if pair is None:
            return {"token": "none"}
        return {"token": "expired" if pair.expires_at <= utcnow() else "valid",
                "expires_at": pair.expires_at.isoformat(timespec="seconds"),
                "refreshed_at": pair.refreshed_at.isoformat(timespec="seconds"),
                "last_refresh_error": pair.last_error}

    def _due(self, pair: Pair) -> bool:
        lifetime = (pair.expires_at - pair.refreshed_at).total_seconds()
        left = (pair.expires_at - utcnow()).total_seconds()
        return left <= min(MARGIN, max(lifetime, 0.0) / 2)

    def _replaced(self, row: ChannelToken) -> bool:
        return bool(self.first_refresh) and row.seed != _hash(self.first_refresh)

    def _remember(self, row: ChannelToken) -> Pair:
        self._pair = _pair_of(row)
        self._read_at = time.monotonic()
        return self._pair

    # -- refreshing ------------------------------------------------------------------------------

    def refresh(self, stale: str) -> str:
        """A fresh access token after `stale` was refused or is near expiry. One refresh at a time (threads
        of this process, and every worker on the database); a waiter that finds the pair already refreshed
        by someone else uses that one. On failure, the stored (maybe still working) access token."""

        def work(s: Session, row: ChannelToken | None) -> ChannelToken | None:
            if row is None:
                return None
            refreshed_meanwhile = row.access_token != stale and not self._due(_pair_of(row))
            failed_recently = row.failed_at is not None and \
                (utcnow() - _aware(row.failed_at)).total_seconds() < RETRY_AFTER_FAILURE
            if refreshed_meanwhile or failed_recently:
                return row
            self._call(row)  # the new pair (or the failure) is committed when the transaction ends
            return row

        pair = self._locked(work)
        return pair.access_token if pair else ""

    def _locked(self, work) -> Pair | None:
        """Run `work(session, row)` holding the pair's lock, the row seeded from the settings when missing
        or replaced; commit; remember and return the pair."""
        with self._lock:
            try:
                with self.db.session() as s:
                    self._take_lock(s)
                    row = self._seeded(s)
                    if row is not None and self._unsaved:
                        for name, value in self._unsaved.items():
                            setattr(row, name, value)
                    before = row.refresh_token if row is not None else None
                    row = work(s, row)
                    if row is None:
                        return None
                    if row.refresh_token != before or self._unsaved:  # a new pair: kept until committed
                        self._unsaved = {c: getattr(row, c) for c in SAVED}
                self._unsaved = None  # committed: only now is the new pair used
                return self._remember(row)
            except SQLAlchemyError as exc:
                if self._unsaved and self._unsaved["access_token"] != (self._pair.access_token if self._pair else ""):
                    log.critical("zalo_oa: a refreshed token pair could not be stored (%s); it is kept in memory "
                                 "and stored as soon as the database answers", type(exc).__name__)
                    self._pair = Pair(self._unsaved["access_token"], self._unsaved["expires_at"],
                                      self._unsaved["refreshed_at"])
                else:
                    log.error("zalo_oa: the token store is unavailable (%s)", type(exc).__name__)
                return self._pair

    def _take_lock(self, s: Session) -> None:
        if s.get_bind().dialect.name == "postgresql":
            key = zlib.crc32(f"{CHANNEL}:{self.app_id}".encode()) - 2**31
            s.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": key})
        else:  # SQLite: a write statement takes the database's write lock until commit
            s.execute(update(ChannelToken).where(ChannelToken.channel == CHANNEL, ChannelToken.account == self.app_id)
                      .values(channel=ChannelToken.channel))

    def _seeded(self, s: Session) -> ChannelToken | None:
        row = s.get(ChannelToken, (CHANNEL, self.app_id), populate_existing=True)
        if row is not None and not self._replaced(row):
            return row
        if not self.first_refresh:
            return row
        if row is None:
            row = ChannelToken(channel=CHANNEL, account=self.app_id)
            s.add(row)
            log.info("zalo_oa: using the first token pair from the settings")
        else:
            log.warning("zalo_oa: ZALO_OA_REFRESH_TOKEN changed; the new pair from the settings replaces the stored one")
        now = utcnow()
        # its expiry is unknown: refreshed at first use, which also tells the pair's real lifetime
        row.access_token, row.refresh_token, row.seed = self.first_access, self.first_refresh, _hash(self.first_refresh)
        row.expires_at, row.refreshed_at, row.refresh_expires_at = now, now, None
        row.last_error, row.failed_at = "", None
        return row

    def _call(self, row: ChannelToken) -> None:
        """Exchange the row's refresh token for a new pair, written into the row (or the failure noted)."""
        form = {"app_id": self.app_id, "grant_type": "refresh_token", "refresh_token": row.refresh_token}
        try:
            response = self._http.post(self.oauth_url, data=form, headers={"secret_key": self.app_secret})
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return self._failed(row, f"no usable answer ({type(exc).__name__})")
        if not isinstance(answer, dict):
            return self._failed(row, "an answer that is not a JSON object")
        access, refresh = answer.get("access_token"), answer.get("refresh_token")
        expires = _seconds(answer.get("expires_in"))
        if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh and expires):
            name = str(answer.get("error_name") or answer.get("error") or "no access_token")
            return self._failed(row, f"{name}: {answer.get('error_description') or answer.get('message') or ''}")
        now = utcnow()
        row.access_token, row.refresh_token, row.refreshed_at = access, refresh, now
        row.expires_at = now + dt.timedelta(seconds=expires)
        if refresh_expires := _seconds(answer.get("refresh_token_expires_in")):
            row.refresh_expires_at = now + dt.timedelta(seconds=refresh_expires)
        row.last_error, row.failed_at = "", None
        self.refreshes += 1
        log.info("zalo_oa: access token refreshed; valid for %.0f h", expires / 3600)

    def _failed(self, row: ChannelToken, error: str) -> None:
        row.last_error, row.failed_at = error[:300], utcnow()
        self.failures += 1
        log.error("zalo_oa: refreshing the access token failed (%s); the stored pair is kept. If the refresh "
                  "token was used or has expired, connect the OA again and put the new pair in the settings "
                  "(docs/zalo.md)", error[:200])
