"""The chat variants' answer extraction on replies seen from real chat servers."""

import importlib.util
from pathlib import Path

import pytest

UTILS = Path(__file__).parent.parent / "src" / "openvsclosed" / "data" / "tasks" / "utils.py"
spec = importlib.util.spec_from_file_location("ovc_task_utils", UTILS)
utils = importlib.util.module_from_spec(spec)
spec.loader.exec_module(utils)


@pytest.mark.parametrize(("reply", "letter"), [
    ("The best answer is A.", "A"),  # an OpenAI-style server ignoring the assistant prefill
    (" B", "B"),  # prefill honoured: only the letter follows
    ("C. Planetary days will become shorter.", "C"),
    ("(D)", "D"),
    ("The answer is **B**", "B"),
    ("Answer: c", "C"),
    ("I think option B is right because the others are wrong.", "B"),
    ("After thinking, the best answer is (A), not C.", "A"),
    ("A", "A"),
    ("A good choice here is B", "B"),  # "A" as an article is not an answer
    ("Either B or C could be right.", "[no answer]"),  # two letters: ambiguous
    ("A. Sunlight is the source\nB. Most ecosystems are on land", "[no answer]"),  # recited
    ("I don't know.", "[no answer]"),
    ("", "[no answer]"),
])
def test_choice_letter(reply, letter):
    assert utils.choice_letter(reply) == letter


def test_filter_shape_and_winogrande_helpers():
    assert utils.extract_choice([["The best answer is B."], ["nope"]], [{}, {}]) == [
        ["B"], ["[no answer]"]]
    doc = {"sentence": "The cup fell off the shelf because _ was wobbly.", "option1": "the cup",
           "option2": "the shelf", "answer": "2"}
    assert "A. the cup\nB. the shelf" in utils.winogrande_text(doc)
    assert utils.winogrande_target(doc) == "B"


def test_hellaswag_helpers_on_a_made_up_document():
    doc = {"activity_label": "Baking", "ctx_a": "A person mixes flour and water.",
           "ctx_b": "they", "endings": ["knead the dough [title] well.", "fly away.",
                                        "sing loudly.", "paint the oven."], "label": "0"}
    text = utils.hellaswag_text(doc)
    assert "Baking: A person mixes flour and water. They" in text
    assert "A. knead the dough. well." in text and "D. paint the oven." in text
    assert utils.hellaswag_target(doc) == "A"


def test_no_answer_is_defined_once_and_every_filter_writes_it():
    from openvsclosed import harvest, owntask

    assert harvest.NO_ANSWER == utils.NO_ANSWER == "[no answer]"
    assert harvest.chat_answer_filters().NO_ANSWER is harvest.NO_ANSWER
    assert owntask.extract_number([["no digits here"]], [{}]) == [[harvest.NO_ANSWER]]
    assert owntask.extract_short([["   "]], [{}]) == [[harvest.NO_ANSWER]]
    assert owntask.extract_choice([["I cannot tell."]], [{}]) == [[harvest.NO_ANSWER]]
    for path in (UTILS.parent.parent.parent).glob("*.py"):  # no module spells it again
        assert '"[no answer]"' not in path.read_text(), path
