from syllabus_content.models import METADATA
from syllabus_shared.migrations import run_env

run_env(METADATA)
