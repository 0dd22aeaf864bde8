"""Syllabus web app: the pages students and instructors use (see ../shared/UI.md)."""
