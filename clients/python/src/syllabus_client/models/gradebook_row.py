from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.gradebook_cell import GradebookCell


T = TypeVar("T", bound="GradebookRow")


@_attrs_define
class GradebookRow:
    """One student's row of a course's gradebook; the names are identity's, kept from its
    events (null while the student's registration has not reached assessment yet).
    ``scores`` has one cell per gradable post, in the page's ``posts`` order.

        Attributes:
            display_name (None | str):
            earned (float):
            graded (int):
            missing (int):
            percent (float):
            possible (int):
            scores (list[GradebookCell]):
            submitted (int):
            user_id (UUID):
            username (None | str):
    """

    display_name: None | str
    earned: float
    graded: int
    missing: int
    percent: float
    possible: int
    scores: list[GradebookCell]
    submitted: int
    user_id: UUID
    username: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        display_name: None | str
        display_name = self.display_name

        earned = self.earned

        graded = self.graded

        missing = self.missing

        percent = self.percent

        possible = self.possible

        scores = []
        for scores_item_data in self.scores:
            scores_item = scores_item_data.to_dict()
            scores.append(scores_item)

        submitted = self.submitted

        user_id = str(self.user_id)

        username: None | str
        username = self.username

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "display_name": display_name,
                "earned": earned,
                "graded": graded,
                "missing": missing,
                "percent": percent,
                "possible": possible,
                "scores": scores,
                "submitted": submitted,
                "user_id": user_id,
                "username": username,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.gradebook_cell import GradebookCell  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_display_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        display_name = _parse_display_name(d.pop("display_name"))

        earned = d.pop("earned")

        graded = d.pop("graded")

        missing = d.pop("missing")

        percent = d.pop("percent")

        possible = d.pop("possible")

        scores = []
        _scores = d.pop("scores")
        for scores_item_data in _scores:
            scores_item = GradebookCell.from_dict(scores_item_data)

            scores.append(scores_item)

        submitted = d.pop("submitted")

        user_id = UUID(d.pop("user_id"))

        def _parse_username(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        username = _parse_username(d.pop("username"))

        gradebook_row = cls(
            display_name=display_name,
            earned=earned,
            graded=graded,
            missing=missing,
            percent=percent,
            possible=possible,
            scores=scores,
            submitted=submitted,
            user_id=user_id,
            username=username,
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
