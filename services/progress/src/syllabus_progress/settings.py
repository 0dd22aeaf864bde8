from __future__ import annotations

from syllabus_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "progress"
    # Module and course completion are decided only once the structure consumers
    # (catalog's, content's) have caught up (docs/progress.md). Off only in harnesses that
    # apply events themselves, with no consumer running (the contract tests).
    completion_waits_for_structure: bool = True
