from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.enrollment_status import EnrollmentStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.group_source import GroupSource
    from ..models.self_source import SelfSource


T = TypeVar("T", bound="EnrollmentPublic")


@_attrs_define
class EnrollmentPublic:
    """
    Attributes:
        completed_at (datetime.datetime | None):
        course_id (UUID):
        enrolled_at (datetime.datetime):
        id (UUID):
        status (EnrollmentStatus):
        user_id (UUID):
        version (int):
        sources (list[GroupSource | SelfSource] | Unset):
    """

    completed_at: datetime.datetime | None
    course_id: UUID
    enrolled_at: datetime.datetime
    id: UUID
    status: EnrollmentStatus
    user_id: UUID
    version: int
    sources: list[GroupSource | SelfSource] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.self_source import SelfSource  # noqa: PLC0415

        completed_at: None | str
        if isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        course_id = str(self.course_id)

        enrolled_at = self.enrolled_at.isoformat()

        id = str(self.id)

        status = self.status.value

        user_id = str(self.user_id)

        version = self.version

        sources: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.sources, Unset):
            sources = []
            for sources_item_data in self.sources:
                sources_item: dict[str, Any]
                if isinstance(sources_item_data, SelfSource):
                    sources_item = sources_item_data.to_dict()
                else:
                    sources_item = sources_item_data.to_dict()

                sources.append(sources_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "completed_at": completed_at,
                "course_id": course_id,
                "enrolled_at": enrolled_at,
                "id": id,
                "status": status,
                "user_id": user_id,
                "version": version,
            }
        )
        if sources is not UNSET:
            field_dict["sources"] = sources

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.group_source import GroupSource  # noqa: PLC0415
        from ..models.self_source import SelfSource  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_completed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        completed_at = _parse_completed_at(d.pop("completed_at"))

        course_id = UUID(d.pop("course_id"))

        enrolled_at = datetime.datetime.fromisoformat(d.pop("enrolled_at"))

        id = UUID(d.pop("id"))

        status = EnrollmentStatus(d.pop("status"))

        user_id = UUID(d.pop("user_id"))

        version = d.pop("version")

        _sources = d.pop("sources", UNSET)
        sources: list[GroupSource | SelfSource] | Unset = UNSET
        if _sources is not UNSET:
            sources = []
            for sources_item_data in _sources:

                def _parse_sources_item(data: object) -> GroupSource | SelfSource:
                    try:
                        if not isinstance(data, dict):
                            raise TypeError()
                        sources_item_type_0 = SelfSource.from_dict(data)

                        return sources_item_type_0
                    except (TypeError, ValueError, AttributeError, KeyError):
                        pass
                    if not isinstance(data, dict):
                        raise TypeError()
                    sources_item_type_1 = GroupSource.from_dict(data)

                    return sources_item_type_1

                sources_item = _parse_sources_item(sources_item_data)

                sources.append(sources_item)

        enrollment_public = cls(
            completed_at=completed_at,
            course_id=course_id,
            enrolled_at=enrolled_at,
            id=id,
            status=status,
            user_id=user_id,
            version=version,
            sources=sources,
        )

        enrollment_public.additional_properties = d
        return enrollment_public

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
