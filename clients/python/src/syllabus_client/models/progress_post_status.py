from enum import StrEnum


class ProgressPostStatus(StrEnum):
    COMPLETED = "completed"
    GRADED = "graded"
    IN_PROGRESS = "in_progress"
    NOT_STARTED = "not_started"
    SUBMITTED = "submitted"

    def __str__(self) -> str:
        return str(self.value)
