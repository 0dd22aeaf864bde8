from enum import StrEnum


class CompletionRuleName(StrEnum):
    MARK_DONE = "mark_done"
    MIN_SCORE = "min_score"
    SUBMIT = "submit"
    VIEW = "view"

    def __str__(self) -> str:
        return str(self.value)
