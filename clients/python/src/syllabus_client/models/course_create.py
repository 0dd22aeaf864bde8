from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.visibility import Visibility
from ..types import UNSET, Unset

T = TypeVar("T", bound="CourseCreate")


@_attrs_define
class CourseCreate:
    """
    Attributes:
        title (str):
        description (str | Unset):  Default: ''.
        learning_objectives (None | str | Unset):
        prerequisites (None | str | Unset):
        sequential (bool | Unset):  Default: False.
        visibility (Visibility | Unset):
    """

    title: str
    description: str | Unset = ""
    learning_objectives: None | str | Unset = UNSET
    prerequisites: None | str | Unset = UNSET
    sequential: bool | Unset = False
    visibility: Visibility | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        title = self.title

        description = self.description

        learning_objectives: None | str | Unset
        if isinstance(self.learning_objectives, Unset):
            learning_objectives = UNSET
        else:
            learning_objectives = self.learning_objectives

        prerequisites: None | str | Unset
        if isinstance(self.prerequisites, Unset):
            prerequisites = UNSET
        else:
            prerequisites = self.prerequisites

        sequential = self.sequential

        visibility: str | Unset = UNSET
        if not isinstance(self.visibility, Unset):
            visibility = self.visibility.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "title": title,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if learning_objectives is not UNSET:
            field_dict["learning_objectives"] = learning_objectives
        if prerequisites is not UNSET:
            field_dict["prerequisites"] = prerequisites
        if sequential is not UNSET:
            field_dict["sequential"] = sequential
        if visibility is not UNSET:
            field_dict["visibility"] = visibility

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        title = d.pop("title")

        description = d.pop("description", UNSET)

        def _parse_learning_objectives(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        learning_objectives = _parse_learning_objectives(d.pop("learning_objectives", UNSET))

        def _parse_prerequisites(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        prerequisites = _parse_prerequisites(d.pop("prerequisites", UNSET))

        sequential = d.pop("sequential", UNSET)

        _visibility = d.pop("visibility", UNSET)
        visibility: Visibility | Unset
        if isinstance(_visibility, Unset):
            visibility = UNSET
        else:
            visibility = Visibility(_visibility)

        course_create = cls(
            title=title,
            description=description,
            learning_objectives=learning_objectives,
            prerequisites=prerequisites,
            sequential=sequential,
            visibility=visibility,
        )

        return course_create
