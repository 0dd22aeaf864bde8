from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.course_status import CourseStatus
from ..models.visibility import Visibility
from ..types import UNSET, Unset

T = TypeVar("T", bound="CourseUpdate")


@_attrs_define
class CourseUpdate:
    """
    Attributes:
        description (None | str | Unset):
        learning_objectives (None | str | Unset):
        prerequisites (None | str | Unset):
        sequential (bool | None | Unset):
        status (CourseStatus | None | Unset):
        title (None | str | Unset):
        visibility (None | Unset | Visibility):
    """

    description: None | str | Unset = UNSET
    learning_objectives: None | str | Unset = UNSET
    prerequisites: None | str | Unset = UNSET
    sequential: bool | None | Unset = UNSET
    status: CourseStatus | None | Unset = UNSET
    title: None | str | Unset = UNSET
    visibility: None | Unset | Visibility = UNSET

    def to_dict(self) -> dict[str, Any]:
        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
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

        sequential: bool | None | Unset
        if isinstance(self.sequential, Unset):
            sequential = UNSET
        else:
            sequential = self.sequential

        status: None | str | Unset
        if isinstance(self.status, Unset):
            status = UNSET
        elif isinstance(self.status, CourseStatus):
            status = self.status.value
        else:
            status = self.status

        title: None | str | Unset
        if isinstance(self.title, Unset):
            title = UNSET
        else:
            title = self.title

        visibility: None | str | Unset
        if isinstance(self.visibility, Unset):
            visibility = UNSET
        elif isinstance(self.visibility, Visibility):
            visibility = self.visibility.value
        else:
            visibility = self.visibility

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if description is not UNSET:
            field_dict["description"] = description
        if learning_objectives is not UNSET:
            field_dict["learning_objectives"] = learning_objectives
        if prerequisites is not UNSET:
            field_dict["prerequisites"] = prerequisites
        if sequential is not UNSET:
            field_dict["sequential"] = sequential
        if status is not UNSET:
            field_dict["status"] = status
        if title is not UNSET:
            field_dict["title"] = title
        if visibility is not UNSET:
            field_dict["visibility"] = visibility

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

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

        def _parse_sequential(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        sequential = _parse_sequential(d.pop("sequential", UNSET))

        def _parse_status(data: object) -> CourseStatus | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                status_type_0 = CourseStatus(data)

                return status_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CourseStatus | None | Unset, data)

        status = _parse_status(d.pop("status", UNSET))

        def _parse_title(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        title = _parse_title(d.pop("title", UNSET))

        def _parse_visibility(data: object) -> None | Unset | Visibility:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                visibility_type_0 = Visibility(data)

                return visibility_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | Visibility, data)

        visibility = _parse_visibility(d.pop("visibility", UNSET))

        course_update = cls(
            description=description,
            learning_objectives=learning_objectives,
            prerequisites=prerequisites,
            sequential=sequential,
            status=status,
            title=title,
            visibility=visibility,
        )

        return course_update
