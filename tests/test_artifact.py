import json
import shutil

import pytest
import sklearn

from filter import Filter, ModelError
from filter.artifact import CARD_FILE, MODEL_DIR, MODEL_FILE, load_model, sha256_file


@pytest.fixture
def model_copy(tmp_path):
    for name in (MODEL_FILE, CARD_FILE):
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    return tmp_path


def test_shipped_model_loads_and_its_card_describes_it():
    model, card = load_model()
    assert card["labels"] == ["body", "boilerplate", "transcript", "promo"]
    assert card["sha256"] == sha256_file(MODEL_DIR / MODEL_FILE)
    assert card["libraries"]["scikit-learn"].split(".")[:2] == sklearn.__version__.split(".")[:2]
    cv = card["cross_validation"]
    assert cv["grouped_by"] == "document"
    assert set(cv["per_label"]) == set(card["labels"])
    assert 0 < cv["macro_f1"] <= 1
    assert hasattr(model, "predict_proba")


def test_a_tampered_model_file_is_refused_before_it_is_unpickled(model_copy):
    path = model_copy / MODEL_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its card"):
        Filter(model_copy)


def test_a_model_from_another_scikit_learn_is_refused(model_copy):
    card = json.loads((model_copy / CARD_FILE).read_text())
    card["libraries"]["scikit-learn"] = "0.24.2"
    (model_copy / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"scikit-learn 0\.24\.2"):
        load_model(model_copy)


def test_missing_files_are_named(model_copy):
    (model_copy / MODEL_FILE).unlink()
    with pytest.raises(ModelError, match="is missing"):
        load_model(model_copy)
    with pytest.raises(ModelError, match="no model card"):
        load_model(model_copy / "nowhere")
