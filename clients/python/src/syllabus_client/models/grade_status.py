from enum import StrEnum


class GradeStatus(StrEnum):
    GRADED = "graded"
    NOT_SUBMITTED = "not_submitted"
    SUBMITTED = "submitted"

    def __str__(self) -> str:
        return str(self.value)
