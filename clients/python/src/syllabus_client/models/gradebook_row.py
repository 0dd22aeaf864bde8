from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="GradebookRow")


@_attrs_define
class GradebookRow:
    """
    Attributes:
        earned (float):
        graded (int):
        missing (int):
        percent (float):
        possible (int):
        submitted (int):
        user_id (UUID):
    """

    earned: float
    graded: int
    missing: int
    percent: float
    possible: int
    submitted: int
    user_id: UUID
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        earned = self.earned

        graded = self.graded

        missing = self.missing

        percent = self.percent

        possible = self.possible

        submitted = self.submitted

        user_id = str(self.user_id)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "earned": earned,
                "graded": graded,
                "missing": missing,
                "percent": percent,
                "possible": possible,
                "submitted": submitted,
                "user_id": user_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        earned = d.pop("earned")

        graded = d.pop("graded")

        missing = d.pop("missing")

        percent = d.pop("percent")

        possible = d.pop("possible")

        submitted = d.pop("submitted")

        user_id = UUID(d.pop("user_id"))

        gradebook_row = cls(
            earned=earned,
            graded=graded,
            missing=missing,
            percent=percent,
            possible=possible,
            submitted=submitted,
            user_id=user_id,
        )

        gradebook_row.additional_properties = d
        return gradebook_row

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
