from enum import StrEnum


class SubmissionStatus(StrEnum):
    GRADED = "graded"
    SUBMITTED = "submitted"

    def __str__(self) -> str:
        return str(self.value)
