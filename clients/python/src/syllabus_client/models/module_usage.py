from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.course_status import CourseStatus

T = TypeVar("T", bound="ModuleUsage")


@_attrs_define
class ModuleUsage:
    """A course that uses a module, and the module's position in it.

    Attributes:
        course_id (UUID):
        position (int):
        slug (str):
        status (CourseStatus):
        title (str):
    """

    course_id: UUID
    position: int
    slug: str
    status: CourseStatus
    title: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        course_id = str(self.course_id)

        position = self.position

        slug = self.slug

        status = self.status.value

        title = self.title

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "course_id": course_id,
                "position": position,
                "slug": slug,
                "status": status,
                "title": title,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        course_id = UUID(d.pop("course_id"))

        position = d.pop("position")

        slug = d.pop("slug")

        status = CourseStatus(d.pop("status"))

        title = d.pop("title")

        module_usage = cls(
            course_id=course_id,
            position=position,
            slug=slug,
            status=status,
            title=title,
        )

        module_usage.additional_properties = d
        return module_usage

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
