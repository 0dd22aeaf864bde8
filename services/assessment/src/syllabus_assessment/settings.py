from __future__ import annotations

from syllabus_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "assessment"
