from enum import StrEnum


class ModuleState(StrEnum):
    COMPLETED = "completed"
    LOCKED = "locked"
    STARTED = "started"
    UNLOCKED = "unlocked"

    def __str__(self) -> str:
        return str(self.value)
