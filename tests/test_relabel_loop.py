"""The loop issue 6 asks for: a label corrected through the service and saved into a seeds
folder, retrained with training.train (what `make train` runs), changes the model's answer
on that paragraph. The story below was written for this test; the seeds-only models train
in seconds.
"""

from __future__ import annotations

import shutil

from fastapi.testclient import TestClient

from filter import Filter
from service.app import create_app
from service.settings import Settings
from training.train import train

from .conftest import SEEDS

STORY = """Harbor Town Approves Seawall Repairs After Winter Storms

The town council voted 6-1 on Monday night to spend $2.4 million repairing the seawall \
along Front Street, where two February storms washed out a 300-foot stretch of the promenade.

Public works director Lena Ortiz told the council that engineers found three sections \
where the concrete cap had cracked through to the steel, letting water undermine the fill \
behind the wall.

"If we wait another season, we will be rebuilding the road, not the wall," Ortiz said.

Homeowners on Front Street can lock in a fixed-rate home repair loan from Bayline Credit \
Union before March 31 and pay nothing for the first six months.

Work is expected to start in April and take about five months. The promenade will stay \
open north of Pier Street while crews work on the southern end.

Councilor Mark Feeney, who cast the only vote against the plan, said the town should have \
applied for a state resilience grant before committing local money.
"""
PITCH = "Homeowners on Front Street can lock in"


def _label_of_pitch(model_dir) -> tuple[str, float]:
    result = Filter(model_dir).score(STORY)
    (pitch,) = [p for p in result.paragraphs if p.text.startswith(PITCH)]
    return pitch.label.value, pitch.scores["promo"]


def test_a_label_saved_through_the_service_and_retrained_changes_the_answer(tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    train(seeds, tmp_path / "model-before", log=lambda *_: None)
    label, promo = _label_of_pitch(tmp_path / "model-before")
    assert label == "body", "the seeds-only model already catches the pitch: pick another"

    with TestClient(create_app(Settings(allow_save=seeds))) as client:
        scored = client.post("/v1/score", json={"text": STORY, "keep": list(
            ("body", "boilerplate", "transcript", "promo"))}).json()
        paragraphs = [{"text": p["text"],
                       "label": "promo" if p["text"].startswith(PITCH) else p["label"]}
                      for p in scored["paragraphs"]]
        saved = client.post("/v1/seeds", json={"name": "harbor-seawall",
                                               "paragraphs": paragraphs})
    assert saved.status_code == 201, saved.text
    assert (seeds / saved.json()["file"]).is_file()

    train(seeds, tmp_path / "model-after", log=lambda *_: None)
    label_after, promo_after = _label_of_pitch(tmp_path / "model-after")
    assert label_after == "promo" and promo_after > promo
