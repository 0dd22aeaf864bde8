from syllabus_assessment.models import METADATA
from syllabus_shared.migrations import run_env

run_env(METADATA)
