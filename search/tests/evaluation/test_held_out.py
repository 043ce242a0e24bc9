"""The groups of classes the held-out report leaves out of the projection's fit."""

import pytest

from search.evaluation import held_out
from search.evaluation.dataset import DatasetError


def test_held_out_groups_deal_the_sorted_classes_in_turn():
    classes = ["shirt", "dress", "hat", "pants", "skirt", "shoes", "t-shirt"]
    assert held_out.held_out_groups(classes) == [["dress", "shirt", "t-shirt"], ["hat", "shoes"], ["pants", "skirt"]]
    assert held_out.held_out_groups(["b", "a"]) == [["a"], ["b"]]  # fewer classes than groups: no empty group
    assert held_out.held_out_groups(classes, count=2) == [
        ["dress", "pants", "shoes", "t-shirt"],
        ["hat", "shirt", "skirt"],
    ]


def test_held_out_groups_given_by_the_caller_are_parsed_sorted_and_checked():
    groups = held_out.parse_held_out_groups(" hat,dress ; pants,,shirt")
    assert groups == [["hat", "dress"], ["pants", "shirt"]]
    assert held_out.held_out_groups(["dress", "hat", "pants", "shirt", "skirt"], groups) == [
        ["dress", "hat"],
        ["pants", "shirt"],
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hat;scarf,cap", "--held-out-groups: no class 'cap', 'scarf' in the catalogue (its classes: dress, hat)"),
        ("hat;", "--held-out-groups: every group needs at least one class"),
        ("hat,dress;hat", "--held-out-groups: 'hat' in more than one group"),
    ],
)
def test_held_out_groups_that_cannot_be_used_are_refused(text, message):
    with pytest.raises(DatasetError) as refused:
        held_out.held_out_groups(["dress", "hat"], held_out.parse_held_out_groups(text))
    assert str(refused.value) == message
