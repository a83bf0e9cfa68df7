"""`make load`'s class mode on a few students: every step of every lesson answered, the report's
table and lessons line (no timing asserted: the machine's speed is not the test's business)."""

import re

from app.client import Client
from app.main import in_process_app
from bench import load
from tests.servers import running_server


def test_a_small_class_does_every_step_of_the_lesson_without_an_error() -> None:
    with running_server() as (_, url):
        text = load.class_run(url, students=3, ramp=0.5, cores=1)
    rows = {
        cells[0]: cells[1:]
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| endpoint")
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    requests = {kind: int(cells[0]) for kind, cells in rows.items()}
    # The page and each asset it links, then one of each request, three checks, per student.
    assert requests["page assets"] > 3 * 10
    assert requests["train/stream"] == 3
    assert requests["forward (64×64 map)"] == 3
    assert requests["explain"] == 3
    assert requests["check"] == 9
    assert requests["exercises"] == 3
    assert all(cells[-1] == "0" for cells in rows.values()), text
    assert re.search(r"lessons: 3 of 3 finished without an error.* lessons a minute per core", text)


def test_the_lesson_s_stream_trains_2000_epochs_and_the_map_is_64_by_64() -> None:
    assert load.STREAM["epochs"] == 2000
    map_body = next(body for kind, _, _, body in load.LESSON if kind.startswith("forward"))
    assert map_body is not None
    assert len(map_body["inputs"]) == 64 * 64
    assert sum(kind == "check" for kind, *_ in load.LESSON) == 3


def test_each_student_hands_in_checks_of_their_own_exercise() -> None:
    """The three /check bodies come from the student's own exercise: 4 figures all right, the
    planted doubled loss named as the missing ½, 3 decimals answered; two students, two sets."""
    with Client(app=in_process_app()) as client:
        exercises = [
            client.exercises(template=name, student=student, include_answer=True)
            for name, student in (("notebook", "Ada"), ("notebook", "Alan"), ("momentum", "Ada"))
        ]
        bodies = [load.submissions(e.model_dump(mode="json")) for e in exercises]
        for handed_in in bodies:
            figures, planted, places = (client.check(body) for body in handed_in)
            assert figures.all_correct
            assert planted.first_wrong is not None
            assert planted.first_wrong.path == "loss"
            assert planted.first_wrong.mistake is not None
            assert planted.first_wrong.mistake.id == "missing_half"
            assert len(places.checks) == len(figures.checks)
    assert bodies[0][0]["claimed"] != bodies[1][0]["claimed"]
    assert "optimizer_state" in bodies[2][0]
