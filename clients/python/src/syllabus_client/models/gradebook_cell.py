from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.grade_status import GradeStatus

T = TypeVar("T", bound="GradebookCell")


@_attrs_define
class GradebookCell:
    """A student's standing on one gradable post, in a gradebook row (an extension:
    docs/api-notes.md): the kept score (null when none), the latest attempt's status.

        Attributes:
            kept_score (float | None):
            late (bool):
            post_id (UUID):
            status (GradeStatus):
    """

    kept_score: float | None
    late: bool
    post_id: UUID
    status: GradeStatus
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        kept_score: float | None
        kept_score = self.kept_score

        late = self.late

        post_id = str(self.post_id)

        status = self.status.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "kept_score": kept_score,
                "late": late,
                "post_id": post_id,
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_kept_score(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        kept_score = _parse_kept_score(d.pop("kept_score"))

        late = d.pop("late")

        post_id = UUID(d.pop("post_id"))

        status = GradeStatus(d.pop("status"))

        gradebook_cell = cls(
            kept_score=kept_score,
            late=late,
            post_id=post_id,
            status=status,
        )

        gradebook_cell.additional_properties = d
        return gradebook_cell

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
