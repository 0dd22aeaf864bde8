from syllabus_catalog.models import METADATA
from syllabus_shared.migrations import run_env

run_env(METADATA)
