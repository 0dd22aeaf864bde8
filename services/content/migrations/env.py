from syllabus_content.models import Base
from syllabus_shared.migrations import run_env

run_env(Base.metadata)
