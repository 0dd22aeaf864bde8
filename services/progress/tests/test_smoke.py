from __future__ import annotations

from conftest import Progress, ids, post_ids


async def test_enroll_complete_and_read_progress(progress: Progress) -> None:
    w = progress.world
    course, _, posts = await w.course_with(2, 2)
    await progress.synced()
    user, headers = progress.student()
    r = await progress.enroll(course, headers)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "active"
    r = await progress.complete(posts[0][0], headers)
    assert r.status_code == 201, r.text
    doc = await progress.doc(course, headers)
    assert doc["completed_posts"] == 1 and doc["total_posts"] == 4 and doc["percent"] == 25.0
    assert post_ids(doc) == [ids(p) for p in posts]
    assert doc["next_post_id"] == str(posts[0][1])
    assert doc["user_id"] == str(user)
