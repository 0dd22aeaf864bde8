from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    INSTRUCTOR = "instructor"
    STUDENT = "student"

    def __str__(self) -> str:
        return str(self.value)
