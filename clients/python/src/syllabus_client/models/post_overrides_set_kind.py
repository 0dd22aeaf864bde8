from enum import StrEnum


class PostOverridesSetKind(StrEnum):
    GROUPS = "groups"
    USERS = "users"

    def __str__(self) -> str:
        return str(self.value)
