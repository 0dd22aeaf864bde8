from enum import StrEnum


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    DROPPED = "dropped"

    def __str__(self) -> str:
        return str(self.value)
