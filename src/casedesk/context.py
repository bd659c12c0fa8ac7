"""What a running casedesk process holds: settings, config, database and clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from casedesk.clock import Clock, SystemClock
from casedesk.config import AppConfig, Settings, load_config
from casedesk.db.session import Database


@dataclass
class Context:
    settings: Settings
    config: AppConfig
    db: Database
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, pool_size: int = 10) -> Context:
        settings = settings or Settings()
        return cls(
            settings=settings,
            config=load_config(settings.config),
            db=Database(settings.database_url, pool_size=pool_size),
        )
