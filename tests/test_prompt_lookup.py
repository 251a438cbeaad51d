"""The prompt-lookup drafter (no model needed): what it proposes after a generated token."""
import numpy as np

from bot.core.prompt_lookup import PromptLookup


def ids(*tokens):
    return np.array(tokens, dtype=np.intc)


def test_drafts_what_followed_the_last_earlier_occurrence_of_the_final_two_tokens():
    lookup = PromptLookup(tokens=3)
    #              a  b  c  d  e | a  b  x  y | a  b  ← the final two tokens
    context = ids(1, 2, 3, 4, 5, 1, 2, 8, 9, 1, 2)
    assert lookup(context).tolist() == [8, 9, 1]  # the later of the two earlier "a b"
    assert lookup(ids(1, 2, 3, 1, 2)).tolist() == [3, 1, 2]


def test_no_draft_without_an_earlier_two_token_match():
    lookup = PromptLookup(tokens=4)
    assert lookup(ids(1, 2, 3, 4, 2)).size == 0  # a single recurring token is not enough
    assert lookup(ids(1, 2)).size == 0 and lookup(ids(7)).size == 0
