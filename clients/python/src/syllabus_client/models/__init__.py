"""Contains all the data models used in inputs/outputs"""

from .access_token import AccessToken
from .assignment_content import AssignmentContent
from .assignment_view import AssignmentView
from .attach_module import AttachModule
from .body_auth_token import BodyAuthToken
from .completion_public import CompletionPublic
from .completion_rule_in import CompletionRuleIn
from .completion_rule_name import CompletionRuleName
from .completion_rule_view import CompletionRuleView
from .content_post_status import ContentPostStatus
from .course_create import CourseCreate
from .course_group_follow import CourseGroupFollow
from .course_group_summary import CourseGroupSummary
from .course_module_overrides_delete_kind import CourseModuleOverridesDeleteKind
from .course_module_overrides_set_kind import CourseModuleOverridesSetKind
from .course_progress import CourseProgress
from .course_public import CoursePublic
from .course_status import CourseStatus
from .course_submission import CourseSubmission
from .course_update import CourseUpdate
from .directory_entry import DirectoryEntry
from .due_override_body import DueOverrideBody
from .due_override_public import DueOverridePublic
from .due_override_public_kind import DueOverridePublicKind
from .enrollment_public import EnrollmentPublic
from .enrollment_status import EnrollmentStatus
from .enrollment_with_progress import EnrollmentWithProgress
from .grade_input import GradeInput
from .grade_status import GradeStatus
from .gradebook_cell import GradebookCell
from .gradebook_column import GradebookColumn
from .gradebook_page import GradebookPage
from .gradebook_row import GradebookRow
from .grades_document import GradesDocument
from .group_create import GroupCreate
from .group_member import GroupMember
from .group_members_add import GroupMembersAdd
from .group_members_added import GroupMembersAdded
from .group_public import GroupPublic
from .group_source import GroupSource
from .group_update import GroupUpdate
from .jwk_set import JwkSet
from .link_content import LinkContent
from .link_view import LinkView
from .lock import Lock
from .logout import Logout
from .module_create import ModuleCreate
from .module_progress import ModuleProgress
from .module_public import ModulePublic
from .module_state import ModuleState
from .module_update import ModuleUpdate
from .module_usage import ModuleUsage
from .move_module import MoveModule
from .outline_entry import OutlineEntry
from .page_course_public import PageCoursePublic
from .page_course_submission import PageCourseSubmission
from .page_directory_entry import PageDirectoryEntry
from .page_enrollment_with_progress import PageEnrollmentWithProgress
from .page_group_member import PageGroupMember
from .page_group_public import PageGroupPublic
from .page_module_public import PageModulePublic
from .page_module_usage import PageModuleUsage
from .page_post_public import PagePostPublic
from .page_student_progress import PageStudentProgress
from .page_submission_with_student import PageSubmissionWithStudent
from .page_user_public import PageUserPublic
from .post_create import PostCreate
from .post_grade_entry import PostGradeEntry
from .post_order_entry import PostOrderEntry
from .post_overrides_delete_kind import PostOverridesDeleteKind
from .post_overrides_set_kind import PostOverridesSetKind
from .post_progress import PostProgress
from .post_public import PostPublic
from .post_update import PostUpdate
from .problem import Problem
from .problem_errors_item import ProblemErrorsItem
from .progress_post_status import ProgressPostStatus
from .public_jwk import PublicJwk
from .quiz_content import QuizContent
from .quiz_question import QuizQuestion
from .quiz_question_view import QuizQuestionView
from .quiz_result import QuizResult
from .quiz_view import QuizView
from .reorder_modules import ReorderModules
from .reorder_posts import ReorderPosts
from .role import Role
from .self_source import SelfSource
from .student_progress import StudentProgress
from .submission_create import SubmissionCreate
from .submission_public import SubmissionPublic
from .submission_status import SubmissionStatus
from .submission_with_student import SubmissionWithStudent
from .text_content import TextContent
from .text_view import TextView
from .unlock_override_body import UnlockOverrideBody
from .unlock_override_public import UnlockOverridePublic
from .unlock_override_public_kind import UnlockOverridePublicKind
from .user_public import UserPublic
from .user_register import UserRegister
from .user_update import UserUpdate
from .video_content import VideoContent
from .video_view import VideoView
from .visibility import Visibility

__all__ = (
    "AccessToken",
    "AssignmentContent",
    "AssignmentView",
    "AttachModule",
    "BodyAuthToken",
    "CompletionPublic",
    "CompletionRuleIn",
    "CompletionRuleName",
    "CompletionRuleView",
    "ContentPostStatus",
    "CourseCreate",
    "CourseGroupFollow",
    "CourseGroupSummary",
    "CourseModuleOverridesDeleteKind",
    "CourseModuleOverridesSetKind",
    "CourseProgress",
    "CoursePublic",
    "CourseStatus",
    "CourseSubmission",
    "CourseUpdate",
    "DirectoryEntry",
    "DueOverrideBody",
    "DueOverridePublic",
    "DueOverridePublicKind",
    "EnrollmentPublic",
    "EnrollmentStatus",
    "EnrollmentWithProgress",
    "GradebookCell",
    "GradebookColumn",
    "GradebookPage",
    "GradebookRow",
    "GradeInput",
    "GradesDocument",
    "GradeStatus",
    "GroupCreate",
    "GroupMember",
    "GroupMembersAdd",
    "GroupMembersAdded",
    "GroupPublic",
    "GroupSource",
    "GroupUpdate",
    "JwkSet",
    "LinkContent",
    "LinkView",
    "Lock",
    "Logout",
    "ModuleCreate",
    "ModuleProgress",
    "ModulePublic",
    "ModuleState",
    "ModuleUpdate",
    "ModuleUsage",
    "MoveModule",
    "OutlineEntry",
    "PageCoursePublic",
    "PageCourseSubmission",
    "PageDirectoryEntry",
    "PageEnrollmentWithProgress",
    "PageGroupMember",
    "PageGroupPublic",
    "PageModulePublic",
    "PageModuleUsage",
    "PagePostPublic",
    "PageStudentProgress",
    "PageSubmissionWithStudent",
    "PageUserPublic",
    "PostCreate",
    "PostGradeEntry",
    "PostOrderEntry",
    "PostOverridesDeleteKind",
    "PostOverridesSetKind",
    "PostProgress",
    "PostPublic",
    "PostUpdate",
    "Problem",
    "ProblemErrorsItem",
    "ProgressPostStatus",
    "PublicJwk",
    "QuizContent",
    "QuizQuestion",
    "QuizQuestionView",
    "QuizResult",
    "QuizView",
    "ReorderModules",
    "ReorderPosts",
    "Role",
    "SelfSource",
    "StudentProgress",
    "SubmissionCreate",
    "SubmissionPublic",
    "SubmissionStatus",
    "SubmissionWithStudent",
    "TextContent",
    "TextView",
    "UnlockOverrideBody",
    "UnlockOverridePublic",
    "UnlockOverridePublicKind",
    "UserPublic",
    "UserRegister",
    "UserUpdate",
    "VideoContent",
    "VideoView",
    "Visibility",
)
