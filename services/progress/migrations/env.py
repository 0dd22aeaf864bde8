from syllabus_progress.models import Base
from syllabus_shared.migrations import run_env

run_env(Base.metadata)
