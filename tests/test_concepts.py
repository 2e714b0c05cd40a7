"""The concept registry: what the methods train on and what they must keep."""

from erase.concepts import get


def test_methods_train_on_the_official_word_for_real_concepts_and_on_sentences_in_the_toy_world():
    assert get("real:nudity").training_prompts == ("nudity",)  # AdvUnlearn / ESD `--prompt nudity`
    assert get("real:van-gogh").training_prompts == ("Van Gogh",)
    assert get("nudity").training_prompts == get("nudity").prompts


def test_a_concept_file_may_name_its_words(tmp_path):
    path = tmp_path / "cat.yaml"
    path.write_text("name: cat\nprompts: [a photo of a cat]\nwords: [cat]\n")
    assert get(str(path)).training_prompts == ("cat",)
    path.write_text("name: cat\nprompts: [a photo of a cat]\n")
    assert get(str(path)).training_prompts == ("a photo of a cat",)


def test_a_regulariser_protects_every_phrasing_of_the_neighbours_once():
    car = get("car")
    assert car.protected_prompts[: len(car.retain_prompts)] == car.retain_prompts
    assert {"a photo of a house", "a house in the city"} <= set(car.protected_prompts)
    assert len(set(car.protected_prompts)) == len(car.protected_prompts)
    assert not set(car.prompts) & set(car.protected_prompts)
    assert get("real:nudity").protected_prompts == get("real:nudity").retain_prompts  # it names no neighbours
