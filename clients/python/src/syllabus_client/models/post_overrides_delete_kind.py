from enum import StrEnum


class PostOverridesDeleteKind(StrEnum):
    GROUPS = "groups"
    USERS = "users"

    def __str__(self) -> str:
        return str(self.value)
