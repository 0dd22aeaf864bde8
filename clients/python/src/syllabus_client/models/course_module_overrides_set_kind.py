from enum import StrEnum


class CourseModuleOverridesSetKind(StrEnum):
    GROUPS = "groups"
    USERS = "users"

    def __str__(self) -> str:
        return str(self.value)
